# computes the sigmoid in the input's own array with out= to save memory
# expect: {"assignment": "ps3_forward", "score": 6, "visible": true, "message": "changed the value of its input x"}
# %% sigmoid_solution
class Sigmoid(miniflow.Sigmoid):
    def forward(self):
        x = self.inbound_nodes[0].value
        np.negative(x, out=x)
        np.exp(x, out=x)
        x += 1
        self.value = 1 / x
