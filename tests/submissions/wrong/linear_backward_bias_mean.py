# averages the bias gradient over the batch instead of summing it
# expect: {"assignment": "ps4_backprop", "score": 8, "visible": true, "message": "b's gradient is the sum over the batch, not the mean"}
# %% linear_solution
class Linear(miniflow.Linear):
    def backward(self):
        X, W, b = self.inbound_nodes
        grad = self.upstream_gradient()
        self.gradients[X] = grad @ W.value.T
        self.gradients[W] = X.value.T @ grad
        self.gradients[b] = grad.mean(axis=0)
