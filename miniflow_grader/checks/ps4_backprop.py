r"""Problem set 4: `Sigmoid.backward`, `Linear.backward` and `MSE.backward`."""
from functools import partial

import sys

import numpy as np
from scipy.special import expit

import miniflow
from miniflow import Input, Linear, MSE, Node, Sigmoid
from miniflow.check import RIGHT_BELOW, WRONG_ABOVE, numerical_gradient, relative_error

from .common import (GRADIENT_SHAPE, PRINTED, CheckFailed, attempt, gradient_of, inline, learner,
                    maybe, other_inputs, recorded, same, small, targets, visible_and_hidden)

targets("ps4_backprop", ["Sigmoid.backward", "Linear.backward", "MSE.backward"])

# The lesson's backprop example: MSE(y, Sigmoid(Linear(X, W, b))), and the four gradient arrays it prints.
LESSON_X = np.array([[-1.0, -2.0], [-1.0, -2.0]])
LESSON_W = np.array([[2.0], [3.0]])
LESSON_B = np.array([-3.0])
LESSON_Y = np.array([1.0, 2.0])
LESSON_GRADIENTS = {
    "X": np.array([[-3.34017280e-05, -5.01025919e-05], [-6.68040138e-05, -1.00206021e-04]]),
    "y": np.array([0.9999833, 1.9999833]),
    "W": np.array([[5.01028709e-05], [1.00205742e-04]]),
    "b": np.array([-5.01028709e-05]),
}


class _Consumer(Node):
    """Stands for the rest of a graph: it consumes one node and sends back a fixed gradient."""

    def __init__(self, node, gradient, name=None):
        super().__init__([node], name)
        self.fixed = np.asarray(gradient, dtype=float)

    def forward(self):
        self.value = np.zeros(())

    def backward(self):
        self.gradients = {self.inbound_nodes[0]: self.fixed.copy()}


def _lesson_upstream(X_=LESSON_X, W_=LESSON_W, b_=LESSON_B, y_=LESSON_Y):
    """dC/da for the lesson's network, where a = Sigmoid(l) is compared with y by MSE (plain NumPy)."""
    l_ = X_ @ W_ + b_
    a_ = expit(l_)
    grad_a = (-2 / a_.size) * (y_.reshape(-1, 1) - a_)
    grad_l = a_ * (1 - a_) * grad_a
    return l_, a_, grad_a, grad_l


def _run_backward(node_under_test, consumers, inputs_of_node, numeric=None):
    """Forward through the node and its consumers, then the consumers' backward and the node's backward.

    With `numeric` (a dict), what the backward called of miniflow's forward passes and finite-difference
    tools is counted into it (see :func:`watching_numeric`).
    """
    node_under_test.forward()
    for consumer in consumers:
        consumer.forward()
        consumer.backward()
    sent = [c.gradients[node_under_test].copy() for c in consumers]
    if numeric is None:
        node_under_test.backward()
    else:
        with watching_numeric(numeric):
            node_under_test.backward()
    after = [c.gradients[node_under_test] for c in consumers]
    changed = any(not np.array_equal(np.asarray(a, dtype=float), s) for a, s in zip(after, sent))
    return [gradient_of(node_under_test, n) for n in inputs_of_node], changed


def _numeric_routes():
    """{code object: its name} of what computes a cost, or its finite differences, in miniflow."""
    routes = {}
    for name, obj in vars(miniflow.nodes).items():
        if isinstance(obj, type) and issubclass(obj, Node) and "forward" in vars(obj):
            routes[vars(obj)["forward"].__code__] = f"miniflow's {name}.forward"
    for function in (miniflow.graph.forward_pass, miniflow.graph.forward_and_backward):
        routes[function.__code__] = f"miniflow.{function.__name__}"
    for name, obj in vars(miniflow.check).items():
        if callable(obj) and getattr(obj, "__module__", None) == miniflow.check.__name__:
            routes[obj.__code__] = f"miniflow.check.{name}"
    return routes


