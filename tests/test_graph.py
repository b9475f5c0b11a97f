"""Sorting, feeding, tracing, and the errors a learner meets."""
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given

import miniflow as mf
from miniflow import MiniflowError
from strategies import random_graphs


def assert_topological(order):
    position = {n: i for i, n in enumerate(order)}
    assert len(position) == len(order), "a node appears twice"
    for n in order:
        for m in n.outbound_nodes:
            assert position[n] < position[m], f"{n.name} -> {m.name} but {m.name} comes first"
        for m in n.inbound_nodes:
            assert m in position, f"{m.name} (an input of {n.name}) is missing"


@given(random_graphs(max_ops=8))
def test_every_edge_points_forward(graph):
    cost, feed_dict = graph
    order = mf.topological_sort(feed_dict)
    assert_topological(order)
    assert order[-1] is cost


def test_sorting_does_not_feed():
    x = mf.Input("x")
    mf.Add(x, x)
    order = mf.sort_nodes([x])
    assert [n.name for n in order][0] == "x" and x.value is None


def test_no_shared_default_lists():
    a, b = mf.Input("a"), mf.Input("b")
    mf.Sigmoid(a)
    assert a.inbound_nodes == [] and b.inbound_nodes == [] and b.outbound_nodes == []
    assert a.inbound_nodes is not b.inbound_nodes


ORDER_SCRIPT = """
import miniflow as mf
X, y = mf.Input("X"), mf.Input("y")
W1, b1, W2, b2 = mf.Input("W1"), mf.Input("b1"), mf.Input("W2"), mf.Input("b2")
h = mf.Sigmoid(mf.Linear(X, W1, b1))
cost = mf.Add(mf.MSE(y, mf.Linear(h, W2, b2)), mf.MSE(y, mf.Linear(h, W2, b2)))
print(" ".join(n.name for n in mf.sort_nodes([b2, y, X, W2, b1, W1])))
"""


def test_order_is_the_same_in_every_process():
    orders = {subprocess.run([sys.executable, "-c", ORDER_SCRIPT], capture_output=True, text=True,
                             check=True, env={"PYTHONHASHSEED": seed}).stdout
              for seed in ("1", "2", "3")}
    assert len(orders) == 1
    assert orders.pop().split()[:6] == ["b2", "y", "X", "W2", "b1", "W1"]


def test_cycle_is_an_error():
    x = mf.Input("x")
    a = mf.Add(x, name="a")
    b = mf.Sigmoid(a, name="b")
    a.inbound_nodes.append(b)                 # close a loop by hand: a -> b -> a
    b.outbound_nodes.append(a)
    with pytest.raises(MiniflowError, match=r"cycle.*a, b"):
        mf.topological_sort({x: 1.0})


def test_feeding_a_non_input_is_an_error():
    x = mf.Input("x")
    s = mf.Sigmoid(x, name="s")
    with pytest.raises(MiniflowError, match=r"only Input nodes can be fed.*'s'"):
        mf.topological_sort({x: 1.0, s: 2.0})


def test_an_input_left_out_of_the_feed_dict_is_named():
    X, W, b = mf.Input("X"), mf.Input("W"), mf.Input("b")
    mf.Linear(X, W, b)
    with pytest.raises(MiniflowError) as error:
        mf.topological_sort({X: np.ones((2, 2)), b: np.ones(2)})
    assert str(error.value) == (
        "the feed_dict leaves out the Input(s) 'W' (no value yet): a feed_dict gives every Input of the graph "
        "its value, so put them in it too (to change only some values of a graph already sorted, such as the "
        "next batch, call feed)")


def test_an_input_left_out_of_a_new_feed_dict_does_not_keep_its_old_value_silently():
    X, W, b = mf.Input("X"), mf.Input("W"), mf.Input("b")
    out = mf.Linear(X, W, b)
    mf.forward_pass(out, mf.topological_sort({X: np.ones((2, 3)), W: np.ones((3, 1)), b: np.ones(1)}))
    with pytest.raises(MiniflowError) as error:       # a new X with 4 columns, and the old W, b
        mf.topological_sort({X: np.ones((2, 4))})
    assert str(error.value).startswith(
        "the feed_dict leaves out the Input(s) 'W' (it still holds a value of shape (3, 1) from an earlier feed), "
        "'b' (it still holds a value of shape (1,) from an earlier feed): ")


def test_feed_changes_only_the_values_it_is_given():
    """The training loop's way: sort once with every value, then feed each batch; the weights stay."""
    X, W, b = mf.Input("X"), mf.Input("W"), mf.Input("b")
    out = mf.Linear(X, W, b)
    graph = mf.topological_sort({X: np.ones((2, 3)), W: np.ones((3, 1)), b: np.zeros(1)})
    mf.feed({X: np.full((1, 3), 2.0)})
    assert mf.forward_pass(out, graph).tolist() == [[6.0]]
    X.value = np.full((1, 3), 3.0)
    assert mf.forward_pass(out, graph).tolist() == [[9.0]]


def test_an_input_sorted_without_a_value_is_named_by_the_forward_pass():
    X, W, b = mf.Input("X"), mf.Input("W"), mf.Input("b")
    out = mf.Linear(X, W, b)
    graph = mf.sort_nodes([X, W, b])
    mf.feed({X: np.ones((2, 2)), b: np.ones(2)})
    with pytest.raises(MiniflowError, match=r"^Input 'W' has no value: put it in the feed_dict$"):
        mf.forward_pass(out, graph)


