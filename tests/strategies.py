"""Hypothesis strategies: random miniflow graphs with random shapes and values."""
import numpy as np
from hypothesis import settings
from hypothesis import strategies as st

import miniflow as mf

settings.register_profile("miniflow", deadline=None, max_examples=60, derandomize=True)
settings.load_profile("miniflow")

OPS = ("linear", "sigmoid", "add", "mul", "add_bias", "reuse")


@st.composite
def random_graphs(draw, min_ops=1, max_ops=6):
    """A random graph ending in MSE, with its feed_dict: (cost, feed_dict).

    Built from the input X by random operations; "reuse" combines the newest
    node with an older one, so some nodes feed two consumers (fan-out).
    Batch sizes include 1.
    """
    batch = draw(st.integers(1, 4))
    width = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    ops = draw(st.lists(st.sampled_from(OPS), min_size=min_ops, max_size=max_ops))
    rng = np.random.default_rng(seed)
    feed_dict = {}

    def new_input(name, shape, scale=1.0):
        node = mf.Input(name)
        feed_dict[node] = rng.uniform(-scale, scale, size=shape)
        return node

    X = new_input("X", (batch, width))
    nodes = [(X, width)]                      # (node, number of columns); every value is (batch, columns)
    for i, op in enumerate(ops):
        node, cols = nodes[-1]
        if op == "linear":
            out = draw(st.integers(1, 4))
            W = new_input(f"W{i}", (cols, out))
            b = new_input(f"b{i}", (out,))
            nodes.append((mf.Linear(node, W, b), out))
        elif op == "sigmoid":
            nodes.append((mf.Sigmoid(node), cols))
        elif op == "add_bias":                # broadcasting: (batch, cols) + (cols,)
            nodes.append((mf.Add(node, new_input(f"c{i}", (cols,))), cols))
        else:                                 # add, mul, reuse: combine with an earlier node of the same width
            same = [n for n, c in nodes if c == cols]
            other = same[draw(st.integers(0, len(same) - 1))]
            kind = mf.Mul if op == "mul" else mf.Add
            nodes.append((kind(node, other), cols))
    last, cols = nodes[-1]
    y = new_input("y", (batch, cols))
    return mf.MSE(y, last), feed_dict
