# written for the lesson's three inputs only
# expect: {"assignment": "ps1_nodes", "score": 3, "visible": true, "message": "loop over self.inbound_nodes instead of indexing"}
# %% add_solution
class Add(Node):
    def __init__(self, *inputs, name=None):
        super().__init__(inputs, name)

    def forward(self):
        x, y, z = self.inbound_nodes
        self.value = x.value + y.value + z.value
