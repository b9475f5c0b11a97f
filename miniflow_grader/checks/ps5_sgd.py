r"""Problem set 5: `sgd_update`, and the training loop `train`."""
import numpy as np

import miniflow
from miniflow import Input, Linear, MSE, Sigmoid

from .common import (CheckFailed, attempt, describe, inline, learner, other_inputs, random_shape,
                    recorded, same, small, targets, visible_and_hidden, with_random_case)

targets("ps5_sgd", ["sgd_update"])


def _sgd_cases(rng, hidden):
    if not hidden:
        return [([np.array([[2.0], [3.0]]), np.array([-3.0])], [np.array([[5.0], [-10.0]]), np.array([2.0])], 0.1),
                ([np.array([[1.0, 2.0], [3.0, 4.0]])], [np.array([[1.0, 1.0], [-1.0, 0.0]])], None)]
    cases = []
    for _ in range(2):
        count = int(rng.integers(1, 5))
        values = [rng.normal(size=random_shape(rng, ndim=int(rng.integers(1, 3)))) for _ in range(count)]
        cases.append((values, [rng.normal(size=v.shape) for v in values], float(rng.uniform(0.001, 0.5))))
    return cases


def _random_sgd_case(rng):
    """A visible check's extra case: random W and b of the lesson's shapes, random gradients and learning rate."""
    values = [small(rng, (2, 1)), small(rng, (1,))]
    return values, [small(rng, np.shape(v), scale=10.0) for v in values], float(rng.choice([0.05, 0.2, 0.3, 0.5]))


def _probe_sgd(hidden):
    def probe_fn(namespace, rng):
        update = learner(namespace, "sgd_update", "function")
        outputs = {}
        for i, (values, grads, rate) in enumerate(with_random_case(_sgd_cases(rng, hidden), hidden,
                                                                    _random_sgd_case, rng)):
            holder = {}

            def run(values=values, grads=grads, rate=rate, holder=holder):
                trainables = [Input(name=f"t{j + 1}") for j in range(len(values))]
                given = [np.array(v, dtype=float) for v in values]
                for t, v, g in zip(trainables, given, grads):
                    t.value = v
                    t.gradients = {t: np.array(g, dtype=float)}
                if rate is None:
                    update(trainables)
                else:
                    update(trainables, rate)
                holder["trainables"], holder["given"] = trainables, given
                return np.array(0.0)

            attempt(outputs, f"case{i}_ran", run)
            for j in range(len(values)):
                if "trainables" in holder:
                    attempt(outputs, f"case{i}_t{j}", lambda j=j: holder["trainables"][j].value)
                    outputs[f"case{i}_t{j}_given_changed"] = np.array(
                        not np.array_equal(holder["given"][j], values[j]))
        return outputs
    return probe_fn


def _compare_sgd(hidden):
    def compare_fn(outputs, rng):
        fixed = _sgd_cases(rng, hidden)
        for i, (values, grads, rate) in enumerate(with_random_case(fixed, hidden, _random_sgd_case, rng)):
            if hidden or i < len(fixed):
                _judge_sgd(i, values, grads, rate, outputs)
                continue
            inputs = "; ".join(f"value {inline(v)}, gradient {inline(g)}" for v, g in zip(values, grads))
            with other_inputs("sgd_update", f"{inputs}; learning rate {rate:.3g}"):
                _judge_sgd(i, values, grads, rate, outputs)
    return compare_fn


def _judge_sgd(i, values, grads, rate, outputs):
    lr = 1e-2 if rate is None else rate
    call = "sgd_update(trainables)" if rate is None else f"sgd_update(trainables, {rate:.3g})"
    recorded(outputs, f"case{i}_ran", call)
    for j, (v, g) in enumerate(zip(values, grads)):
        what = f"{call}: the new value of trainable {j + 1} (value {inline(v)}, gradient {inline(g)})" \
            if v.size <= 4 else f"{call}: the new value of trainable {j + 1} (shape {v.shape})"
        if bool(outputs.get(f"case{i}_t{j}_given_changed", False)):
            raise CheckFailed(
                f"{call} changed the array it was given in place (`t.value -= ...`). Other code may hold "
                "that array (the data you fed in, or a copy of the weights you want to compare with): "
                "assign a new array instead, `t.value = t.value - learning_rate * gradient`.")
        got = recorded(outputs, f"case{i}_t{j}", what)
        hints = [(v + lr * g, "that steps uphill: subtract the gradient, w - learning_rate * dC/dw."),
                 (v - g, "multiply the gradient by the learning rate."),
                 (v - 1e-2 * g if rate is not None else None,
                  "use the learning_rate argument instead of a fixed 0.01."),
                 (-lr * g, "the new value is the old value minus the step, not the step alone."),
                 (v, "the value did not change: assign the updated value to t.value.")]
        same(got, v - lr * g, what, hints, shape_hint="the update keeps the shape of the value.")


visible_and_hidden(
    "sgd_update", "ps5_sgd", _probe_sgd, _compare_sgd,
    visible="sgd_update moves each trainable one step against its gradient, "
                                "with the given learning rate or 0.01.",
    hidden="sgd_update on random trainables, shapes and learning rates.")

#: The settings the training checks pass to the learner's train(); the threshold is on standardised targets.
TRAIN_SETTINGS = dict(n_hidden=10, epochs=100, batch_size=11, learning_rate=0.05)
TRAIN_THRESHOLD = 0.55


