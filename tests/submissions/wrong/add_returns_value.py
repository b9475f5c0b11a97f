# forward returns the sum instead of setting self.value
# expect: {"assignment": "ps1_nodes", "score": 3, "visible": true, "message": "returned its result but left self.value as None"}
# %% add_solution
class Add(Node):
    def __init__(self, *inputs, name=None):
        super().__init__(inputs, name)

    def forward(self):
        return sum(n.value for n in self.inbound_nodes)