class watching_numeric:
    """While active, count each call of a miniflow forward pass or finite-difference tool into `counts`.

    Watched by code object (sys.setprofile), so every route counts: inherited, imported, copied into a
    variable, called through super() or on a new node.
    """

    def __init__(self, counts):
        self.counts = counts
        self.routes = _numeric_routes()

    def _profile(self, frame, event, arg):
        if event == "call":
            name = self.routes.get(frame.f_code)
            if name is not None:
                self.counts[name] = self.counts.get(name, 0) + 1

    def __enter__(self):
        self.previous = sys.getprofile()
        sys.setprofile(self._profile)
        return self

    def __exit__(self, *exc):
        sys.setprofile(self.previous)
        return False


def numeric_route(counts):
    """What a backward that the counts show estimated its gradients numerically called, in words, or ""."""
    tools = [name for name in counts if name.startswith("miniflow.check.")]
    forwards = {name: n for name, n in counts.items() if not name.startswith("miniflow.check.")}
    if tools:
        return " and ".join(tools)
    if sum(forwards.values()) > 1:   # once could be recomputing a value; a difference needs two or more
        return ", ".join(f"{name} ({n} times)" for name, n in forwards.items())
    return ""


def _graph_cases(rng, kind):
    """Hidden backward cases: (input values, consumer gradients) on random values.

    The shapes have a fixed form, so a mistake fails whatever the seed: a batch of 1, and a batch
    of n with two consumers where n, k and m all differ (and, for MSE, every row/column layout).
    """
    n = int(rng.integers(4, 7))
    if kind == "Sigmoid":
        forms = [((1, 3), 1), ((n, 3), 2)]
        return [([rng.normal(scale=2, size=shape)], [rng.normal(size=shape) for _ in range(count)])
                for shape, count in forms]
    if kind == "Linear":
        forms = [(1, 3, 2, 1), (n, 3, 2, 2), (n, 2, 1, 2)]   # a batch of 1; n, k, m all differ; a single output
        return [([rng.normal(size=(rows, k)), rng.normal(size=(k, m)), rng.normal(size=m)],
                 [rng.normal(size=(rows, m)) for _ in range(count)]) for rows, k, m, count in forms]
    forms = [((1,), (1, 1), 1), ((n,), (n, 1), 2), ((n, 1), (n,), 2), ((n,), (n,), 1), ((n, 1), (n, 1), 1)]
    return [([rng.normal(size=y_shape), rng.normal(size=a_shape)], [rng.normal(size=()) for _ in range(count)])
            for y_shape, a_shape, count in forms]


def _reference_backward(kind, values, consumer_grads):
    """The reference node's gradients with respect to its inputs, given its consumers' gradients."""
    inputs = [Input(name=f"in{i}") for i in range(len(values))]
    for node, value in zip(inputs, values):
        node.value = np.array(value, dtype=float)
    node = {"Sigmoid": Sigmoid, "Linear": Linear, "MSE": MSE}[kind](*inputs)
    consumers = [_Consumer(node, g) for g in consumer_grads]
    grads, _ = _run_backward(node, consumers, inputs)
    return grads


def _probe_backward_cases(kind, cases, namespace):
    cls = learner(namespace, kind)
    outputs = {}
    for i, (values, consumer_grads) in enumerate(cases):
        holder = {}

        def run(values=values, consumer_grads=consumer_grads, holder=holder):
            inputs = [Input(name=name) for name in _INPUT_NAMES[kind]]
            for node, value in zip(inputs, values):
                node.value = np.array(value, dtype=float)
            node = cls(*inputs)
            consumers = [_Consumer(node, g, name=f"consumer{j + 1}") for j, g in enumerate(consumer_grads)]
            counts = {}
            try:
                grads, changed = _run_backward(node, consumers, inputs, numeric=counts)
            finally:
                route = numeric_route(counts)
                if route:
                    outputs[f"case{i}_numeric"] = np.array(route)
            holder["inputs"], holder["node"] = inputs, node
            outputs[f"case{i}_changed_upstream"] = np.array(changed)
            return np.array(0.0)

        attempt(outputs, f"case{i}_ran", run)
        if "inputs" not in holder:
            continue
        for j, name in enumerate(_INPUT_NAMES[kind]):
            attempt(outputs, f"case{i}_{name}", lambda j=j: gradient_of(holder["node"], holder["inputs"][j]))

        def forward(holder=holder, consumer_grads=consumer_grads):
            holder["node"].forward()
            value = np.asarray(holder["node"].value, dtype=float)
            return sum(np.sum(value * g) for g in consumer_grads)
        for j, name in enumerate(_INPUT_NAMES[kind]):
            attempt(outputs, f"case{i}_{name}_estimate",
                     lambda j=j, forward=forward, holder=holder: numerical_gradient(forward, holder["inputs"][j].value))
    return outputs


