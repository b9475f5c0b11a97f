r"""Problem set 6: `ReLU` and `SoftmaxCrossEntropy`; the training loop `train_classifier` is checked in ps6_training.py."""
import functools
import zlib

import numpy as np

from miniflow import Input, Node

from .common import (GRADIENT_SHAPE, CheckFailed, attempt, describe, fmt, gradient_of, inline,
                     judge_forward_purity, learner, maybe, other_inputs, recorded, run_forward, same, small,
                     targets, visible_and_hidden)

targets("ps6_classification", ["ReLU.forward", "ReLU.backward",
                               "SoftmaxCrossEntropy.forward", "SoftmaxCrossEntropy.backward"])

# The lesson's worked example, and the numbers it prints.
LESSON_LOGITS = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.0]])
LESSON_LABELS = np.array([0, 2])
LESSON_LOSS = 1.5568820566
HUGE_LOGITS = np.array([[1000.0, -1000.0], [1000.0, -1000.0]])   # true classes 0 and 1: the cost is 1000
HUGE_LABELS = np.array([0, 1])
LESSON_RELU_X = np.array([[-2.0, 0.0, 3.0], [1.5, -0.5, 0.0]])


class _Consumer(Node):
    """Stands for the rest of a graph: it consumes one node and sends back a fixed gradient."""

    def __init__(self, node, gradient, name=None):
        super().__init__([node], name)
        self.fixed = np.asarray(gradient, dtype=float)

    def forward(self):
        self.value = np.zeros(())

    def backward(self):
        self.gradients = {self.inbound_nodes[0]: self.fixed.copy()}


def _log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _cross_entropy(labels, logits):
    return float(-_log_softmax(logits)[np.arange(len(labels)), labels].mean())


def _one_hot(labels, k):
    return np.eye(k)[labels]


# --- Part A: ReLU --------------------------------------------------------------------------

def _relu_cases(rng, hidden):
    """Input values for ReLU: the lesson's (with exact zeros), then random ones with zeros in them."""
    if not hidden:
        return [LESSON_RELU_X, np.array([0.5, -1.0, 0.0, 2.0])]
    cases = []
    for shape in [(1, int(rng.integers(3, 6))), (int(rng.integers(2, 6)), int(rng.integers(2, 6))),
                  (int(rng.integers(3, 8)),)]:
        x = rng.uniform(0.1, 3, size=shape) * rng.choice([-1.0, 1.0], size=shape)
        zero, negative, positive = rng.choice(x.size, size=3, replace=False)   # every case has all three
        x.flat[zero], x.flat[negative], x.flat[positive] = 0.0, -abs(x.flat[negative]), abs(x.flat[positive])
        cases.append(x)
    return cases


def _random_relu_case(rng):
    """A visible check's extra case: small random numbers with a zero among them."""
    x = small(rng, (int(rng.integers(2, 4)), int(rng.integers(2, 5))))
    x.flat[int(rng.integers(0, x.size))] = 0.0
    return x


def _all_relu_cases(rng, hidden):
    cases = _relu_cases(rng, hidden)
    return cases if hidden else cases + [_random_relu_case(rng)]


def _probe_relu_forward(hidden):
    def probe_fn(namespace, rng):
        cls = learner(namespace, "ReLU")
        outputs = {}
        for i, x_ in enumerate(_all_relu_cases(rng, hidden)):
            def make(x_=x_):
                x = Input(name="x")
                x.value = np.array(x_, dtype=float)
                return cls(x), [x]
            run_forward(outputs, f"case{i}", make)
        return outputs
    return probe_fn


def _compare_relu_forward(hidden):
    def compare_fn(outputs, rng):
        cases = _all_relu_cases(rng, hidden)
        for i, x_ in enumerate(cases):
            what = f"ReLU of x = {inline(x_)}" if not hidden else f"ReLU of an input of shape {x_.shape}"
            if not hidden and i == len(cases) - 1:
                with other_inputs("ReLU.forward", f"x = {inline(x_)}"):
                    _judge_relu_forward(outputs, i, x_, what)
            else:
                _judge_relu_forward(outputs, i, x_, what)
    return compare_fn


