r"""Problem set 6: `ReLU` and `SoftmaxCrossEntropy`; the training loop `train_classifier` is checked in ps6_training.py."""
import numpy as np

from miniflow import Input, Node

from . import _evidence
from ._evidence import close, fail_with_evidence, judge_shortcuts, no_library_shortcuts
from .common import (GRADIENT_SHAPE, CheckFailed, Problem, attempt, fmt, inline, learner, maybe, other_inputs,
                     recorded, run_forward, small, targets, visible_and_hidden)

targets("ps6_classification", ["ReLU.forward", "ReLU.backward",
                               "SoftmaxCrossEntropy.forward", "SoftmaxCrossEntropy.backward"])

# The lesson's worked example, and the numbers it prints.
LESSON_LOGITS = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.0]])
LESSON_LABELS = np.array([0, 2])
LESSON_LOSS = 1.5568820566
HUGE_LOGITS = np.array([[1000.0, -1000.0], [1000.0, -1000.0]])   # true classes 0 and 1: the cost is 1000
HUGE_LABELS = np.array([0, 1])
#: Ordinary rows and a row of +-1000 in one batch (its true class far below: its cost is 2000).
MIXED_LOGITS = np.array([[0.5, 1.0, -1.0], [1000.0, -1000.0, 0.0], [0.2, -0.3, 0.1]])
MIXED_LABELS = np.array([2, 1, 0])
#: A batch of one example, and a batch in which classes 1, 2 and 4 of 5 do not occur.
ONE_LOGITS, ONE_LABELS = np.array([[0.3, -1.2, 2.0, 0.5]]), np.array([1])
MISSING_LOGITS = np.array([[1.0, 0.5, -0.5, 2.0, 0.0], [0.3, 0.2, 0.1, 0.0, -0.1], [-1.0, 0.0, 1.0, 2.0, 0.5]])
MISSING_LABELS = np.array([0, 0, 3])
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


# --- What every node check here shares ----------------------------------------------------------------

def _stand_ins():
    """The training check's own ReLU and SoftmaxCrossEntropy: a node written by the learner must not use them."""
    from . import ps6_training
    return (ps6_training._ReLU, ps6_training._SoftmaxCrossEntropy)


def _guarded(probe_cases):
    """A probe that runs `probe_cases(namespace, rng, outputs)` with numerical differentiation and the stand-ins
    wired to record their use (as library_used)."""
    def probe_fn(namespace, rng):
        outputs, used = {}, set()
        with no_library_shortcuts(namespace, used, _stand_ins()):
            probe_cases(namespace, rng, outputs)
        if used:
            outputs["library_used"] = np.array(", ".join(sorted(used)))
        return outputs
    return probe_fn


def _gradient_of(node, wrt):
    """node.gradients[wrt], or Problem naming where the gradient went instead."""
    gradients = node.gradients
    if not isinstance(gradients, dict):
        raise Problem(f"self.gradients should be a dict {{input node: gradient}}, got {type(gradients).__name__}.")
    if wrt in gradients:
        return gradients[wrt]
    keys = ", ".join(repr(getattr(k, "name", k)) for k in gradients) or "nothing"
    if node in gradients:
        raise Problem(f"self.gradients has no entry for the input {wrt.name!r}; it holds a gradient under the node "
                      f"itself ({node.name!r}). A node stores the gradient of the cost with respect to each of its "
                      f"inputs, keyed by that input node: self.gradients[{'x' if wrt.name == 'x' else wrt.name}] "
                      "with the input taken from self.inbound_nodes.")
    raise Problem(f"self.gradients has no entry for the input {wrt.name!r} (it holds {keys}): key each gradient by "
                  "the input node object, e.g. self.gradients[self.inbound_nodes[0]].")


def _error_of(outputs, key):
    error = outputs.get(key + "__error")
    return None if error is None else str(error)


