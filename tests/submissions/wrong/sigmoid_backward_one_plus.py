# writes the derivative as s * (1 + s)
# expect: {"assignment": "ps4_backprop", "score": 8, "visible": true, "message": "that is s(1 + s)"}
# %% sigmoid_solution
class Sigmoid(miniflow.Sigmoid):
    def backward(self):
        s = self.value
        self.gradients[self.inbound_nodes[0]] = s * (1 + s) * self.upstream_gradient()
