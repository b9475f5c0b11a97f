"""Stochastic gradient descent."""


def sgd_update(trainables, learning_rate=1e-2):
    r"""One step downhill for each trainable Input: $w \leftarrow w - \eta \, \partial C / \partial w$."""
    for t in trainables:
        t.value = t.value - learning_rate * t.gradients[t]
