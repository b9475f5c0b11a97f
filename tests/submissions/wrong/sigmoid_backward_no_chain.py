# the local derivative only, without the gradient sent back by the consumers
# expect: {"assignment": "ps4_backprop", "score": 8, "visible": true, "message": "multiply the local derivative s"}
# %% sigmoid_solution
class Sigmoid(miniflow.Sigmoid):
    def backward(self):
        s = self.value
        self.gradients[self.inbound_nodes[0]] = s * (1 - s)
