# takes m as the number of inbound nodes (2) instead of the number of elements
# expect: {"assignment": "ps3_forward", "score": 6, "visible": true, "message": "that divides by 2, the number of inputs"}
# %% mse_solution
class MSE(miniflow.MSE):
    def forward(self):
        y, a = (np.reshape(n.value, (-1, 1)) for n in self.inbound_nodes)
        self.diff = y - a
        m = len(self.inbound_nodes)
        self.value = np.sum(self.diff ** 2) / m
