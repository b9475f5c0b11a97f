# forgets to transpose W in dC/dX
# expect: {"assignment": "ps4_backprop", "score": 8, "visible": true, "message": "W needs a transpose: dC/dX = dC/dZ @ W.T"}
# %% linear_solution
class Linear(miniflow.Linear):
    def backward(self):
        X, W, b = self.inbound_nodes
        grad = self.upstream_gradient()
        self.gradients[X] = grad @ W.value
        self.gradients[W] = X.value.T @ grad
        self.gradients[b] = grad.sum(axis=0)
