"""Time one SGD step of the lesson's network in miniflow and in hand-written NumPy.

The network is Linear -> Sigmoid -> Linear -> MSE. Both versions run the same
algorithm on the same data: forward, backward (every gradient miniflow computes),
and an SGD update of W1, b1, W2, b2. The two are timed interleaved in one process,
so machine noise hits both alike; the script prints the ratio miniflow / NumPy.

    python benchmarks/train_step.py            # both sizes
    python benchmarks/train_step.py --repeat 9
"""
import argparse
import timeit

import numpy as np
from scipy.special import expit

import miniflow as mf

SIZES = [  # (batch, hidden, target ratio)
    (11, 10, 1.5),
    (442, 512, 1.05),
]
N_FEATURES = 10
LEARNING_RATE = 1e-3


def make_data(batch, hidden, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "X": rng.standard_normal((batch, N_FEATURES)),
        "y": rng.standard_normal(batch),
        "W1": rng.standard_normal((N_FEATURES, hidden)),
        "b1": np.zeros(hidden),
        "W2": rng.standard_normal((hidden, 1)),
        "b2": np.zeros(1),
    }


def miniflow_step(data):
    X, y = mf.Input("X"), mf.Input("y")
    W1, b1, W2, b2 = mf.Input("W1"), mf.Input("b1"), mf.Input("W2"), mf.Input("b2")
    cost = mf.MSE(y, mf.Linear(mf.Sigmoid(mf.Linear(X, W1, b1)), W2, b2))
    graph = mf.topological_sort({X: data["X"], y: data["y"], W1: data["W1"], b1: data["b1"],
                                 W2: data["W2"], b2: data["b2"]})
    trainables = [W1, b1, W2, b2]

    def step():
        mf.forward_and_backward(graph)
        mf.sgd_update(trainables, LEARNING_RATE)
        return cost.value
    return step


def numpy_step(data):
    p = {k: v.copy() for k, v in data.items()}

    def step():
        X, y = p["X"], p["y"]
        # forward
        l1 = X @ p["W1"] + p["b1"]
        s1 = expit(l1)
        l2 = s1 @ p["W2"] + p["b2"]
        diff = y.reshape(-1, 1) - l2.reshape(-1, 1)
        cost = np.mean(diff ** 2)
        # backward
        m = diff.size
        d_y = ((2 / m) * diff).reshape(y.shape)
        d_l2 = (-2 / m) * diff
        d_W2 = s1.T @ d_l2
        d_b2 = d_l2.sum(axis=0)
        d_s1 = d_l2 @ p["W2"].T
        d_l1 = s1 * (1 - s1) * d_s1
        d_X = d_l1 @ p["W1"].T
        d_W1 = X.T @ d_l1
        d_b1 = d_l1.sum(axis=0)
        # update (sgd)
        p["W1"] = p["W1"] - LEARNING_RATE * d_W1
        p["b1"] = p["b1"] - LEARNING_RATE * d_b1
        p["W2"] = p["W2"] - LEARNING_RATE * d_W2
        p["b2"] = p["b2"] - LEARNING_RATE * d_b2
        return cost, d_X, d_y
    return step


def measure(batch, hidden, repeat):
    data = make_data(batch, hidden)
    ours, theirs = miniflow_step(data), numpy_step(data)
    # Same algorithm: one step from the same start gives the same cost.
    assert np.isclose(ours(), theirs()[0])
    number = max(1, int(0.05 / max(timeit.timeit(theirs, number=3) / 3, 1e-7)))
    ours_times, numpy_times = [], []
    for _ in range(repeat):          # interleave, so drifts in machine speed hit both
        ours_times.append(timeit.timeit(ours, number=number) / number)
        numpy_times.append(timeit.timeit(theirs, number=number) / number)
    return min(ours_times), min(numpy_times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print(f"{'batch':>6} {'hidden':>6} {'miniflow':>12} {'numpy':>12} {'ratio':>7} {'target':>7}")
    for batch, hidden, target in SIZES:
        ours, theirs = measure(batch, hidden, args.repeat)
        ratio = ours / theirs
        verdict = "ok" if ratio <= target else "SLOWER THAN TARGET"
        print(f"{batch:>6} {hidden:>6} {ours * 1e6:>10.1f}us {theirs * 1e6:>10.1f}us "
              f"{ratio:>7.2f} {target:>6.2f}x  {verdict}")


if __name__ == "__main__":
    main()
