# returns the new values instead of assigning them to t.value
# expect: {"assignment": "ps5_sgd", "score": 5, "visible": true, "message": "assign the updated value to t.value"}
# %% sgd_solution
def sgd_update(trainables, learning_rate=1e-2):
    return [t.value - learning_rate * t.gradients[t] for t in trainables]
