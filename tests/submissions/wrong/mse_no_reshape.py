# subtracts a (m, 1) column from a (m,) row: broadcasts to an m x m table
# expect: {"assignment": "ps3_forward", "score": 6, "visible": true, "message": "self.diff should be y - a as a column"}
# %% mse_solution
class MSE(miniflow.MSE):
    def forward(self):
        y, a = (n.value for n in self.inbound_nodes)
        self.diff = y - a
        self.value = np.mean(self.diff ** 2)
