# e^x instead of e^-x
# expect: {"assignment": "ps3_forward", "score": 6, "visible": true, "message": "the sigmoid is 1/(1 + e^(-x))"}
# %% sigmoid_solution
class Sigmoid(miniflow.Sigmoid):
    def forward(self):
        self.value = 1 / (1 + np.exp(self.inbound_nodes[0].value))
