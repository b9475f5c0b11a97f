# W's gradient from the node's own output instead of the upstream gradient
# expect: {"assignment": "ps4_backprop", "score": 8, "visible": true, "message": "that uses self.value, the node's output"}
# %% linear_solution
class Linear(miniflow.Linear):
    def backward(self):
        X, W, b = self.inbound_nodes
        grad = self.upstream_gradient()
        self.gradients[X] = grad @ W.value.T
        self.gradients[W] = X.value.T @ self.value
        self.gradients[b] = grad.sum(axis=0)
