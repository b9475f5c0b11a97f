# transposes W in the product, X @ W.T + b (the lesson's W is square, so the shapes fit)
# expect: {"assignment": "ps3_forward", "score": 6, "visible": true, "message": "W should not be transposed"}
# %% linear_solution
class Linear(Node):
    def __init__(self, X, W, b, name=None):
        super().__init__([X, W, b], name)

    def forward(self):
        X, W, b = (n.value for n in self.inbound_nodes)
        self.value = X @ W.T + b
