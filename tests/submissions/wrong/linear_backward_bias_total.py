# np.sum of the whole upstream gradient for b, without axis=0
# expect: {"assignment": "ps4_backprop", "score": 8, "visible": true, "message": "sum over the examples only (axis=0)"}
# %% linear_solution
class Linear(miniflow.Linear):
    def backward(self):
        X, W, b = self.inbound_nodes
        grad = self.upstream_gradient()
        self.gradients[X] = np.dot(grad, W.value.T)
        self.gradients[W] = np.dot(X.value.T, grad)
        self.gradients[b] = np.sum(grad)
