r"""Problem set 3: `Linear.forward`, `Sigmoid.forward` and `MSE.forward`."""
import numpy as np
from scipy.special import expit

from miniflow import Input

from .common import (PRINTED, CheckFailed, attempt, fmt, inline, judge_forward_purity, learner, maybe,
                    other_inputs, random_shape, recorded, run_forward, same, small, targets,
                    visible_and_hidden, with_random_case)

targets("ps3_forward", ["Linear.forward", "Sigmoid.forward", "MSE.forward"])

# The numbers the lesson prints.
LESSON_LINEAR = np.array([[18.0, 21.0], [42.0, 49.0]])
LESSON_SIGMOID = np.array([[1.23394576e-04, 9.82013790e-01], [1.23394576e-04, 9.82013790e-01]])
LESSON_MSE = 23.4166666667


def _linear_cases(rng, hidden):
    """Visible: the lesson's example, a 3x2 X, a batch of 1 and a single output. Hidden: the same forms, random."""
    if not hidden:
        return [(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[5.0, 6.0], [7.0, 8.0]]), np.array([-1.0, -1.0])),
                (np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), np.array([[1.0, 0.5, -1.0], [2.0, 0.0, 1.0]]),
                 np.array([0.5, -1.0, 2.0])),
                (np.array([[1.0, -2.0, 0.5]]), np.array([[1.0, 2.0], [0.0, -1.0], [2.0, 1.0]]), np.array([0.5, -0.5])),
                (np.array([[1.0, 2.0], [3.0, -1.0], [0.0, 2.0]]), np.array([[2.0], [-1.0]]), np.array([0.5]))]
    n, k, m = 3 + int(rng.integers(0, 3)), 6, 2 + int(rng.integers(0, 3))   # n, k and m all differ
    return [(rng.normal(size=(n, k)), rng.normal(size=(k, m)), rng.normal(size=m)),
            (rng.normal(size=(1, k)), rng.normal(size=(k, m)), rng.normal(size=m)),
            (rng.normal(size=(n, k)), rng.normal(size=(k, 1)), rng.normal(size=1))]


def _random_linear_case(rng):
    """A visible check's extra case: small random X (2 to 4 x 2 to 3), W and b."""
    n, k, m = int(rng.integers(2, 5)), int(rng.integers(2, 4)), int(rng.integers(2, 4))
    return small(rng, (n, k)), small(rng, (k, m)), small(rng, (m,))


def _probe_linear_forward(hidden):
    def probe_fn(namespace, rng):
        cls = learner(namespace, "Linear")
        outputs = {}
        for i, (X_, W_, b_) in enumerate(with_random_case(_linear_cases(rng, hidden), hidden,
                                                            _random_linear_case, rng)):
            def make(X_=X_, W_=W_, b_=b_):
                X, W, b = Input(name="X"), Input(name="W"), Input(name="b")
                X.value, W.value, b.value = X_.copy(), W_.copy(), b_.copy()
                return cls(X, W, b), [X, W, b]
            run_forward(outputs, f"case{i}", make)
        return outputs
    return probe_fn


def _compare_linear_forward(hidden):
    def compare_fn(outputs, rng):
        fixed = _linear_cases(rng, hidden)
        for i, (X_, W_, b_) in enumerate(with_random_case(fixed, hidden, _random_linear_case, rng)):
            if hidden or i < len(fixed):
                _judge_linear_forward(i, X_, W_, b_, outputs, hidden)
                continue
            with other_inputs("Linear.forward", f"X = {inline(X_)}, W = {inline(W_)}, b = {inline(b_)}"):
                _judge_linear_forward(i, X_, W_, b_, outputs, hidden)
    return compare_fn


