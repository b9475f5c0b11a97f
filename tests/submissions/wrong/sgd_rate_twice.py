# scales the step by the learning rate twice
# expect: {"assignment": "ps5_sgd", "score": 5, "visible": true, "message": "the learning rate was applied twice"}
# %% sgd_solution
def sgd_update(trainables, learning_rate=1e-2):
    for t in trainables:
        step = learning_rate * t.gradients[t]
        t.value = t.value - learning_rate * step
