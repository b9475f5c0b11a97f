"""Checking backpropagation against finite differences."""
import numpy as np

from .graph import backward_pass, forward_pass, topological_sort

#: The rule the book, the exercises and their messages use for a relative error from `gradient_check`:
#: below RIGHT_BELOW the backward pass is right (rounding in the central difference stays well under it);
#: a wrong derivative gives WRONG_ABOVE or more; in between, look closer (a kink, or a tiny gradient).
RIGHT_BELOW = 1e-5
WRONG_ABOVE = 1e-2


def gradient_check(cost, feed_dict, epsilon=1e-6):
    r"""Compare each fed Input's backprop gradient with a central difference.

    For every element $w$ of every fed value, the numerical gradient is
    $\frac{C(w + \epsilon) - C(w - \epsilon)}{2\epsilon}$. Returns {Input: relative error},
    where relative error is $\|g_{backprop} - g_{numeric}\| / (\|g_{backprop}\| + \|g_{numeric}\|)$
    (0 when both are zero). Below `RIGHT_BELOW` (1e-5) is right; `WRONG_ABOVE` (1e-2) or more is wrong.
    If `cost` is not a scalar, the sum of its elements is the cost.
    """
    feed_dict = {node: np.array(value, dtype=float) for node, value in feed_dict.items()}
    graph = topological_sort(feed_dict)
    forward_pass(cost, graph)
    backward_pass(graph)
    backprop = {node: node.gradients[node].copy() for node in feed_dict}

    errors = {}
    for node in feed_dict:
        numeric = numerical_gradient(lambda: forward_pass(cost, graph), node.value, epsilon)
        errors[node] = relative_error(backprop[node], numeric)
    forward_pass(cost, graph)
    backward_pass(graph)
    return errors


def numerical_gradient(f, value, epsilon=1e-6):
    """Central differences of sum(f()) with respect to each element of the array `value`.

    `value` is nudged in place (and put back), so `f` must read it: for example
    `lambda: forward_pass(cost, graph)` with `value` an Input's value.
    """
    numeric = np.zeros_like(value, dtype=float)
    for i in np.ndindex(value.shape):
        original = value[i]
        value[i] = original + epsilon
        plus = float(np.sum(f()))
        value[i] = original - epsilon
        minus = float(np.sum(f()))
        value[i] = original
        numeric[i] = (plus - minus) / (2 * epsilon)
    return numeric


def relative_error(a, b):
    """$\\|a - b\\| / (\\|a\\| + \\|b\\|)$, or 0 when both are zero."""
    scale = np.linalg.norm(a) + np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / scale) if scale > 0 else 0.0
