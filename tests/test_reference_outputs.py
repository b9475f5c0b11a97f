"""The lesson's printed numbers, to their printed precision."""
import numpy as np
from numpy.testing import assert_allclose, assert_array_equal

from miniflow import (MSE, Add, Input, Linear, Mul, Sigmoid, forward_and_backward, forward_pass,
                      topological_sort)


def test_add_4_5_10_is_19():
    x, y, z = Input("x"), Input("y"), Input("z")
    f = Add(x, y, z)
    graph = topological_sort({x: 4, y: 5, z: 10})
    assert forward_pass(f, graph) == 19


def test_mul_4_5_10_is_200():
    x, y, z = Input("x"), Input("y"), Input("z")
    f = Mul(x, y, z)
    graph = topological_sort({x: 4, y: 5, z: 10})
    assert forward_pass(f, graph) == 200


def test_linear():
    X, W, b = Input("X"), Input("W"), Input("b")
    f = Linear(X, W, b)
    graph = topological_sort({X: np.array([[1, 2], [3, 4]]), W: np.array([[5, 6], [7, 8]]),
                              b: np.array([-1, -1])})
    assert_array_equal(forward_pass(f, graph), [[18, 21], [42, 49]])


def test_linear_then_sigmoid():
    X, W, b = Input("X"), Input("W"), Input("b")
    g = Sigmoid(Linear(X, W, b))
    graph = topological_sort({X: np.array([[-1., -2.], [-1, -2]]), W: np.array([[2., -3], [2., -3]]),
                              b: np.array([-3., -5])})
    expected = [[1.23394576e-04, 9.82013790e-01], [1.23394576e-04, 9.82013790e-01]]
    assert_allclose(forward_pass(g, graph), expected, rtol=5e-9)


def test_mse():
    y, a = Input("y"), Input("a")
    cost = MSE(y, a)
    graph = topological_sort({y: np.array([1, 2, 3]), a: np.array([4.5, 5, 10])})
    assert f"{forward_pass(cost, graph):.10f}" == "23.4166666667"


def test_sigmoid_backprop_exercise():
    """The lesson's exercise: the gradients of MSE(y, Sigmoid(Linear(X, W, b))) for X, y, W, b.

    The lesson prints y's gradient as a column, [[0.9999833], [1.9999833]]; here every gradient
    has the shape of the value it belongs to, so y (shape (2,)) gets [0.9999833, 1.9999833].
    """
    X, W, b, y = Input("X"), Input("W"), Input("b"), Input("y")
    cost = MSE(y, Sigmoid(Linear(X, W, b)))
    feed_dict = {X: np.array([[-1., -2.], [-1, -2]]), y: np.array([1, 2]),
                 W: np.array([[2.], [3.]]), b: np.array([-3.])}
    graph = topological_sort(feed_dict)
    forward_and_backward(graph)
    gradients = [t.gradients[t] for t in [X, y, W, b]]
    expected = [
        np.array([[-3.34017280e-05, -5.01025919e-05], [-6.68040138e-05, -1.00206021e-04]]),
        np.array([0.9999833, 1.9999833]),
        np.array([[5.01028709e-05], [1.00205742e-04]]),
        np.array([-5.01028709e-05]),
    ]
    for got, want, node in zip(gradients, expected, [X, y, W, b]):
        assert got.shape == np.shape(node.value)
        assert_allclose(got, want, rtol=5e-9 if node is not y else 5e-8)
