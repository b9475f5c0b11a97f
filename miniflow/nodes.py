"""The nodes: each one's forward math, with its local derivative right below it.

Every `backward` applies the chain rule once per input:
    dC/d(input) = dC/d(self) * d(self)/d(input)
where dC/d(self) = `self.upstream_gradient()` already sums what every consumer
of this node sent back, so a node used by two consumers gets both contributions.
"""
import numpy as np
from scipy.special import expit

from .graph import MiniflowError, Node


class Input(Node):
    """A value fed from outside: data (X, y) or a trainable parameter (W, b)."""

    def __init__(self, name=None):
        super().__init__((), name)

    def forward(self):
        if self.value is None:
            raise MiniflowError(f"Input {self.name!r} has no value: put it in the feed_dict")

    def backward(self):
        # Nothing flows further back: keep dC/d(self) for whoever updates or inspects this input.
        self.gradients[self] = self.upstream_gradient()


class Add(Node):
    r"""$x_1 + x_2 + \dots + x_n$; $\partial/\partial x_i = 1$."""

    def __init__(self, *inputs, name=None):
        if not inputs:
            raise MiniflowError("Add needs at least one input")
        super().__init__(inputs, name)

    def forward(self):
        values = [n.value for n in self.inbound_nodes]
        self.value = _broadcasting(self, "add", values, sum)

    def backward(self):
        grad = self.upstream_gradient()
        self.gradients = dict.fromkeys(self.inbound_nodes, 0.0)   # Add(x, x) adds into x twice
        for n in self.inbound_nodes:
            self.gradients[n] = self.gradients[n] + _unbroadcast(grad, np.shape(n.value))


class Mul(Node):
    r"""$x_1 x_2 \cdots x_n$; $\partial/\partial x_i$ = the product of all the others."""

    def __init__(self, *inputs, name=None):
        if not inputs:
            raise MiniflowError("Mul needs at least one input")
        super().__init__(inputs, name)

    def forward(self):
        values = [n.value for n in self.inbound_nodes]
        self.value = _broadcasting(self, "multiply", values, _product)

    def backward(self):
        grad = self.upstream_gradient()
        values = [n.value for n in self.inbound_nodes]
        self.gradients = dict.fromkeys(self.inbound_nodes, 0.0)   # Mul(x, x) adds into x twice
        for i, n in enumerate(self.inbound_nodes):
            others = _product(values[:i] + values[i + 1:])
            self.gradients[n] = self.gradients[n] + _unbroadcast(grad * others, np.shape(n.value))


class Linear(Node):
    r"""$XW + b$: X is (examples, features), W is (features, outputs), b is (outputs,)."""

    def __init__(self, X, W, b, name=None):
        super().__init__([X, W, b], name)

    def forward(self):
        X, W, b = self.inbound_nodes
        _check_linear_shapes(self, X.value, W.value, b.value)
        self.value = X.value @ W.value + b.value

    def backward(self):
        X, W, b = self.inbound_nodes
        grad = self.upstream_gradient()                   # (n, m), like self.value
        self.gradients[X] = grad @ W.value.T              # (n, m) @ (m, k) -> (n, k)
        self.gradients[W] = X.value.T @ grad              # (k, n) @ (n, m) -> (k, m)
        self.gradients[b] = grad.sum(axis=0)              # b was added to every row -> (m,)


class Sigmoid(Node):
    r"""$\sigma(x) = 1/(1+e^{-x})$; $\sigma'(x) = \sigma(x)(1-\sigma(x))$."""

    def __init__(self, node, name=None):
        super().__init__([node], name)

    def forward(self):
        self.value = expit(self.inbound_nodes[0].value)   # 1/(1+exp(-x)), without overflow

    def backward(self):
        s = self.value                                    # the derivative needs only the output
        self.gradients[self.inbound_nodes[0]] = s * (1 - s) * self.upstream_gradient()


class MSE(Node):
    r"""$C = \frac{1}{m}\sum_i (y_i - a_i)^2$ over all m elements; $\partial C/\partial a = -\frac{2}{m}(y - a)$."""

    def __init__(self, y, a, name=None):
        super().__init__([y, a], name)

    def forward(self):
        # Compare as columns: (3,) minus (3, 1) would broadcast to (3, 3).
        y, a = (np.asarray(n.value).reshape(-1, 1) for n in self.inbound_nodes)
        if y.shape != a.shape:
            _raise_size_mismatch(self)
        self.diff = y - a
        self.value = np.mean(self.diff ** 2)

    def backward(self):
        y, a = self.inbound_nodes
        grad_y = (2 / self.diff.size) * self.upstream_gradient() * self.diff
        self.gradients[y] = grad_y.reshape(np.shape(y.value))   # each gradient has its value's shape
        self.gradients[a] = -grad_y.reshape(np.shape(a.value))


class ReLU(Node):
    r"""$\max(0, x)$; $\partial/\partial x = 1$ where $x > 0$ and $0$ where $x \le 0$ (at exactly 0 too)."""

    def __init__(self, node, name=None):
        super().__init__([node], name)

    def forward(self):
        self.value = np.maximum(self.inbound_nodes[0].value, 0)

    def backward(self):
        x = self.inbound_nodes[0]                         # the derivative is read from the input
        self.gradients[x] = (x.value > 0) * self.upstream_gradient()


