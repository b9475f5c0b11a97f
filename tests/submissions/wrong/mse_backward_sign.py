# the signs of the two gradients swapped
# expect: {"assignment": "ps4_backprop", "score": 10, "visible": true, "message": "the sign is flipped"}
# %% mse_solution
class MSE(miniflow.MSE):
    def backward(self):
        y, a = self.inbound_nodes
        grad_y = (2 / self.diff.size) * self.upstream_gradient() * self.diff
        self.gradients[y] = -grad_y.reshape(np.shape(y.value))
        self.gradients[a] = grad_y.reshape(np.shape(a.value))