def _judge_linear_forward(i, X_, W_, b_, outputs, hidden):
    what = (f"Linear of X {X_.shape}, W {W_.shape}, b {b_.shape}" if hidden or X_.size > 6 else
            f"Linear of X = {inline(X_)}, W = {inline(W_)}, b = {inline(b_)}")
    got = recorded(outputs, f"case{i}", what)
    expected = X_ @ W_ + b_
    hints = [(X_ @ W_, "the bias b is missing: the output is XW + b."),
             (maybe(lambda: W_ @ X_ + b_),
              "that is WX + b: X is (examples, features), so the product is X @ W."),
             (maybe(lambda: X_ * W_ + b_),
              "X * W multiplies element by element: use the matrix product X @ W (np.dot)."),
             (maybe(lambda: X_ @ W_.T + b_), "W should not be transposed."),
             (maybe(lambda: np.squeeze(X_ @ W_ + b_)),
              "np.squeeze (or ravel) dropped an axis of length 1: keep the result (n, n_out), one row per example, "
              "also for a batch of one example or a single output."),
             (maybe(lambda: X_ @ W_ + b_.reshape(-1, 1)), "b is added to every row, as a row (n_out,): not as a column."),
             (maybe(lambda: X_ @ W_ + b_.sum()), "b has one number per output: add the vector b, not its sum.")]
    same(got, expected, what, hints,
         shape_hint="XW + b has one row per example and one column per output: (n, n_in) @ (n_in, n_out) + (n_out,).")
    if not hidden and i == 0:
        same(got, LESSON_LINEAR, what)
    judge_forward_purity(outputs, f"case{i}", what, "Linear.forward")


visible_and_hidden(
    "linear_forward", "ps3_forward", _probe_linear_forward, _compare_linear_forward,
    visible="Linear.forward gives the lesson's [[18, 21], [42, 49]], and XW + b for a 3x2 X, a batch of 1 and a "
            "single output.",
    hidden="Linear.forward on random X, W, b, including a batch of 1 and a single output.")


def _sigmoid_cases(rng, hidden):
    if not hidden:
        return [np.array([[-9.0, 4.0], [-9.0, 4.0]]),   # the linear layer's output in the lesson
                np.array([-2.0, 0.0, 2.0]),
                np.array([-40.0, -15.0, -11.0, 11.0, 15.0, 40.0])]   # far from 0 the sigmoid is near 0 or 1
    return [rng.normal(scale=3, size=random_shape(rng, ndim=2, batch=1)),
            rng.normal(scale=3, size=random_shape(rng, ndim=int(rng.integers(1, 3)))),
            np.concatenate([-rng.uniform(10.5, 60, size=3), rng.uniform(10.5, 60, size=3)])]


def _random_sigmoid_case(rng):
    """A visible check's extra case: a small random array of the lesson's shape."""
    return small(rng, np.shape(LESSON_SIGMOID), scale=4.0)


def _probe_sigmoid_forward(hidden):
    def probe_fn(namespace, rng):
        cls = learner(namespace, "Sigmoid")
        outputs = {}
        for i, x_ in enumerate(with_random_case(_sigmoid_cases(rng, hidden), hidden, _random_sigmoid_case, rng)):
            def make(x_=x_):
                x = Input(name="x")
                x.value = np.array(x_, dtype=float)
                return cls(x), [x]
            run_forward(outputs, f"case{i}", make)
        return outputs
    return probe_fn


def _compare_sigmoid_forward(hidden):
    def compare_fn(outputs, rng):
        fixed = _sigmoid_cases(rng, hidden)
        for i, x_ in enumerate(with_random_case(fixed, hidden, _random_sigmoid_case, rng)):
            if hidden or i < len(fixed):
                _judge_sigmoid_forward(i, x_, outputs, hidden)
                continue
            with other_inputs("Sigmoid.forward", inline(x_)):
                _judge_sigmoid_forward(i, x_, outputs, hidden, "Sigmoid of these inputs")
    return compare_fn


