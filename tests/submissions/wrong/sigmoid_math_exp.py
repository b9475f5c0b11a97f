# math.exp, which takes one number, on an array
# expect: {"assignment": "ps3_forward", "score": 6, "visible": true, "message": "Use NumPy functions"}
# %% sigmoid_solution
import math

class Sigmoid(miniflow.Sigmoid):
    def forward(self):
        self.value = 1 / (1 + math.exp(-self.inbound_nodes[0].value))