_INPUT_NAMES = {"Sigmoid": ["x"], "Linear": ["X", "W", "b"], "MSE": ["y", "a"]}


def _backward_hints(kind, name, values, consumer_grads, expected):
    """(wrong answer, cause) pairs for the common mistakes in each backward."""
    hints = []
    if len(consumer_grads) > 1:
        for j in range(len(consumer_grads)):
            only = _reference_backward(kind, values, [consumer_grads[j]])[_INPUT_NAMES[kind].index(name)]
            hints.append((only, "this node has two consumers and only one consumer's gradient was kept: "
                                "accumulate with `+=` over every consumer instead of assigning with `=`."))
    if kind == "Sigmoid":
        x_ = values[0]
        g = sum(consumer_grads)
        s = expit(x_)
        hints += [(x_ * (1 - x_) * g, "the derivative was computed from the input x: it is s(1 - s) where "
                                      "s = self.value is the sigmoid's output."),
                  (s * (1 + s) * g, "that is s(1 + s): the sigmoid's derivative is s(1 - s)."),
                  ((1 - s) * g, "that is (1 - s) times the upstream gradient: the derivative is s(1 - s), "
                                "the output times one minus the output."),
                  (s * g, "that is s times the upstream gradient: the derivative is s(1 - s)."),
                  (s * (1 - s), "multiply the local derivative s(1 - s) by the gradient the consumer sent back "
                                "(the chain rule)."),
                  (-expected, "the sign is flipped.")]
    elif kind == "Linear":
        X_, W_, b_ = values
        g = sum(consumer_grads)
        if name == "X":
            hints += [(maybe(lambda: g @ W_),
                       "W needs a transpose: dC/dX = dC/dZ @ W.T."),
                      (maybe(lambda: W_ @ g.T),
                       "the product is in the wrong order: dC/dX = dC/dZ @ W.T.")]
        if name == "W":
            hints += [(maybe(lambda: X_.T @ g / len(X_)) if len(X_) > 1 else None,
                       "W's gradient is the sum over the batch, X.T @ dC/dZ: do not divide by the number of "
                       "examples (the cost already averages)."),
                      (maybe(lambda: X_ @ g), "X needs a transpose: dC/dW = X.T @ dC/dZ."),
                      (maybe(lambda: X_.T @ (X_ @ W_ + b_)), "that uses self.value, the node's output: "
                                                            "dC/dW = X.T @ dC/dZ, with dC/dZ = self.upstream_gradient()."),
                      (maybe(lambda: g.T @ X_),
                       "the product is in the wrong order: dC/dW = X.T @ dC/dZ.")]
        ones = np.ones_like(g)
        if not np.allclose(g, ones):
            local = {"X": maybe(lambda: ones @ W_.T), "W": maybe(lambda: X_.T @ ones), "b": ones.sum(axis=0)}[name]
            hints.append((local, "that is the gradient for G = 1: multiply by the gradient the consumers sent back, "
                                 "G = self.upstream_gradient() (dC/dX = G @ W.T, dC/dW = X.T @ G, dC/db = G summed "
                                 "over the rows)."))
        if name == "b":
            hints += [(g, "b was added to every row (example): sum the upstream gradient over the batch, "
                          "np.sum(dC/dZ, axis=0)."),
                      (g.sum(axis=1), "sum over axis 0 (the examples), not axis 1."),
                      (g.mean(axis=0), "b's gradient is the sum over the batch, not the mean."),
                      (g[0] if len(g) > 1 else None, "that is the first row of dC/dZ only: b was added to every "
                                                     "row, so sum over all of them, np.sum(dC/dZ, axis=0)."),
                      (g.sum(), "sum over the examples only (axis=0): b has one gradient per output."),
                      (g.sum(axis=0, keepdims=True), "b has shape (n_out,): sum with axis=0 and no keepdims.")]
        hints.append((-expected, "the sign is flipped."))
    else:
        y_, a_ = values
        hints += [(-expected, "the sign is flipped: C = mean((y - a)^2), so dC/dy = 2(y - a)/m and "
                              "dC/da = -2(y - a)/m."),
                  (expected / 2, "the factor 2 from the square is missing."),
                  (expected * np.size(y_), "divide by m, the number of elements: C is a mean."),
                  (expected * np.size(y_) / 2 if np.size(y_) != 2 else None,
                   f"that divides by 2, the number of inputs: m is the number of elements ({np.size(y_)} here), "
                   "self.diff.size."),
                  (expected * np.size(y_) / (np.size(y_) - 1) if np.size(y_) > 2 else None,
                   f"that divides by m - 1 = {np.size(y_) - 1}: C is the mean over all m = {np.size(y_)} elements."),
                  (np.reshape(expected, (-1, 1)) if np.ndim(expected) == 1 else None,
                   "reshape the gradient to the shape of the value it belongs to: np.reshape(g, np.shape(n.value)).")]
        total = sum(np.sum(g) for g in consumer_grads)
        if len(consumer_grads) > 1 or not np.isclose(total, 1):
            hints.append((expected / total if total != 0 else None,
                          "multiply by the gradient sent back by the MSE's consumers (self.upstream_gradient() "
                          "is 1 when the MSE is the cost)."))
    return hints


