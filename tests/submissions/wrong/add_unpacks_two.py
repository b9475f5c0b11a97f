# unpacks exactly two inputs, as for a binary operator
# expect: {"assignment": "ps1_nodes", "score": 3, "visible": true, "message": "loop over self.inbound_nodes instead of indexing a fixed few"}
# %% add_solution
class Add(Node):
    def __init__(self, *inputs, name=None):
        super().__init__(inputs, name)

    def forward(self):
        a, b = self.inbound_nodes
        self.value = a.value + b.value