def _judge_purity(outputs, key, what, method, fix):
    """After the first value passed: the inputs are untouched and a second forward gives the same value."""
    changed = str(outputs.get(key + "_changed", ""))
    if changed:
        raise CheckFailed(f"{what}: the value is right, but {method} changed the value of its input {changed}, so "
                          "every later use of that input (the next forward, the backward pass, the data fed in) "
                          f"sees a wrong number.\nHint: {fix}")
    first = recorded(outputs, key, what)
    again = recorded(outputs, key + "_again", f"{what}, run a second time")
    if not close(again, first, rtol=1e-12, atol=1e-12):
        raise CheckFailed(f"{what}: the first {method} gave the right value, but a second one on the same inputs gave "
                          f"{fmt(again)} instead of {fmt(first)}.\nHint: compute self.value from the inputs' values "
                          "alone, afresh in every call, and keep nothing from one call to the next.")


def _judge_all(cases, judge_case, hidden, last_inputs, name):
    """Judge every case in order; the visible check's last case is the one drawn at grading time."""
    for i, case in enumerate(cases):
        if not hidden and i == len(cases) - 1:
            with other_inputs(name, last_inputs(case)):
                judge_case(i, case)
        else:
            judge_case(i, case)


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
        x.flat[zero], x.flat[negative], x.flat[positive] = 0.0, -abs(x.flat[negative]), 1.5 + abs(x.flat[positive])
        cases.append(x)
    return cases


def _random_relu_case(rng):
    """A visible check's extra case: small random numbers with a zero, a negative and one above 1 among them."""
    x = small(rng, (int(rng.integers(2, 4)), int(rng.integers(2, 5))))
    zero, negative, positive = rng.choice(x.size, size=3, replace=False)
    x.flat[zero], x.flat[negative], x.flat[positive] = 0.0, -abs(x.flat[negative]) - 0.5, abs(x.flat[positive]) + 1.5
    return x


def _all_relu_cases(rng, hidden):
    cases = _relu_cases(rng, hidden)
    return cases if hidden else cases + [_random_relu_case(rng)]


def _probe_relu_forward(hidden):
    def probe_cases(namespace, rng, outputs):
        cls = learner(namespace, "ReLU")
        for i, x_ in enumerate(_all_relu_cases(rng, hidden)):
            def make(x_=x_):
                x = Input(name="x")
                x.value = np.array(x_, dtype=float)
                return cls(x), [x]
            run_forward(outputs, f"case{i}", make)
    return _guarded(probe_cases)


def _leaky_slope(pairs):
    """The one slope a with got = a * x at every negative x (a not 0 or 1), or None."""
    slopes = []
    for got, x_ in pairs:
        if got is None or got.shape != x_.shape:
            return None
        negative = x_ < 0
        slopes.extend((got[negative] / x_[negative]).tolist())
    if not slopes or not np.allclose(slopes, slopes[0], rtol=1e-6) or np.isclose(slopes[0], 0) \
            or np.isclose(slopes[0], 1):
        return None
    return float(slopes[0])


def _relu_variants(x_, slope):
    return [
        (maybe(lambda: np.max(x_, axis=0)), "np.max(x, 0) is the largest entry of each column (0 is its axis): "
                                           "max(0, x) element by element is np.maximum(x, 0)."),
        (maybe(lambda: np.max(x_)), "np.max gives the largest entry of the whole array: max(0, x) element by "
                                    "element is np.maximum(x, 0)."),
        (np.minimum(x_, 0), "that is min(0, x): ReLU keeps the positive entries and sets the negative ones to 0."),
        (np.abs(x_), "that is |x|: negative entries become 0, not positive."),
        (x_, "the negative entries should be 0: ReLU(x) = max(0, x)."),
        (np.clip(x_, 0, 1), "that clips to [0, 1]: ReLU has no upper limit, so entries above 1 stay as they are; "
                            "np.maximum(x, 0)."),
        ((x_ > 0).astype(float), "that is a step function, ReLU's derivative (1 where x > 0): ReLU itself keeps the "
                                 "positive entries as they are, np.maximum(x, 0)."),
        (None if slope is None else np.where(x_ > 0, x_, slope * x_),
         f"that is a leaky ReLU, {slope or 0:g} * x for negative x: ReLU sets them to 0, np.maximum(x, 0)."),
    ]


def _relu_error_hint(error):
    if "truth value of an array" in error:
        return ("Python's max (or an `if`) compares one pair of numbers, not whole arrays: max(0, x) element by "
                "element is NumPy's np.maximum(x, 0).")
    return ""


