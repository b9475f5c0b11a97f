# takes the square root of the mean squared error (the RMSE)
# expect: {"assignment": "ps3_forward", "score": 6, "visible": true, "message": "that is the root of the MSE"}
# %% mse_solution
class MSE(Node):
    def __init__(self, y, a, name=None):
        super().__init__([y, a], name)

    def forward(self):
        y = self.inbound_nodes[0].value.reshape(-1, 1)
        a = self.inbound_nodes[1].value.reshape(-1, 1)
        self.diff = y - a
        self.value = np.sqrt(np.mean(self.diff ** 2))
