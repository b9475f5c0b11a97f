# ps3_forward: XW computed as (W^T X^T)^T
# %% linear_solution
class Linear(miniflow.Linear):
    def forward(self):
        X, W, b = (n.value for n in self.inbound_nodes)
        self.value = (W.T @ X.T).T + b