def _compare_backward_case(kind, i, values, consumer_grads, outputs, label):
    what = f"{kind}.backward ({label})"
    route = outputs.get(f"case{i}_numeric")
    if route is not None:
        raise CheckFailed(
            f"{what}: your backward gets its gradients by finite differences, not from the derivative: it called "
            f"{route} while computing them. A finite difference checks a derivative; it is not one, and code "
            "that gets its answer from miniflow instead of computing it earns nothing for this part.\nHint: "
            "write the derivative's formula from the task, using the node's own values and "
            "self.upstream_gradient(), and call no forward pass and nothing of miniflow.check in backward.")
    recorded(outputs, f"case{i}_ran", what)
    if bool(outputs.get(f"case{i}_changed_upstream", False)):
        raise CheckFailed(f"{what}: your backward changed the gradient array its consumer sent back "
                          "(an in-place operation such as `grad_cost *= ...`). That array belongs to the consumer: "
                          "compute a new array instead.")
    expected = _reference_backward(kind, values, consumer_grads)
    for j, name in enumerate(_INPUT_NAMES[kind]):
        got = recorded(outputs, f"case{i}_{name}", f"{what}: the gradient for {name}")
        note = ""
        numeric = outputs.get(f"case{i}_{name}_estimate")
        if numeric is not None and numeric.dtype.kind == "f" and numeric.shape == got.shape:
            error = relative_error(got, numeric.astype(float))
            note = (f"\n(Gradient check: relative error {error:.2g} between your gradient and a finite-difference "
                    f"estimate of it from your forward; {GRADIENT_CHECK_RULE}.)")
        label = f"{what}: the gradient for {name} ({name} has shape {np.shape(values[j])})"
        swapped = [(expected[k], f"that is the gradient for {other}, stored under {name}: store each gradient "
                                 f"under its own input node, self.gradients[{other}] for {other}.")
                   for k, other in enumerate(_INPUT_NAMES[kind]) if k != j]
        same(got, expected[j], label, _backward_hints(kind, name, values, consumer_grads, expected[j]) + swapped,
             shape_hint=GRADIENT_SHAPE, rtol=1e-5, atol=1e-10 + 1e-7 * np.max(np.abs(expected[j]), initial=0.0),
             note=note)
        _judge_exact(got, expected[j], label)
    return expected


def _power(x):
    return f"{x:.0e}".replace("e-0", "e-")


