# lets miniflow's own Sigmoid do the work
# expect: {"assignment": "ps3_forward", "score": 6, "visible": true, "message": "calls miniflow's own Sigmoid.forward"}
# %% sigmoid_solution
class Sigmoid(miniflow.Sigmoid):
    def forward(self):
        super().forward()
