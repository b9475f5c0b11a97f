# ReLU.forward takes np.max(x, 0), the largest entry of each column
# expect: {"assignment": "ps6_classification", "score": 13, "visible": true, "message": "np.max(x, 0) is the largest entry of each column"}
# %% relu_solution
class ReLU(Node):
    r"""$\max(0, x)$."""

    def __init__(self, x, name=None):
        super().__init__([x], name)

    def forward(self):
        self.value = np.max(self.inbound_nodes[0].value, 0)

    def backward(self):
        x = self.inbound_nodes[0]
        self.gradients[x] = (x.value > 0) * self.upstream_gradient()
