# right shapes, but ignores the gradient sent back by the MSE's consumers
# expect: {"assignment": "ps4_backprop", "score": 10, "visible": true, "message": "multiply by the gradient sent back by the MSE's consumers"}
# %% mse_solution
class MSE(miniflow.MSE):
    def backward(self):
        y, a = self.inbound_nodes
        grad_y = (2 / self.diff.size) * self.diff
        self.gradients[y] = grad_y.reshape(np.shape(y.value))
        self.gradients[a] = -grad_y.reshape(np.shape(a.value))
