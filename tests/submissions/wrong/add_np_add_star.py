# np.add(*values): NumPy adds two arrays and takes a third argument as the array to write into
# expect: {"assignment": "ps1_nodes", "score": 3, "visible": true, "message": "np.add combines exactly two arrays"}
# %% add_solution
class Add(Node):
    def __init__(self, *inputs, name=None):
        super().__init__(inputs, name)

    def forward(self):
        self.value = np.add(*[n.value for n in self.inbound_nodes])