class SoftmaxCrossEntropy(Node):
    r"""$C = -\frac{1}{n}\sum_i \log p_{i, y_i}$, $p = \mathrm{softmax}(z)$ by rows; $\partial C/\partial z = (p - \mathrm{onehot}(y))/n$.

    `labels` holds n class numbers 0..k-1, shape (n,); `logits` holds z, shape (n, k).
    Labels are not differentiable (a class number cannot be nudged): `gradients[labels]`
    holds zeros of the labels' shape, so the labels Input gets a gradient that changes nothing.
    """

    def __init__(self, labels, logits, name=None):
        super().__init__([labels, logits], name)

    def forward(self):
        labels, logits = self.inbound_nodes
        self.classes = _class_labels(self, labels.value, logits.value)   # (n,) integers
        if len(getattr(self, "rows", ())) != len(self.classes):
            self.rows = np.arange(len(self.classes))                    # 0..n-1, to pick each row's true class
        z = logits.value - logits.value.max(axis=1, keepdims=True)      # largest logit 0: exp cannot overflow
        e = np.exp(z)
        total = e.sum(axis=1, keepdims=True)                            # at least e**0 = 1
        self.probabilities = e / total                                  # (n, k), each row sums to 1
        # -log p of the true class = log-sum-exp - its logit: never log(0), even where p rounds to 0
        self.value = (np.log(total).sum() - z[self.rows, self.classes].sum()) / len(self.rows)

    def backward(self):
        labels, logits = self.inbound_nodes
        grad = self.probabilities.copy()
        grad[self.rows, self.classes] -= 1                              # softmax - one_hot
        grad *= self.upstream_gradient() / len(self.classes)
        self.gradients[logits] = grad
        self.gradients[labels] = np.zeros(np.shape(labels.value))


# --- helpers --------------------------------------------------------------

def _product(values):
    result = 1
    for v in values:
        result = result * v
    return result


def _broadcasting(node, verb, values, combine):
    """`combine(values)`, with NumPy's shape error replaced by one that names the node."""
    try:
        return combine(values)
    except ValueError:
        shapes = ", ".join(str(np.shape(v)) for v in values)
        raise MiniflowError(f"{type(node).__name__} {node.name!r} cannot {verb} values of shapes {shapes}") from None


def _unbroadcast(grad, shape):
    """Sum `grad` back down to `shape`: a value broadcast to many places gets the sum of their gradients."""
    grad = np.asarray(grad)
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


def _raise_size_mismatch(node):
    y, a = (n.value for n in node.inbound_nodes)
    raise MiniflowError(
        f"MSE {node.name!r} compares y and a element by element, but y has shape {np.shape(y)} "
        f"({np.size(y)} elements) and a has shape {np.shape(a)} ({np.size(a)} elements)")


def _check_linear_shapes(node, X, W, b):
    try:   # X (n, k), W (k, m), b (m,)
        shapes_fit = X.ndim == 2 and b.ndim == 1 and W.shape == (X.shape[1], b.shape[0])
    except AttributeError:   # not arrays at all
        shapes_fit = False
    if not shapes_fit:
        raise MiniflowError(
            f"Linear {node.name!r} computes X @ W + b and needs X (n, k), W (k, m), b (m,); "
            f"got X {np.shape(X)}, W {np.shape(W)}, b {np.shape(b)}")


def _class_labels(node, labels, logits):
    """`labels` as n integer classes 0..k-1 for `logits` of shape (n, k), or an error saying what is wrong."""
    logits_shape, labels_shape = np.shape(logits), np.shape(labels)
    if (len(logits_shape) == 2 and labels_shape == logits_shape[:1] and isinstance(labels, np.ndarray)
            and labels.dtype.kind in "iu" and labels.size and 0 <= labels.min() and labels.max() < logits_shape[1]):
        return labels                                                   # the usual case, in two reductions
    expected = (f"{type(node).__name__} {node.name!r} needs logits of shape (n, k) and labels of shape (n,) "
                f"holding class numbers 0..k-1")
    if len(logits_shape) != 2 or logits_shape[1] == 0:
        raise MiniflowError(f"{expected}; got logits {logits_shape}")
    n, k = logits_shape
    if labels_shape != (n,):
        hint = " (a column? use labels.ravel())" if labels_shape == (n, 1) else ""
        raise MiniflowError(f"{expected}; got logits {logits_shape} and labels {labels_shape}{hint}")
    labels = np.asarray(labels)
    bad = labels != np.round(labels) if labels.dtype.kind == "f" else np.zeros(n, dtype=bool)
    problem = "are not whole numbers"
    if not bad.any():
        bad = (labels < 0) | (labels >= k)
        problem = f"are outside 0..{k - 1}"
    if bad.any():
        offending = ", ".join(f"{v:g}" for v in labels[bad][:5]) + (", ..." if bad.sum() > 5 else "")
        raise MiniflowError(f"{expected}; logits {logits_shape} and labels {labels_shape}, "
                            f"but {int(bad.sum())} label(s) {problem}: {offending}")
    return labels.astype(int)
