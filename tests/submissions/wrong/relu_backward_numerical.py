# the backward differentiates numerically with miniflow.check
# expect: {"assignment": "ps6_classification", "score": 13, "visible": true, "message": "differentiates numerically"}
# %% relu_solution
from miniflow.check import numerical_gradient


class ReLU(Node):
    r"""$\max(0, x)$."""

    def __init__(self, x, name=None):
        super().__init__([x], name)

    def forward(self):
        self.value = np.maximum(self.inbound_nodes[0].value, 0)

    def backward(self):
        x = self.inbound_nodes[0]
        upstream = self.upstream_gradient()
        local = numerical_gradient(lambda: np.maximum(x.value, 0) * upstream, x.value.astype(float))
        self.gradients[x] = local
