"""ReLU, SoftmaxCrossEntropy and the classification helpers: gradients, stability, labels, training."""
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

import miniflow as mf
from miniflow.check import numerical_gradient

# The worked example of chapter 7 and ps6: two examples, three classes.
LOGITS = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.0]])
LABELS = np.array([0, 2])
LOSS = 1.5568820566
PROBABILITIES = np.array([[0.6590011389, 0.2424329707, 0.0985658904],
                          [0.1111656223, 0.8214090195, 0.0674253582]])
LOGITS_GRADIENT = np.array([[-0.1704994306, 0.1212164854, 0.0492829452],
                            [0.0555828112, 0.4107045097, -0.4662873209]])
PRINTED = dict(rtol=1e-9, atol=1e-10)


def cross_entropy(labels, logits):
    """(cost node, labels Input, logits Input), fed and run forward and backward."""
    y, z = mf.Input("y"), mf.Input("z")
    cost = mf.SoftmaxCrossEntropy(y, z, name="loss")
    mf.forward_and_backward(mf.topological_sort({y: labels, z: logits}))
    return cost, y, z


def numeric(cost, graph, node):
    return numerical_gradient(lambda: mf.forward_pass(cost, graph), node.value)


# --- ReLU --------------------------------------------------------------------------------

def test_relu_forward_and_its_derivative_is_zero_at_zero():
    x = mf.Input("x")
    r = mf.ReLU(x)
    mf.forward_and_backward(mf.topological_sort({x: np.array([[-2.0, 0.0, 3.0]])}))
    assert_allclose(r.value, [[0.0, 0.0, 3.0]])
    assert_allclose(x.gradients[x], [[0.0, 0.0, 1.0]])       # 0 at exactly 0, as the docstring says
    assert x.gradients[x].shape == (1, 3)


def test_relu_does_not_change_its_input():
    x = mf.Input("x")
    r = mf.ReLU(x)
    value = np.array([-1.0, 2.0])
    mf.topological_sort({x: value})
    r.forward()
    assert_allclose(value, [-1.0, 2.0])


