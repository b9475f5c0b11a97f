# element-by-element product instead of the matrix product
# %% linear_solution
class Linear(miniflow.Linear):
    def forward(self):
        X, W, b = (n.value for n in self.inbound_nodes)
        self.value = X * W + b
