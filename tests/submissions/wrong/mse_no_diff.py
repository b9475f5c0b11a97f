# computes the right number but never keeps self.diff for the backward pass
# expect: {"assignment": "ps3_forward", "score": 6, "visible": true, "message": "forward did not keep self.diff"}
# %% mse_solution
class MSE(miniflow.MSE):
    def forward(self):
        y, a = (np.reshape(n.value, (-1, 1)) for n in self.inbound_nodes)
        self.value = np.mean((y - a) ** 2)