def _judge_sigmoid_forward(i, x_, outputs, hidden, what=None):
    what = what or (f"Sigmoid of {inline(x_)}" if x_.size <= 6 else f"Sigmoid of an input of shape {x_.shape}")
    got = recorded(outputs, f"case{i}", what)
    hints = [(expit(-x_), "that is 1/(1 + e^x): the sigmoid is 1/(1 + e^(-x))."),
             (1 / (1 + np.exp(-x_)) * (1 - 1 / (1 + np.exp(-x_))),
              "that is the derivative: forward computes the sigmoid itself."),
             (np.exp(-x_), "the sigmoid is 1/(1 + e^(-x)), not e^(-x)."),
             (np.tanh(x_), "that is tanh, the worked example: the sigmoid is 1/(1 + e^(-x))."),
             ((np.tanh(x_) + 1) / 2, "that is (tanh(x) + 1)/2, the sigmoid of 2x: the sigmoid is 1/(1 + e^(-x)) "
                                     "(it equals (tanh(x/2) + 1)/2).")]
    for limit in (5, 10, 15, 20, 30, 35, 50):
        if np.any(np.abs(x_) > limit):
            hints.append((expit(np.clip(x_, -limit, limit)),
                          f"the input was clipped to [-{limit}, {limit}]: the sigmoid of 15 is not the sigmoid of "
                          f"{limit}. 1/(1 + np.exp(-x)) needs no clipping (np.exp(-x) may overflow to inf, and "
                          "1/inf is 0, the right answer)."))
    same(got, expit(x_), what, hints, shape_hint="the sigmoid acts element by element: same shape as its input.",
         rtol=1e-6, atol=1e-12)
    if not hidden and i == 0:
        same(got, LESSON_SIGMOID, what, **PRINTED)
    judge_forward_purity(outputs, f"case{i}", what, "Sigmoid.forward")


visible_and_hidden(
    "sigmoid_forward", "ps3_forward", _probe_sigmoid_forward, _compare_sigmoid_forward,
    visible="Sigmoid.forward gives the lesson's output [[1.23394576e-04, 9.82013790e-01], ...], sigmoid(0) = 0.5, "
            "and the sigmoid of numbers far from 0, such as -40 and 15.",
    hidden="Sigmoid.forward on random inputs of random shapes, and on large positive and negative numbers.")


def _mse_cases(rng, hidden):
    if not hidden:
        return [(np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 0.0, 3.0, 6.0])),
                (np.array([1.0, 2.0, 3.0]), np.array([4.5, 5.0, 10.0])),     # the lesson's example
                (np.array([1.0, 2.0, 3.0]), np.array([[4.5], [5.0], [10.0]]))]
    cases = []
    for n, layout in ((1, int(rng.integers(0, 3))), (int(rng.integers(3, 8)), 0), (int(rng.integers(3, 8)), 1)):
        y_shape, a_shape = [((n,), (n, 1)), ((n, 1), (n,)), ((n, 1), (n, 1))][layout]
        cases.append((rng.normal(size=y_shape), rng.normal(size=a_shape)))
    return cases


def _random_mse_case(rng):
    """A visible check's extra case: random y and a of the lesson's shapes, (3,) each."""
    return small(rng, (3,), scale=10.0), small(rng, (3,), scale=10.0)


def _mse_value(y_, a_):
    return np.mean((np.reshape(y_, (-1, 1)) - np.reshape(a_, (-1, 1))) ** 2)


def _probe_mse_forward(hidden):
    def probe_fn(namespace, rng):
        cls = learner(namespace, "MSE")
        outputs = {}
        for i, (y_, a_) in enumerate(with_random_case(_mse_cases(rng, hidden), hidden, _random_mse_case, rng)):
            holder = {}

            def make(y_=y_, a_=a_, holder=holder):
                y, a = Input(name="y"), Input(name="a")
                y.value, a.value = y_.copy(), a_.copy()
                holder["node"] = cls(y, a)
                return holder["node"], [y, a]
            run_forward(outputs, f"case{i}", make)
            if f"case{i}" in outputs:
                _record_diff(outputs, f"case{i}_diff", holder["node"])
        return outputs
    return probe_fn


def _record_diff(outputs, key, node):
    if "diff" not in vars(node):
        outputs[key + "__missing"] = np.array(True)
        return
    attempt(outputs, key, lambda: node.diff)


