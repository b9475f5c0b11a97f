# stores the gradient under the node itself, self.gradients[self]
# expect: {"assignment": "ps4_backprop", "score": 8, "visible": true, "message": "its keys are this node itself"}
# %% sigmoid_solution
class Sigmoid(miniflow.Sigmoid):
    def backward(self):
        s = self.value
        self.gradients[self] = s * (1 - s) * self.upstream_gradient()