def _judge_relu_forward(outputs, i, x_, what):
    got = recorded(outputs, f"case{i}", what)
    hints = [(maybe(lambda: np.max(x_, axis=0)), "np.max(x, 0) is the largest entry of each column (0 is its axis): "
                                                 "max(0, x) element by element is np.maximum(x, 0)."),
             (maybe(lambda: np.max(x_)), "np.max gives the largest entry of the whole array: "
                                         "max(0, x) element by element is np.maximum(x, 0)."),
             (np.minimum(x_, 0), "that is min(0, x): ReLU keeps the positive entries and sets the negative ones to 0."),
             (np.abs(x_), "that is |x|: negative entries become 0, not positive."),
             (x_, "the negative entries should be 0: ReLU(x) = max(0, x).")]
    same(got, np.maximum(x_, 0), what, hints, shape_hint="ReLU works element by element: the output has the "
                                                          "shape of its input.")
    judge_forward_purity(outputs, f"case{i}", what, "ReLU.forward")


def _relu_backward_cases(rng, hidden):
    """(x, [gradients sent back by each consumer])."""
    if not hidden:
        return [(LESSON_RELU_X, [np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])]),
                (np.array([0.5, -1.0, 0.0, 2.0]), [np.array([1.0, 1.0, 1.0, 1.0]), np.array([0.5, 2.0, -1.0, -3.0])])]
    cases = []
    for x_ in _relu_cases(rng, hidden):
        count = 1 if x_.shape[0] == 1 else 2
        cases.append((x_, [rng.uniform(0.5, 2, size=x_.shape) * rng.choice([-1.0, 1.0], size=x_.shape)
                           for _ in range(count)]))
    return cases


def _random_relu_backward_case(rng):
    x_ = _random_relu_case(rng)
    return x_, [small(rng, x_.shape)]


def _all_relu_backward_cases(rng, hidden):
    cases = _relu_backward_cases(rng, hidden)
    return cases if hidden else cases + [_random_relu_backward_case(rng)]


def _probe_relu_backward(hidden):
    def probe_fn(namespace, rng):
        cls = learner(namespace, "ReLU")
        outputs = {}
        for i, (x_, sent) in enumerate(_all_relu_backward_cases(rng, hidden)):
            def run(x_=x_, sent=sent):
                x = Input(name="x")
                x.value = np.array(x_, dtype=float)
                node = cls(x)
                consumers = [_Consumer(node, g, name=f"consumer{j + 1}") for j, g in enumerate(sent)]
                node.value = np.maximum(x_, 0)      # the right output, whatever the learner's forward gives
                for c in consumers:
                    c.forward()
                    c.backward()
                node.backward()
                return gradient_of(node, x)
            attempt(outputs, f"case{i}", run)
        return outputs
    return probe_fn


def _compare_relu_backward(hidden):
    def compare_fn(outputs, rng):
        cases = _all_relu_backward_cases(rng, hidden)
        for i, (x_, sent) in enumerate(cases):
            what = (f"ReLU.backward for x = {inline(x_)}" if not hidden
                    else f"ReLU.backward for an input of shape {x_.shape}, {len(sent)} consumer(s)")
            if not hidden and i == len(cases) - 1:
                with other_inputs("ReLU.backward", f"x = {inline(x_)}"):
                    _judge_relu_backward(outputs, i, x_, sent, what)
            else:
                _judge_relu_backward(outputs, i, x_, sent, what)
    return compare_fn


def _judge_relu_backward(outputs, i, x_, sent, what):
    got = recorded(outputs, f"case{i}", what)
    note = f"\n(x = {inline(x_)}; its consumers sent back {' and '.join(inline(g) for g in sent)})"
    g = sum(sent)
    expected = (x_ > 0) * g
    hints = [(g, "self.value >= 0 is true everywhere (a ReLU's output is never negative), so every gradient "
                 "passed: the derivative is 1 only where the input x.value > 0."),
             ((x_ >= 0) * g, "at exactly x = 0 the derivative is 0 here (see the docstring): use x.value > 0, "
                             "not >= 0."),
             (np.maximum(x_, 0) * g, "the derivative of max(0, x) is 0 or 1 (1 where x > 0), not the output itself."),
             ((x_ > 0).astype(float), "multiply the local derivative by the gradient the consumers sent back, "
                                      "self.upstream_gradient() (the chain rule)."),
             (-expected, "the sign is flipped.")]
    if len(sent) > 1:
        for only in sent:
            hints.append(((x_ > 0) * only, "this node has two consumers and only one consumer's gradient was used: "
                                           "self.upstream_gradient() adds up what every consumer sent back."))
    same(got, expected, what, hints, shape_hint=GRADIENT_SHAPE, note=note)


visible_and_hidden(
    "relu_forward", "ps6_classification", _probe_relu_forward, _compare_relu_forward,
    visible="ReLU.forward gives max(0, x) element by element, including at 0, and leaves its input as it was.",
    hidden="ReLU.forward on random shapes with zeros among the values, including a batch of 1.")
