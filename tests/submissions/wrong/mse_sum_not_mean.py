# sums the squared errors instead of averaging them
# expect: {"assignment": "ps3_forward", "score": 6, "visible": true, "message": "that is the sum of the squared errors"}
# %% mse_solution
class MSE(miniflow.MSE):
    def forward(self):
        y, a = (np.reshape(n.value, (-1, 1)) for n in self.inbound_nodes)
        self.diff = y - a
        self.value = np.sum(self.diff ** 2)