#: The gradient-check rule of the library (miniflow.check), as every message states it.
GRADIENT_CHECK_RULE = (f"below {_power(RIGHT_BELOW)} (miniflow.check.RIGHT_BELOW) the derivative is right, and "
                       f"{_power(WRONG_ABOVE)} (WRONG_ABOVE) or more means it is wrong")


#: How far a backward's answer may be from the derivative, relative to the gradient's largest element.
#: The formula gives about 1e-15 (rounding); a finite-difference estimate is off by 1e-11 or more.
EXACT = 5e-12


def _judge_exact(got, expected, what):
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    error = float(np.max(np.abs(got - expected))) / scale if scale > 0 else float(np.max(np.abs(got), initial=0.0))
    if error > EXACT:
        raise CheckFailed(
            f"{what} is close to the derivative but not equal to it: it is off by {error:.1g} of its largest "
            f"element, where the formula gives about 1e-15. That is what a numerical estimate, not the derivative, "
            "looks like (finite differences are off by 1e-11 or more), or numbers copied with a few digits."
            "\nHint: compute the gradient from its formula, as the task gives it; finite differences are for "
            "checking a derivative, not for computing it.")


def _network_case(kind, X_, W_, b_, y_):
    """The values and the consumer's gradient of `kind`'s node in the lesson's network MSE(y, Sigmoid(Linear(X, W, b)))."""
    l_, a_, grad_a, grad_l = _lesson_upstream(X_, W_, b_, y_)
    if kind == "Sigmoid":
        return [l_], [grad_a]
    if kind == "Linear":
        return [X_, W_, b_], [grad_l]
    return [y_, a_], [np.ones(())]


def _random_network(rng):
    """A visible check's extra case: the lesson's network with random X, W, b and y of the lesson's shapes."""
    return [small(rng, np.shape(v)) for v in (LESSON_X, LESSON_W, LESSON_B, LESSON_Y)]


def _visible_backward_cases(kind):
    l_, a_, grad_a, grad_l = _lesson_upstream()
    if kind == "Sigmoid":
        lesson = ([l_], [grad_a])
        two = ([np.array([[-1.0, 0.0, 2.0], [0.5, 1.0, -2.0]])],
               [np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]]), np.array([[0.5, -1.0, 1.0], [2.0, 1.0, -0.5]])])
    elif kind == "Linear":
        lesson = ([LESSON_X, LESSON_W, LESSON_B], [grad_l])
        two = ([np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.0]]), np.array([[1.0, -1.0, 0.5, 2.0], [0.0, 1.0, 1.0, -1.0]]),
                np.array([0.1, 0.2, 0.3, 0.4])],
               [np.array([[1.0, 0.0, -1.0, 2.0], [0.5, 1.0, 1.0, 0.0], [-1.0, 2.0, 0.0, 1.0]]),
                np.array([[0.0, 1.0, 1.0, -1.0], [2.0, 0.0, 0.5, 1.0], [1.0, 1.0, -2.0, 0.0]])])
    else:
        lesson = ([LESSON_Y, a_], [np.ones(())])
        two = ([np.array([1.0, 2.0, 3.0, 4.0]), np.array([4.5, 5.0, 10.0, 2.0])], [np.array(2.0), np.array(0.5)])
    if kind == "Linear":   # every product has the right shape, transposed or not: the numbers tell them apart
        square = ([np.array([[1.0, 2.0], [-1.0, 0.5]]), np.array([[0.5, -1.0], [2.0, 1.0]]), np.array([0.1, -0.2])],
                  [np.array([[1.0, -2.0], [0.5, 3.0]])])
        return [lesson, two, square]
    return [lesson, two]


def _probe_backward(kind, hidden):
    def probe_fn(namespace, rng):
        cases = (_graph_cases(rng, kind) if hidden
                 else _visible_backward_cases(kind) + [_network_case(kind, *_random_network(rng))])
        return _probe_backward_cases(kind, cases, namespace)
    return probe_fn


