# multiplies in the wrong order, W X
# %% linear_solution
class Linear(miniflow.Linear):
    def forward(self):
        X, W, b = (n.value for n in self.inbound_nodes)
        self.value = np.dot(W, X) + b
