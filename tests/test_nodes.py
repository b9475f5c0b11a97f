"""What each node and helper promises beyond the lesson's numbers: broadcasting in both directions,
costs inside larger graphs, the cost's own gradient, the checking tools, and the words of every error."""
import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose

import miniflow as mf
from miniflow import MiniflowError
from miniflow.check import numerical_gradient, relative_error


def gradients(cost, feed_dict):
    graph = mf.topological_sort(feed_dict)
    mf.forward_and_backward(graph)
    return {node.name: node.gradients[node] for node in feed_dict}


def numeric(cost, feed_dict, node):
    graph = mf.topological_sort({n: np.array(v, dtype=float) for n, v in feed_dict.items()})
    return numerical_gradient(lambda: mf.forward_pass(cost, graph), node.value)


# --- broadcasting: a value spread over many places gets the sum of their gradients ----------------

@pytest.mark.parametrize("shape, summed_over", [((1, 3), 0), ((2, 1), 1), ((1, 1), (0, 1)), ((3,), 0)])
def test_a_value_broadcast_into_a_size_1_axis_gets_the_sum_along_it(shape, summed_over):
    x, c = mf.Input("x"), mf.Input("c")
    upstream = np.arange(6.0).reshape(2, 3) + 1
    w = mf.Input("w")
    cost = mf.Mul(mf.Add(x, c), w)                    # dC/d(x + c) = w, a different number everywhere
    grads = gradients(cost, {x: np.zeros((2, 3)), c: np.zeros(shape), w: upstream})
    assert grads["c"].shape == shape
    assert_allclose(grads["c"], upstream.sum(axis=summed_over).reshape(shape))
    assert_allclose(grads["x"], upstream)


def test_a_column_times_a_matrix_gets_the_row_sums():
    col, m = mf.Input("col"), mf.Input("m")
    cost = mf.Mul(col, m)
    values = {col: np.array([[2.0], [3.0]]), m: np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])}
    grads = gradients(cost, values)
    assert_allclose(grads["col"], [[6.0], [15.0]])
    assert_allclose(grads["m"], [[2.0, 2.0, 2.0], [3.0, 3.0, 3.0]])
    assert_allclose(grads["col"], numeric(cost, values, col))


def test_a_scalar_added_to_a_matrix_gets_the_total():
    s, m = mf.Input("s"), mf.Input("m")
    grads = gradients(mf.Mul(mf.Add(s, m), m), {s: 0.5, m: np.array([[1.0, 2.0], [3.0, 4.0]])})
    assert np.shape(grads["s"]) == () and grads["s"] == pytest.approx(10.0)


# --- costs inside larger graphs -------------------------------------------------------------------

def test_mse_scaled_by_another_node_passes_the_scale_back():
    y, a, k = mf.Input("y"), mf.Input("a"), mf.Input("k")
    cost = mf.Mul(mf.MSE(y, a), k)                    # C = k * MSE: dC/da = k * (-2/m)(y - a)
    values = {y: np.array([1.0, 2.0, 3.0]), a: np.array([2.0, 2.0, 5.0]), k: 3.0}
    grads = gradients(cost, values)
    assert_allclose(grads["a"], 3.0 * (-2 / 3) * np.array([-1.0, 0.0, -2.0]))
    assert_allclose(grads["y"], -grads["a"])
    assert grads["k"] == pytest.approx(5 / 3)        # the MSE itself
    assert_allclose(grads["a"], numeric(cost, values, a), rtol=1e-6)


def test_two_costs_added_each_send_their_own_gradient():
    y, a, b = mf.Input("y"), mf.Input("a"), mf.Input("b")
    cost = mf.Add(mf.MSE(y, a), mf.Mul(mf.MSE(y, b), b))
    values = {y: np.array([[1.0], [2.0]]), a: np.array([[0.0], [4.0]]), b: np.array([[3.0], [1.0]])}
    for node in (y, a, b):
        assert_allclose(gradients(cost, values)[node.name], numeric(cost, values, node), rtol=1e-6, atol=1e-7)


# --- the cost's own gradient: dC/dC = 1 -----------------------------------------------------------

