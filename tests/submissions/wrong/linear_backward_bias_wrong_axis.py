# sums the bias gradient over the wrong axis (the outputs instead of the examples)
# expect: {"assignment": "ps4_backprop", "score": 8, "visible": true, "message": "sum over axis 0 (the examples), not axis 1"}
# %% linear_solution
class Linear(miniflow.Linear):
    def backward(self):
        X, W, b = self.inbound_nodes
        grad = self.upstream_gradient()
        self.gradients[X] = grad @ W.value.T
        self.gradients[W] = X.value.T @ grad
        self.gradients[b] = grad.sum(axis=1)
