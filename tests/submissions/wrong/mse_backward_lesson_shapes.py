# the lesson's own MSE.backward: column gradients whatever the shapes, and no upstream gradient
# expect: {"assignment": "ps4_backprop", "score": 10, "visible": true, "message": "a gradient always has the shape of the value it belongs to"}
# %% mse_solution
class MSE(miniflow.MSE):
    def backward(self):
        y, a = self.inbound_nodes
        m = self.diff.shape[0]
        self.gradients[y] = (2 / m) * self.diff
        self.gradients[a] = (-2 / m) * self.diff
