# adds the input nodes themselves, not their values
# expect: {"assignment": "ps1_nodes", "score": 3, "visible": true, "message": "You combined node objects, not numbers"}
# %% add_solution
class Add(Node):
    def __init__(self, *inputs, name=None):
        super().__init__(inputs, name)

    def forward(self):
        total = self.inbound_nodes[0]
        for n in self.inbound_nodes[1:]:
            total = total + n
        self.value = total
