# ReLU.forward sets the negative entries of its input's own array to 0
# expect: {"assignment": "ps6_classification", "score": 13, "visible": true, "message": "ReLU.forward changed the value of its input x"}
# %% relu_solution
class ReLU(Node):
    r"""$\max(0, x)$."""

    def __init__(self, x, name=None):
        super().__init__([x], name)

    def forward(self):
        x = self.inbound_nodes[0].value
        x[x < 0] = 0
        self.value = x

    def backward(self):
        x = self.inbound_nodes[0]
        self.gradients[x] = (x.value > 0) * self.upstream_gradient()
