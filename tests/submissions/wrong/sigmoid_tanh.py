# copies the worked example: tanh instead of the sigmoid
# expect: {"assignment": "ps3_forward", "score": 6, "visible": true, "message": "that is tanh, the worked example"}
# %% sigmoid_solution
class Sigmoid(miniflow.Sigmoid):
    def forward(self):
        self.value = np.tanh(self.inbound_nodes[0].value)
