# squares the mean difference instead of averaging the squares
# expect: {"assignment": "ps3_forward", "score": 6, "visible": true, "message": "square each difference before taking the mean"}
# %% mse_solution
class MSE(miniflow.MSE):
    def forward(self):
        y, a = (n.value for n in self.inbound_nodes)
        self.diff = (y.flatten() - a.flatten()).reshape(-1, 1)
        self.value = np.mean(self.diff) ** 2
