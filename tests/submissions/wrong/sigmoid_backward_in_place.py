# multiplies the consumer's gradient array in place
# expect: {"assignment": "ps4_backprop", "score": 8, "visible": true, "message": "changed the gradient array its consumer sent back"}
# %% sigmoid_solution
class Sigmoid(miniflow.Sigmoid):
    def backward(self):
        s = self.value
        grad = self.upstream_gradient()
        grad *= s * (1 - s)
        self.gradients[self.inbound_nodes[0]] = grad
