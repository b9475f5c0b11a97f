# counts the elements as y.shape[0] * y.shape[1], which a row (m,) does not have
# expect: {"assignment": "ps3_forward", "score": 6, "visible": true, "message": "has fewer axes than the index asks for"}
# %% mse_solution
class MSE(Node):
    def __init__(self, y, a, name=None):
        super().__init__([y, a], name)

    def forward(self):
        y, a = (n.value for n in self.inbound_nodes)
        m = y.shape[0] * y.shape[1]
        self.diff = y.reshape(-1, 1) - a.reshape(-1, 1)
        self.value = np.sum(self.diff ** 2) / m