visible_and_hidden(
    "relu_backward", "ps6_classification", _probe_relu_backward, _compare_relu_backward,
    visible="ReLU.backward passes the upstream gradient where x > 0 (not at 0), and adds up two consumers.",
    hidden="ReLU.backward on random shapes with zeros, a batch of 1 and two consumers.")


# --- Part B: SoftmaxCrossEntropy ---------------------------------------------------------------

def _ce_cases(rng, hidden):
    """(labels, logits) pairs."""
    if not hidden:
        return [(LESSON_LABELS, LESSON_LOGITS), (HUGE_LABELS, HUGE_LOGITS)]
    cases = []
    for n, k in [(1, 2), (int(rng.integers(2, 7)), int(rng.integers(3, 7))), (int(rng.integers(2, 7)), 10)]:
        cases.append((rng.integers(0, k, size=n), rng.normal(scale=3, size=(n, k))))
    n, k = int(rng.integers(2, 6)), int(rng.integers(2, 5))
    labels, logits, rows = rng.integers(0, k, size=n), rng.normal(size=(n, k)), np.arange(n)
    logits[rows, labels] -= 1000.0                 # every true class far below another: its p rounds to 0
    logits[rows, (labels + 1) % k] += 1000.0
    cases.append((labels, logits))
    return cases


def _random_ce_case(rng):
    """A visible check's extra case: 3 or 4 examples of 3 or 4 classes, with small random logits."""
    n, k = int(rng.integers(3, 5)), int(rng.integers(3, 5))
    return rng.integers(0, k, size=n), small(rng, (n, k))


def _all_ce_cases(rng, hidden):
    cases = _ce_cases(rng, hidden)
    return cases if hidden else cases + [_random_ce_case(rng)]


def _ce_node(cls, labels_, logits_):
    y, z = Input(name="labels"), Input(name="logits")
    y.value, z.value = np.array(labels_), np.array(logits_, dtype=float)
    return cls(y, z), y, z


def _probe_ce_forward(hidden):
    def probe_fn(namespace, rng):
        cls = learner(namespace, "SoftmaxCrossEntropy")
        outputs = {}
        for i, (labels_, logits_) in enumerate(_all_ce_cases(rng, hidden)):
            holder = {}

            def make(labels_=labels_, logits_=logits_, holder=holder):
                node, y, z = _ce_node(cls, labels_, logits_)
                holder["node"] = node
                return node, [y, z]

            with np.errstate(all="ignore"):       # an overflow is judged from the value, not printed
                run_forward(outputs, f"case{i}", make)
            if f"case{i}" in outputs:
                attempt(outputs, f"case{i}_probabilities", lambda holder=holder: _probabilities(holder["node"]))
        return outputs
    return probe_fn


def _probabilities(node):
    p = getattr(node, "probabilities", None)
    if p is None:
        raise _NoProbabilities()
    return p


class _NoProbabilities(Exception):
    pass


def _compare_ce_forward(hidden):
    def compare_fn(outputs, rng):
        cases = _all_ce_cases(rng, hidden)
        for i, (labels_, logits_) in enumerate(cases):
            n, k = logits_.shape
            what = _ce_what("SoftmaxCrossEntropy", i, n, k, hidden)
            if not hidden and i == len(cases) - 1:
                with other_inputs("SoftmaxCrossEntropy.forward", f"labels {inline(labels_)}, logits {inline(logits_)}"):
                    _judge_ce_forward(outputs, i, labels_, logits_, what)
            else:
                _judge_ce_forward(outputs, i, labels_, logits_, what)
                if not hidden and i == 0:
                    same(recorded(outputs, "case0", what), LESSON_LOSS, what, rtol=1e-9, atol=1e-10)
    return compare_fn


def _ce_what(node, i, n, k, hidden):
    """A short name for a case (the message breaks its lines at 90 characters): its inputs follow it."""
    if not hidden and i == 0:
        return f"{node} of the lesson's example"
    if not hidden and i == 1:
        return f"{node} of logits of +-1000"
    return f"{node} of {n} example(s) of {k} classes"


def _ce_inputs(labels_, logits_):
    return f"\n(labels {inline(labels_)}; logits {inline(logits_)})"


