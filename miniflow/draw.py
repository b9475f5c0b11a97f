"""Pictures of graphs: every node as a box, every edge as an arrow, inputs on the left."""
import numpy as np

from .graph import Node, sort_nodes

INPUT_COLOR = "#d6e6f5"       # nodes fed from outside
OPERATION_COLOR = "#fbe3cf"   # nodes computed from other nodes
GRADIENT_COLOR = "#b2182b"


def draw_graph(nodes, *, show_values=False, show_gradients=False, node_colors=None, ax=None, title=None):
    """Draw the graph around `nodes` (one node, or a list such as `topological_sort` returns).

    Every node connected to `nodes` is drawn, left to right in the order values flow.
    `show_values` writes each node's value in its box; `show_gradients` writes
    dC/d(node) under it (after a backward pass). `node_colors` maps nodes to
    matplotlib colours. Returns the matplotlib Axes.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch

    order = sort_nodes([nodes] if isinstance(nodes, Node) else list(nodes))
    position = _layout(order)

    labels = {n: _label(n, show_values) for n in order}
    gradients = {n: f"∂C/∂{_plain(n.name)} = {_short(_gradient(n))}" for n in order} if show_gradients else {}
    widest = max(len(line) for text in [*labels.values(), *gradients.values()] for line in text.splitlines())
    columns = 1 + max(x for x, _ in position.values())
    tallest = 1 + max(abs(2 * y) for _, y in position.values())
    lines = 1 + show_values + show_gradients
    if ax is None:
        width = max(3.0, columns * (0.75 + 0.085 * widest))
        height = max(1.6, tallest * (0.35 + 0.32 * lines))
        _, ax = plt.subplots(figsize=(width, height))

    colors = node_colors or {}
    boxes = {}
    for n in order:
        default = INPUT_COLOR if not n.inbound_nodes else OPERATION_COLOR
        boxes[n] = ax.text(*position[n], labels[n], ha="center", va="center", fontsize=10, zorder=3,
                           bbox=dict(boxstyle="round,pad=0.4", facecolor=colors.get(n, default),
                                     edgecolor="#444444"))
        if show_gradients:
            ax.annotate(gradients[n], position[n],
                        xytext=(0, -(7 + 6.5 * (1 + show_values))), textcoords="offset points",
                        ha="center", va="top", fontsize=9, color=GRADIENT_COLOR, zorder=3)
    for target in order:
        for source in dict.fromkeys(target.inbound_nodes):
            # Drawn after the boxes (higher zorder), so each arrow is clipped to the box edges.
            ax.add_patch(FancyArrowPatch(position[source], position[target], arrowstyle="-|>",
                                         mutation_scale=12, color="#555555", shrinkA=2, shrinkB=2,
                                         patchA=boxes[source].get_bbox_patch(),
                                         patchB=boxes[target].get_bbox_patch(), zorder=4))

    xs = [x for x, _ in position.values()]
    ys = [y for _, y in position.values()]
    ax.set_xlim(min(xs) - 0.6, max(xs) + 0.6)
    ax.set_ylim(min(ys) - 0.5 - 0.2 * show_gradients, max(ys) + 0.5)
    ax.axis("off")
    if title is not None:
        ax.set_title(title)
    return ax


def _layout(order):
    """(x, y) of each node: one column per step of the flow, each column centred on y = 0.

    A node sits one column right of its rightmost input. A node with no inputs sits
    just left of its first consumer, so parameters such as W2 appear next to the
    layer that uses them rather than far away on the left. Within a column, nodes
    are listed top to bottom in the order their consumers take them as inputs.
    """
    column = {}
    for n in order:
        column[n] = 1 + max((column[m] for m in n.inbound_nodes), default=-1)
    for n in order:
        if not n.inbound_nodes and n.outbound_nodes:
            column[n] = min(column[m] for m in n.outbound_nodes) - 1
    rank = {n: i for i, n in enumerate(order)}

    def row_key(n):
        if not n.outbound_nodes:
            return (rank[n], 0)
        first = min(n.outbound_nodes, key=rank.get)
        return (rank[first], first.inbound_nodes.index(n))

    position = {}
    for x in sorted(set(column.values())):
        stack = sorted((n for n in order if column[n] == x), key=row_key)
        for i, n in enumerate(stack):
            position[n] = (x, (len(stack) - 1) / 2 - i)
    return position


def _label(node, show_values):
    text = _plain(node.name)
    if show_values:
        text += "\n" + ("?" if node.value is None else _short(node.value))
    return text


def _gradient(node):
    """dC/d(node): what the backward pass left for this node (None before it has run)."""
    if not node.inbound_nodes:                     # an Input keeps its own gradient
        return node.gradients.get(node)
    if not node.outbound_nodes:                    # the cost itself: dC/dC = 1
        return 1
    parts = [m.gradients.get(node) for m in node.outbound_nodes]
    if any(p is None for p in parts):
        return None
    return sum(parts)


def _short(value):
    """A number, a few numbers, or just the shape of a bigger array."""
    if value is None:
        return "?"
    array = np.asarray(value)
    if array.size == 1:
        return f"{array.item():.4g}"
    if array.size <= 4:
        text = np.array2string(array, separator=", ", formatter={"all": lambda v: f"{v:.3g}"})
        return " ".join(text.split())
    return "shape " + str(array.shape)


def _plain(text):
    """Text as written: a `$` in a name would otherwise start matplotlib's math mode."""
    return str(text).replace("$", r"\$")
