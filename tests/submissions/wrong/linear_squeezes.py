# squeezes the result, so a batch of one example or a single output loses an axis
# expect: {"assignment": "ps3_forward", "score": 6, "visible": true, "message": "np.squeeze (or ravel) dropped an axis"}
# %% linear_solution
class Linear(miniflow.Linear):
    def forward(self):
        X, W, b = (n.value for n in self.inbound_nodes)
        self.value = np.squeeze(X @ W + b)
