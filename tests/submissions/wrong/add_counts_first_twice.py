# starts the sum at the first input's value, then adds every input
# expect: {"assignment": "ps1_nodes", "score": 3, "visible": true, "message": "the first input was counted twice"}
# %% add_solution
class Add(Node):
    def __init__(self, *inputs, name=None):
        super().__init__(inputs, name)

    def forward(self):
        total = self.inbound_nodes[0].value
        for n in self.inbound_nodes:
            total = total + n.value
        self.value = total