@pytest.mark.parametrize("value", ["abc", None, [1, "a"], {"a": 1}, True, np.array(["x"]), [[1, 2], [3]]])
def test_non_numeric_value_is_an_error(value):
    x = mf.Input("x")
    mf.Sigmoid(x)
    with pytest.raises(MiniflowError, match=r"'x'"):
        mf.topological_sort({x: value})


def test_lists_are_fed_as_arrays():
    x = mf.Input("x")
    mf.topological_sort({x: [[1, 2], [3, 4]]})
    assert isinstance(x.value, np.ndarray) and x.value.shape == (2, 2)


def test_backward_before_forward_is_an_error():
    x = mf.Input("x")
    cost = mf.MSE(x, mf.Sigmoid(x))
    graph = mf.sort_nodes([x])
    with pytest.raises(MiniflowError, match="forward pass before the backward pass"):
        mf.backward_pass(graph)
    assert cost in graph


@pytest.mark.parametrize("X, W, b", [
    (np.ones((2, 3)), np.ones((2, 1)), np.ones(1)),      # X's columns != W's rows
    (np.ones((2, 2)), np.ones((2, 3)), np.ones(2)),      # b does not match W's columns
    (np.ones((2, 2)), np.ones((2, 3)), np.ones(1)),      # b of size 1 would broadcast silently
    (np.ones(2), np.ones((2, 3)), np.ones(3)),           # X is not a matrix
])
def test_linear_shape_mismatch_names_node_and_shapes(X, W, b):
    nX, nW, nb = mf.Input("X"), mf.Input("W"), mf.Input("b")
    out = mf.Linear(nX, nW, nb, name="hidden")
    graph = mf.topological_sort({nX: X, nW: W, nb: b})
    with pytest.raises(MiniflowError) as error:
        mf.forward_pass(out, graph)
    message = str(error.value)
    assert "'hidden'" in message
    for shape in (X.shape, W.shape, b.shape):
        assert str(shape) in message


def test_mse_size_mismatch():
    y, a = mf.Input("y"), mf.Input("a")
    cost = mf.MSE(y, a, name="loss")
    graph = mf.topological_sort({y: np.ones(3), a: np.ones((4, 1))})
    with pytest.raises(MiniflowError, match=r"'loss'.*\(3,\).*3 elements.*\(4, 1\).*4 elements"):
        mf.forward_pass(cost, graph)


def test_mse_keeps_lesson_reshape_for_equal_sizes():
    y, a = mf.Input("y"), mf.Input("a")
    cost = mf.MSE(y, a)
    graph = mf.topological_sort({y: np.array([1., 2, 3]), a: np.array([[1.], [2], [4]])})
    mf.forward_and_backward(graph)
    assert cost.value == pytest.approx(1 / 3)
    assert y.gradients[y].shape == (3,) and a.gradients[a].shape == (3, 1)


def test_add_shape_mismatch():
    x, y = mf.Input("x"), mf.Input("y")
    s = mf.Add(x, y, name="sum")
    graph = mf.topological_sort({x: np.ones((2, 3)), y: np.ones(4)})
    with pytest.raises(MiniflowError, match=r"'sum'.*\(2, 3\), \(4,\)"):
        mf.forward_pass(s, graph)


def test_nodes_only_take_nodes():
    with pytest.raises(MiniflowError, match="Sigmoid takes nodes as inputs"):
        mf.Sigmoid(3.0)


def test_errors_are_value_errors():
    assert issubclass(MiniflowError, ValueError)


def test_sigmoid_is_stable_for_large_inputs():
    x = mf.Input("x")
    s = mf.Sigmoid(x)
    graph = mf.topological_sort({x: np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])})
    with np.errstate(all="raise"):
        mf.forward_and_backward(graph)
    assert np.all(np.isfinite(s.value)) and s.value[0] == 0.0 and s.value[-1] == 1.0
    assert s.value[1] == pytest.approx(np.exp(-50.0), rel=1e-12)


def test_trace_reports_each_step_in_order():
    x, y = mf.Input("x"), mf.Input("y")
    f = mf.Mul(mf.Add(x, y, name="q"), x, name="f")
    graph = mf.topological_sort({x: 2.0, y: 3.0})
    seen = []
    with mf.trace(lambda step, node: seen.append((step, node.name))):
        mf.forward_and_backward(graph)
    names = [n.name for n in graph]
    assert seen == [("forward", n) for n in names] + [("backward", n) for n in reversed(names)]
    seen.clear()
    mf.forward_and_backward(graph)            # off again outside the with-block
    assert seen == [] and f.value == 10.0


def test_default_names_are_readable():
    node = mf.Sigmoid(mf.Input())
    assert node.name.startswith("Sigmoid") and repr(node).startswith("<Sigmoid 'Sigmoid")


def test_sgd_update_steps_downhill():
    w = mf.Input("w")
    cost = mf.MSE(mf.Input("target"), w)
    target = cost.inbound_nodes[0]
    graph = mf.topological_sort({w: np.array([3.0]), target: np.array([1.0])})
    mf.forward_and_backward(graph)
    mf.sgd_update([w], learning_rate=0.25)
    assert w.value == pytest.approx([3.0 - 0.25 * 4.0])      # dC/dw = 2 (w - t) = 4
