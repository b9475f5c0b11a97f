"""The nodes: each one's forward math, with its local derivative right below it.

Every `backward` follows the same pattern: start each input's gradient at zero,
then, for every consumer of this node, add (never assign) the chain-rule term
    dC/d(input) += dC/d(self) * d(self)/d(input)
so a node used by two consumers gets both contributions.
"""
import numpy as np
from scipy.special import expit

from .graph import MiniflowError, Node


def _zeros_for(nodes):
    """A fresh gradient of zeros for each node, shaped like its value."""
    return {n: np.zeros_like(n.value, dtype=float) for n in nodes}


class Input(Node):
    """A value fed from outside: data (X, y) or a trainable parameter (W, b)."""

    def __init__(self, name=None):
        super().__init__((), name)

    def forward(self):
        if self.value is None:
            raise MiniflowError(f"Input {self.name!r} has no value: put it in the feed_dict")

    def backward(self):
        grad = np.zeros_like(self.value, dtype=float)
        for grad_cost in self.outbound_gradients():
            grad += grad_cost
        self.gradients = {self: grad}


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
        self.gradients = _zeros_for(self.inbound_nodes)
        for grad_cost in self.outbound_gradients():
            for n in self.inbound_nodes:
                self.gradients[n] += _unbroadcast(grad_cost, np.shape(n.value))


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
        self.gradients = _zeros_for(self.inbound_nodes)
        values = [n.value for n in self.inbound_nodes]
        for grad_cost in self.outbound_gradients():
            for i, n in enumerate(self.inbound_nodes):
                others = _product(values[:i] + values[i + 1:])
                self.gradients[n] += _unbroadcast(grad_cost * others, np.shape(n.value))


class Linear(Node):
    r"""$XW + b$: X is (examples, features), W is (features, outputs), b is (outputs,)."""

    def __init__(self, X, W, b, name=None):
        super().__init__([X, W, b], name)

    def forward(self):
        X, W, b = (n.value for n in self.inbound_nodes)
        _check_linear_shapes(self, X, W, b)
        self.value = X @ W + b

    def backward(self):
        X, W, b = self.inbound_nodes
        self.gradients = _zeros_for(self.inbound_nodes)
        for grad_cost in self.outbound_gradients():
            self.gradients[X] += grad_cost @ W.value.T
            self.gradients[W] += X.value.T @ grad_cost
            self.gradients[b] += grad_cost.sum(axis=0)   # b was added to every row


class Sigmoid(Node):
    r"""$\sigma(x) = 1/(1+e^{-x})$; $\sigma'(x) = \sigma(x)(1-\sigma(x))$."""

    def __init__(self, node, name=None):
        super().__init__([node], name)

    def forward(self):
        self.value = expit(self.inbound_nodes[0].value)   # 1/(1+exp(-x)), without overflow

    def backward(self):
        x = self.inbound_nodes[0]
        self.gradients = _zeros_for([x])
        s = self.value
        for grad_cost in self.outbound_gradients():
            self.gradients[x] += s * (1 - s) * grad_cost


class MSE(Node):
    r"""$C = \frac{1}{m}\sum_i (y_i - a_i)^2$ over all m elements; $\partial C/\partial a = -\frac{2}{m}(y - a)$."""

    def __init__(self, y, a, name=None):
        super().__init__([y, a], name)

    def forward(self):
        y, a = (n.value for n in self.inbound_nodes)
        if np.size(y) != np.size(a):
            raise MiniflowError(
                f"MSE {self.name!r} compares y and a element by element, but y has shape {np.shape(y)} "
                f"({np.size(y)} elements) and a has shape {np.shape(a)} ({np.size(a)} elements)")
        # Compare as columns: (3,) minus (3, 1) would broadcast to (3, 3).
        self.diff = np.reshape(y, (-1, 1)) - np.reshape(a, (-1, 1))
        self.value = np.mean(self.diff ** 2)

    def backward(self):
        y, a = self.inbound_nodes
        self.gradients = _zeros_for(self.inbound_nodes)
        m = self.diff.size
        for grad_cost in self.outbound_gradients():
            self.gradients[y] += np.reshape((2 / m) * grad_cost * self.diff, np.shape(y.value))
            self.gradients[a] += np.reshape((-2 / m) * grad_cost * self.diff, np.shape(a.value))


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


def _check_linear_shapes(node, X, W, b):
    shapes_fit = (np.ndim(X) == 2 and np.ndim(W) == 2 and np.ndim(b) == 1
                  and np.shape(X)[1] == np.shape(W)[0] and np.shape(b)[0] == np.shape(W)[1])
    if not shapes_fit:
        raise MiniflowError(
            f"Linear {node.name!r} computes X @ W + b and needs X (n, k), W (k, m), b (m,); "
            f"got X {np.shape(X)}, W {np.shape(W)}, b {np.shape(b)}")
