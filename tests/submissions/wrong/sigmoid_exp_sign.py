# e^x instead of e^-x
# %% sigmoid_solution
class Sigmoid(miniflow.Sigmoid):
    def forward(self):
        self.value = 1 / (1 + np.exp(self.inbound_nodes[0].value))