@st.composite
def away_from_zero(draw, shape):
    """Values at least 0.05 from 0, where ReLU's derivative is defined and finite differences agree."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    return rng.uniform(0.05, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)


@given(st.integers(1, 4), st.integers(1, 5), st.data())
def test_relu_matches_finite_differences_on_random_shapes(n, m, data):
    x, w = mf.Input("x"), mf.Input("w")
    cost = mf.Mul(mf.ReLU(x), w)                  # dC/dReLU = w, not 1
    graph = mf.topological_sort({x: data.draw(away_from_zero((n, m))), w: np.arange(1.0, m + 1)})
    mf.forward_and_backward(graph)
    assert_allclose(x.gradients[x], numeric(cost, graph, x), rtol=1e-6, atol=1e-8)


def test_relu_used_twice_gets_both_gradients():
    x = mf.Input("x")
    r = mf.ReLU(x)
    cost = mf.Add(mf.Mul(r, r), r)                # C = r^2 + r, dC/dx = (2r + 1) where x > 0
    graph = mf.topological_sort({x: np.array([-1.0, 0.5, 2.0])})
    mf.forward_and_backward(graph)
    assert_allclose(x.gradients[x], [0.0, 2.0, 5.0])
    assert_allclose(x.gradients[x], numeric(cost, graph, x), rtol=1e-6)


# --- SoftmaxCrossEntropy -------------------------------------------------------------------

def test_the_worked_example_gives_the_printed_numbers():
    cost, y, z = cross_entropy(LABELS, LOGITS)
    assert round(float(cost.value), 10) == LOSS
    assert_allclose(cost.probabilities, PROBABILITIES, **PRINTED)
    assert_allclose(z.gradients[z], LOGITS_GRADIENT, **PRINTED)
    by_hand = -np.mean(np.log(PROBABILITIES[[0, 1], LABELS]))
    assert_allclose(cost.value, by_hand, rtol=1e-9)


def test_labels_get_zero_gradients_of_their_own_shape():
    cost, y, z = cross_entropy(LABELS, LOGITS)
    assert y.gradients[y].shape == LABELS.shape
    assert not np.any(y.gradients[y])


@pytest.mark.parametrize("labels", [np.array([0, 2]), np.array([0.0, 2.0]), [0, 2]])
def test_whole_number_labels_of_any_kind_give_the_same_cost(labels):
    cost, _, z = cross_entropy(labels, LOGITS)
    assert round(float(cost.value), 10) == LOSS
    assert_allclose(z.gradients[z], LOGITS_GRADIENT, **PRINTED)


@pytest.mark.parametrize("dtype", [np.int64, np.int8, np.uint8])
def test_integer_labels_are_used_as_they_are_not_copied(dtype):
    """The usual labels (an integer array of classes 0..k-1, class 0 among them) are read in place."""
    labels = np.array([0, 2], dtype=dtype)
    cost, y, _ = cross_entropy(labels, LOGITS)
    assert y.value is labels and cost.classes is labels
    assert round(float(cost.value), 10) == LOSS


def test_one_class_costs_nothing_and_whole_float_labels_are_accepted():
    cost, _, z = cross_entropy(np.array([0.0, 0.0]), np.array([[3.0], [-1.0]]))
    assert cost.value == 0 and cost.classes.dtype.kind == "i"
    assert_allclose(z.gradients[z], [[0.0], [0.0]])


def test_huge_logits_give_a_finite_cost_and_no_warning():
    logits = np.array([[1000.0, -1000.0], [1000.0, -1000.0], [-1000.0, 1000.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cost, _, z = cross_entropy(np.array([0, 1, 1]), logits)
    assert_allclose(cost.value, 2000 / 3)                   # only the second example is wrong, by 2000
    assert_allclose(z.gradients[z], [[0, 0], [1 / 3, -1 / 3], [0, 0]], atol=1e-12)


def test_uniform_logits_cost_log_k():
    cost, _, z = cross_entropy(np.array([3, 0, 4]), np.zeros((3, 5)))
    assert_allclose(cost.value, np.log(5))
    assert_allclose(z.gradients[z].sum(axis=1), 0, atol=1e-15)   # softmax and one-hot both sum to 1


@given(st.integers(1, 5), st.integers(2, 6), st.integers(0, 2**32 - 1))
def test_cross_entropy_matches_finite_differences_on_random_shapes(n, k, seed):
    rng = np.random.default_rng(seed)
    y, z = mf.Input("y"), mf.Input("z")
    cost = mf.SoftmaxCrossEntropy(y, z)
    graph = mf.topological_sort({y: rng.integers(0, k, size=n), z: rng.normal(scale=3, size=(n, k))})
    mf.forward_and_backward(graph)
    assert z.gradients[z].shape == (n, k)
    assert_allclose(z.gradients[z], numeric(cost, graph, z), rtol=1e-5, atol=1e-8)


def test_batch_of_one_and_two_classes():
    cost, _, z = cross_entropy(np.array([1]), np.array([[0.0, np.log(3.0)]]))
    assert_allclose(cost.value, -np.log(0.75))
    assert_allclose(z.gradients[z], [[0.25, -0.25]])


def test_a_network_with_relu_and_a_shared_logits_node_matches_finite_differences():
    """The logits feed two consumers (the cost and a penalty), and the cost is scaled downstream."""
    rng = np.random.default_rng(3)
    X, y, W1, b1, W2, b2, s = (mf.Input(n) for n in ("X", "y", "W1", "b1", "W2", "b2", "s"))
    logits = mf.Linear(mf.ReLU(mf.Linear(X, W1, b1)), W2, b2)
    cost = mf.Add(mf.Mul(mf.SoftmaxCrossEntropy(y, logits), s), mf.MSE(mf.Input("zero"), logits))
    zero = cost.inbound_nodes[1].inbound_nodes[0]
    feed_dict = {X: rng.normal(size=(4, 3)), y: np.array([0, 1, 1, 0]), W1: rng.normal(size=(3, 5)),
                 b1: rng.normal(size=5), W2: rng.normal(size=(5, 2)), b2: rng.normal(size=2),
                 s: np.array(2.5), zero: np.zeros((4, 2))}
    graph = mf.topological_sort(feed_dict)
    mf.forward_and_backward(graph)
    for node in (X, W1, b1, W2, b2, s):
        assert_allclose(node.gradients[node], numeric(cost, graph, node), rtol=1e-5, atol=1e-8, err_msg=node.name)
    errors = mf.gradient_check(cost, feed_dict, wrt=[W1, b1, W2, b2])
    assert set(errors) == {W1, b1, W2, b2} and max(errors.values()) < 1e-7



def test_gradient_check_never_nudges_integer_labels():
    y, z = mf.Input("y"), mf.Input("z")
    cost = mf.SoftmaxCrossEntropy(y, z)
    errors = mf.gradient_check(cost, {y: LABELS, z: LOGITS})
    assert list(errors) == [z] and errors[z] < 1e-7
    assert y.value.dtype.kind == "i" and list(y.value) == [0, 2]
    assert_allclose(z.gradients[z], LOGITS_GRADIENT, **PRINTED)     # the graph is left as fed


def test_gradient_check_told_to_nudge_float_labels_says_what_it_nudged():
    y, z = mf.Input("y"), mf.Input("z")
    cost = mf.SoftmaxCrossEntropy(y, z, name="loss")
    with pytest.raises(mf.MiniflowError) as error:
        mf.gradient_check(cost, {y: np.array([0.0, 2.0]), z: LOGITS})
    assert str(error.value).startswith("gradient_check nudged 'y' by 1e-06 and the graph refused it: "
                                       "SoftmaxCrossEntropy 'loss' needs logits")
    assert str(error.value).endswith("not whole numbers: 1e-06. If 'y' cannot be nudged (class labels), "
                                     "feed it integers or leave it out of wrt")
    assert mf.gradient_check(cost, {y: np.array([0.0, 2.0]), z: LOGITS}, wrt=[z])[z] < 1e-7


@pytest.mark.parametrize("labels, logits, says", [
    (np.array([0.5, 1.0]), np.zeros((2, 3)), ["not whole numbers: 0.5", "logits (2, 3)", "labels (2,)"]),
    (np.array([0, 3]), np.zeros((2, 3)), ["outside 0..2: 3"]),
    (np.array([-1, 0]), np.zeros((2, 3)), ["outside 0..2: -1"]),
    (np.array([0, 1, 1]), np.zeros((2, 3)), ["logits (2, 3) and labels (3,)"]),
    (np.array([[0], [1]]), np.zeros((2, 3)), ["labels (2, 1)", "labels.ravel()"]),
    (np.array([0, 1]), np.zeros(2), ["got logits (2,)"]),
    (np.array([np.nan, 1.0]), np.zeros((2, 3)), ["not whole numbers: nan"]),
    (np.array([0, 0]), np.zeros((2, 0)), ["got logits (2, 0)"]),
])
def test_bad_labels_name_the_node_the_shapes_and_the_values(labels, logits, says):
    y, z = mf.Input("y"), mf.Input("z")
    cost = mf.SoftmaxCrossEntropy(y, z, name="loss")
    graph = mf.topological_sort({y: labels, z: logits})
    with pytest.raises(mf.MiniflowError) as error:
        mf.forward_pass(cost, graph)
    assert "SoftmaxCrossEntropy 'loss'" in str(error.value)
    for text in says:
        assert text in str(error.value)


# --- helpers -------------------------------------------------------------------------------

def test_predicted_classes_and_accuracy():
    logits = np.array([[0.1, 2.0, -1.0], [3.0, 0.0, 0.0], [0.0, 0.0, 5.0], [1.0, 2.0, 3.0]])
    assert list(mf.predicted_classes(logits)) == [1, 0, 2, 2]
    assert mf.accuracy(logits, np.array([1, 0, 2, 0])) == 0.75


def test_random_weights_differ_per_unit_repeat_per_seed_and_have_the_he_scale():
    W = mf.random_weights(400, 300, np.random.default_rng(0))
    assert W.shape == (400, 300)
    assert abs(W.std() - np.sqrt(2 / 400)) < 0.002 and abs(W.mean()) < 0.002
    assert len(np.unique(W[:, :5], axis=1).T) == 5
    assert_allclose(mf.random_weights(3, 2, 7), mf.random_weights(3, 2, np.random.default_rng(7)))


# --- training -------------------------------------------------------------------------------

def digits_split(seed=0, n_test=397):
    from sklearn.datasets import load_digits
    digits = load_digits()
    order = np.random.default_rng(seed).permutation(len(digits.target))
    X_all = digits.data / 16.0
    test, train = order[:n_test], order[n_test:]
    return X_all[train], digits.target[train], X_all[test], digits.target[test]


def train_digits(init, epochs=30, n_hidden=32, batch_size=32, learning_rate=0.2, seed=0):
    X_train, y_train, X_test, y_test = digits_split()
    rng = np.random.default_rng(seed)
    X, y, W1, b1, W2, b2 = (mf.Input(n) for n in ("X", "y", "W1", "b1", "W2", "b2"))
    logits = mf.Linear(mf.ReLU(mf.Linear(X, W1, b1)), W2, b2)
    cost = mf.SoftmaxCrossEntropy(y, logits)
    graph = mf.topological_sort({X: X_train, y: y_train, W1: init(64, n_hidden, rng), b1: np.zeros(n_hidden),
                                 W2: init(n_hidden, 10, rng), b2: np.zeros(10)})
    for _ in range(epochs):
        order = rng.permutation(len(y_train))
        for step in range(len(y_train) // batch_size):
            rows = order[step * batch_size:(step + 1) * batch_size]
            mf.feed({X: X_train[rows], y: y_train[rows]})
            mf.forward_and_backward(graph)
            mf.sgd_update([W1, b1, W2, b2], learning_rate)
    mf.feed({X: X_test, y: y_test})
    mf.forward_pass(cost, graph)
    return mf.accuracy(logits.value, y_test), W1.value


def test_the_chapters_network_classifies_held_out_digits_at_95_percent():
    test_accuracy, _ = train_digits(mf.random_weights)
    assert test_accuracy >= 0.95


def test_zero_weights_keep_every_hidden_unit_identical():
    test_accuracy, W1 = train_digits(lambda n_in, n_out, rng: np.zeros((n_in, n_out)), epochs=3)
    assert np.all(W1 == W1[:, :1])              # every column (unit) is the same as the first
    assert test_accuracy < 0.5


def test_one_class_is_certain_and_no_classes_is_an_error():
    """With k = 1 the softmax is 1 for every row: a cost of 0 and no gradient. With k = 0 there is nothing to choose."""
    labels, logits = mf.Input(name="labels"), mf.Input(name="logits")
    cost = mf.SoftmaxCrossEntropy(labels, logits, name="cost")
    graph = mf.topological_sort({labels: np.zeros(3, dtype=int), logits: np.array([[2.0], [-1.0], [40.0]])})
    mf.forward_and_backward(graph)
    assert cost.value == 0.0
    assert_allclose(cost.gradients[logits], np.zeros((3, 1)))
    mf.feed({labels: np.zeros(3, dtype=int), logits: np.zeros((3, 0))})
    with pytest.raises(mf.MiniflowError, match=r"'cost' needs logits of shape \(n, k\).*got logits \(3, 0\)"):
        mf.forward_pass(cost, graph)