def _compare_backward(kind, hidden):
    def compare_fn(outputs, rng):
        if hidden:
            for i, (values, consumer_grads) in enumerate(_graph_cases(rng, kind)):
                shapes = ", ".join(f"{name} {np.shape(v)}" for name, v in zip(_INPUT_NAMES[kind], values))
                label = f"random inputs {shapes}, {len(consumer_grads)} consumer(s)"
                _compare_backward_case(kind, i, values, consumer_grads, outputs, label)
            return
        visible = _visible_backward_cases(kind)
        lesson, two = visible[:2]
        if kind == "Linear":
            values, sent = visible[2]
            inputs = ", ".join(f"{name} = {inline(v)}" for name, v in zip(_INPUT_NAMES[kind], values))
            _compare_backward_case(kind, 2, *visible[2], outputs,
                                   f"with a square W; {inputs}; the consumer sends back {inline(sent[0])}")
        names = {"Sigmoid": "a = Sigmoid(l) in the lesson's network MSE(y, Sigmoid(Linear(X, W, b)))",
                 "Linear": "l = Linear(X, W, b) in the lesson's network MSE(y, Sigmoid(Linear(X, W, b)))",
                 "MSE": "the lesson's cost MSE(y, a)"}
        values, sent = two
        inputs = ", ".join(f"{name} = {inline(v)}" for name, v in zip(_INPUT_NAMES[kind], values))
        label = (f"with two consumers; {inputs}; the consumers send back "
                 f"{inline(sent[0])} and {inline(sent[1])}")
        _compare_backward_case(kind, 1, *two, outputs, label)   # first: its numbers tell right from wrong clearly
        expected = _compare_backward_case(kind, 0, *lesson, outputs, names[kind])
        _pin_lesson(kind, outputs, expected)
        network = _random_network(rng)
        values, sent = _network_case(kind, *network)
        inputs = ", ".join(f"{name} = {inline(v)}" for name, v in zip("XWby", network))
        label = f"{names[kind]} with these values"
        with other_inputs(f"{kind}.backward", inputs):
            _compare_backward_case(kind, len(visible), values, sent, outputs, label)
    return compare_fn


def _pin_lesson(kind, outputs, expected):
    """The four gradient arrays the lesson prints, from the learner's piece and the lesson's math for the rest."""
    l_, a_, grad_a, grad_l = _lesson_upstream()
    if kind == "Sigmoid":
        grad_l = recorded(outputs, "case0_x", "Sigmoid.backward")
    if kind == "Linear":
        grads = {n: recorded(outputs, f"case0_{n}", "Linear.backward") for n in "XWb"}
    else:
        grads = {"X": grad_l @ LESSON_W.T, "W": LESSON_X.T @ grad_l, "b": grad_l.sum(axis=0)}
    grads["y"] = (recorded(outputs, "case0_y", "MSE.backward") if kind == "MSE"
                  else (2 / a_.size) * (LESSON_Y - a_.ravel()))
    for name in "XyWb":
        same(grads[name], LESSON_GRADIENTS[name],
              f"With your {kind}.backward, the lesson's gradient for {name}", **PRINTED)


visible_and_hidden(
    "sigmoid_backward", "ps4_backprop", partial(_probe_backward, "Sigmoid"), partial(_compare_backward, "Sigmoid"),
    visible="Sigmoid.backward gives the lesson's four gradient arrays for X, y, W and b, and adds up two consumers.",
    hidden="Sigmoid.backward on random shapes, a batch of 1 and a node with two consumers, against finite differences.")
visible_and_hidden(
    "linear_backward", "ps4_backprop", partial(_probe_backward, "Linear"), partial(_compare_backward, "Linear"),
    visible="Linear.backward gives the lesson's gradients for X, W and b, and adds up two consumers of a 3x4 output.",
    hidden="Linear.backward on random shapes, a batch of 1 and a node with two consumers, against finite differences.")
visible_and_hidden(
    "mse_backward", "ps4_backprop", partial(_probe_backward, "MSE"), partial(_compare_backward, "MSE"),
    visible="MSE.backward gives the lesson's gradients for y ([0.9999833, 1.9999833]) and a, and scales by its consumers.",
    hidden="MSE.backward on random rows and columns, a single example, and an MSE with two consumers.")


