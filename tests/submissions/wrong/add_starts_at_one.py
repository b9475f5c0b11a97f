# copies the product's loop and starts the sum at 1
# expect: {"assignment": "ps1_nodes", "score": 3, "visible": true, "message": "the sum started at 1"}
# %% add_solution
class Add(Node):
    def __init__(self, *inputs, name=None):
        super().__init__(inputs, name)

    def forward(self):
        total = 1
        for n in self.inbound_nodes:
            total = total + n.value
        self.value = total
