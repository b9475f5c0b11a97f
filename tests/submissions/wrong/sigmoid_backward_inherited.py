# keeps miniflow's own Sigmoid.backward
# expect: {"assignment": "ps4_backprop", "score": 8, "visible": true, "message": "calls miniflow's own Sigmoid.backward"}
# %% sigmoid_solution
class Sigmoid(miniflow.Sigmoid):
    pass
