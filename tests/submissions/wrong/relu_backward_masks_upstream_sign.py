# the backward masks the upstream gradient by its own sign
# expect: {"assignment": "ps6_classification", "score": 13, "visible": true, "message": "the mask was taken from the sign of the upstream gradient"}
# %% relu_solution
class ReLU(Node):
    r"""$\max(0, x)$."""

    def __init__(self, x, name=None):
        super().__init__([x], name)

    def forward(self):
        self.value = np.maximum(self.inbound_nodes[0].value, 0)

    def backward(self):
        g = self.upstream_gradient()
        self.gradients[self.inbound_nodes[0]] = g * (g > 0)
