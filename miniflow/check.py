"""Checking backpropagation against finite differences."""
import numpy as np

from .graph import MiniflowError, backward_pass, forward_pass, topological_sort

#: The rule the book, the exercises and their messages use for a relative error from `gradient_check`:
#: below RIGHT_BELOW the backward pass is right (rounding in the central difference stays well under it);
#: a wrong derivative gives WRONG_ABOVE or more; in between, look closer (a kink, or a tiny gradient).
RIGHT_BELOW = 1e-5
WRONG_ABOVE = 1e-2


def gradient_check(cost, feed_dict, wrt=None, epsilon=1e-6):
    r"""Compare the backprop gradient of each Input in `wrt` with a central difference.

    `feed_dict` feeds every Input of the graph, as for `topological_sort`. `wrt` lists the Inputs to
    check; by default, every Input fed floating-point numbers. Inputs fed integers (class labels,
    counts) are never nudged: "digit 3.000001" means nothing, so they are fed as they are.
    For every element $w$ of each checked value, the numerical gradient is
    $\frac{C(w + \epsilon) - C(w - \epsilon)}{2\epsilon}$. Returns {Input: relative error},
    where relative error is $\|g_{backprop} - g_{numeric}\| / (\|g_{backprop}\| + \|g_{numeric}\|)$
    (0 when both are zero). Below `RIGHT_BELOW` (1e-5) is right; `WRONG_ABOVE` (1e-2) or more is wrong.
    If `cost` is not a scalar, the sum of its elements is the cost.
    """
    graph = topological_sort(feed_dict)
    if wrt is None:
        wrt = [node for node in feed_dict if np.asarray(node.value).dtype.kind == "f"]
        if not wrt:
            raise MiniflowError(
                "gradient_check nudges only Inputs fed floating-point numbers, and every value in this feed_dict "
                "is integers: feed the values to check as floats (np.array([1.0, 2.0])), or name them: wrt=[x]")
    for node in wrt:
        if node not in feed_dict:
            raise MiniflowError(f"wrt names {node!r}, which is not in the feed_dict: gradient_check checks Inputs "
                                "it feeds, so give it a value there")
        node.value = np.array(node.value, dtype=float)   # a copy of its own, nudged in place
    forward_pass(cost, graph)
    backward_pass(graph)
    backprop = {node: node.gradients[node].copy() for node in wrt}

    errors = {}
    for node in wrt:
        try:
            numeric = numerical_gradient(lambda: forward_pass(cost, graph), node.value, epsilon)
        except MiniflowError as error:
            raise MiniflowError(
                f"gradient_check nudged {node.name!r} by {epsilon:g} and the graph refused it: {error}. "
                f"If {node.name!r} cannot be nudged (class labels), feed it integers or leave it out of wrt") from None
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
