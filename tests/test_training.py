"""The lesson's network learns: SGD on scikit-learn's bundled diabetes data."""
import numpy as np
from sklearn.datasets import load_diabetes

import miniflow as mf


def train_diabetes(epochs=100, batch_size=11, n_hidden=10, learning_rate=1e-2, seed=0):
    """Linear -> Sigmoid -> Linear -> MSE, as in the lesson; returns (network parts, losses per epoch)."""
    data = load_diabetes()
    X_ = (data.data - data.data.mean(axis=0)) / data.data.std(axis=0)
    y_ = data.target
    rng = np.random.default_rng(seed)

    X, y = mf.Input("X"), mf.Input("y")
    W1, b1, W2, b2 = mf.Input("W1"), mf.Input("b1"), mf.Input("W2"), mf.Input("b2")
    cost = mf.MSE(y, mf.Linear(mf.Sigmoid(mf.Linear(X, W1, b1)), W2, b2))
    graph = mf.topological_sort({
        X: X_, y: y_,
        W1: rng.standard_normal((X_.shape[1], n_hidden)), b1: np.zeros(n_hidden),
        W2: rng.standard_normal((n_hidden, 1)), b2: np.zeros(1),
    })
    trainables = [W1, b1, W2, b2]
    steps_per_epoch = len(y_) // batch_size
    losses = []
    for _ in range(epochs):
        total = 0.0
        for _ in range(steps_per_epoch):
            batch = rng.integers(0, len(y_), size=batch_size)    # sample a mini-batch
            X.value, y.value = X_[batch], y_[batch]
            mf.forward_and_backward(graph)                        # forward, backward
            mf.sgd_update(trainables, learning_rate)              # update (sgd)
            total += cost.value
        losses.append(total / steps_per_epoch)
    X.value, y.value = X_, y_
    return mf.forward_pass(cost, graph), losses, y_


def test_training_beats_predicting_the_mean():
    final_loss, losses, y_ = train_diabetes()
    mean_loss = np.mean((y_ - y_.mean()) ** 2)        # the loss of always predicting the mean
    assert final_loss < 0.5 * mean_loss, (final_loss, mean_loss)
    assert losses[-1] < 0.5 * losses[0]


def test_training_is_reproducible():
    assert train_diabetes(epochs=3)[0] == train_diabetes(epochs=3)[0]
