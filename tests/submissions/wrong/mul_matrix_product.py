# multiplies arrays with np.dot instead of element by element
# expect: {"assignment": "ps1_nodes", "score": 3, "visible": true, "message": "that is the matrix product"}
# %% mul_solution
class Mul(Node):
    def __init__(self, *inputs, name=None):
        super().__init__(inputs, name)

    def forward(self):
        product = 1
        for n in self.inbound_nodes:
            product = np.dot(product, n.value)
        self.value = product
