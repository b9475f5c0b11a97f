# multiplies in the wrong order, W X
# expect: {"assignment": "ps3_forward", "score": 6, "visible": true, "message": "that is WX + b"}
# %% linear_solution
class Linear(miniflow.Linear):
    def forward(self):
        X, W, b = (n.value for n in self.inbound_nodes)
        self.value = np.dot(W, X) + b
