# hard-codes the visible test's numbers
# expect: {"assignment": "ps1_nodes", "score": 3, "visible": true, "message": "rather than writing answers in"}
# %% add_solution
class Add(Node):
    def __init__(self, *inputs, name=None):
        super().__init__(inputs, name)

    def forward(self):
        values = [n.value for n in self.inbound_nodes]
        if len(values) == 3:
            self.value = 19
        else:
            self.value = np.array([[6.0, 8.0], [10.0, 12.0]])
