"""Backpropagation agrees with finite differences on random graphs and shapes."""
import numpy as np
from hypothesis import given
from numpy.testing import assert_allclose

import miniflow as mf
from miniflow.check import numerical_gradient
from strategies import random_graphs


def backprop_and_numeric(cost, feed_dict, epsilon=1e-6):
    """Each fed input's backprop gradient next to its central-difference gradient."""
    graph = mf.topological_sort(feed_dict)
    mf.forward_and_backward(graph)
    return {node: (np.array(node.gradients[node], dtype=float),
                   numerical_gradient(lambda: mf.forward_pass(cost, graph), node.value, epsilon))
            for node in feed_dict}


@given(random_graphs())
def test_random_graphs_match_finite_differences(graph):
    cost, feed_dict = graph
    for node, (backprop, numeric) in backprop_and_numeric(cost, feed_dict).items():
        assert backprop.shape == node.value.shape, node.name
        assert_allclose(backprop, numeric, rtol=1e-5, atol=1e-7, err_msg=node.name)


@given(random_graphs())
def test_gradient_check_reports_small_errors(graph):
    cost, feed_dict = graph
    errors = mf.gradient_check(cost, feed_dict)
    assert set(errors) == set(feed_dict)
    for node, (backprop, numeric) in backprop_and_numeric(cost, feed_dict).items():
        if np.linalg.norm(backprop) > 1e-3:      # relative error is only meaningful away from zero
            assert errors[node] < 1e-5, (node.name, errors[node])


def test_gradient_check_catches_a_wrong_backward():
    class BadSigmoid(mf.Sigmoid):
        def backward(self):                         # derivative from the input instead of the output
            x = self.inbound_nodes[0]
            self.gradients[x] = x.value * (1 - x.value) * self.upstream_gradient()

    X, W, b, y = mf.Input("X"), mf.Input("W"), mf.Input("b"), mf.Input("y")
    cost = mf.MSE(y, BadSigmoid(mf.Linear(X, W, b)))
    rng = np.random.default_rng(0)
    errors = mf.gradient_check(cost, {X: rng.normal(size=(3, 2)), W: rng.normal(size=(2, 2)),
                                      b: rng.normal(size=2), y: rng.normal(size=(3, 2))})
    assert errors[W] > 1e-2 and errors[b] > 1e-2
    assert errors[y] < 1e-7                         # y does not pass through the sigmoid


def test_fan_out_sums_both_consumers():
    """x feeds two consumers: dC/dx must be the sum of both paths, not the last one."""
    x, w = mf.Input("x"), mf.Input("w")
    h = mf.Sigmoid(x)
    out = mf.Add(mf.Mul(h, w), h)                   # C = w*s(x) + s(x)
    graph = mf.topological_sort({x: np.array([0.3]), w: np.array([2.0])})
    mf.forward_and_backward(graph)
    s = 1 / (1 + np.exp(-0.3))
    assert_allclose(x.gradients[x], (2.0 + 1.0) * s * (1 - s))
    assert_allclose(w.gradients[w], s)


def test_same_input_twice():
    """Mul(x, x) is x squared; Add(x, x) is 2x."""
    for kind, grad in [(mf.Mul, 2 * 3.0), (mf.Add, 2.0)]:
        x = mf.Input("x")
        kind(x, x)
        graph = mf.topological_sort({x: 3.0})
        mf.forward_and_backward(graph)
        assert x.gradients[x] == grad


def test_chain_rule_example():
    """f = (x + y) z at x=-2, y=5, z=-4: df/dx = df/dy = -4, df/dz = 3."""
    x, y, z = mf.Input("x"), mf.Input("y"), mf.Input("z")
    f = mf.Mul(mf.Add(x, y), z)
    graph = mf.topological_sort({x: -2, y: 5, z: -4})
    mf.forward_and_backward(graph)
    assert f.value == -12
    assert [n.gradients[n] for n in (x, y, z)] == [-4, -4, 3]


def test_two_layer_network_batch_of_one():
    rng = np.random.default_rng(1)
    X, y = mf.Input("X"), mf.Input("y")
    W1, b1, W2, b2 = mf.Input("W1"), mf.Input("b1"), mf.Input("W2"), mf.Input("b2")
    cost = mf.MSE(y, mf.Linear(mf.Sigmoid(mf.Linear(X, W1, b1)), W2, b2))
    feed_dict = {X: rng.normal(size=(1, 3)), y: rng.normal(size=1), W1: rng.normal(size=(3, 4)),
                 b1: rng.normal(size=4), W2: rng.normal(size=(4, 1)), b2: rng.normal(size=1)}
    for node, (backprop, numeric) in backprop_and_numeric(cost, feed_dict).items():
        assert_allclose(backprop, numeric, rtol=1e-5, atol=1e-8, err_msg=node.name)
