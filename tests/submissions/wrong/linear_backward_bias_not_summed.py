# passes the upstream gradient to b without summing over the batch
# expect: {"assignment": "ps4_backprop", "score": 8, "visible": true, "message": "b was added to every row"}
# %% linear_solution
class Linear(miniflow.Linear):
    def backward(self):
        X, W, b = self.inbound_nodes
        grad = self.upstream_gradient()
        self.gradients[X] = grad @ W.value.T
        self.gradients[W] = X.value.T @ grad
        self.gradients[b] = grad
