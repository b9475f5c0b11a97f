"""Train chapter 7's digit classifier in miniflow and in hand-written NumPy, and compare.

The network is 64 -> 32 (ReLU) -> 10 with softmax cross-entropy, trained by mini-batch SGD
(batches of 32, learning rate 0.2) on 1,400 of scikit-learn's digits, 397 held out.
The NumPy trainer is what a user would write by hand: the same forward pass, then only
the four parameter gradients (none for the images or the labels, no cost value), and
updates in place. Both run the same epochs on the same batches, interleaved in one
process, so machine noise hits both alike.

Prints the ratio miniflow / NumPy for one epoch (target at most 1.3x), and how long each
takes to train from the start until the held-out accuracy reaches 95% (target at most 1 s).

    python benchmarks/digits.py
    python benchmarks/digits.py --rounds 40
"""
import argparse
import time

import numpy as np
from sklearn.datasets import load_digits

import miniflow as mf

N_HIDDEN, BATCH, LEARNING_RATE, N_TEST = 32, 32, 0.2, 397
EPOCH_TARGET, SECONDS_TARGET, ACCURACY_TARGET = 1.3, 1.0, 0.95


def digits_split():
    """The chapter's split: pixels scaled to 0..1, 397 test images drawn with seed 0."""
    digits = load_digits()
    pixels, labels = digits.data / 16.0, digits.target
    order = np.random.default_rng(0).permutation(len(labels))
    test, train = order[:N_TEST], order[N_TEST:]
    return pixels[train], labels[train], pixels[test], labels[test]


def starting_weights(seed=0):
    rng = np.random.default_rng(seed)
    return {"W1": mf.random_weights(64, N_HIDDEN, rng), "b1": np.zeros(N_HIDDEN),
            "W2": mf.random_weights(N_HIDDEN, 10, rng), "b2": np.zeros(10)}


