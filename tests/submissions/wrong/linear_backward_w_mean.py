# averages W's gradient over the batch, like the cost
# expect: {"assignment": "ps4_backprop", "score": 8, "visible": true, "message": "W's gradient is the sum over the batch"}
# %% linear_solution
class Linear(miniflow.Linear):
    def backward(self):
        X, W, b = self.inbound_nodes
        grad = self.upstream_gradient()
        self.gradients[X] = grad @ W.value.T
        self.gradients[W] = X.value.T @ grad / len(X.value)
        self.gradients[b] = grad.sum(axis=0)
