"""Training: random starting weights, stochastic gradient descent, and how often a classifier is right."""
import numpy as np

from .graph import MiniflowError


def sgd_update(trainables, learning_rate=1e-2):
    r"""One step downhill for each trainable Input: $w \leftarrow w - \eta \, \partial C / \partial w$."""
    for t in trainables:
        if t not in t.gradients:
            raise MiniflowError(f"{type(t).__name__} {t.name!r} has no gradient: run the backward pass "
                                f"(forward_and_backward(graph)) on a graph with {t.name!r} in it before sgd_update")
        t.value = t.value - learning_rate * t.gradients[t]


def random_weights(n_in, n_out, rng):
    r"""A (n_in, n_out) weight matrix drawn from $\mathcal{N}(0, 2/n_{in})$ (He et al., 2015).

    Random, so no two units start alike (with equal weights they would get equal gradients and
    stay copies of each other); scaled by $\sqrt{2/n_{in}}$ so a ReLU layer keeps its outputs
    about the size of its inputs. `rng` is a seed or a `np.random.Generator`.
    """
    return np.random.default_rng(rng).normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))


def predicted_classes(logits):
    """The class with the largest logit (or probability) in each row of an (n, k) array: shape (n,)."""
    return np.argmax(logits, axis=1)


def accuracy(logits, labels):
    """The fraction of rows of `logits` (n, k) whose largest entry is at the class in `labels` (n,)."""
    return float(np.mean(predicted_classes(logits) == np.asarray(labels).reshape(-1)))