class MiniflowTrainer:
    def __init__(self, weights, X_train, y_train):
        self.X_train, self.y_train = X_train, y_train
        self.X, self.y = mf.Input("X"), mf.Input("y")
        self.params = {name: mf.Input(name) for name in ("W1", "b1", "W2", "b2")}
        W1, b1, W2, b2 = self.params.values()
        self.logits = mf.Linear(mf.ReLU(mf.Linear(self.X, W1, b1)), W2, b2)
        self.cost = mf.SoftmaxCrossEntropy(self.y, self.logits)
        feed_dict = {self.X: X_train[:BATCH], self.y: y_train[:BATCH]}
        feed_dict.update({self.params[name]: value.copy() for name, value in weights.items()})
        self.graph = mf.topological_sort(feed_dict)
        self.trainables = list(self.params.values())

    def epoch(self, order):
        X, y, graph, trainables = self.X, self.y, self.graph, self.trainables
        for step in range(len(order) // BATCH):
            rows = order[step * BATCH:(step + 1) * BATCH]
            X.value, y.value = self.X_train[rows], self.y_train[rows]
            mf.forward_and_backward(graph)
            mf.sgd_update(trainables, LEARNING_RATE)

    def weights(self):
        return {name: node.value for name, node in self.params.items()}


class NumpyTrainer:
    def __init__(self, weights, X_train, y_train):
        self.X_train, self.y_train = X_train, y_train
        self.p = {name: value.copy() for name, value in weights.items()}

    def epoch(self, order):
        W1, b1, W2, b2 = (self.p[name] for name in ("W1", "b1", "W2", "b2"))
        for step in range(len(order) // BATCH):
            rows = order[step * BATCH:(step + 1) * BATCH]
            X, y = self.X_train[rows], self.y_train[rows]
            n = len(y)
            # forward
            l1 = X @ W1 + b1
            h = np.maximum(l1, 0)
            z = h @ W2 + b2
            e = np.exp(z - z.max(axis=1, keepdims=True))
            d_z = e / e.sum(axis=1, keepdims=True)
            # backward: the parameters' gradients only
            d_z[np.arange(n), y] -= 1
            d_z /= n
            d_W2 = h.T @ d_z
            d_b2 = d_z.sum(axis=0)
            d_l1 = d_z @ W2.T
            d_l1 *= l1 > 0
            d_W1 = X.T @ d_l1
            d_b1 = d_l1.sum(axis=0)
            # update (sgd), in place
            W1 -= LEARNING_RATE * d_W1
            b1 -= LEARNING_RATE * d_b1
            W2 -= LEARNING_RATE * d_W2
            b2 -= LEARNING_RATE * d_b2

    def weights(self):
        return self.p


def test_accuracy(weights, X_test, y_test):
    logits = np.maximum(X_test @ weights["W1"] + weights["b1"], 0) @ weights["W2"] + weights["b2"]
    return mf.accuracy(logits, y_test)


def epoch_ratio(data, rounds):
    """Median over `rounds` of (miniflow epoch time / NumPy epoch time), each round timing both on the same batches."""
    X_train, y_train, _, _ = data
    weights = starting_weights()
    ours, theirs = MiniflowTrainer(weights, X_train, y_train), NumpyTrainer(weights, X_train, y_train)
    rng = np.random.default_rng(1)
    order = rng.permutation(len(y_train))
    ours.epoch(order)          # warm up, and check that both compute the same training
    theirs.epoch(order)
    for name in weights:
        assert np.allclose(ours.weights()[name], theirs.weights()[name], atol=1e-10), name
    ratios, times = [], {"miniflow": [], "numpy": []}
    for i in range(rounds):
        order = rng.permutation(len(y_train))
        pair = [("miniflow", ours), ("numpy", theirs)]
        measured = {}
        for name, trainer in (pair if i % 2 == 0 else pair[::-1]):   # alternate who goes first
            start = time.perf_counter()
            trainer.epoch(order)
            measured[name] = time.perf_counter() - start
            times[name].append(measured[name])
        ratios.append(measured["miniflow"] / measured["numpy"])
    return float(np.median(ratios)), float(np.median(times["miniflow"])), float(np.median(times["numpy"]))


def time_to_accuracy(trainer_class, data, target=ACCURACY_TARGET, max_epochs=30):
    """Seconds from fresh weights until the held-out accuracy, measured after each epoch, reaches `target`."""
    X_train, y_train, X_test, y_test = data
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    trainer = trainer_class(starting_weights(), X_train, y_train)
    for epoch in range(1, max_epochs + 1):
        trainer.epoch(rng.permutation(len(y_train)))
        accuracy = test_accuracy(trainer.weights(), X_test, y_test)
        if accuracy >= target:
            return time.perf_counter() - start, epoch, accuracy
    return float("inf"), max_epochs, accuracy


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="interleaved epochs of each (default 30)")
    args = parser.parse_args()
    data = digits_split()
    ratio, ours, theirs = epoch_ratio(data, args.rounds)
    verdict = "ok" if ratio <= EPOCH_TARGET else "SLOWER THAN TARGET"
    print(f"one epoch ({len(data[1]) // BATCH} steps of {BATCH}): miniflow {ours * 1e3:.1f} ms, "
          f"numpy {theirs * 1e3:.1f} ms, ratio {ratio:.2f} (target {EPOCH_TARGET:.2f}x)  {verdict}")
    for name, trainer_class in (("miniflow", MiniflowTrainer), ("numpy", NumpyTrainer)):
        runs = [time_to_accuracy(trainer_class, data) for _ in range(5)]
        seconds, epochs, accuracy = min(runs)
        verdict = "ok" if seconds <= SECONDS_TARGET else "SLOWER THAN TARGET"
        print(f"{name:>8}: {ACCURACY_TARGET:.0%} held-out accuracy after {epochs} epochs ({accuracy:.1%}) "
              f"in {seconds:.3f} s (target {SECONDS_TARGET:g} s)  {verdict}")


if __name__ == "__main__":
    main()
