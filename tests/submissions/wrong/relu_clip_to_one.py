# ReLU written as a clip to [0, 1]
# expect: {"assignment": "ps6_classification", "score": 13, "visible": true, "message": "that clips to [0, 1]"}
# %% relu_solution
class ReLU(Node):
    r"""$\max(0, x)$."""

    def __init__(self, x, name=None):
        super().__init__([x], name)

    def forward(self):
        self.value = np.clip(self.inbound_nodes[0].value, 0, 1)

    def backward(self):
        x = self.inbound_nodes[0]
        self.gradients[x] = (x.value > 0) * self.upstream_gradient()