def _compare_relu_forward(hidden):
    def compare_fn(outputs, rng):
        judge_shortcuts(outputs, "ReLU.forward")
        cases = _all_relu_cases(rng, hidden)
        gots = [_got(outputs, f"case{i}") for i in range(len(cases))]
        slope = _leaky_slope(list(zip(gots, cases)))
        evidence = [(g, np.maximum(x_, 0), _relu_variants(x_, slope)) for g, x_ in zip(gots, cases)]

        def judge_case(i, x_):
            what = f"ReLU of x = {inline(x_)}" if not hidden else f"ReLU of an input of shape {x_.shape}"
            _raise_error(outputs, f"case{i}", what, _relu_error_hint)
            got = recorded(outputs, f"case{i}", what)
            if not close(got, np.maximum(x_, 0)):
                fail_with_evidence(what, got, np.maximum(x_, 0), evidence,
                                   shape_hint="ReLU works element by element: the output has the shape of its input.")
            _judge_purity(outputs, f"case{i}", what, "ReLU.forward",
                          "build a new array, self.value = np.maximum(x.value, 0); writing into x.value (x.value[x.value "
                          "< 0] = 0, or np.maximum(..., out=x.value)) changes the input's own array.")
        _judge_all(cases, judge_case, hidden, lambda x_: f"x = {inline(x_)}", "ReLU.forward")
    return compare_fn


def _got(outputs, key):
    value = outputs.get(key)
    if value is None or value.dtype.kind not in "biuf":
        return None
    return value.astype(float)


def _raise_error(outputs, key, what, interpret):
    """CheckFailed for an error the learner's code raised, with a hint only where `interpret` knows the cause."""
    error = _error_of(outputs, key)
    if error is None:
        return
    hint = interpret(error)
    if hint:
        raise CheckFailed(f"{what}: your code raised\n    {error}\nHint: {hint}")
    recorded(outputs, key, what)


def _relu_backward_cases(rng, hidden):
    """(x, [gradients sent back by each consumer])."""
    if not hidden:
        return [(LESSON_RELU_X, [np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])]),
                (np.array([0.5, -1.0, 0.0, 2.0]), [np.array([1.0, 1.0, 1.0, 1.0]), np.array([0.5, 2.0, -1.0, -3.0])])]
    cases = []
    for x_ in _relu_cases(rng, hidden):
        count = 1 if x_.shape[0] == 1 else 2
        sent = [rng.uniform(0.5, 2, size=x_.shape) * rng.choice([-1.0, 1.0], size=x_.shape) for _ in range(count)]
        positive = np.flatnonzero(x_.ravel() > 0)[0]
        for g in sent:
            g.flat[positive] = -abs(g.flat[positive])    # an input above 0 whose upstream gradient is below 0
        cases.append((x_, sent))
    return cases


def _random_relu_backward_case(rng):
    x_ = _random_relu_case(rng)
    g = small(rng, x_.shape)
    g.flat[int(np.flatnonzero(x_.ravel() > 0)[0])] = -abs(g.flat[int(np.flatnonzero(x_.ravel() > 0)[0])]) - 0.5
    return x_, [g]


def _all_relu_backward_cases(rng, hidden):
    cases = _relu_backward_cases(rng, hidden)
    return cases if hidden else cases + [_random_relu_backward_case(rng)]


def _probe_relu_backward(hidden):
    def probe_cases(namespace, rng, outputs):
        cls = learner(namespace, "ReLU")
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
                return _gradient_of(node, x)
            attempt(outputs, f"case{i}", run)
    return _guarded(probe_cases)


