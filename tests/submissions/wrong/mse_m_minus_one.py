# divides by m - 1, as for a sample variance
# expect: {"assignment": "ps3_forward", "score": 6, "visible": true, "message": "that divides by m - 1"}
# %% mse_solution
class MSE(miniflow.MSE):
    def forward(self):
        y, a = (np.reshape(n.value, (-1, 1)) for n in self.inbound_nodes)
        self.diff = y - a
        self.value = np.sum(self.diff ** 2) / (self.diff.size - 1)
