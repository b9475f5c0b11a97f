# accumulates into zeros with one entry per row, np.zeros(len(x.value)), which cannot hold the gradient
# expect: {"assignment": "ps4_backprop", "score": 8, "visible": true, "message": "combines the array on its left, of shape (2,), with a result of shape (2,3)"}
# %% sigmoid_solution
class Sigmoid(miniflow.Sigmoid):
    def backward(self):
        x = self.inbound_nodes[0]
        s = self.value
        grad = np.zeros(len(x.value))
        for n in self.outbound_nodes:
            grad += s * (1 - s) * n.gradients[self]
        self.gradients[x] = grad