def test_a_scalar_cost_starts_backpropagation_from_the_number_one():
    x = mf.Input("x")
    mf.forward_and_backward(mf.topological_sort({x: 3.0}))
    assert x.gradients[x] == 1.0 and isinstance(x.gradients[x], float)


def test_an_array_cost_starts_from_float_ones_of_its_shape():
    x = mf.Input("x")
    mf.forward_and_backward(mf.topological_sort({x: np.array([[1, 2, 3]])}))
    assert x.gradients[x].dtype.kind == "f" and x.gradients[x].shape == (1, 3)
    assert_allclose(x.gradients[x], [[1.0, 1.0, 1.0]])


# --- checking tools ---------------------------------------------------------------------------------

def test_gradient_check_checks_the_inputs_fed_floats():
    x, w = mf.Input("x"), mf.Input("w")
    cost = mf.MSE(mf.Input("t"), mf.Mul(x, w))
    t = cost.inbound_nodes[0]
    errors = mf.gradient_check(cost, {x: [1.0, 2.0, 3.0], w: np.array([2.0, 1.0, 1.0]), t: [0, 0, 1]})
    assert list(errors) == [x, w] and max(errors.values()) < 1e-7, errors


def test_gradient_check_nudges_whole_numbers_it_is_asked_to_check():
    x, w = mf.Input("x"), mf.Input("w")
    cost = mf.MSE(mf.Input("t"), mf.Mul(x, w))
    t = cost.inbound_nodes[0]
    fed = np.array([1, 2, 3])
    errors = mf.gradient_check(cost, {x: fed, w: [2, 1, 1], t: [0, 0, 1]}, wrt=[x, t])
    assert list(errors) == [x, t] and max(errors.values()) < 1e-7, errors
    assert fed.tolist() == [1, 2, 3] and fed.dtype.kind == "i"          # nudged a copy


def test_gradient_check_with_nothing_but_whole_numbers_says_how_to_check_them():
    x = mf.Input("x")
    with pytest.raises(MiniflowError) as error:
        mf.gradient_check(mf.Mul(x, x), {x: [1, 2]})
    assert str(error.value) == (
        "gradient_check nudges only Inputs fed floating-point numbers, and every value in this feed_dict is "
        "integers: feed the values to check as floats (np.array([1.0, 2.0])), or name them: wrt=[x]")


def test_gradient_check_checks_only_what_it_feeds():
    x, w, other = mf.Input("x"), mf.Input("w"), mf.Input("other")
    cost = mf.Mul(x, w)
    with pytest.raises(MiniflowError) as error:
        mf.gradient_check(cost, {x: [1.0], w: [2.0]}, wrt=[other])
    assert str(error.value) == ("wrt names <Input 'other'>, which is not in the feed_dict: gradient_check "
                                "checks Inputs it feeds, so give it a value there")


def test_gradient_check_needs_every_input_of_the_graph():
    x, w = mf.Input("x"), mf.Input("w")
    cost = mf.Mul(x, w)
    mf.topological_sort({x: np.array([1.0, 2.0]), w: np.array([3.0, 4.0])})
    with pytest.raises(MiniflowError, match=r"leaves out the Input\(s\) 'w' \(it still holds"):
        mf.gradient_check(cost, {x: np.array([1.0, 2.0])})
    assert mf.gradient_check(cost, {x: np.array([1.0, 2.0]), w: np.array([3.0, 4.0])}, wrt=[x])[x] < 1e-8


def test_gradient_check_uses_the_step_it_is_given():
    x = mf.Input("x")
    cost = mf.Mul(x, x, x)                             # C = x^3: a central difference is off by step^2
    assert mf.gradient_check(cost, {x: [1.0]})[x] < 1e-8
    assert mf.gradient_check(cost, {x: [1.0]}, epsilon=0.5)[x] == pytest.approx(0.25 / 6.25, rel=1e-6)


def test_numerical_gradient_is_a_small_central_difference():
    value = np.array([1.0, 2.0])
    assert_allclose(numerical_gradient(lambda: value ** 3, value), [3.0, 12.0], rtol=1e-8)
    assert_allclose(value, [1.0, 2.0])                 # put back as it was


