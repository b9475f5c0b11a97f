# W's gradient as G.T @ X, the transpose of X.T @ G
# expect: {"assignment": "ps4_backprop", "score": 8, "visible": true, "message": "the product is in the wrong order: dC/dW = X.T @ dC/dZ"}
# %% linear_solution
class Linear(miniflow.Linear):
    def backward(self):
        X, W, b = self.inbound_nodes
        grad = self.upstream_gradient()
        self.gradients[X] = grad @ W.value.T
        self.gradients[W] = grad.T @ X.value
        self.gradients[b] = grad.sum(axis=0)
