# changes the given array in place
# expect: {"assignment": "ps5_sgd", "score": 5, "visible": true, "message": "changed the array it was given in place"}
# %% sgd_solution
def sgd_update(trainables, learning_rate=1e-2):
    for t in trainables:
        t.value -= learning_rate * t.gradients[t]
