# keeps self.diff = a - y: the square hides the sign, MSE.backward does not
# expect: {"assignment": "ps3_forward", "score": 6, "visible": true, "message": "self.diff is a - y"}
# %% mse_solution
class MSE(miniflow.MSE):
    def forward(self):
        y, a = (np.reshape(n.value, (-1, 1)) for n in self.inbound_nodes)
        self.diff = a - y
        self.value = np.mean(self.diff ** 2)
