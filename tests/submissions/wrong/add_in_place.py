# adds into the first input's array in place, so x.value changes and the next forward gives another sum
# expect: {"assignment": "ps1_nodes", "score": 3, "visible": true, "message": "changed the value of its input x1"}
# %% add_solution
class Add(Node):
    def __init__(self, *inputs, name=None):
        super().__init__(inputs, name)

    def forward(self):
        total = self.inbound_nodes[0].value
        for n in self.inbound_nodes[1:]:
            total += n.value
        self.value = total
