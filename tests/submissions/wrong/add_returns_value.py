# forward returns the sum instead of setting self.value
# %% add_solution
class Add(Node):
    def __init__(self, *inputs, name=None):
        super().__init__(inputs, name)

    def forward(self):
        return sum(n.value for n in self.inbound_nodes)
