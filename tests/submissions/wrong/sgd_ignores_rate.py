# forgets the learning rate
# expect: {"assignment": "ps5_sgd", "score": 5, "visible": true, "message": "multiply the gradient by the learning rate"}
# %% sgd_solution
def sgd_update(trainables, learning_rate=1e-2):
    for t in trainables:
        t.value = t.value - t.gradients[t]
