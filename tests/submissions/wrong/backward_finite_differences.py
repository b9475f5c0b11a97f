# every backward estimated by central differences of the node's own forward, not derived
# expect: {"assignment": "ps4_backprop", "score": 0, "visible": true, "message": "it called miniflow.check.numerical_gradient while computing them"}
# %% sigmoid_solution
from miniflow.check import numerical_gradient


def _estimate(node):
    """dC/d(input) for each input of `node`, by nudging the input and running node.forward()."""
    grad = node.upstream_gradient()

    def cost():
        node.forward()
        return node.value * grad

    for n in node.inbound_nodes:
        node.gradients[n] = numerical_gradient(cost, n.value)
    node.forward()


class Sigmoid(miniflow.Sigmoid):
    def backward(self):
        _estimate(self)
# %% linear_solution
class Linear(miniflow.Linear):
    def backward(self):
        _estimate(self)
# %% mse_solution
class MSE(miniflow.MSE):
    def backward(self):
        _estimate(self)
