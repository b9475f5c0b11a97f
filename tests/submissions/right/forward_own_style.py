# ps3_forward: np.dot, a sigmoid via np.exp with a helper, and an MSE from flattened arrays
# %% linear_solution
class Linear(miniflow.Linear):
    def forward(self):
        X, W, b = self.inbound_nodes
        self.value = np.dot(X.value, W.value) + b.value
# %% sigmoid_solution
def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


class Sigmoid(miniflow.Sigmoid):
    def forward(self):
        self.value = _sigmoid(self.inbound_nodes[0].value)
# %% mse_solution
class MSE(miniflow.MSE):
    def forward(self):
        y = np.asarray(self.inbound_nodes[0].value, dtype=float).reshape(-1, 1)
        a = np.asarray(self.inbound_nodes[1].value, dtype=float).reshape(-1, 1)
        self.diff = y - a
        self.value = float(np.square(self.diff).sum() / len(self.diff))
