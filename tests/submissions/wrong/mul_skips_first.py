# starts at 1 and loops over inbound_nodes[1:], so the first input is left out
# expect: {"assignment": "ps1_nodes", "score": 3, "visible": true, "message": "the first input is missing"}
# %% mul_solution
class Mul(Node):
    def __init__(self, *inputs, name=None):
        super().__init__(inputs, name)

    def forward(self):
        product = 1
        for n in self.inbound_nodes[1:]:
            product = product * n.value
        self.value = product
