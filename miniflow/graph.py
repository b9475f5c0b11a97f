"""The graph: the `Node` base class, sorting, feeding, and the forward and backward passes."""
from collections import deque
from contextlib import contextmanager
from itertools import count

import numpy as np


class MiniflowError(ValueError):
    """Raised for anything wrong with a graph or with the values fed into it."""


class Node:
    """A value computed from the values of other nodes (its inbound nodes).

    After a forward pass, `value` holds this node's output.
    After a backward pass, `gradients[n]` holds the gradient of the cost
    with respect to the value of each inbound node `n`.
    """

    _counters = {}

    def __init__(self, inbound_nodes=(), name=None):
        for node in inbound_nodes:
            if not isinstance(node, Node):
                raise MiniflowError(
                    f"{type(self).__name__} takes nodes as inputs, got {type(node).__name__} {node!r}; "
                    "wrap data in an Input and feed it")
        self.name = name if name is not None else self._default_name()
        self.inbound_nodes = list(inbound_nodes)
        self.outbound_nodes = []
        self.value = None
        self.gradients = {}
        for node in self.inbound_nodes:
            if self not in node.outbound_nodes:  # Add(x, x) is one consumer of x, not two
                node.outbound_nodes.append(self)

    def _default_name(self):
        kind = type(self).__name__
        number = Node._counters.setdefault(kind, count(1))
        return f"{kind}{next(number)}"

    def __repr__(self):
        return f"<{type(self).__name__} {self.name!r}>"

    def forward(self):
        """Compute `self.value` from the values of the inbound nodes."""
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self):
        """Fill `self.gradients` with dCost/d(input) for every inbound node."""
        raise NotImplementedError(f"{type(self).__name__}.backward")

    def upstream_gradient(self):
        r"""$\partial C / \partial \mathrm{self}$: the sum of the gradients sent back by every consumer.

        The chain rule over fan-out: a node used by two consumers gets both contributions.
        The node at the end of the graph has no consumers: it is the cost itself,
        and $\partial C / \partial C = 1$.
        """
        consumers = self.outbound_nodes
        if not consumers:   # this node is the cost itself
            return 1.0 if np.ndim(self.value) == 0 else np.ones_like(self.value, dtype=float)
        grad = consumers[0].gradients[self]
        for n in consumers[1:]:
            grad = grad + n.gradients[self]
        return grad


# --- sorting --------------------------------------------------------------

def sort_nodes(start_nodes):
    """Order every node connected to `start_nodes` so that each node comes after its inputs.

    Kahn's algorithm: repeatedly take a node none of whose inputs is still waiting.
    Ties are broken by the order in which nodes were found, so the same graph
    always gives the same order.
    """
    nodes = _connected_nodes(start_nodes)
    waiting = {n: len(n.inbound_nodes) for n in nodes}   # inputs not yet placed
    ready = deque(n for n in nodes if waiting[n] == 0)
    order = []
    while ready:
        n = ready.popleft()
        order.append(n)
        for m in n.outbound_nodes:
            waiting[m] -= m.inbound_nodes.count(n)
            if waiting[m] == 0:
                ready.append(m)
    if len(order) < len(nodes):
        stuck = ", ".join(n.name for n in nodes if waiting[n] > 0)
        raise MiniflowError(f"the graph has a cycle: these nodes wait on each other: {stuck}")
    return order


def _connected_nodes(start_nodes):
    """Every node reachable from `start_nodes` along edges in either direction, in the order found."""
    found = dict.fromkeys(start_nodes)
    queue = deque(found)
    while queue:
        n = queue.popleft()
        for m in n.inbound_nodes + n.outbound_nodes:
            if m not in found:
                found[m] = None
                queue.append(m)
    return list(found)


# --- feeding --------------------------------------------------------------

def feed(feed_dict):
    """Set the value of each Input node in `feed_dict` ({Input: value}); every other Input keeps its own."""
    from .nodes import Input
    for node, value in feed_dict.items():
        if not isinstance(node, Input):
            raise MiniflowError(
                f"only Input nodes can be fed, but feed_dict has {node!r}; "
                "its value is computed from its inputs")
        node.value = _as_number(value, node)


def _as_number(value, node):
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        return value
    try:
        array = np.asarray(value)
    except ValueError as error:   # ragged nested lists
        raise MiniflowError(f"the value fed to {node.name!r} is not a rectangular array: {error}") from None
    if array.dtype.kind not in "iuf":
        raise MiniflowError(
            f"the value fed to {node.name!r} must be numbers, "
            f"got {type(value).__name__} {value!r:.60}")
    return array


def topological_sort(feed_dict):
    """Feed the Input values in `feed_dict`, then return all nodes of the graph in topological order.

    A feed_dict starts a run of the graph, so it gives every Input of the graph its value: an Input
    left out would keep whatever an earlier feed put there, without a word. To change only some
    values of a graph already sorted (the next batch of X and y, with the same weights), call
    `feed({X: ..., y: ...})` or set `X.value` directly.
    """
    from .nodes import Input
    feed(feed_dict)
    graph = sort_nodes(list(feed_dict))
    left_out = [n for n in graph if isinstance(n, Input) and n not in feed_dict]
    if left_out:
        raise MiniflowError(
            f"the feed_dict leaves out the Input(s) {', '.join(map(_what_it_holds, left_out))}: a feed_dict "
            "gives every Input of the graph its value, so put them in it too (to change only some values "
            "of a graph already sorted, such as the next batch, call feed)")
    return graph


def _what_it_holds(node):
    if node.value is None:
        return f"{node.name!r} (no value yet)"
    return f"{node.name!r} (it still holds a value of shape {np.shape(node.value)} from an earlier feed)"


# --- passes ---------------------------------------------------------------

_tracers = []


@contextmanager
def trace(callback):
    """Call `callback(step, node)` after each node's forward ("forward") or backward ("backward").

        with trace(lambda step, node: print(step, node.name, node.value)):
            forward_pass(cost, graph)
    """
    _tracers.append(callback)
    try:
        yield
    finally:
        _tracers.remove(callback)


def _notify(step, node):
    for callback in _tracers:
        callback(step, node)


def forward_pass(output_node, sorted_nodes):
    """Run `forward` on every node in order; return the value of `output_node`."""
    for n in sorted_nodes:
        n.forward()
        if _tracers:
            _notify("forward", n)
    return output_node.value


def backward_pass(sorted_nodes):
    """Run `backward` on every node, last to first (the forward pass must have run)."""
    for n in sorted_nodes:
        if n.value is None:
            raise MiniflowError(f"{n.name!r} has no value: run the forward pass before the backward pass")
    for n in reversed(sorted_nodes):
        n.backward()
        if _tracers:
            _notify("backward", n)


def forward_and_backward(graph):
    """One forward pass and one backward pass through `graph`, a topologically sorted list of nodes."""
    forward_pass(graph[-1], graph)
    backward_pass(graph)
