# ps3_forward: the sigmoid through tanh, the product with np.dot, the mean with np.average, done without reshape
# %% linear_solution
class Linear(miniflow.Linear):
    def forward(self):
        X, W, b = self.inbound_nodes
        self.value = np.dot(X.value, W.value) + b.value[np.newaxis, :]
# %% sigmoid_solution
class Sigmoid(miniflow.Sigmoid):
    def forward(self):
        self.value = (np.tanh(self.inbound_nodes[0].value / 2) + 1) / 2
# %% mse_solution
class MSE(miniflow.MSE):
    def forward(self):
        y, a = self.inbound_nodes
        self.diff = np.asarray(y.value).ravel()[:, None] - np.asarray(a.value).ravel()[:, None]
        self.value = float(np.average(np.square(self.diff)))
