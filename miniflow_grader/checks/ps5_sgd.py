r"""Problem set 5: `sgd_update`, and the training loop `train`."""
import numpy as np

import miniflow
from miniflow import Input, Linear, MSE, Sigmoid

from . import _training
from .common import (CheckFailed, attempt, inline, learner, matching_hints, other_inputs, random_shape, recorded,
                     same, small, targets, visible_and_hidden, with_random_case)

targets("ps5_sgd", ["sgd_update"])


def _sgd_cases(rng, hidden):
    if not hidden:
        return [([np.array([[2.0], [3.0]]), np.array([-3.0])], [np.array([[5.0], [-10.0]]), np.array([2.0])], 0.5),
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
                 (v - lr * lr * g, "the learning rate was applied twice: the step is learning_rate * gradient."),
                 (v - 1e-2 * g if rate is not None else None,
                  "use the learning_rate argument instead of a fixed 0.01."),
                 (-lr * g, "the new value is the old value minus the step, not the step alone."),
                 (v, f"trainable {j + 1} was not updated: loop over every trainable, for t in trainables."
                  if j else "the value did not change: assign the updated value to t.value."),
                 (v - lr * np.clip(g, -1, 1), "the gradient was clipped to [-1, 1]: the step is learning_rate * "
                  "gradient, with the gradient as the backward pass left it.")]
        if not matching_hints(got, v - lr * g, hints):
            hints += _other_rate(got, v, g, lr, rate)
        same(got, v - lr * g, what, hints, shape_hint="the update keeps the shape of the value.")


def _other_rate(got, v, g, lr, rate):
    """A hint if `got` is one step of another size, v - c * g: which step was taken, and which one is meant."""
    if got.shape != v.shape or not np.all(np.isfinite(got)) or not np.any(g):
        return []
    i = int(np.argmax(np.abs(g)))
    c = float((v.flat[i] - got.flat[i]) / g.flat[i])
    if c <= 0 or np.isclose(c, lr, rtol=1e-6):
        return []
    if rate is None:
        return [(v - c * g, f"called without a learning rate, it stepped with {c:.3g} * gradient; the default is "
                            "0.01: def sgd_update(trainables, learning_rate=1e-2).")]
    return [(v - c * g, f"it stepped with {c:.3g} * gradient, but the learning rate given was {rate:.3g}: the step "
                        "is learning_rate * gradient.")]


visible_and_hidden(
    "sgd_update", "ps5_sgd", _probe_sgd, _compare_sgd,
    visible="sgd_update moves each trainable one step against its gradient, "
                                "with the given learning rate or 0.01.",
    hidden="sgd_update on random trainables, shapes and learning rates.")

#: The settings the training checks pass to the learner's train().
TRAIN_SETTINGS = dict(n_hidden=10, epochs=100, batch_size=11, learning_rate=0.05)
#: How far above a least-squares line's MSE a trained network may end. A loop that follows the batch rule ends at
#: 0.77 to 0.98 of it over 60 runs (30 seeds, the whole data and an 80% part); predicting the mean is about 2 times.
LINE_MARGIN = 1.25
#: The visible check's data: the diabetes data with its features in this order, not the notebook's own.
VISIBLE_COLUMNS = np.random.default_rng(1).permutation(10)


class _MSE(MSE):
    """miniflow's MSE, stopping the training at an empty batch (whose mean would divide by zero)."""
    role = "MSE"

    def forward(self):
        if any(np.size(n.value) == 0 for n in self.inbound_nodes):
            raise _training.EmptyBatch()
        super().forward()


def _normal_weights(rng, n_in, n_out):
    return rng.normal(size=(n_in, n_out))


LOOP = _training.Loop(
    function="train", settings=TRAIN_SETTINGS, n_out=1, hidden="Sigmoid", cost="MSE", weights=_normal_weights,
    draw_text="W1 = rng.normal(size=(n_features, n_hidden)), then W2 = rng.normal(size=(n_hidden, 1))",
    stand_ins={"MSE": _MSE}, symmetric_cost=True)


