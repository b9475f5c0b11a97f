# loops over the consumers but assigns with = instead of accumulating with +=
# expect: {"assignment": "ps4_backprop", "score": 8, "visible": true, "message": "this node has two consumers and only one consumer's gradient"}
# %% sigmoid_solution
class Sigmoid(miniflow.Sigmoid):
    def backward(self):
        x = self.inbound_nodes[0]
        s = self.value
        self.gradients = {x: np.zeros_like(x.value)}
        for n in self.outbound_nodes:
            self.gradients[x] = s * (1 - s) * n.gradients[self]
