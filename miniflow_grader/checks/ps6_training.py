r"""Problem set 6, part C: `train_classifier`, which trains a digit classifier by the batch rule (see _training.py)."""
import functools

import numpy as np

from miniflow import Node, random_weights

from . import _training
from .common import CheckFailed, Problem, learner, visible_and_hidden
from .ps6_classification import _log_softmax

#: The settings the training checks pass to the learner's train_classifier(), and the held-out accuracy to reach.
TRAIN_SETTINGS = dict(n_hidden=32, epochs=10, batch_size=32, learning_rate=0.2)
TRAIN_THRESHOLD = 0.90
LESSON_SEED = 0
N_TEST = 397
#: The visible check's pixel order: the lesson's training images, not the notebook's own arrays.
VISIBLE_COLUMNS = np.random.default_rng(1).permutation(64)


@functools.cache
def _digits():
    """scikit-learn's digits (bundled) scaled to 0..1, and their labels, read once per process: a check reads
    them for every training run. Read-only; digits_split hands out copies (made by indexing) only."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    pixels, labels = digits.data / 16.0, digits.target
    pixels.setflags(write=False)
    labels.setflags(write=False)
    return pixels, labels


def digits_split(seed=0, columns=None):
    """scikit-learn's digits (bundled) scaled to 0..1, split into 1,400 training and 397 test images."""
    pixels, labels = _digits()
    if columns is not None:
        pixels = pixels[:, columns]
    order = np.random.default_rng(seed).permutation(len(labels))
    test, train = order[:N_TEST], order[N_TEST:]
    return pixels[train], labels[train], pixels[test], labels[test]


class _ReLU(Node):
    """max(0, x), standing in for the learner's ReLU while their training loop is checked."""
    role = "ReLU"

    def __init__(self, x, name=None):
        super().__init__([x], name)

    def forward(self):
        self.value = np.maximum(self.inbound_nodes[0].value, 0)

    def backward(self):
        x = self.inbound_nodes[0]
        self.gradients = {x: (x.value > 0) * self.upstream_gradient()}


class _SoftmaxCrossEntropy(Node):
    """The mean cross-entropy, standing in for the learner's while their training loop is checked."""
    role = "SoftmaxCrossEntropy"

    def __init__(self, labels, logits, name=None):
        super().__init__([labels, logits], name)

    def forward(self):
        labels, logits = self.inbound_nodes
        classes, z = np.asarray(labels.value), np.asarray(logits.value)
        if z.ndim == 2 and z.shape[0] == 0:
            raise _training.EmptyBatch()
        if classes.ndim == 2 and classes.shape == z.shape == (len(z), 10) and np.all(np.sum(classes, axis=1) == 1):
            raise Problem(f"SoftmaxCrossEntropy(labels, logits) was given labels of shape {classes.shape}: the labels "
                          "were one-hot rows. It takes the digits themselves, shape (n,): y.value = y_data[rows].")
        if classes.ndim != 1 or z.ndim != 2 or len(classes) != len(z) or z.shape[1] != 10:
            raise Problem(f"SoftmaxCrossEntropy(labels, logits) was given labels of shape {classes.shape} and logits "
                          f"of shape {z.shape}: the labels (n,) come first, then the logits (n, 10) of the network.")
        self.classes = classes.astype(int)
        log_p = _log_softmax(z.astype(float))
        self.probabilities = np.exp(log_p)
        self.value = -log_p[np.arange(len(self.classes)), self.classes].mean()

    def backward(self):
        labels, logits = self.inbound_nodes
        grad = self.probabilities.copy()
        grad[np.arange(len(self.classes)), self.classes] -= 1
        self.gradients = {labels: np.zeros(np.shape(labels.value)),
                          logits: grad * (self.upstream_gradient() / len(self.classes))}


def _he_weights(rng, n_in, n_out):
    return random_weights(n_in, n_out, rng)


LOOP = _training.Loop(
    function="train_classifier", settings=TRAIN_SETTINGS, n_out=10, hidden="ReLU", cost="SoftmaxCrossEntropy",
    weights=_he_weights,
    draw_text="W1 = random_weights(X_data.shape[1], n_hidden, rng), then W2 = random_weights(n_hidden, 10, rng)",
    stand_ins={"ReLU": _ReLU, "SoftmaxCrossEntropy": _SoftmaxCrossEntropy})


def _train_runs(rng, hidden):
    """(split seed, pixel order, training seed): the lesson's split with its pixels in another order and the
    lesson's seed, visible; another split, pixel order and seed, hidden."""
    if not hidden:
        return 0, VISIBLE_COLUMNS, LESSON_SEED
    return int(rng.integers(1, 2**31)), rng.permutation(64), int(rng.integers(0, 2**31 - 1))


def _runs(seed, hidden):
    """(prefix, seed, first step only): the full training, then short runs with the same seed and another one."""
    return [("", seed, False), ("again_", seed, True), ("other_", seed + 1, True)]


def _probe_train(hidden):
    def probe_fn(namespace, rng):
        learner(namespace, "train_classifier", "function")
        outputs = {}
        split, columns, seed = _train_runs(rng, hidden)
        X_train, y_train, _, _ = digits_split(split, columns)
        for prefix, run_seed, short in _runs(seed, hidden):
            _training.run_training(namespace, LOOP, X_train, y_train, run_seed, outputs, prefix,
                                   first_step_only=short)
        return outputs
    return probe_fn


def _test_accuracy(params, X_test, y_test):
    W1, b1, W2, b2 = (params[name] for name in ("W1", "b1", "W2", "b2"))
    logits = np.maximum(X_test @ W1 + b1, 0) @ W2 + b2
    return float(np.mean(np.argmax(logits, axis=1) == y_test))


def _compare_train(hidden):
    def compare_fn(outputs, rng):
        split, columns, seed = _train_runs(rng, hidden)
        X_train, y_train, X_test, y_test = digits_split(split, columns)
        what = (f"train_classifier on the lesson's training digits (pixels in another order), seed={seed}"
                if not hidden else f"train_classifier on another split, seed={seed}")
        extra = [(prefix, run_seed) for prefix, run_seed, short in _runs(seed, hidden) if short]
        params = _training.judge_run(outputs, "", what, LOOP, X_train, y_train, seed, extra)
        for name, value in params.items():
            if not np.all(np.isfinite(value)):
                raise CheckFailed(f"{what}: the returned {name} contains NaN or infinity: the training diverged.")
        held_out = _test_accuracy(params, X_test, y_test)
        if not held_out >= TRAIN_THRESHOLD:
            raise CheckFailed(
                f"{what}: every step followed the task, but the trained network classifies {held_out:.1%} of the "
                f"{len(y_test)} held-out test images correctly; it should be at least {TRAIN_THRESHOLD:.0%}.")
    return compare_fn


visible_and_hidden(
    "train_classifier", "ps6_classification", _probe_train, _compare_train,
    visible="train_classifier gets 90% of the held-out digits right, following the batch rule from the seed: "
            "the weights first, then each epoch's shuffle.",
    hidden="train_classifier on another split of the digits with their pixels reordered, from another seed.")
