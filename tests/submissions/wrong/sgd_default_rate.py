# gives learning_rate the default 0.1 instead of the task's 0.01
# expect: {"assignment": "ps5_sgd", "score": 6, "visible": true, "message": "stepped with 0.1 * gradient; the default is 0.01"}
# %% sgd_solution
def sgd_update(trainables, learning_rate=0.1):
    for t in trainables:
        t.value = t.value - learning_rate * t.gradients[t]
