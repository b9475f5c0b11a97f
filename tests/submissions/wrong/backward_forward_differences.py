# every backward by central differences that run the node's own (miniflow's) forward, with a step that is exact for Linear and MSE
# expect: {"assignment": "ps4_backprop", "score": 0, "visible": true, "message": "it called miniflow's"}
# %% sigmoid_solution
def _differences(node, step):
    grad = np.asarray(node.upstream_gradient(), dtype=float)
    for n in node.inbound_nodes:
        estimate = np.zeros_like(n.value, dtype=float)
        for i in np.ndindex(np.shape(n.value)):
            kept = n.value[i]
            n.value[i] = kept + step
            node.forward()
            up = np.sum(node.value * grad)
            n.value[i] = kept - step
            node.forward()
            down = np.sum(node.value * grad)
            n.value[i] = kept
            estimate[i] = (up - down) / (2 * step)
        node.gradients[n] = estimate
    node.forward()


class Sigmoid(miniflow.Sigmoid):
    def backward(self):
        _differences(self, 1e-5)
# %% linear_solution
class Linear(miniflow.Linear):
    def backward(self):
        _differences(self, 1.0)
# %% mse_solution
class MSE(miniflow.MSE):
    def backward(self):
        _differences(self, 1.0)
