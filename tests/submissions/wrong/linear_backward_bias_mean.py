# averages the bias gradient over the batch instead of summing it
# %% linear_solution
class Linear(miniflow.Linear):
    def backward(self):
        X, W, b = self.inbound_nodes
        grad = self.upstream_gradient()
        self.gradients[X] = grad @ W.value.T
        self.gradients[W] = X.value.T @ grad
        self.gradients[b] = grad.mean(axis=0)
