# a cell that stops with an error before it defines Mul (a misspelt base class)
# expect: {"assignment": "ps1_nodes", "score": 3, "visible": true, "message": "name 'Nod' is not defined, at line 1 of that cell"}
# %% mul_solution
class Mul(Nod):
    def __init__(self, *inputs, name=None):
        super().__init__(inputs, name)

    def forward(self):
        product = 1
        for n in self.inbound_nodes:
            product = product * n.value
        self.value = product
