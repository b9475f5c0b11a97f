# forgets the learning rate
# %% sgd_solution
def sgd_update(trainables, learning_rate=1e-2):
    for t in trainables:
        t.value = t.value - t.gradients[t]
