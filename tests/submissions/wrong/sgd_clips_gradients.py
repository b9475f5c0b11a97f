# clips each gradient to [-1, 1] before the step, as some optimisers do
# expect: {"assignment": "ps5_sgd", "score": 5, "visible": true, "message": "the gradient was clipped to [-1, 1]"}
# %% sgd_solution
def sgd_update(trainables, learning_rate=1e-2):
    for t in trainables:
        t.value = t.value - learning_rate * np.clip(t.gradients[t], -1, 1)
