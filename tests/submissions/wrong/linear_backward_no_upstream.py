# the local derivatives only: X.T and W.T times ones, without the gradient G sent back by the consumers
# expect: {"assignment": "ps4_backprop", "score": 8, "visible": true, "message": "that is the gradient for G = 1"}
# %% linear_solution
class Linear(miniflow.Linear):
    def backward(self):
        X, W, b = self.inbound_nodes
        ones = np.ones((len(X.value), W.value.shape[1]))
        self.gradients[X] = ones @ W.value.T
        self.gradients[W] = X.value.T @ ones
        self.gradients[b] = ones.sum(axis=0)
