# right products, but dC/dX stored under W and dC/dW under X
# expect: {"assignment": "ps4_backprop", "score": 8, "visible": true, "message": "that is the gradient for W, stored under X"}
# %% linear_solution
class Linear(miniflow.Linear):
    def backward(self):
        X, W, b = self.inbound_nodes
        grad = self.upstream_gradient()
        self.gradients[W] = grad @ W.value.T
        self.gradients[X] = X.value.T @ grad
        self.gradients[b] = grad.sum(axis=0)
