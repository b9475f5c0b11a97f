# the running product starts at 0
# expect: {"assignment": "ps1_nodes", "score": 3, "visible": true, "message": "a product that starts at 0 stays 0"}
# %% mul_solution
class Mul(Node):
    def __init__(self, *inputs, name=None):
        super().__init__(inputs, name)

    def forward(self):
        product = 0
        for n in self.inbound_nodes:
            product = product * n.value
        self.value = product