def _judge_ce_forward(outputs, i, labels_, logits_, what):
    n, k = logits_.shape
    note = _ce_inputs(labels_, logits_)
    expected = _cross_entropy(labels_, logits_)
    got = recorded(outputs, f"case{i}", what)
    huge = np.abs(logits_).max() > 100
    if huge and not np.all(np.isfinite(got)):
        raise CheckFailed(
            f"{what} is {fmt(got)}, but it should be {expected:.10g}.\nHint: with logits this large, np.exp "
            "overflows (e**1000 is infinite) or a probability rounds to 0 and its log is -infinity. Subtract each "
            "row's largest logit before np.exp (it does not change the softmax), and compute log p as "
            "z - max - log(sum(exp(z - max))) rather than np.log of the probabilities (log-sum-exp).")
    with np.errstate(all="ignore"):
        rows = np.arange(n)
        p_axis0 = np.exp(logits_ - logits_.max(axis=0, keepdims=True))
        p_axis0 = p_axis0 / p_axis0.sum(axis=0, keepdims=True)
        log_p = _log_softmax(logits_)
        hints = [(-np.mean(np.log(p_axis0[rows, labels_])),
                  "the softmax was taken over axis 0 (the examples): each row (example) is one softmax over its "
                  "k classes, so sum with axis=1 and keepdims=True."),
                 (expected * n, "that is the sum over the examples: the cost is their mean (divide by n)."),
                 (expected / k, "the mean ran over all n * k entries: it is the mean over the n examples of "
                                "-log p of the true class."),
                 (-expected, "the sign is flipped: the cost is minus the log of the probability."),
                 (maybe(lambda: -np.mean(log_p[:, labels_])),
                  "p[:, labels] takes, for every example, the column of every label: pick one entry per row with "
                  "p[np.arange(n), labels]."),
                 (maybe(lambda: -np.mean(np.exp(log_p)[rows, labels_])),
                  "that is minus the probability: the cost is minus its log."),
                 (maybe(lambda: -np.mean(logits_[rows, labels_])),
                  "that uses the logits as log-probabilities: take the log of the softmax of each row.")]
    same(got, expected, what, hints, shape_hint="the cost is one number, the mean over the examples.",
         rtol=1e-7, atol=1e-9, note=note)
    judge_forward_purity(outputs, f"case{i}", what, "SoftmaxCrossEntropy.forward")
    error = str(outputs.get(f"case{i}_probabilities__error", ""))
    if "_NoProbabilities" in error:
        raise CheckFailed(f"{what}: the cost is right, but self.probabilities is not set: keep the softmax of the "
                          "logits, shape (n, k), in self.probabilities for the backward pass.")
    p = recorded(outputs, f"case{i}_probabilities", f"{what}: self.probabilities")
    same(p, np.exp(_log_softmax(logits_)), f"{what}: self.probabilities (the softmax of each row)",
         [(p_axis0, "that is the softmax over axis 0 (the examples): each row sums to 1, not each column.")],
         shape_hint="self.probabilities has the shape (n, k) of the logits.", rtol=1e-7, atol=1e-12, note=note)


def _ce_backward_cases(rng, hidden):
    """(labels, logits, [gradients sent back by each consumer]); no consumers: the node is the cost."""
    if not hidden:
        return [(LESSON_LABELS, LESSON_LOGITS, []),
                (np.array([1, 0, 2]), np.array([[0.5, 1.0, -1.0], [2.0, 0.0, 0.0], [0.0, 0.0, 3.0]]),
                 [np.array(2.5)])]
    cases = []
    for j, (labels_, logits_) in enumerate(_ce_cases(rng, hidden)):
        sent = [] if j == 0 else [np.array(rng.uniform(0.5, 3)) for _ in range(1 + j % 2)]
        cases.append((labels_, logits_, sent))
    return cases


def _random_ce_backward_case(rng):
    labels_, logits_ = _random_ce_case(rng)
    return labels_, logits_, []


def _all_ce_backward_cases(rng, hidden):
    cases = _ce_backward_cases(rng, hidden)
    return cases if hidden else cases + [_random_ce_backward_case(rng)]


def _probe_ce_backward(hidden):
    def probe_fn(namespace, rng):
        cls = learner(namespace, "SoftmaxCrossEntropy")
        outputs = {}
        for i, (labels_, logits_, sent) in enumerate(_all_ce_backward_cases(rng, hidden)):
            holder = {}

            def run(labels_=labels_, logits_=logits_, sent=sent, holder=holder):
                node, y, z = _ce_node(cls, labels_, logits_)
                holder["node"], holder["y"], holder["z"] = node, y, z
                try:                       # the learner's forward may keep what their backward needs;
                    with np.errstate(all="ignore"):
                        node.forward()
                except Exception:          # noqa: BLE001 -- it is graded by its own check, not here
                    pass
                node.probabilities = np.exp(_log_softmax(logits_))   # and then the right softmax and cost
                node.value = np.array(_cross_entropy(labels_, logits_))
                for j, g in enumerate(sent):
                    consumer = _Consumer(node, g, name=f"consumer{j + 1}")
                    consumer.forward()
                    consumer.backward()
                node.backward()
                return gradient_of(node, z)
            attempt(outputs, f"case{i}", run)
            if "node" in holder:
                attempt(outputs, f"case{i}_labels", lambda holder=holder: gradient_of(holder["node"], holder["y"]))
        return outputs
    return probe_fn


