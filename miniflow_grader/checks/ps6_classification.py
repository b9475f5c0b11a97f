r"""Problem set 6: `ReLU`, `SoftmaxCrossEntropy`, and `train_classifier`, which trains a digit classifier."""
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


# --- Part C: train -----------------------------------------------------------------------------

#: The settings the training checks pass to the learner's train_classifier(), and the held-out accuracy to reach.
TRAIN_SETTINGS = dict(n_hidden=32, epochs=10, batch_size=32, learning_rate=0.2)
TRAIN_THRESHOLD = 0.90
LESSON_SEED = 0
N_TEST = 397


@functools.cache
def _digits():
    """scikit-learn's digits (bundled) scaled to 0..1, and their labels, read once per process: a check reads
    them for every training run. Read-only; digits_split hands out copies (made by indexing) only."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    pixels, labels = digits.data / 16.0, digits.target
    pixels.setflags(write=False)
    labels.setflags(write=False)
    return pixels, labels


def digits_split(seed=0, columns=None):
    """scikit-learn's digits (bundled) scaled to 0..1, split into 1,400 training and 397 test images."""
    pixels, labels = _digits()
    if columns is not None:
        pixels = pixels[:, columns]
    order = np.random.default_rng(seed).permutation(len(labels))
    test, train = order[:N_TEST], order[N_TEST:]
    return pixels[train], labels[train], pixels[test], labels[test]


class _ReLU(Node):
    """max(0, x), standing in for the learner's ReLU while their training loop is checked."""

    def __init__(self, x, name=None):
        super().__init__([x], name)

    def forward(self):
        self.value = np.maximum(self.inbound_nodes[0].value, 0)

    def backward(self):
        x = self.inbound_nodes[0]
        self.gradients = {x: (x.value > 0) * self.upstream_gradient()}


class _SoftmaxCrossEntropy(Node):
    """The mean cross-entropy, standing in for the learner's while their training loop is checked."""

    def __init__(self, labels, logits, name=None):
        super().__init__([labels, logits], name)

    def forward(self):
        labels, logits = self.inbound_nodes
        self.classes = np.asarray(labels.value).astype(int)
        log_p = _log_softmax(np.asarray(logits.value, dtype=float))
        self.probabilities = np.exp(log_p)
        self.value = -log_p[np.arange(len(self.classes)), self.classes].mean()

    def backward(self):
        labels, logits = self.inbound_nodes
        grad = self.probabilities.copy()
        grad[np.arange(len(self.classes)), self.classes] -= 1
        self.gradients = {labels: np.zeros(np.shape(labels.value)),
                          logits: grad * (self.upstream_gradient() / len(self.classes))}


