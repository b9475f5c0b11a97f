"""draw_graph: the picture shows every node, its value and its gradient, left to right."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import miniflow as mf  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture
def chain_rule():
    """f = (x + y) z at x = -2, y = 5, z = -4, after one forward and backward pass."""
    x, y, z = mf.Input(name="x"), mf.Input(name="y"), mf.Input(name="z")
    q = mf.Add(x, y, name="q")
    f = mf.Mul(q, z, name="f")
    graph = mf.topological_sort({x: -2, y: 5, z: -4})
    mf.forward_and_backward(graph)
    return {"x": x, "y": y, "z": z, "q": q, "f": f, "graph": graph}


def texts(ax):
    return [t.get_text() for t in ax.texts]


def box(ax, name):
    """The text artist of the node box whose first line is `name`."""
    [text] = [t for t in ax.texts if t.get_text().splitlines()[0] == name and t.get_bbox_patch()]
    return text


def test_draws_every_node_with_its_name(chain_rule):
    ax = mf.draw_graph(chain_rule["f"])
    assert sorted(t.splitlines()[0] for t in texts(ax)) == ["f", "q", "x", "y", "z"]
    assert len(ax.patches) == 4            # one arrow per edge: x->q, y->q, q->f, z->f


def test_accepts_the_sorted_list_and_returns_the_axes(chain_rule):
    fig, ax = plt.subplots()
    assert mf.draw_graph(chain_rule["graph"], ax=ax, title="f = (x + y) z") is ax
    assert ax.get_title() == "f = (x + y) z"


def test_chain_rule_gradients_are_written_under_the_nodes(chain_rule):
    ax = mf.draw_graph(chain_rule["f"], show_gradients=True)
    labels = texts(ax)
    for name, gradient in [("x", -4), ("y", -4), ("z", 3), ("q", -4), ("f", 1)]:
        assert f"∂C/∂{name} = {gradient}" in labels


def test_values_are_written_in_the_boxes(chain_rule):
    ax = mf.draw_graph(chain_rule["f"], show_values=True)
    assert box(ax, "x").get_text() == "x\n-2"
    assert box(ax, "q").get_text() == "q\n3"
    assert box(ax, "f").get_text() == "f\n-12"


def test_inputs_are_left_of_the_nodes_that_use_them(chain_rule):
    ax = mf.draw_graph(chain_rule["f"])
    x_of = {name: box(ax, name).get_position()[0] for name in "xyzqf"}
    assert x_of["x"] == x_of["y"] < x_of["q"] < x_of["f"]
    assert x_of["z"] < x_of["f"]


def test_node_colors_fill_the_boxes(chain_rule):
    ax = mf.draw_graph(chain_rule["f"], node_colors={chain_rule["q"]: "red"})
    assert box(ax, "q").get_bbox_patch().get_facecolor() == matplotlib.colors.to_rgba("red")
    assert box(ax, "x").get_bbox_patch().get_facecolor() != matplotlib.colors.to_rgba("red")


def test_arrays_show_a_few_numbers_or_their_shape():
    X, W, b = mf.Input(name="X"), mf.Input(name="W"), mf.Input(name="b")
    out = mf.Linear(X, W, b, name="out")
    graph = mf.topological_sort({X: np.array([[-1.0, -2.0], [-1, -2]]), W: np.array([[2.0, -3], [2, -3]]),
                                 b: np.array([-3.0, -5])})
    mf.forward_pass(out, graph)
    ax = mf.draw_graph(graph, show_values=True)
    assert box(ax, "out").get_text() == "out\n[[-9, 4],\n[-9, 4]]"
    assert box(ax, "b").get_text() == "b\n[-3, -5]"
    X.value = np.zeros((10, 3))
    ax = mf.draw_graph(graph, show_values=True)
    assert box(ax, "X").get_text() == "X\nshape (10, 3)"


def test_drawing_before_any_pass_shows_question_marks():
    a, b = mf.Input(name="a"), mf.Input(name="b")
    ax = mf.draw_graph(mf.Add(a, b, name="s"), show_values=True, show_gradients=True)
    assert box(ax, "s").get_text() == "s\n?"
    assert "∂C/∂a = ?" in texts(ax)


def test_same_graph_same_picture(chain_rule):
    first = mf.draw_graph(chain_rule["f"], show_values=True, show_gradients=True)
    second = mf.draw_graph(chain_rule["f"], show_values=True, show_gradients=True)
    describe = lambda ax: [(t.get_text(), t.get_position()) for t in ax.texts]  # noqa: E731
    assert describe(first) == describe(second)
    first.figure.canvas.draw()             # renders without error


# The picture in words: alt text from the same code as the drawing.

def test_the_description_names_every_node_and_edge_in_order(chain_rule):
    assert mf.draw.describe_graph(chain_rule["graph"]) == (
        "A graph of 5 nodes, drawn left to right as values flow: x, an input; y, an input; z, an input; "
        "q = Add(x, y); f = Mul(q, z).")
    inputs = ", an input; ".join(n.name for n in mf.sort_nodes([chain_rule["f"]]) if not n.inbound_nodes)
    assert mf.draw.describe_graph(chain_rule["f"]).startswith(
        f"A graph of 5 nodes, drawn left to right as values flow: {inputs}, an input; q = Add(x, y)")


def test_the_description_says_the_values_and_gradients_shown(chain_rule):
    text = mf.draw.describe_graph(chain_rule["graph"], show_values=True, show_gradients=True, title="f = (x + y) z")
    assert text.startswith("f = (x + y) z. A graph of 5 nodes")
    assert "x, an input (value -2, ∂C/∂x = -4)" in text
    assert "q = Add(x, y) (value 3, ∂C/∂q = -4)" in text
    assert "f = Mul(q, z) (value -12, ∂C/∂f = 1)" in text


def test_arrays_and_missing_values_are_spoken_on_one_line():
    a, b = mf.Input(name="a"), mf.Input(name="b")
    s = mf.Add(a, b, name="s")
    assert "s = Add(a, b) (value not computed yet)" in mf.draw.describe_graph(s, show_values=True)
    mf.forward_pass(s, mf.topological_sort({a: np.array([[1.0, 2], [3, 4]]), b: np.zeros((2, 2))}))
    assert "s = Add(a, b) (value [[1, 2],; [3, 4]])" in mf.draw.describe_graph(s, show_values=True)


def test_a_drawn_graph_shows_in_a_notebook_as_an_image_with_its_description(chain_rule):
    ax = mf.draw_graph(chain_rule["graph"], show_values=True, title="f")
    html = ax.figure._repr_html_()
    alt = mf.draw.describe_graph(chain_rule["graph"], show_values=True, title="f")
    assert html.startswith('<img src="data:image/png;base64,iVBOR')
    assert html.endswith(f'alt="{alt}">')


def test_a_graph_drawn_into_given_axes_leaves_their_figure_alone(chain_rule):
    fig, ax = plt.subplots()
    mf.draw_graph(chain_rule["f"], ax=ax)
    assert fig._repr_html_() is None       # matplotlib's own: its author describes the whole figure


# explore: pictures drawn in advance for every value of the sliders.

def _line(a=1, rate=0.1):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, a * rate])
    return f"a line of slope {a * rate:.3g}"


def test_explore_draws_every_value_of_its_sliders_with_its_description():
    widgets = pytest.importorskip("ipywidgets")
    e = mf.draw.explore(_line, a=widgets.IntSlider(min=0, max=3, value=2, description="a"),
                        rate=(widgets.FloatLogSlider(value=0.1, min=-3, max=0, step=0.1, description="η",
                                                     readout_format=".3f"), [0.01, 0.1, 1.0]))
    assert e.values == {"a": [0, 1, 2, 3], "rate": [0.01, 0.1, 1.0]}
    assert len(e.frames) == 12 and e.frames[(3, 2)][1] == "a line of slope 3"
    assert len(plt.get_fignums()) <= 1, "every picture drawn in advance is closed (one is the live widget's)"
    html = e._repr_html_()
    assert 'alt="a line of slope 0.2"' in html                      # the sliders' start: a = 2, η = 0.1
    assert '<label class="miniflow-explore-control">η <input type="range" min="0" max="2" step="1" value="1" ' \
           'aria-valuetext="0.100"' in html
    bundle = e._repr_mimebundle_()
    assert {"text/html", "application/vnd.jupyter.widget-view+json"} <= set(bundle)


def test_explore_takes_every_value_a_float_slider_can_take():
    widgets = pytest.importorskip("ipywidgets")
    assert mf.draw._slider_values(widgets.FloatSlider(min=-1, max=1, step=0.25)) == [
        -1, -0.75, -0.5, -0.25, 0, 0.25, 0.5, 0.75, 1]
    logs = mf.draw._slider_values(widgets.FloatLogSlider(min=-2, max=0, step=1))
    assert logs == pytest.approx([0.01, 0.1, 1])


def test_explore_says_what_a_drawing_function_must_do():
    widgets = pytest.importorskip("ipywidgets")

    def no_words(a):
        plt.subplots()

    with pytest.raises(ValueError, match=r"no_words\(\{'a': 0\}\) must draw one figure and return its description"):
        mf.draw.explore(no_words, a=widgets.IntSlider(min=0, max=1))
    assert plt.get_fignums() == []
