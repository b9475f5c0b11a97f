# multiplies into the first input's array with *=
# expect: {"assignment": "ps1_nodes", "score": 3, "visible": true, "message": "changed the value of its input x1"}
# %% mul_solution
class Mul(Node):
    def __init__(self, *inputs, name=None):
        super().__init__(inputs, name)

    def forward(self):
        product = self.inbound_nodes[0].value
        for n in self.inbound_nodes[1:]:
            product *= n.value
        self.value = product