def _relu_backward_variants(x_, sent):
    g = sum(sent)
    variants = [
        (g, "self.value >= 0 is true everywhere (a ReLU's output is never negative), so every gradient passed: the "
            "derivative is 1 only where the input x.value > 0."),
        ((x_ >= 0) * g, "at exactly x = 0 the derivative is 0 here (see the docstring): use x.value > 0, not >= 0."),
        (np.maximum(x_, 0) * g, "the derivative of max(0, x) is 0 or 1 (1 where x > 0), not the output itself."),
        ((x_ > 0).astype(float), "multiply the local derivative by the gradient the consumers sent back, "
                                 "self.upstream_gradient() (the chain rule)."),
        (-1.0 * (x_ > 0) * g, "the sign is flipped."),
        ((g > 0) * g, "the mask was taken from the sign of the upstream gradient: the derivative depends on the input, "
                      "1 where x.value > 0, and the upstream gradient passes there whatever its sign."),
    ]
    for j in range(2):
        variants.append((((x_ > 0) * sent[j]) if len(sent) > 1 and j < len(sent) else None,
                         "this node has two consumers and only one consumer's gradient was used: "
                         "self.upstream_gradient() adds up what every consumer sent back."))
    return variants


def _compare_relu_backward(hidden):
    def compare_fn(outputs, rng):
        judge_shortcuts(outputs, "ReLU.backward")
        cases = _all_relu_backward_cases(rng, hidden)
        evidence = [(_got(outputs, f"case{i}"), (x_ > 0) * sum(sent), _relu_backward_variants(x_, sent))
                    for i, (x_, sent) in enumerate(cases)]

        def judge_case(i, case):
            x_, sent = case
            what = (f"ReLU.backward for x = {inline(x_)}" if not hidden
                    else f"ReLU.backward for an input of shape {x_.shape}, {len(sent)} consumer(s)")
            note = f"\n(x = {inline(x_)}; its consumers sent back {' and '.join(inline(g) for g in sent)})"
            got = recorded(outputs, f"case{i}", what)
            expected = (x_ > 0) * sum(sent)
            if not close(got, expected):
                fail_with_evidence(what, got, expected, evidence, note=note, shape_hint=GRADIENT_SHAPE)
        _judge_all(cases, judge_case, hidden, lambda case: f"x = {inline(case[0])}", "ReLU.backward")
    return compare_fn


visible_and_hidden(
    "relu_forward", "ps6_classification", _probe_relu_forward, _compare_relu_forward,
    visible="ReLU.forward gives max(0, x) element by element, including at 0, and leaves its input as it was.",
    hidden="ReLU.forward on random shapes with zeros among the values, including a batch of 1.")
visible_and_hidden(
    "relu_backward", "ps6_classification", _probe_relu_backward, _compare_relu_backward,
    visible="ReLU.backward passes the upstream gradient where x > 0 (not at 0), and adds up two consumers.",
    hidden="ReLU.backward on random shapes with zeros, a batch of 1 and two consumers.")


# --- Part B: SoftmaxCrossEntropy ---------------------------------------------------------------

#: The visible cases after the lesson's, with the names their messages use.
VISIBLE_CE = [(LESSON_LABELS, LESSON_LOGITS, "the lesson's example"),
              (HUGE_LABELS, HUGE_LOGITS, "logits of +-1000"),
              (MIXED_LABELS, MIXED_LOGITS, "ordinary rows and a row of +-1000 in one batch"),
              (ONE_LABELS, ONE_LOGITS, "a batch of one example"),
              (MISSING_LABELS, MISSING_LOGITS, "a batch in which classes 1, 2 and 4 of 5 do not occur")]


def _mixed_case(rng):
    """Random ordinary rows and one row of +-1000 whose true class is far below the largest logit."""
    n, k = int(rng.integers(3, 6)), int(rng.integers(3, 6))
    labels, logits = rng.integers(0, k, size=n), rng.normal(size=(n, k))
    row = int(rng.integers(0, n))
    logits[row, labels[row]] -= 1000.0
    logits[row, (labels[row] + 1) % k] += 1000.0
    return labels, logits


def _ce_cases(rng, hidden):
    """(labels, logits) pairs."""
    if not hidden:
        return [(labels, logits) for labels, logits, _ in VISIBLE_CE]
    cases = []
    for n, k in [(1, 2), (int(rng.integers(2, 7)), int(rng.integers(3, 7))), (int(rng.integers(2, 7)), 10)]:
        cases.append((rng.integers(0, k, size=n), rng.normal(scale=3, size=(n, k))))
    n, k = int(rng.integers(2, 6)), int(rng.integers(2, 5))
    labels, logits, rows = rng.integers(0, k, size=n), rng.normal(size=(n, k)), np.arange(n)
    logits[rows, labels] -= 1000.0                 # every true class far below another: its p rounds to 0
    logits[rows, (labels + 1) % k] += 1000.0
    cases.append((labels, logits))
    cases.append(_mixed_case(rng))
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
    def probe_cases(namespace, rng, outputs):
        cls = learner(namespace, "SoftmaxCrossEntropy")
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
    return _guarded(probe_cases)


