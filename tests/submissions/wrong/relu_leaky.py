# a leaky ReLU, 0.01 x for negative x
# expect: {"assignment": "ps6_classification", "score": 13, "visible": true, "message": "that is a leaky ReLU, 0.01 * x"}
# %% relu_solution
class ReLU(Node):
    r"""$\max(0, x)$."""

    def __init__(self, x, name=None):
        super().__init__([x], name)

    def forward(self):
        x = self.inbound_nodes[0].value
        self.value = np.where(x > 0, x, 0.01 * x)

    def backward(self):
        x = self.inbound_nodes[0]
        self.gradients[x] = (x.value > 0) * self.upstream_gradient()
