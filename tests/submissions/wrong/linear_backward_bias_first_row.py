# takes b's gradient from the first example only
# expect: {"assignment": "ps4_backprop", "score": 8, "visible": true, "message": "the first row of dC/dZ only"}
# %% linear_solution
class Linear(miniflow.Linear):
    def backward(self):
        X, W, b = self.inbound_nodes
        grad = self.upstream_gradient()
        self.gradients[X] = grad @ W.value.T
        self.gradients[W] = X.value.T @ grad
        self.gradients[b] = grad[0]