def _probabilities(node):
    p = getattr(node, "probabilities", None)
    if p is None:
        raise _NoProbabilities()
    return p


class _NoProbabilities(Exception):
    pass


def _ce_what(node, i, n, k, hidden):
    """A short name for a case (the message breaks its lines at 90 characters): its inputs follow it."""
    if not hidden and i < len(VISIBLE_CE):
        return f"{node} of {VISIBLE_CE[i][2]}"
    return f"{node} of {n} example(s) of {k} classes"


def _ce_inputs(labels_, logits_):
    return f"\n(labels {inline(labels_)}; logits {inline(logits_)})"


def _softmax_batch_max(z):
    """The softmax shifted by the largest logit of the whole batch: rows far below it underflow to 0 / 0."""
    e = np.exp(z - z.max())
    return e / e.sum(axis=1, keepdims=True)


def _softmax_naive(z):
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _epsilon(gots, cases):
    """The eps of a cost computed as -mean(log(p + eps)), read from a case where a true class's p rounds to 0."""
    for got, (labels_, logits_) in zip(gots, cases):
        if got is None or got.shape != ():
            continue
        p = np.exp(_log_softmax(logits_))[np.arange(len(labels_)), labels_]
        zero = p == 0
        if not np.any(zero) or np.all(zero):
            continue
        with np.errstate(all="ignore"):
            rest = -np.log(p[~zero]).sum()
            eps = float(np.exp(-(float(got) * len(labels_) - rest) / zero.sum()))
        if 0 < eps < 1e-3:
            return eps
    return None


def _ce_forward_variants(labels_, logits_, eps):
    n, k = logits_.shape
    rows = np.arange(n)
    with np.errstate(all="ignore"):
        expected = _cross_entropy(labels_, logits_)
        p_axis0 = np.exp(logits_ - logits_.max(axis=0, keepdims=True))
        p_axis0 = p_axis0 / p_axis0.sum(axis=0, keepdims=True)
        log_p = _log_softmax(logits_)
        shifted = logits_ - logits_.max()
        batch_max = -np.mean((shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)))[rows, labels_])
        p = np.exp(log_p)
        return [
            (-np.mean(np.log(p_axis0[rows, labels_])),
             "the softmax was taken over axis 0 (the examples): each row (example) is one softmax over its k classes, "
             "so sum with axis=1 and keepdims=True."),
            (expected * n, "that is the sum over the examples: the cost is their mean (divide by n)."),
            (expected / k, "the mean ran over all n * k entries: it is the mean over the n examples of -log p of the "
                           "true class."),
            (-expected, "the sign is flipped: the cost is minus the log of the probability."),
            (maybe(lambda: -np.mean(log_p[:, labels_])),
             "p[:, labels] takes, for every example, the column of every label: pick one entry per row with "
             "p[np.arange(n), labels]."),
            (maybe(lambda: -np.mean(p[rows, labels_])), "that is minus the probability: the cost is minus its log."),
            (maybe(lambda: -np.mean(logits_[rows, labels_])),
             "that uses the logits as log-probabilities: take the log of the softmax of each row."),
            (batch_max, "the logits were shifted by the largest logit of the whole batch (logits.max()), not of each "
                        "row: a row whose logits are all far below it underflows to 0 / 0. Subtract each row's own "
                        "largest logit, logits.max(axis=1, keepdims=True)."),
            (-np.mean(np.log(_softmax_naive(logits_)[rows, labels_])),
             "with logits this large np.exp overflows (e**1000 is infinite): subtract each row's largest logit before "
             "np.exp (it does not change the softmax)."),
            (-np.mean(np.log(p[rows, labels_])),
             "the softmax is shifted, but the cost takes np.log of a probability that rounds to 0 (its log is "
             "-infinity): compute log p as z - max - log(sum(exp(z - max))), log-sum-exp, from the shifted logits."),
            (None if eps is None else -np.mean(np.log(p[rows, labels_] + eps)),
             f"a small number ({eps or 0:.0e}) was added to p inside the log, or p was kept above it: then an example "
             f"whose probability rounds to 0 costs -log({eps or 0:.0e}) = {-np.log(eps) if eps else 0:.3g} instead of its true "
             "cost. Compute log p with log-sum-exp, z - max - log(sum(exp(z - max))), and no eps."),
        ]


