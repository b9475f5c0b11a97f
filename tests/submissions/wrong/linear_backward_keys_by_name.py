# keys the gradients by the inputs' names, "X", "W" and "b", instead of the input nodes
# expect: {"assignment": "ps4_backprop", "score": 8, "visible": true, "message": "key each gradient by the input node object, not its name"}
# %% linear_solution
class Linear(miniflow.Linear):
    def backward(self):
        X, W, b = self.inbound_nodes
        grad = self.upstream_gradient()
        self.gradients["X"] = grad @ W.value.T
        self.gradients["W"] = X.value.T @ grad
        self.gradients["b"] = grad.sum(axis=0)
