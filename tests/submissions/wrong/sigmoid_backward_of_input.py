# the derivative computed from the input x instead of the output s
# expect: {"assignment": "ps4_backprop", "score": 8, "visible": true, "message": "the derivative was computed from the input x"}
# %% sigmoid_solution
class Sigmoid(miniflow.Sigmoid):
    def backward(self):
        x = self.inbound_nodes[0]
        self.gradients[x] = x.value * (1 - x.value) * self.upstream_gradient()