def standardised_diabetes():
    """scikit-learn's diabetes data (bundled), each feature and the target scaled to mean 0 and std 1."""
    from sklearn.datasets import load_diabetes
    data = load_diabetes()
    X_, y_ = data["data"], data["target"]
    return (X_ - X_.mean(axis=0)) / X_.std(axis=0), (y_ - y_.mean()) / y_.std()


def _train_data(rng, hidden):
    X_, y_ = standardised_diabetes()
    seed = int(rng.integers(0, 2**31))
    if hidden:
        rows = rng.permutation(len(y_))[: int(0.8 * len(y_))]
        columns = rng.permutation(X_.shape[1])
        X_, y_ = X_[rows][:, columns], y_[rows]
    return X_, y_, seed


def _sgd_step(trainables, learning_rate=1e-2):
    """One SGD step, standing in for the learner's sgd_update while their training loop is checked."""
    for t in trainables:
        t.value = t.value - learning_rate * t.gradients[t]


def _random_train_data(rng):
    """A visible check's extra case: the same data with its features in a random order, and another seed."""
    X_, y_ = standardised_diabetes()
    columns = rng.permutation(X_.shape[1])
    return X_[:, columns], y_, int(rng.integers(0, 2**31))


def _probe_train(hidden):
    def probe_fn(namespace, rng):
        train = learner(namespace, "train", "function")
        outputs = {}
        _run_train(namespace, train, *_train_data(rng, hidden), outputs, "")
        if not hidden:
            _run_train(namespace, train, *_random_train_data(rng), outputs, "random_")
        return outputs
    return probe_fn


def _run_train(namespace, train, X_, y_, seed, outputs, prefix):
    had = "sgd_update" in namespace
    saved = namespace.get("sgd_update")
    namespace["sgd_update"] = _sgd_step
    try:
        holder = {}

        def run():
            holder["params"] = train(X_.copy(), y_.copy(), seed=seed, **TRAIN_SETTINGS)
            return np.array(0.0)
        attempt(outputs, prefix + "ran", run)
    finally:
        if had:
            namespace["sgd_update"] = saved
        else:
            namespace.pop("sgd_update", None)
    if "params" in holder:
        params = holder["params"]
        try:
            params = list(params)
        except Exception as error:
            outputs[prefix + "params__error"] = np.array(describe(error))
            return
        outputs[prefix + "count"] = np.array(len(params))
        for name, value in zip(("W1", "b1", "W2", "b2"), params):
            attempt(outputs, prefix + name, lambda value=value: value)


def _network_cost(X_, y_, W1, b1, W2, b2):
    X, y, w1, c1, w2, c2 = (Input(name=n) for n in ("X", "y", "W1", "b1", "W2", "b2"))
    cost = MSE(y, Linear(Sigmoid(Linear(X, w1, c1)), w2, c2))
    graph = miniflow.topological_sort({X: X_, y: y_, w1: W1, c1: b1, w2: W2, c2: b2})
    return float(miniflow.forward_pass(cost, graph))


def _compare_train(hidden):
    def compare_fn(outputs, rng):
        what = ("train on the standardised diabetes data" if not hidden
                else "train on a random 80% of the diabetes data with its features shuffled")
        _judge_train(outputs, "", what, *_train_data(rng, hidden))
        if not hidden:
            X_, y_, seed = _random_train_data(rng)
            with other_inputs("train", "the same data with its features in another order",
                               lesson="fits the lesson's data",
                               fix="train on the data it is given rather than returning fixed weights"):
                _judge_train(outputs, "random_", "train on the standardised diabetes data with its features "
                                                 "in another order", X_, y_, seed)
    return compare_fn


def _judge_train(outputs, prefix, what, X_, y_, seed):
    recorded(outputs, prefix + "ran", what)
    if prefix + "params__error" in outputs:
        raise CheckFailed(f"{what}: the result is not a list of arrays: {outputs[prefix + 'params__error']}")
    if int(outputs.get(prefix + "count", -1)) != 4:
        raise CheckFailed(f"{what} should return the four trained values [W1, b1, W2, b2], "
                          f"got {int(outputs.get(prefix + 'count', 0))} item(s).")
    k, h = X_.shape[1], TRAIN_SETTINGS["n_hidden"]
    shapes = {"W1": (k, h), "b1": (h,), "W2": (h, 1), "b2": (1,)}
    params = {}
    for name, shape in shapes.items():
        params[name] = recorded(outputs, prefix + name, f"{what}: the returned {name}")
        if params[name].shape != shape:
            raise CheckFailed(f"{what}: the returned {name} has shape {params[name].shape}, expected {shape} "
                              f"(Linear -> Sigmoid -> Linear with {h} hidden units on {k} features).")
        if not np.all(np.isfinite(params[name])):
            raise CheckFailed(f"{what}: the returned {name} contains NaN or infinity: the training diverged. "
                              "Is the learning rate used as given, and is the gradient subtracted?")
    loss = _network_cost(X_, y_, **params)
    if not loss < TRAIN_THRESHOLD:
        raise CheckFailed(
            f"{what}: after training, the network's MSE on all the data is {loss:.4g}; it should be below "
            f"{TRAIN_THRESHOLD} (predicting the mean scores 1.0).\nHint: each step should sample a new batch of "
            f"batch_size examples, set X.value and y.value, run forward and backward through the sorted graph, "
            f"then update the trainables [W1, b1, W2, b2] with the learning rate given; repeat for "
            f"epochs * (number of examples // batch_size) steps, and return the trained values.")


visible_and_hidden(
    "train", "ps5_sgd", _probe_train, _compare_train,
    visible="train gets the lesson's network below an MSE of 0.55 on the standardised diabetes data.",
    hidden="train on a random part of the data with shuffled features, from another seed.")