def test_relative_error():
    assert relative_error(np.array([3.0]), np.array([1.0])) == pytest.approx(0.5)
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0


def test_sgd_update_before_the_backward_pass_names_the_input_without_a_gradient():
    X, W, b, y = mf.Input("X"), mf.Input("W2"), mf.Input("b"), mf.Input("y")
    cost = mf.MSE(y, mf.Linear(X, W, b))
    graph = mf.topological_sort({X: np.ones((2, 1)), W: np.ones((1, 1)), b: np.zeros(1), y: np.zeros(2)})
    mf.forward_pass(cost, graph)
    with pytest.raises(MiniflowError) as error:
        mf.sgd_update([W, b])
    assert str(error.value) == ("Input 'W2' has no gradient: run the backward pass (forward_and_backward(graph)) "
                                "on a graph with 'W2' in it before sgd_update")
    assert W.value.tolist() == [[1.0]]
    mf.backward_pass(graph)
    mf.sgd_update([W, b])
    assert W.value.tolist() == [[1.0 - 0.01 * 2.0]]           # dC/dW = 2 (XW + b - y) X = 2


def test_sgd_update_default_rate_is_a_hundredth():
    w = mf.Input("w")
    w.value, w.gradients = np.array([3.0]), {w: np.array([4.0])}
    mf.sgd_update([w])
    assert_allclose(w.value, [3.0 - 0.04])


# --- names --------------------------------------------------------------------------------------------

def test_given_names_are_kept():
    x, y = mf.Input("x"), mf.Input("y")
    assert [mf.Add(x, y, name="s").name, mf.Mul(x, y, name="p").name] == ["s", "p"]


