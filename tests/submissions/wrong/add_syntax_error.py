# a typo Python cannot read (`= =`): the cell defines nothing, and the test says which line to fix
# expect: {"assignment": "ps1_nodes", "score": 3, "visible": true, "message": "total = = 0"}
# %% add_solution
class Add(Node):
    def __init__(self, *inputs, name=None):
        super().__init__(inputs, name)

    def forward(self):
        total = = 0
        for n in self.inbound_nodes:
            total = total + n.value
        self.value = total
