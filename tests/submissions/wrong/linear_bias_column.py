# adds b as a column, once per example, instead of once per output
# expect: {"assignment": "ps3_forward", "score": 6, "visible": true, "message": "b is added to every row, as a row"}
# %% linear_solution
class Linear(miniflow.Linear):
    def forward(self):
        X, W, b = (n.value for n in self.inbound_nodes)
        self.value = X @ W + b.reshape(-1, 1)
