# steps uphill: adds the gradient
# expect: {"assignment": "ps5_sgd", "score": 5, "visible": true, "message": "that steps uphill"}
# %% sgd_solution
def sgd_update(trainables, learning_rate=1e-2):
    for t in trainables:
        t.value = t.value + learning_rate * t.gradients[t]
