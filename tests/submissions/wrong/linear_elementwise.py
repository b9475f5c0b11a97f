# element-by-element product instead of the matrix product
# expect: {"assignment": "ps3_forward", "score": 6, "visible": true, "message": "X * W multiplies element by element"}
# %% linear_solution
class Linear(miniflow.Linear):
    def forward(self):
        X, W, b = (n.value for n in self.inbound_nodes)
        self.value = X * W + b