def _step_range(n_examples):
    """The fewest and the most sgd_update steps the training takes: every batch full, or a last one partial."""
    epochs, batch_size = TRAIN_SETTINGS["epochs"], TRAIN_SETTINGS["batch_size"]
    return epochs * (n_examples // batch_size), epochs * -(-n_examples // batch_size)


class _StopTraining(BaseException):
    """Raised by the recorder once the steps already show the mistake (a BaseException, so `except Exception` does
    not stop it): a loop over the whole data, or one that never ends, is judged without running it to the end."""


class _Recorder:
    """Stands in for sgd_update: makes the same step, and notes what each step trained on."""

    def __init__(self, n_features, n_examples):
        self.n_features = n_features
        self.batch_size = TRAIN_SETTINGS["batch_size"]
        _, self.most_steps = _step_range(n_examples)
        self.rates, self.batch_sizes, self.batches, self.trained = [], [], [], []

    def __call__(self, trainables, learning_rate=1e-2):
        trainables = list(trainables)
        self.rates.append(float(learning_rate))
        self.trained.append(";".join(sorted(str(np.shape(t.value)) for t in trainables)))
        batch = self._batch(trainables)
        self.batch_sizes.append(-1 if batch is None else len(batch))
        self.batches.append(-1 if batch is None else zlib.crc32(np.ascontiguousarray(batch, dtype=float).tobytes()))
        if self.batch_sizes[-1] > self.batch_size or len(self.batch_sizes) > self.most_steps:
            raise _StopTraining()
        for t in trainables:
            t.value = t.value - learning_rate * t.gradients[t]

    def _batch(self, trainables):
        """The images the first layer saw in this step: the input beside the (features, hidden) weights."""
        for t in trainables:
            for consumer in t.outbound_nodes:
                for n in consumer.inbound_nodes:
                    if n is t or n in trainables or n.inbound_nodes:
                        continue
                    value = np.asarray(n.value) if n.value is not None else None
                    if value is not None and value.ndim == 2 and value.shape[1] == self.n_features:
                        return value
        return None


def _run_train(namespace, train, X_, y_, seed, outputs, prefix):
    """Run the learner's train_classifier with stand-ins for sgd_update, ReLU and SoftmaxCrossEntropy; record what it did."""
    recorder = _Recorder(X_.shape[1], len(y_))
    stand_ins = {"sgd_update": recorder, "ReLU": _ReLU, "SoftmaxCrossEntropy": _SoftmaxCrossEntropy}
    saved = {name: namespace[name] for name in stand_ins if name in namespace}
    namespace.update(stand_ins)
    holder = {}
    try:
        def run():
            with np.errstate(all="ignore"):
                try:
                    holder["params"] = train(X_.copy(), y_.copy(), seed=seed, **TRAIN_SETTINGS)
                except _StopTraining:
                    outputs[prefix + "stopped"] = np.array(1)
            return np.array(0.0)
        attempt(outputs, prefix + "ran", run)
    finally:
        for name in stand_ins:
            if name in saved:
                namespace[name] = saved[name]
            else:
                namespace.pop(name, None)
    outputs[prefix + "rates"] = np.array(recorder.rates, dtype=float)
    outputs[prefix + "batch_sizes"] = np.array(recorder.batch_sizes, dtype=int)
    outputs[prefix + "batches"] = np.array(recorder.batches, dtype=np.int64)
    outputs[prefix + "trained"] = np.array(recorder.trained, dtype=str) if recorder.trained else np.array([""])
    if "params" not in holder:
        return
    try:
        params = list(holder["params"])
    except Exception as error:   # noqa: BLE001 -- learner code may return anything
        outputs[prefix + "params__error"] = np.array(describe(error))
        return
    outputs[prefix + "count"] = np.array(len(params))
    for name, value in zip(("W1", "b1", "W2", "b2"), params):
        attempt(outputs, prefix + name, lambda value=value: value)


def _train_runs(rng, hidden):
    """(prefix, data split seed, pixel order or None, training seed) for every run the check makes."""
    if not hidden:
        other_seed = int(rng.integers(1, 2**31))
        return [("", 0, None, LESSON_SEED), ("again_", 0, None, LESSON_SEED), ("other_", 0, None, other_seed)]
    split, columns, seed = int(rng.integers(1, 2**31)), rng.permutation(64), int(rng.integers(0, 2**31))
    return [("", split, columns, seed), ("again_", split, columns, seed)]


def _probe_train(hidden):
    def probe_fn(namespace, rng):
        train = learner(namespace, "train_classifier", "function")
        outputs = {}
        for prefix, split, columns, seed in _train_runs(rng, hidden):
            X_train, y_train, _, _ = digits_split(split, columns)
            _run_train(namespace, train, X_train, y_train, seed, outputs, prefix)
        return outputs
    return probe_fn


def _test_accuracy(params, X_test, y_test):
    W1, b1, W2, b2 = (params[name] for name in ("W1", "b1", "W2", "b2"))
    logits = np.maximum(X_test @ W1 + b1, 0) @ W2 + b2
    return float(np.mean(np.argmax(logits, axis=1) == y_test))


def _judge_params(outputs, prefix, what, n_examples, n_features):
    recorded(outputs, prefix + "ran", what)
    if prefix + "stopped" in outputs:
        _judge_steps(outputs, prefix, what, n_examples, n_features)
        raise CheckFailed(f"{what}: the training was stopped early, as its steps did not train on batches of "
                          f"batch_size={TRAIN_SETTINGS['batch_size']}.")
    if prefix + "params__error" in outputs:
        raise CheckFailed(f"{what}: the result is not a list of arrays: {outputs[prefix + 'params__error']}")
    if int(outputs.get(prefix + "count", -1)) != 4:
        raise CheckFailed(f"{what} should return the four trained values [W1, b1, W2, b2], "
                          f"got {int(outputs.get(prefix + 'count', 0))} item(s).")
    h = TRAIN_SETTINGS["n_hidden"]
    shapes = {"W1": (n_features, h), "b1": (h,), "W2": (h, 10), "b2": (10,)}
    params = {}
    for name, shape in shapes.items():
        params[name] = recorded(outputs, prefix + name, f"{what}: the returned {name}")
        if params[name].shape != shape:
            raise CheckFailed(f"{what}: the returned {name} has shape {params[name].shape}, expected {shape} "
                              f"(Linear -> ReLU -> Linear with {h} hidden units on {n_features} pixels and 10 "
                              "classes).")
        if not np.all(np.isfinite(params[name])):
            raise CheckFailed(f"{what}: the returned {name} contains NaN or infinity: the training diverged. "
                              "Is the learning rate used as given, and is the gradient subtracted?")
    return params


def _judge_steps(outputs, prefix, what, n_examples, n_features):
    """Every step updated all four parameters with the learning rate given, on a fresh batch of batch_size."""
    epochs, batch_size, rate = (TRAIN_SETTINGS[k] for k in ("epochs", "batch_size", "learning_rate"))
    sizes, batches = outputs[prefix + "batch_sizes"], outputs[prefix + "batches"]
    stopped = prefix + "stopped" in outputs
    least, most = _step_range(n_examples)
    if len(sizes) == 0:
        raise CheckFailed(f"{what}: sgd_update was never called.\nHint: after each forward and backward pass, "
                          "update the parameters with sgd_update([W1, b1, W2, b2], learning_rate).")
    h = TRAIN_SETTINGS["n_hidden"]
    wanted = {str((n_features, h)), str((h,)), str((h, 10)), str((10,))}
    for entry in outputs[prefix + "trained"]:
        shapes = str(entry).split(";")
        if not wanted <= set(shapes):
            raise CheckFailed(
                f"{what}: a step updated only the values of shapes {', '.join(shapes)}: every parameter must be "
                "trained.\nHint: pass all four trainables every step, sgd_update([W1, b1, W2, b2], learning_rate).")
    if not np.allclose(outputs[prefix + "rates"], rate):
        used = ", ".join(f"{r:.3g}" for r in sorted(set(np.round(outputs[prefix + "rates"], 6))))
        raise CheckFailed(f"{what}: sgd_update was called with the learning rate {used}, but train_classifier was given "
                          f"learning_rate={rate}: pass it on.")
    if len(sizes) > most or (not stopped and len(sizes) < least):
        raise CheckFailed(
            f"{what}: sgd_update was called {'more than ' + str(most) if stopped else len(sizes)} times, but {epochs} epochs of {n_examples} examples in "
            f"batches of {batch_size} take {least} steps ({n_examples} // {batch_size} = {n_examples // batch_size} "
            "per epoch).\nHint: each epoch walks through the training set once, one batch per step.")
    if np.any(sizes < 0):
        raise CheckFailed(f"{what}: in some step the first layer's input was not a batch of images: set X.value "
                          "to the batch's rows of X_data (images, pixels) before the forward pass.")
    if np.any(sizes > batch_size) or np.mean(sizes == batch_size) < 0.9:
        shown = ", ".join(str(s) for s in sorted(set(sizes.tolist()))[:5])
        raise CheckFailed(f"{what}: the steps trained on batches of {shown} images, but batch_size is {batch_size}.\n"
                          "Hint: each step feeds X.value = X_data[rows] and y.value = y_data[rows] for the "
                          "batch_size rows of that step.")
    if len(set(batches.tolist())) < 0.9 * len(batches):
        raise CheckFailed(f"{what}: of its {len(batches)} steps only {len(set(batches.tolist()))} saw different "
                          "batches of images: each step should train on the next batch of a fresh shuffle "
                          "(rng.permutation) of the training set, not the same rows again.")


def _compare_train(hidden):
    def compare_fn(outputs, rng):
        runs = _train_runs(rng, hidden)
        _, split, columns, seed = runs[0]
        X_train, y_train, X_test, y_test = digits_split(split, columns)
        what = (f"train_classifier on the lesson's training digits, seed={seed}" if not hidden
                else f"train_classifier on another split, seed={seed}")
        params = _judge_params(outputs, "", what, len(y_train), X_train.shape[1])
        _judge_steps(outputs, "", what, len(y_train), X_train.shape[1])
        held_out = _test_accuracy(params, X_test, y_test)
        if not held_out >= TRAIN_THRESHOLD:
            raise CheckFailed(
                f"{what}: the trained network classifies {held_out:.1%} of the {len(y_test)} held-out test images "
                f"correctly; it should be at least {TRAIN_THRESHOLD:.0%} (the lesson's network reaches about 96% in "
                f"{TRAIN_SETTINGS['epochs']} epochs).\n"
                "Hint: draw W1 and W2 with random_weights(n_in, n_out, rng) (equal or zero weights leave every "
                "hidden unit the same), start b1 and b2 at zero, and use ReLU between the two Linear nodes and "
                "SoftmaxCrossEntropy(y, logits) as the cost.")
        again = _judge_params(outputs, "again_", what + ", run a second time", len(y_train), X_train.shape[1])
        if not all(np.array_equal(params[name], again[name]) for name in params):
            raise CheckFailed(
                f"{what}: two runs with the same seed returned different weights, so the seed is not honoured.\n"
                "Hint: make every random choice (the starting weights, the shuffles) with "
                "rng = np.random.default_rng(seed), created once at the start of train_classifier.")
        if hidden:
            return
        _, _, _, other_seed = runs[2]
        other_what = f"train_classifier on the lesson's training digits, seed={other_seed}"
        with other_inputs("train_classifier", f"seed={other_seed}", lesson="trains well with seed=0",
                          fix="draw every random number from np.random.default_rng(seed), with the seed given"):
            other = _judge_params(outputs, "other_", other_what, len(y_train), X_train.shape[1])
            if all(np.array_equal(params[name], other[name]) for name in params):
                raise CheckFailed(f"{other_what}: returned the same weights as seed={seed}: the seed is not used.")
            _judge_steps(outputs, "other_", other_what, len(y_train), X_train.shape[1])
            accuracy = _test_accuracy(other, X_test, y_test)
            if not accuracy >= TRAIN_THRESHOLD:
                raise CheckFailed(f"{other_what}: the trained network classifies {accuracy:.1%} of the held-out "
                                  f"test images correctly; it should be at least {TRAIN_THRESHOLD:.0%}.")
    return compare_fn


visible_and_hidden(
    "train_classifier", "ps6_classification", _probe_train, _compare_train,
    visible="train_classifier gets 90% of the held-out digits right, training every parameter on batches, honouring the seed.",
    hidden="train_classifier on another split of the digits with their pixels reordered, from another seed.")
