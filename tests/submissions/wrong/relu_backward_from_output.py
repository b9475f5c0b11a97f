# ReLU.backward tests the output, self.value >= 0, which is true everywhere
# expect: {"assignment": "ps6_classification", "score": 13, "visible": true, "message": "self.value >= 0 is true everywhere"}
# %% relu_solution
class ReLU(Node):
    r"""$\max(0, x)$."""

    def __init__(self, x, name=None):
        super().__init__([x], name)

    def forward(self):
        self.value = np.maximum(self.inbound_nodes[0].value, 0)

    def backward(self):
        x = self.inbound_nodes[0]
        self.gradients[x] = (self.value >= 0) * self.upstream_gradient()
