"""Pictures of graphs: every node as a box, every edge as an arrow, inputs on the left.

Every picture also says in words what it shows (`describe_graph`), and `explore` turns a drawing
function into sliders: live in a running notebook, drawn in advance on the book's website.
"""
import html
import itertools
import json

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

    A figure made here (no `ax` given) shows in a notebook as an image whose alt text is
    `describe_graph` of the same nodes: the picture says in words what it shows.
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
        described(fig, describe_graph(nodes, show_values=show_values, show_gradients=show_gradients,
                                      title=title))

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


def describe_graph(nodes, *, show_values=False, show_gradients=False, title=None):
    """What `draw_graph` draws, in words: every node in the order values flow, with its inputs,
    and its value and gradient when they are shown."""
    order = sort_nodes([nodes] if isinstance(nodes, Node) else list(nodes))
    parts = []
    for n in order:
        if n.inbound_nodes:
            text = f"{n.name} = {type(n).__name__}({', '.join(m.name for m in n.inbound_nodes)})"
        else:
            text = f"{n.name}, an input"
        shown = []
        if show_values:
            shown.append(f"value {_spoken(n.value)}")
        if show_gradients:
            shown.append(f"∂C/∂{n.name} = {_spoken(_gradient(n))}")
        parts.append(text + (f" ({', '.join(shown)})" if shown else ""))
    what = f"A graph of {len(order)} nodes, drawn left to right as values flow: " + "; ".join(parts) + "."
    return f"{title}. {what}" if title else what


def _spoken(value):
    """`_short` on one line: the rows of a small array separated by semicolons."""
    text = _short(value)
    return "not computed yet" if text == "?" else "; ".join(text.splitlines())


def _png(fig):
    """The figure as a base64 PNG, made as the notebook's inline backend makes it."""
    from IPython.core.pylabtools import print_figure
    return print_figure(fig, "png", bbox_inches="tight", base64=True)


def _img(png, alt):
    return f'<img src="data:image/png;base64,{png}" alt="{html.escape(alt)}">'


def described(fig, alt):
    """Give matplotlib figure `fig` its alt text: shown in a notebook, it becomes an image that says `alt`."""
    fig._repr_html_ = lambda: _img(_png(fig), alt)
    return fig


def explore(draw, **sliders):
    """Sliders that redraw a picture: live ipywidgets in a running notebook, and on the book's website
    (where no kernel runs) the same sliders over pictures drawn in advance.

    `draw(**values)` draws one matplotlib figure (with pyplot, without showing it) and returns what
    the picture shows, in words: its alt text, which follows the sliders. Each keyword gives the
    ipywidgets slider of one argument of `draw` (its `description` names it), or a pair (slider,
    values) to draw in advance only those values; otherwise every value the slider can take is drawn.
    """
    return Exploration(draw, sliders)


class Exploration:
    """What `explore` returns: in a notebook the live widget, on a static page a player of its pictures."""

    def __init__(self, draw, sliders):
        from ipywidgets import interactive

        self.draw = draw
        self.sliders = {name: s[0] if isinstance(s, tuple) else s for name, s in sliders.items()}
        self.values = {name: list(s[1]) if isinstance(s, tuple) else _slider_values(s)
                       for name, s in sliders.items()}
        self.frames = {key: self._picture(dict(zip(self.values, values)))
                       for key, values in zip(itertools.product(*(range(len(v)) for v in self.values.values())),
                                              itertools.product(*self.values.values()))}
        self.widget = interactive(self._live, **self.sliders)

    def _live(self, **values):
        import matplotlib.pyplot as plt
        self.draw(**values)
        plt.show()

    def _picture(self, values):
        """(base64 PNG, alt text) of the figure `draw` makes for `values`."""
        import matplotlib.pyplot as plt
        before = set(plt.get_fignums())
        try:
            alt = self.draw(**values)
            made = [plt.figure(n) for n in plt.get_fignums() if n not in before]
            if len(made) != 1 or not isinstance(alt, str) or not alt.strip():
                raise ValueError(f"explore: {getattr(self.draw, '__name__', self.draw)}({values}) must draw one "
                                 f"figure and return its description; it drew {len(made)} and returned {alt!r}")
            return _png(made[0]), alt
        finally:
            for n in set(plt.get_fignums()) - before:
                plt.close(n)

    def _repr_mimebundle_(self, **kwargs):
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/html"] = self._repr_html_()
        return bundle

    def _repr_html_(self):
        """The player: one labelled range input per slider, and the picture (with its alt text) they choose."""
        start = tuple(_nearest(self.values[name], slider.value) for name, slider in self.sliders.items())
        png, alt = self.frames[start]
        controls = []
        for (name, slider), index in zip(self.sliders.items(), start):
            shown = [_readout(slider, v) for v in self.values[name]]
            label = html.escape(slider.description or name)
            controls.append(
                f'<label class="miniflow-explore-control">{label} '
                f'<input type="range" min="0" max="{len(shown) - 1}" step="1" value="{index}" '
                f'aria-valuetext="{html.escape(shown[index])}" data-readouts="{html.escape(json.dumps(shown))}">'
                f' <output aria-hidden="true">{html.escape(shown[index])}</output></label>')
        pictures = sorted({p for p, _ in self.frames.values()})
        number = {p: i for i, p in enumerate(pictures)}
        frames = {",".join(map(str, key)): [number[p], a] for key, (p, a) in self.frames.items()}
        data = json.dumps({"pictures": pictures, "frames": frames}).replace("</", "<\\/")
        return (f'<div class="miniflow-explore">{_img(png, alt)}'
                f'<div class="miniflow-explore-controls">{"".join(controls)}</div>'
                f'<script type="application/json">{data}</script><script>{_PLAYER}</script></div>')


# Shows the picture for the values the range inputs choose (arrow keys, dragging, Home and End).
_PLAYER = """(() => {
  const root = document.currentScript.parentElement;
  const data = JSON.parse(root.querySelector('script[type="application/json"]').textContent);
  const image = root.querySelector("img"), inputs = [...root.querySelectorAll("input[type=range]")];
  const show = () => {
    const [picture, alt] = data.frames[inputs.map(i => i.value).join(",")];
    image.src = "data:image/png;base64," + data.pictures[picture];
    image.alt = alt;
    for (const input of inputs) {
      const readout = JSON.parse(input.dataset.readouts)[input.value];
      input.setAttribute("aria-valuetext", readout);
      input.parentElement.querySelector("output").textContent = readout;
    }
  };
  inputs.forEach(input => input.addEventListener("input", show));
})();"""


def _slider_values(slider):
    """Every value an ipywidgets slider can take."""
    kind = type(slider).__name__
    if kind in ("IntSlider", "FloatSlider", "FloatLogSlider"):
        count = int(round((slider.max - slider.min) / slider.step)) + 1
        exponents = [slider.min + i * slider.step for i in range(count)]
        if kind == "IntSlider":
            return exponents
        exponents = [round(e, 12) for e in exponents]
        return [slider.base ** e for e in exponents] if kind == "FloatLogSlider" else exponents
    if kind == "SelectionSlider":
        return list(slider.options)
    raise ValueError(f"explore: give the values to draw for a {kind}, as ({kind}(...), values)")


def _nearest(values, value):
    return min(range(len(values)), key=lambda i: abs(np.log(values[i] / value)) if value > 0 and values[i] > 0
               else abs(values[i] - value))


def _readout(slider, value):
    """The value as the slider's own readout writes it."""
    fmt = getattr(slider, "readout_format", "") or ""
    try:
        return format(value, fmt.lstrip("~"))
    except (TypeError, ValueError):
        return str(value)