def _compare_ce_backward(hidden):
    def compare_fn(outputs, rng):
        cases = _all_ce_backward_cases(rng, hidden)
        for i, (labels_, logits_, sent) in enumerate(cases):
            n, k = logits_.shape
            what = _ce_what("SoftmaxCrossEntropy.backward", i, n, k, hidden)
            if not hidden and i == 1:
                what = "SoftmaxCrossEntropy.backward with a consumer"
            if not hidden and i == len(cases) - 1:
                with other_inputs("SoftmaxCrossEntropy.backward", f"labels {inline(labels_)}, logits {inline(logits_)}"):
                    _judge_ce_backward(outputs, i, labels_, logits_, sent, what)
            else:
                _judge_ce_backward(outputs, i, labels_, logits_, sent, what)
    return compare_fn


def _judge_ce_backward(outputs, i, labels_, logits_, sent, what):
    n, k = logits_.shape
    p = np.exp(_log_softmax(logits_))
    upstream = float(sum(sent)) if sent else 1.0
    one_hot = _one_hot(labels_, k)
    expected = (p - one_hot) / n * upstream
    wrong_columns = p.copy()
    wrong_columns[:, labels_] -= 1
    got = recorded(outputs, f"case{i}", f"{what}: the gradient for the logits")
    sent_back = f"; its consumers sent back {' and '.join(f'{float(g):.3g}' for g in sent)}" if sent else ""
    note = _ce_inputs(labels_, logits_)[:-1] + sent_back + ")"
    hints = [(expected * n, "divide by n, the number of examples: the cost is a mean over them."),
             (-expected, "the sign is flipped: the gradient is (softmax - one_hot) / n."),
             (p / n * upstream, "subtract the one-hot rows: 1 at each example's true class, (p - one_hot) / n."),
             (wrong_columns / n * upstream,
              "p[:, labels] -= 1 subtracts 1 in the column of every label on every row: subtract it once per row, "
              "p[np.arange(n), labels] -= 1 (or build the one-hot rows with np.eye(k)[labels])."),
             (maybe(lambda: (p - _one_hot(labels_, k).T) / n * upstream) if n == k else None,
              "the one-hot array is transposed: row i has its 1 in column labels[i]."),
             (expected / k, "divide by n, the number of examples, not by n * k."),
             ((p - one_hot) / n if upstream != 1.0 else None,
              "multiply by the gradient sent back by the consumers, self.upstream_gradient() (1 for the cost).")]
    if len(sent) > 1:
        hints += [((p - one_hot) / n * float(g), "this node has two consumers and only one consumer's gradient "
                                                 "was used: self.upstream_gradient() adds them up.") for g in sent]
    same(got, expected, f"{what}: the gradient for the logits", hints,
         shape_hint="the gradient for the logits has their shape (n, k).", rtol=1e-7, atol=1e-12, note=note)
    labels_grad = recorded(outputs, f"case{i}_labels", f"{what}: the gradient for the labels")
    if labels_grad.shape != labels_.shape or np.any(labels_grad != 0):
        raise CheckFailed(f"{what}: the gradient for the labels should be zeros of their shape {labels_.shape} "
                          f"(labels are class numbers, not differentiable), got {fmt(labels_grad)}.\nHint: "
                          "self.gradients[labels] = np.zeros(np.shape(labels.value)).")


visible_and_hidden(
    "cross_entropy_forward", "ps6_classification", _probe_ce_forward, _compare_ce_forward,
    visible="SoftmaxCrossEntropy.forward gives the lesson's cost 1.5568820566, and 1000 for logits of +-1000.",
    hidden="SoftmaxCrossEntropy.forward on random examples and classes, a batch of 1, k = 2 and huge logits.")
visible_and_hidden(
    "cross_entropy_backward", "ps6_classification", _probe_ce_backward, _compare_ce_backward,
    visible="SoftmaxCrossEntropy.backward gives (softmax - one_hot) / n times the upstream gradient, zeros for labels.",
    hidden="SoftmaxCrossEntropy.backward on random examples and classes, huge logits and two consumers.")
