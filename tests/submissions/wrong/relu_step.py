# ReLU written as a step function
# expect: {"assignment": "ps6_classification", "score": 13, "visible": true, "message": "that is a step function"}
# %% relu_solution
class ReLU(Node):
    r"""$\max(0, x)$."""

    def __init__(self, x, name=None):
        super().__init__([x], name)

    def forward(self):
        self.value = (self.inbound_nodes[0].value > 0).astype(float)

    def backward(self):
        x = self.inbound_nodes[0]
        self.gradients[x] = (x.value > 0) * self.upstream_gradient()
