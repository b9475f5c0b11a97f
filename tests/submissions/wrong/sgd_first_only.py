# updates trainables[0] only
# expect: {"assignment": "ps5_sgd", "score": 5, "visible": true, "message": "trainable 2 was not updated"}
# %% sgd_solution
def sgd_update(trainables, learning_rate=1e-2):
    t = trainables[0]
    t.value = t.value - learning_rate * t.gradients[t]