def _compare_ce_forward(hidden):
    def compare_fn(outputs, rng):
        judge_shortcuts(outputs, "SoftmaxCrossEntropy.forward")
        cases = _all_ce_cases(rng, hidden)
        gots = [_got(outputs, f"case{i}") for i in range(len(cases))]
        eps = _epsilon(gots, cases)
        evidence = [(g, _cross_entropy(labels_, logits_), _ce_forward_variants(labels_, logits_, eps))
                    for g, (labels_, logits_) in zip(gots, cases)]
        p_evidence = [(_got(outputs, f"case{i}_probabilities"), np.exp(_log_softmax(logits_)),
                       _probability_variants(logits_)) for i, (_, logits_) in enumerate(cases)]

        def judge_case(i, case):
            labels_, logits_ = case
            n, k = logits_.shape
            what = _ce_what("SoftmaxCrossEntropy", i, n, k, hidden)
            note = _ce_inputs(labels_, logits_)
            expected = _cross_entropy(labels_, logits_)
            _raise_error(outputs, f"case{i}", what, lambda error: _ce_error_hint(error, labels_, logits_))
            got = recorded(outputs, f"case{i}", what)
            if not close(got, expected):
                if np.abs(logits_).max() > 100 and not np.all(np.isfinite(got)) and not _evidence.consistent(evidence):
                    raise CheckFailed(
                        f"{what} is {fmt(got)}, but it should be {expected:.10g}.\nHint: with logits this large, "
                        "np.exp overflows (e**1000 is infinite) or a probability rounds to 0 and its log is -infinity. "
                        "Subtract each row's largest logit before np.exp, and compute log p as z - max - "
                        "log(sum(exp(z - max))) rather than np.log of the probabilities (log-sum-exp)." + note)
                fail_with_evidence(what, got, expected, evidence, note=note,
                                   shape_hint="the cost is one number, the mean over the examples.")
            if not hidden and i == 0 and not close(got, LESSON_LOSS, rtol=1e-9, atol=1e-10):
                fail_with_evidence(what, got, LESSON_LOSS, evidence, note=note, rtol=1e-9, atol=1e-10)
            _judge_purity(outputs, f"case{i}", what, "SoftmaxCrossEntropy.forward",
                          "build new arrays: z = logits.value - logits.value.max(axis=1, keepdims=True) makes one; "
                          "logits.value -= ... (or any `-=`, `/=` on it) changes the logits' own array.")
            error = _error_of(outputs, f"case{i}_probabilities") or ""
            if "_NoProbabilities" in error:
                raise CheckFailed(f"{what}: the cost is right, but self.probabilities is not set: keep the softmax of "
                                  "the logits, shape (n, k), in self.probabilities for the backward pass.")
            p = recorded(outputs, f"case{i}_probabilities", f"{what}: self.probabilities")
            expected_p = np.exp(_log_softmax(logits_))
            if not close(p, expected_p, rtol=1e-7, atol=1e-12):
                fail_with_evidence(f"{what}: self.probabilities (the softmax of each row)", p, expected_p, p_evidence,
                                   note=note, shape_hint="self.probabilities has the shape (n, k) of the logits.",
                                   atol=1e-12)
        _judge_all(cases, judge_case, hidden, lambda case: f"labels {inline(case[0])}, logits {inline(case[1])}",
                   "SoftmaxCrossEntropy.forward")
    return compare_fn


