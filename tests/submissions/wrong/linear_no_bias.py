# forgets the bias
# expect: {"assignment": "ps3_forward", "score": 6, "visible": true, "message": "the bias b is missing"}
# %% linear_solution
class Linear(miniflow.Linear):
    def forward(self):
        X, W, b = (n.value for n in self.inbound_nodes)
        self.value = X @ W
