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
