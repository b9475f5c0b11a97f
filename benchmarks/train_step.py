"""Time one SGD step of the lesson's network in miniflow and in hand-written NumPy.

The network is Linear -> Sigmoid -> Linear -> MSE. Every version runs the same
algorithm on the same data: forward, backward, and an SGD update of W1, b1, W2, b2.
There are two NumPy baselines:

* "all gradients" computes every gradient miniflow computes, X's and y's included,
  and assigns new arrays in the update, as miniflow does;
* "user" is what a user would write by hand: only the four parameter gradients,
  and updates in place.

The three are timed interleaved in one process, round after round, so machine noise
hits them alike; the script prints the median over the rounds of each round's ratio
miniflow / NumPy.

    python benchmarks/train_step.py            # both sizes
    python benchmarks/train_step.py --repeat 61
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


def user_step(data):
    """The step a user writes by hand: the parameters' gradients only, updated in place."""
    p = {k: v.copy() for k, v in data.items()}
    X, y, W1, b1, W2, b2 = (p[k] for k in ("X", "y", "W1", "b1", "W2", "b2"))
    y_column = y.reshape(-1, 1)

    def step():
        # forward
        s1 = expit(X @ W1 + b1)
        diff = y_column - (s1 @ W2 + b2)
        cost = np.mean(diff ** 2)
        # backward: W1, b1, W2 and b2 only
        d_l2 = (-2 / diff.size) * diff
        d_l1 = d_l2 @ W2.T
        d_l1 *= s1 * (1 - s1)
        # update (sgd), in place
        p["W2"] -= LEARNING_RATE * (s1.T @ d_l2)
        p["b2"] -= LEARNING_RATE * d_l2.sum(axis=0)
        p["W1"] -= LEARNING_RATE * (X.T @ d_l1)
        p["b1"] -= LEARNING_RATE * d_l1.sum(axis=0)
        return cost
    return step


def measure(batch, hidden, repeat):
    """Median step times, and the medians of each round's ratios miniflow / all gradients and miniflow / user."""
    data = make_data(batch, hidden)
    steps = {"miniflow": miniflow_step(data), "numpy": numpy_step(data), "user": user_step(data)}
    # Same algorithm: one step from the same start gives the same cost.
    first = steps["miniflow"]()
    assert np.isclose(first, steps["numpy"]()[0]) and np.isclose(first, steps["user"]())
    number = max(2, int(0.05 / max(timeit.timeit(steps["user"], number=3) / 3, 1e-7)))
    times = {name: [] for name in steps}
    order = list(steps)
    for i in range(repeat):          # interleave, and rotate who goes first, so drifts in machine speed hit all
        for name in order[i % 3:] + order[:i % 3]:
            times[name].append(timeit.timeit(steps[name], number=number) / number)
    ours = np.array(times["miniflow"])
    return ({name: float(np.median(t)) for name, t in times.items()},
            float(np.median(ours / np.array(times["numpy"]))), float(np.median(ours / np.array(times["user"]))))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=41, help="interleaved rounds (default 41)")
    args = parser.parse_args()
    print(f"{'batch':>6} {'hidden':>6} {'miniflow':>12} {'all grads':>12} {'ratio':>7} {'target':>7}"
          f"    {'user':>12} {'ratio':>7}")
    for batch, hidden, target in SIZES:
        times, ratio, user_ratio = measure(batch, hidden, args.repeat)
        verdict = "ok" if ratio <= target else "SLOWER THAN TARGET"
        print(f"{batch:>6} {hidden:>6} {times['miniflow'] * 1e6:>10.1f}us {times['numpy'] * 1e6:>10.1f}us "
              f"{ratio:>7.2f} {target:>6.2f}x    {times['user'] * 1e6:>10.1f}us {user_ratio:>7.2f}  {verdict}")


if __name__ == "__main__":
    main()
