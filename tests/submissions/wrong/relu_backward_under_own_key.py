# the backward stores the gradient under the node itself
# expect: {"assignment": "ps6_classification", "score": 13, "visible": true, "message": "it holds a gradient under the node itself"}
# %% relu_solution
class ReLU(Node):
    r"""$\max(0, x)$."""

    def __init__(self, x, name=None):
        super().__init__([x], name)

    def forward(self):
        self.value = np.maximum(self.inbound_nodes[0].value, 0)

    def backward(self):
        x = self.inbound_nodes[0]
        self.gradients[self] = (x.value > 0) * self.upstream_gradient()
