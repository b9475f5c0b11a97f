"""Pictures of graphs: every node as a box, every edge as an arrow, inputs on the left."""
import numpy as np

from .graph import Node, sort_nodes

INPUT_COLOR = "#d6e6f5"       # nodes fed from outside
OPERATION_COLOR = "#fbe3cf"   # nodes computed from other nodes
GRADIENT_COLOR = "#b2182b"


# Sizes in inches, for 10-point text: the picture is laid out at the size it is drawn.
CHAR_WIDTH, LINE_HEIGHT, BOX_PAD = 0.085, 0.18, 0.12
COLUMN_GAP, ROW_GAP = 0.55, 0.25


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
    labels = {n: _label(n, show_values) for n in order}
    gradients = {n: _gradient_label(n) for n in order} if show_gradients else {}
    box = {n: _size(labels[n], pad=BOX_PAD) for n in order}
    under = {n: _size(gradients[n], scale=0.9) if show_gradients else (0, 0) for n in order}
    position, width, height = _layout(order, box, under)
    if ax is None:
        fig = plt.figure(figsize=(width, height))
        ax = fig.add_axes((0, 0, 1, 1))

    colors = node_colors or {}
    boxes = {}
    for n in order:
        default = INPUT_COLOR if not n.inbound_nodes else OPERATION_COLOR
        boxes[n] = ax.text(*position[n], labels[n], ha="center", va="center", fontsize=10, zorder=3,
                           bbox=dict(boxstyle="round,pad=0.4", facecolor=colors.get(n, default),
                                     edgecolor="#444444"))
        if show_gradients:
            x, y = position[n]
            ax.annotate(gradients[n], (x, y - box[n][1] / 2), xytext=(0, -3), textcoords="offset points",
                        ha="center", va="top", fontsize=9, color=GRADIENT_COLOR, zorder=3)
    for target in order:
        for source in dict.fromkeys(target.inbound_nodes):
            # Drawn after the boxes (higher zorder), so each arrow is clipped to the box edges.
            ax.add_patch(FancyArrowPatch(position[source], position[target], arrowstyle="-|>",
                                         mutation_scale=12, color="#555555", shrinkA=2, shrinkB=2,
                                         patchA=boxes[source].get_bbox_patch(),
                                         patchB=boxes[target].get_bbox_patch(), zorder=4))

    ax.set_xlim(0, width)
    ax.set_ylim(-height / 2, height / 2)
    ax.axis("off")
    if title is not None:
        ax.set_title(title)
    return ax


def _size(text, scale=1.0, pad=0.0):
    """Width and height in inches of `text` at 10 points times `scale`, plus `pad` on every side."""
    lines = text.splitlines()
    return (max(map(len, lines)) * CHAR_WIDTH * scale + 2 * pad,
            len(lines) * LINE_HEIGHT * scale + 2 * pad)


def _layout(order, box, under):
    """(x, y) of each node in inches, and the picture's width and height.

    A node sits one column right of its rightmost input. A node with no inputs sits
    just left of its first consumer, so parameters such as W2 appear next to the
    layer that uses them rather than far away on the left. Within a column, nodes
    are stacked top to bottom in the order their consumers take them as inputs,
    each with its gradient text (`under`) below its box.
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

    stacks = [sorted((n for n in order if column[n] == c), key=row_key) for c in sorted(set(column.values()))]
    footprint = {n: box[n][1] + (under[n][1] + 0.05 if under[n][1] else 0) for n in order}
    heights = [sum(footprint[n] for n in stack) + ROW_GAP * (len(stack) - 1) for stack in stacks]
    position, left = {}, 0.0
    for stack, stack_height in zip(stacks, heights):
        column_width = max(max(box[n][0], under[n][0]) for n in stack) + COLUMN_GAP
        top = stack_height / 2
        for n in stack:
            position[n] = (left + column_width / 2, top - box[n][1] / 2)
            top -= footprint[n] + ROW_GAP
        left += column_width
    return position, left, max(heights) + 0.3


def _label(node, show_values):
    text = _plain(node.name)
    if show_values:
        text += "\n" + ("?" if node.value is None else _short(node.value))
    return text


def _gradient_label(node):
    value = _short(_gradient(node))
    return f"∂C/∂{_plain(node.name)} =" + ("\n" if "\n" in value else " ") + value


def _gradient(node):
    """dC/d(node): what the backward pass left for this node (None before it has run)."""
    if not node.inbound_nodes:                     # an Input keeps its own gradient
        return node.gradients.get(node)
    try:
        return node.upstream_gradient()
    except KeyError:                               # a consumer has not run backward yet
        return None


def _short(value):
    """A number, a few numbers, or just the shape of a bigger array."""
    if value is None:
        return "?"
    array = np.asarray(value)
    if array.size == 1:
        return f"{array.item():.4g}"
    if array.size <= 4:   # one line per row, as NumPy prints it (without its indent: lines are centred)
        text = np.array2string(array, separator=", ", formatter={"all": lambda v: f"{v:.3g}"})
        return "\n".join(line.strip() for line in text.splitlines())
    return "shape " + str(array.shape)


def _plain(text):
    """Text as written: a `$` in a name would otherwise start matplotlib's math mode."""
    return str(text).replace("$", r"\$")