def _probability_variants(logits_):
    with np.errstate(all="ignore"):
        p_axis0 = np.exp(logits_ - logits_.max(axis=0, keepdims=True))
        return [(p_axis0 / p_axis0.sum(axis=0, keepdims=True),
                 "that is the softmax over axis 0 (the examples): each row sums to 1, not each column."),
                (_softmax_batch_max(logits_), "the logits were shifted by the largest logit of the whole batch, not of "
                                              "each row: subtract logits.max(axis=1, keepdims=True)."),
                (_softmax_naive(logits_), "np.exp of logits this large overflows: subtract each row's largest logit "
                                          "first.")]


def _ce_error_hint(error, labels_, logits_):
    """A hint for an error in a case whose labels leave out some classes (k comes from the logits, not the labels)."""
    n, k = logits_.shape
    absent = len(np.unique(labels_)) < k
    shape_error = "could not be broadcast" in error or error.startswith("IndexError") or "shape" in error
    if absent and shape_error:
        return (f"in this batch not every class occurs (labels {inline(labels_)}, k = {k} classes in the logits): "
                "take k from the logits, k = logits.value.shape[1], and build the one-hot rows as np.eye(k)[labels], "
                "not from the labels' largest value or their distinct values.")
    return ""


def _ce_backward_cases(rng, hidden):
    """(labels, logits, [gradients sent back by each consumer]); no consumers: the node is the cost."""
    if not hidden:
        return [(LESSON_LABELS, LESSON_LOGITS, []),
                (np.array([1, 0, 2]), np.array([[0.5, 1.0, -1.0], [2.0, 0.0, 0.0], [0.0, 0.0, 3.0]]),
                 [np.array(2.5)]),
                (MIXED_LABELS, MIXED_LOGITS, []), (ONE_LABELS, ONE_LOGITS, []), (MISSING_LABELS, MISSING_LOGITS, [])]
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
    def probe_cases(namespace, rng, outputs):
        cls = learner(namespace, "SoftmaxCrossEntropy")
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
                with np.errstate(all="ignore"):
                    node.backward()
                return _gradient_of(node, z)
            attempt(outputs, f"case{i}", run)
            if "node" in holder:
                attempt(outputs, f"case{i}_labels", lambda holder=holder: _gradient_of(holder["node"], holder["y"]))
    return _guarded(probe_cases)


def _ce_backward_variants(labels_, logits_, sent):
    n, k = logits_.shape
    p = np.exp(_log_softmax(logits_))
    upstream = float(sum(sent)) if sent else 1.0
    one_hot = _one_hot(labels_, k)
    expected = (p - one_hot) / n * upstream
    wrong_columns = p.copy()
    wrong_columns[:, labels_] -= 1
    with np.errstate(all="ignore"):
        variants = [
            (expected * n, "divide by n, the number of examples: the cost is a mean over them."),
            (-expected, "the sign is flipped: the gradient is (softmax - one_hot) / n."),
            (p / n * upstream, "subtract the one-hot rows: 1 at each example's true class, (p - one_hot) / n."),
            (wrong_columns / n * upstream,
             "p[:, labels] -= 1 subtracts 1 in the column of every label on every row: subtract it once per row, "
             "p[np.arange(n), labels] -= 1 (or build the one-hot rows with np.eye(k)[labels])."),
            (maybe(lambda: (p - _one_hot(labels_, k).T) / n * upstream) if n == k else None,
             "the one-hot array is transposed: row i has its 1 in column labels[i]."),
            (expected / k, "divide by n, the number of examples, not by n * k."),
            ((p - one_hot) / k * upstream, "divide by n, the number of examples (the rows), not by k, the number of "
                                           "classes."),
            ((p - 1) / n * upstream, "1 was subtracted from every class's probability: subtract it only at each "
                                     "example's true class, p - one_hot."),
            ((p - one_hot) / n if upstream != 1.0 else None,
             "multiply by the gradient sent back by the consumers, self.upstream_gradient() (1 for the cost)."),
            ((_softmax_naive(logits_) - one_hot) / n * upstream,
             "the backward computes the softmax again, without subtracting each row's largest logit: np.exp(1000) "
             "overflows and gives NaN. Use self.probabilities, which the forward pass left."),
            ((_softmax_batch_max(logits_) - one_hot) / n * upstream,
             "the backward computes the softmax again, shifted by the largest logit of the whole batch: the ordinary "
             "rows underflow to 0 / 0. Use self.probabilities, which the forward pass left."),
        ]
    for j in range(2):
        variants.append(((p - one_hot) / n * float(sent[j]) if len(sent) > 1 else None,
                         "this node has two consumers and only one consumer's gradient was used: "
                         "self.upstream_gradient() adds them up."))
    return variants


