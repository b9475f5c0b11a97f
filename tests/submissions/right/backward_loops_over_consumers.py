# ps4_backprop: every backward loops over the consumers and accumulates into zeros, the lesson's way
# %% sigmoid_solution
class Sigmoid(miniflow.Sigmoid):
    def backward(self):
        x = self.inbound_nodes[0]
        self.gradients = {x: np.zeros_like(x.value, dtype=float)}
        for n in self.outbound_nodes:
            sig = 1 / (1 + np.exp(-x.value))
            self.gradients[x] += sig * (1 - sig) * n.gradients[self]
# %% linear_solution
class Linear(miniflow.Linear):
    def backward(self):
        X, W, b = self.inbound_nodes
        self.gradients = {n: np.zeros_like(n.value, dtype=float) for n in self.inbound_nodes}
        for n in self.outbound_nodes:
            grad = n.gradients[self]
            self.gradients[X] += np.dot(grad, W.value.T)
            self.gradients[W] += np.dot(X.value.T, grad)
            self.gradients[b] += np.sum(grad, axis=0)
# %% mse_solution
class MSE(miniflow.MSE):
    def backward(self):
        y, a = self.inbound_nodes
        m = np.size(y.value)
        upstream = self.upstream_gradient()
        diff = np.reshape(y.value, (-1, 1)) - np.reshape(a.value, (-1, 1))
        self.gradients = {y: np.reshape(2 / m * diff * upstream, np.shape(y.value)),
                          a: np.reshape(-2 / m * diff * upstream, np.shape(a.value))}
