# np.sum of the list of values without axis=0: arrays collapse to one number
# expect: {"assignment": "ps1_nodes", "score": 3, "visible": true, "message": "pass axis=0"}
# %% add_solution
class Add(Node):
    def __init__(self, *inputs, name=None):
        super().__init__(inputs, name)

    def forward(self):
        self.value = np.sum([n.value for n in self.inbound_nodes])
