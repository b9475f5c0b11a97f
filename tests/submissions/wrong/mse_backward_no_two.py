# leaves out the factor 2 of the square's derivative
# expect: {"assignment": "ps4_backprop", "score": 10, "visible": true, "message": "the factor 2 from the square is missing"}
# %% mse_solution
class MSE(miniflow.MSE):
    def backward(self):
        y, a = self.inbound_nodes
        m = self.diff.size
        g = self.upstream_gradient() * self.diff / m
        self.gradients[y] = g.reshape(np.shape(y.value))
        self.gradients[a] = -g.reshape(np.shape(a.value))
