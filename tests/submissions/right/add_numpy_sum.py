# ps1_nodes: sums with NumPy, and Mul with np.prod
# %% add_solution
class Add(Node):
    def __init__(self, *inputs, name=None):
        super().__init__(inputs, name)

    def forward(self):
        self.value = np.sum([n.value for n in self.inbound_nodes], axis=0)
# %% mul_solution
class Mul(Node):
    def __init__(self, *inputs, name=None):
        super().__init__(inputs, name)

    def forward(self):
        self.value = np.prod([n.value for n in self.inbound_nodes], axis=0)
