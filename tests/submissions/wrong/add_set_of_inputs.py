# loops over set(self.inbound_nodes), so Add(x, x) counts x once
# expect: {"assignment": "ps1_nodes", "score": 3, "visible": true, "message": "this node takes the same input twice"}
# %% add_solution
class Add(Node):
    def __init__(self, *inputs, name=None):
        super().__init__(inputs, name)

    def forward(self):
        total = 0
        for n in set(self.inbound_nodes):
            total = total + n.value
        self.value = total
