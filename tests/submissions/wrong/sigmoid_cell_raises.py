# the cell stops at a misspelt name in the class body, before Sigmoid is defined
# expect: {"assignment": "ps3_forward", "score": 6, "visible": true, "message": "Your cell that defines `Sigmoid` stopped with an error"}
# %% sigmoid_solution
class Sigmoid(Node):
    def __init__(self, node, name=None):
        super().__init__([node], name)

    limit = np.finfo(float).maxexp_

    def forward(self):
        self.value = 1 / (1 + np.exp(-self.inbound_nodes[0].value))