def standardised_diabetes():
    """scikit-learn's diabetes data (bundled), each feature and the target scaled to mean 0 and std 1."""
    from sklearn.datasets import load_diabetes
    data = load_diabetes()
    X_, y_ = data["data"], data["target"]
    return (X_ - X_.mean(axis=0)) / X_.std(axis=0), (y_ - y_.mean()) / y_.std()


def _train_data(rng, hidden):
    """(X, y, seed): the visible check's data are the notebook's with the features in another order; the hidden
    check's a random 80% of the examples with the features shuffled."""
    X_, y_ = standardised_diabetes()
    seed = int(rng.integers(0, 2**31 - 1))
    if hidden:
        rows = rng.permutation(len(y_))[: int(0.8 * len(y_))]
        columns = rng.permutation(X_.shape[1])
        return X_[rows][:, columns], y_[rows], seed
    return X_[:, VISIBLE_COLUMNS], y_, seed


def _runs(seed):
    """(prefix, seed, first step only) of every run a check makes: the full training, then the same seed and the
    next one, each stopped after its first step (enough to see the seed at work)."""
    return [("", seed, False), ("again_", seed, True), ("other_", seed + 1, True)]


def _probe_train(hidden):
    def probe_fn(namespace, rng):
        learner(namespace, "train", "function")
        outputs = {}
        X_, y_, seed = _train_data(rng, hidden)
        for prefix, run_seed, short in _runs(seed):
            _training.run_training(namespace, LOOP, X_, y_, run_seed, outputs, prefix, first_step_only=short)
        return outputs
    return probe_fn


def _network_cost(X_, y_, W1, b1, W2, b2):
    X, y, w1, c1, w2, c2 = (Input(name=n) for n in ("X", "y", "W1", "b1", "W2", "b2"))
    cost = MSE(y, Linear(Sigmoid(Linear(X, w1, c1)), w2, c2))
    graph = miniflow.topological_sort({X: X_, y: y_, w1: W1, c1: b1, w2: W2, c2: b2})
    return float(miniflow.forward_pass(cost, graph))


def linear_fit_mse(X_, y_):
    """The MSE of the best straight-line fit y = Xw + c (linear least squares): the network must beat it."""
    design = np.column_stack([X_, np.ones(len(X_))])
    coefficients, *_ = np.linalg.lstsq(design, y_, rcond=None)
    return float(np.mean((design @ coefficients - y_) ** 2))


def _compare_train(hidden):
    def compare_fn(outputs, rng):
        X_, y_, seed = _train_data(rng, hidden)
        what = (f"train on the standardised diabetes data (features in another order), seed={seed}" if not hidden
                else f"train on a random 80% of the diabetes data with its features shuffled, seed={seed}")
        extra = [(prefix, run_seed) for prefix, run_seed, short in _runs(seed) if short]
        params = _training.judge_run(outputs, "", what, LOOP, X_, y_, seed, extra)
        for name, value in params.items():
            if not np.all(np.isfinite(value)):
                raise CheckFailed(f"{what}: the returned {name} contains NaN or infinity: the training diverged.")
        loss = _network_cost(X_, y_, **params)
        line = linear_fit_mse(X_, y_)
        if not loss < LINE_MARGIN * line:
            raise CheckFailed(
                f"{what}: every step followed the task, but after training the network's MSE on all the data is "
                f"{loss:.4g}; a straight line fitted by least squares gets {line:.4g} (predicting the mean gets 1), "
                f"and the task's loop ends below {LINE_MARGIN:g} times the line's, {LINE_MARGIN * line:.4g}.")
    return compare_fn


visible_and_hidden(
    "train", "ps5_sgd", _probe_train, _compare_train,
    visible="train fits the lesson's network to the standardised diabetes data about as well as a straight line "
            "or better, following the batch rule from the seed: the weights first, then each epoch's shuffle.",
    hidden="train on a random part of the data with shuffled features, from another seed.")
