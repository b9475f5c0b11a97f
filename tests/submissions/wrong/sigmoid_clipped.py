# clips the input to [-10, 10] to avoid overflow
# expect: {"assignment": "ps3_forward", "score": 6, "visible": true, "message": "the input was clipped to [-10, 10]"}
# %% sigmoid_solution
class Sigmoid(miniflow.Sigmoid):
    def forward(self):
        x = np.clip(self.inbound_nodes[0].value, -10, 10)
        self.value = 1 / (1 + np.exp(-x))
