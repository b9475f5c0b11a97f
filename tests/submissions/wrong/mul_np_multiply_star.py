# np.multiply(*values), as if it took any number of arrays
# expect: {"assignment": "ps1_nodes", "score": 3, "visible": true, "message": "np.multiply combines exactly two arrays"}
# %% mul_solution
class Mul(Node):
    def __init__(self, *inputs, name=None):
        super().__init__(inputs, name)

    def forward(self):
        self.value = np.multiply(*(n.value for n in self.inbound_nodes))
