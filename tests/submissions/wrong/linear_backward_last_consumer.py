# keeps only the last consumer's gradient
# expect: {"assignment": "ps4_backprop", "score": 8, "visible": true, "message": "this node has two consumers and only one consumer's gradient"}
# %% linear_solution
class Linear(miniflow.Linear):
    def backward(self):
        X, W, b = self.inbound_nodes
        for n in self.outbound_nodes:
            grad = n.gradients[self]
            self.gradients[X] = grad @ W.value.T
            self.gradients[W] = X.value.T @ grad
            self.gradients[b] = grad.sum(axis=0)
