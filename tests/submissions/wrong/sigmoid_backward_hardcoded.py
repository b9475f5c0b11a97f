# hard-codes the two visible tests' answers and gives zeros otherwise
# expect: {"assignment": "ps4_backprop", "score": 8, "visible": true, "message": "or numbers copied with a few digits"}
# %% sigmoid_solution
class Sigmoid(miniflow.Sigmoid):
    def backward(self):
        x = self.inbound_nodes[0]
        if np.shape(x.value) == (2, 1):
            self.gradients[x] = np.array([[-1.67008640e-05], [-3.34020069e-05]])
        elif np.shape(x.value) == (2, 3):
            self.gradients[x] = np.array([[0.2949179, 0.25, 0.41997434], [0.23500371, 0.2949179, 0.15749038]])
        else:
            self.gradients[x] = np.zeros_like(x.value)
