# ps1_nodes: functools.reduce over the values, and np.prod with axis=0
# %% add_solution
import functools
import operator


class Add(Node):
    def __init__(self, *inputs, name=None):
        super().__init__(inputs, name)

    def forward(self):
        self.value = functools.reduce(operator.add, [n.value for n in self.inbound_nodes])
# %% mul_solution
class Mul(Node):
    def __init__(self, *inputs, name=None):
        super().__init__(inputs, name)

    def forward(self):
        self.value = np.prod([n.value for n in self.inbound_nodes], axis=0)