def _compare_ce_backward(hidden):
    def compare_fn(outputs, rng):
        judge_shortcuts(outputs, "SoftmaxCrossEntropy.backward")
        cases = _all_ce_backward_cases(rng, hidden)
        evidence = []
        for i, (labels_, logits_, sent) in enumerate(cases):
            n, k = logits_.shape
            upstream = float(sum(sent)) if sent else 1.0
            expected = (np.exp(_log_softmax(logits_)) - _one_hot(labels_, k)) / n * upstream
            evidence.append((_got(outputs, f"case{i}"), expected, _ce_backward_variants(labels_, logits_, sent)))

        def judge_case(i, case):
            labels_, logits_, sent = case
            n, k = logits_.shape
            what = _ce_what("SoftmaxCrossEntropy.backward", i, n, k, hidden)
            if not hidden and i == 1:
                what = "SoftmaxCrossEntropy.backward with a consumer"
            what += ": the gradient for the logits"
            sent_back = f"; its consumers sent back {' and '.join(f'{float(g):.3g}' for g in sent)}" if sent else ""
            note = _ce_inputs(labels_, logits_)[:-1] + sent_back + ")"
            _raise_error(outputs, f"case{i}", what, lambda error: _ce_error_hint(error, labels_, logits_))
            got = recorded(outputs, f"case{i}", what)
            labels_grad = _got(outputs, f"case{i}_labels")
            if not close(got, evidence[i][1], rtol=1e-7, atol=1e-12) and close(labels_grad, evidence[i][1]):
                raise CheckFailed(f"{what} is stored under the labels, and the gradient under the logits is "
                                  f"{fmt(got)}: the two keys are swapped.\nHint: self.gradients[logits] = (p - one_hot) "
                                  "/ n * self.upstream_gradient(), and self.gradients[labels] = zeros of the labels' "
                                  f"shape.{note}")
            if not close(got, evidence[i][1], rtol=1e-7, atol=1e-12):
                fail_with_evidence(what, got, evidence[i][1], evidence, note=note,
                                   shape_hint="the gradient for the logits has their shape (n, k).", atol=1e-12)
            labels_what = what.replace("the logits", "the labels")
            labels_grad = recorded(outputs, f"case{i}_labels", labels_what)
            if labels_grad.shape != labels_.shape or np.any(labels_grad != 0):
                raise CheckFailed(f"{labels_what} should be zeros of their shape {labels_.shape} (labels are class "
                                  f"numbers, not differentiable), got {fmt(labels_grad)}.\nHint: "
                                  "self.gradients[labels] = np.zeros(np.shape(labels.value)).")
        _judge_all(cases, judge_case, hidden, lambda case: f"labels {inline(case[0])}, logits {inline(case[1])}",
                   "SoftmaxCrossEntropy.backward")
    return compare_fn


visible_and_hidden(
    "cross_entropy_forward", "ps6_classification", _probe_ce_forward, _compare_ce_forward,
    visible="SoftmaxCrossEntropy.forward gives the lesson's cost 1.5568820566, 1000 for logits of +-1000, and the "
            "right cost for ordinary and extreme rows in one batch, a batch of one and a batch missing classes.",
    hidden="SoftmaxCrossEntropy.forward on random examples and classes, a batch of 1, k = 2 and huge logits.")
visible_and_hidden(
    "cross_entropy_backward", "ps6_classification", _probe_ce_backward, _compare_ce_backward,
    visible="SoftmaxCrossEntropy.backward gives (softmax - one_hot) / n times the upstream gradient, zeros for labels, "
            "also for ordinary and extreme rows in one batch, a batch of one and a batch missing classes.",
    hidden="SoftmaxCrossEntropy.backward on random examples and classes, huge logits and two consumers.")
