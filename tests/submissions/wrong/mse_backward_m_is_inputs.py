# takes m as the number of inbound nodes, which is 2 in the lesson's case too
# expect: {"assignment": "ps4_backprop", "score": 10, "visible": true, "message": "that divides by 2, the number of inputs"}
# %% mse_solution
class MSE(miniflow.MSE):
    def backward(self):
        y, a = self.inbound_nodes
        m = len(self.inbound_nodes)
        grad_y = (2 / m) * self.upstream_gradient() * self.diff
        self.gradients[y] = grad_y.reshape(np.shape(y.value))
        self.gradients[a] = -grad_y.reshape(np.shape(a.value))
