# lets miniflow's own Sigmoid do the work
# %% sigmoid_solution
class Sigmoid(miniflow.Sigmoid):
    def forward(self):
        super().forward()
