# Python's max on a whole array
# expect: {"assignment": "ps6_classification", "score": 13, "visible": true, "message": "Python's max (or an `if`) compares one pair of numbers"}
# %% relu_solution
class ReLU(Node):
    r"""$\max(0, x)$."""

    def __init__(self, x, name=None):
        super().__init__([x], name)

    def forward(self):
        self.value = max(0, self.inbound_nodes[0].value)

    def backward(self):
        x = self.inbound_nodes[0]
        self.gradients[x] = (x.value > 0) * self.upstream_gradient()
