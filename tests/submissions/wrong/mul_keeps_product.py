# keeps its running product on the node between calls: 200, then 40000
# expect: {"assignment": "ps1_nodes", "score": 3, "visible": true, "message": "a second one on the same inputs gave"}
# %% mul_solution
class Mul(Node):
    def __init__(self, *inputs, name=None):
        super().__init__(inputs, name)
        self.product = 1

    def forward(self):
        for n in self.inbound_nodes:
            self.product = self.product * n.value
        self.value = self.product