def _judge_diff(outputs, key, y_, a_, what):
    if key + "__missing" in outputs:
        raise CheckFailed(f"{what}: the value is right, but forward did not keep self.diff, which MSE.backward "
                          "needs.\nHint: also set self.diff = y - a, with both as columns (m, 1), as the docstring asks.")
    diff = recorded(outputs, key, f"{what}: self.diff")
    expected = np.reshape(y_, (-1, 1)) - np.reshape(a_, (-1, 1))
    if diff.size == expected.size and np.allclose(diff.reshape(-1, 1), -expected):
        raise CheckFailed(f"{what}: self.diff is a - y; it should be y - a (MSE.backward's sign depends on it).")
    if diff.shape != expected.shape or not np.allclose(diff, expected, rtol=1e-9, atol=1e-12):
        raise CheckFailed(f"{what}: self.diff should be y - a as a column {expected.shape}, got {fmt(diff)} "
                          f"of shape {diff.shape}.\n  expected: {fmt(expected)}\nHint: reshape y and a to columns "
                          "(reshape(-1, 1)) before subtracting, and keep the difference, not its square.")


def _compare_mse_forward(hidden):
    def compare_fn(outputs, rng):
        fixed = _mse_cases(rng, hidden)
        for i, (y_, a_) in enumerate(with_random_case(fixed, hidden, _random_mse_case, rng)):
            if hidden or i < len(fixed):
                _judge_mse_forward(i, y_, a_, outputs, hidden)
                continue
            with other_inputs("MSE.forward", f"y = {inline(y_)}, a = {inline(a_)}"):
                _judge_mse_forward(i, y_, a_, outputs, hidden, "MSE of these y and a")
    return compare_fn


def _judge_mse_forward(i, y_, a_, outputs, hidden, what=None):
    what = what or (f"MSE of y = {inline(y_)} and a = {inline(a_)}" if not hidden
                    else f"MSE of y {y_.shape} and a {a_.shape}")
    got = recorded(outputs, f"case{i}", what)
    if got.size != 1:
        raise CheckFailed(f"{what} should be one number, got an array of shape {got.shape}: {fmt(got)}"
                          "\nHint: take the mean of the squared differences over all elements.")
    got = got.reshape(())
    expected = _mse_value(y_, a_)
    m = np.size(y_)
    diff = np.reshape(y_, (-1, 1)) - np.reshape(a_, (-1, 1))
    hints = [(np.mean((y_ - a_) ** 2) if np.shape(y_) != np.shape(a_) else None,
              f"y has shape {np.shape(y_)} and a has shape {np.shape(a_)}: subtracting them broadcasts to a "
              f"{m}x{m} table. Reshape both to columns (reshape(-1, 1)) first."),
             (expected * m, "that is the sum of the squared errors: the MSE is their mean."),
             (np.mean(np.abs(diff)), "that is the mean absolute error: square the differences."),
             (np.mean(diff) ** 2, "square each difference before taking the mean."),
             (np.sqrt(expected), "that is the root of the MSE: leave out the square root."),
             (expected * m / (m - 1) if m > 1 else None,
              f"that divides by m - 1 = {m - 1}: the MSE is the mean over all m = {m} elements, divided by m."),
             (expected * m / 2 if m != 2 else None,
              f"that divides by 2, the number of inputs: m is the number of elements of y ({m} here), "
              "np.size(y) or len(self.diff).")]
    same(got, expected, what, hints)
    if not hidden and i == 1:
        same(got, LESSON_MSE, what, rtol=1e-10, atol=1e-10)
    _judge_diff(outputs, f"case{i}_diff", y_, a_, what)
    judge_forward_purity(outputs, f"case{i}", what, "MSE.forward")


visible_and_hidden(
    "mse_forward", "ps3_forward", _probe_mse_forward, _compare_mse_forward,
    visible="MSE.forward gives the lesson's 23.4166666667, also when y is (3,) and a is (3, 1), and keeps "
            "self.diff = y - a.",
    hidden="MSE.forward on random y and a, as rows or columns, including a single example.")


