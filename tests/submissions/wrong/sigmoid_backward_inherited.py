# keeps miniflow's own Sigmoid.backward
# %% sigmoid_solution
class Sigmoid(miniflow.Sigmoid):
    pass