def test_default_names_count_from_one_for_each_kind():
    script = ("import miniflow as mf; x, y = mf.Input(), mf.Input(); a = mf.Add(x, y); m = mf.Mul(a, x); "
              "print(x.name, y.name, a.name, m.name, mf.Mul(m, y).name)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["Input1", "Input2", "Add1", "Mul1", "Mul2"]


def test_a_new_kind_of_node_counts_its_own_names_from_one(monkeypatch):
    monkeypatch.setattr(mf.Node, "_counters", {})     # as in a fresh process, however often this test runs

    class Halve(mf.Sigmoid):
        pass

    class Double(mf.Sigmoid):
        pass

    x = mf.Input("x")
    assert [Halve(x).name, Double(x).name, Halve(x).name] == ["Halve1", "Double1", "Halve2"]


def test_relu_keeps_its_given_name():
    assert mf.ReLU(mf.Input("x"), name="hidden").name == "hidden"


# --- classification -----------------------------------------------------------------------------------

def cross_entropy(labels, logits):
    y, z = mf.Input("y"), mf.Input("z")
    cost = mf.SoftmaxCrossEntropy(y, z, name="loss")
    return mf.forward_pass(cost, mf.topological_sort({y: labels, z: logits}))


def test_each_row_of_logits_is_shifted_by_its_own_largest_value():
    # one row's huge logit must not push another row's probabilities to 0 (and its cost to infinity)
    cost = cross_entropy(np.array([0, 1]), np.array([[1000.0, 0.0], [0.0, 1.0]]))
    assert cost == pytest.approx(np.log(1 + np.exp(-1.0)) / 2)


def test_a_single_class_costs_nothing():
    assert cross_entropy(np.array([0, 0]), np.zeros((2, 1))) == pytest.approx(0.0)


def test_accuracy_takes_labels_as_a_column_too():
    logits = np.array([[2.0, 1.0], [0.0, 3.0], [5.0, 0.0]])
    assert mf.accuracy(logits, np.array([[0], [1], [1]])) == pytest.approx(2 / 3)


EXPECTED = ("SoftmaxCrossEntropy 'loss' needs logits of shape (n, k) and labels of shape (n,) "
            "holding class numbers 0..k-1; ")


@pytest.mark.parametrize("labels, logits, says", [
    (np.array([[0], [1]]), np.zeros((2, 3)), "got logits (2, 3) and labels (2, 1) (a column? use labels.ravel())"),
    (np.array([0, 1, 2]), np.zeros((2, 3)), "got logits (2, 3) and labels (3,)"),
    (np.array([5, 6, 7, 8, 9, 10, 11]), np.zeros((7, 3)),
     "logits (7, 3) and labels (7,), but 7 label(s) are outside 0..2: 5, 6, 7, 8, 9, ..."),
    (np.array([5, 6, 7, 8, 9, 0, 1]), np.zeros((7, 3)),
     "logits (7, 3) and labels (7,), but 5 label(s) are outside 0..2: 5, 6, 7, 8, 9"),
    (np.array([5, 6, 7, 8, 9, 10, 1]), np.zeros((7, 3)),     # the first five of six, and "..."
     "logits (7, 3) and labels (7,), but 6 label(s) are outside 0..2: 5, 6, 7, 8, 9, ..."),
    (np.array([0.0, 1.5]), np.zeros((2, 3)),
     "logits (2, 3) and labels (2,), but 1 label(s) are not whole numbers: 1.5"),
])
def test_bad_labels_are_described_exactly(labels, logits, says):
    with pytest.raises(MiniflowError) as error:
        cross_entropy(labels, logits)
    assert str(error.value) == EXPECTED + says


# --- every error says what is wrong, in words a learner can act on ---------------------------------

@pytest.mark.parametrize("kind", [mf.Add, mf.Mul])
def test_add_and_mul_need_an_input(kind):
    with pytest.raises(MiniflowError, match=rf"^{kind.__name__} needs at least one input$"):
        kind()


@pytest.mark.parametrize("kind, verb", [(mf.Add, "add"), (mf.Mul, "multiply")])
def test_a_shape_mismatch_names_the_kind_the_node_the_verb_and_the_shapes(kind, verb):
    x, y = mf.Input("x"), mf.Input("y")
    node = kind(x, y, name="both")
    graph = mf.topological_sort({x: np.ones((2, 3)), y: np.ones(4)})
    with pytest.raises(MiniflowError) as error:
        mf.forward_pass(node, graph)
    assert str(error.value) == f"{kind.__name__} 'both' cannot {verb} values of shapes (2, 3), (4,)"


def test_a_node_without_its_own_forward_or_backward_names_the_method_to_write():
    class Tanh(mf.Node):
        pass

    node = Tanh([mf.Input("x")])
    for method in ("forward", "backward"):
        with pytest.raises(NotImplementedError, match=rf"^Tanh\.{method}$"):
            getattr(node, method)()


def test_a_number_where_a_node_belongs():
    with pytest.raises(MiniflowError) as error:
        mf.Sigmoid(3.0)
    assert str(error.value) == "Sigmoid takes nodes as inputs, got float 3.0; wrap data in an Input and feed it"


def test_feeding_a_computed_node_says_why_it_cannot_be_fed():
    x = mf.Input("x")
    s = mf.Sigmoid(x, name="s")
    with pytest.raises(MiniflowError) as error:
        mf.topological_sort({x: 1.0, s: 2.0})
    assert str(error.value) == ("only Input nodes can be fed, but feed_dict has <Sigmoid 's'>; "
                                "its value is computed from its inputs")


def test_a_fed_string_names_its_type():
    x = mf.Input("x")
    with pytest.raises(MiniflowError) as error:
        mf.topological_sort({x: "abc"})
    assert str(error.value) == "the value fed to 'x' must be numbers, got str 'abc'"


def test_a_cycle_names_only_the_nodes_that_wait_on_each_other():
    x = mf.Input("x")
    a = mf.Add(x, name="a")
    b = mf.Sigmoid(a, name="b")
    a.inbound_nodes.append(b)
    b.outbound_nodes.append(a)
    with pytest.raises(MiniflowError) as error:
        mf.sort_nodes([x])
    assert str(error.value) == "the graph has a cycle: these nodes wait on each other: a, b"


def test_linear_with_numbers_instead_of_arrays_names_the_shapes():
    X, W, b = mf.Input("X"), mf.Input("W"), mf.Input("b")
    out = mf.Linear(X, W, b, name="layer")
    graph = mf.topological_sort({X: 2.0, W: 3.0, b: 1.0})
    with pytest.raises(MiniflowError, match=r"'layer'.*got X \(\), W \(\), b \(\)"):
        mf.forward_pass(out, graph)
