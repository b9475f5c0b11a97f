r"""Problem set 1: `Add.forward` and `Mul.forward`."""
from functools import partial

import numpy as np

from miniflow import Input

from .common import (CheckFailed, close, fmt, inline, learner, maybe, other_inputs,
                    recorded, run_forward, same, small, targets, judge_forward_purity,
                    visible_and_hidden, with_random_case)

targets("ps1_nodes", ["Add.forward", "Mul.forward"])

# The numbers the lesson prints.
LESSON_ADD = 19.0
LESSON_MUL = 200.0


def _combine_cases(rng, hidden):
    """(input values, which input each argument of the node is) for Add/Mul.

    Visible: the lesson's numbers, two arrays, and a node that takes the same input twice.
    Hidden: the same kinds on random values, with shapes of a fixed form (so a mistake fails
    whatever the seed): one input, two, three to five, a batch of 1, one input twice, plain numbers.
    """
    if not hidden:
        return [([4.0, 5.0, 10.0], (0, 1, 2)),
                ([np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[5.0, 6.0], [7.0, 8.0]])], (0, 1)),
                ([np.array([1.5, -2.0, 3.0]), np.array([2.0, 0.5, -1.0]), np.array([1.0, 3.0, 0.5])], (0, 1, 1, 2))]
    def draw(shape, count):
        return [rng.uniform(-3, 3, size=shape) for _ in range(count)]
    n, k = int(rng.integers(2, 5)), int(rng.integers(2, 5))
    many = int(rng.integers(3, 6))
    return [(draw((n,), 1), (0,)),
            (draw((n, k), 2), (0, 1)),
            (draw((k, n), many), tuple(range(many))),
            (draw((1, k), 4), (0, 1, 2, 3)),
            (draw((n,), 3), (0, 1, 1, 2)),
            ([float(v) for v in rng.uniform(-3, 3, size=3)], (0, 1, 2))]


def _random_combine_case(rng):
    """A visible check's extra case: three small random arrays of one shape."""
    shape = (int(rng.integers(1, 4)), int(rng.integers(2, 4)))
    return [small(rng, shape) for _ in range(3)], (0, 1, 2)


def _all_combine_cases(rng, hidden):
    return with_random_case(_combine_cases(rng, hidden), hidden, _random_combine_case, rng)


def _probe_combine(class_name, hidden):
    def probe_fn(namespace, rng):
        cls = learner(namespace, class_name)
        outputs = {}
        for i, (values, picks) in enumerate(_all_combine_cases(rng, hidden)):
            def make(values=values, picks=picks):
                inputs = [Input(name=f"x{j + 1}") for j in range(len(values))]
                for node, value in zip(inputs, values):
                    node.value = np.array(value, dtype=float) if np.ndim(value) else value
                return cls(*(inputs[p] for p in picks)), inputs
            run_forward(outputs, f"case{i}", make)
        return outputs
    return probe_fn


def _combine(class_name, values):
    if class_name == "Add":
        return sum(values[1:], np.asarray(values[0], dtype=float))
    return np.prod(np.array([np.asarray(v, dtype=float) for v in values]), axis=0)


def _visible_answers(class_name):
    return [_combine(class_name, [values[p] for p in picks]) for values, picks in _combine_cases(None, False)]


def _compare_combine(class_name, hidden):
    def compare_fn(outputs, rng):
        fixed = len(_combine_cases(None, False))
        for i, (values, picks) in enumerate(_all_combine_cases(rng, hidden)):
            if not hidden and i == fixed:
                with other_inputs(f"{class_name}.forward", " and ".join(inline(v) for v in values)):
                    _judge_combine(class_name, i, values, picks, outputs, hidden, f"{class_name} of these inputs")
            else:
                _judge_combine(class_name, i, values, picks, outputs, hidden)
    return compare_fn


def _describe_case(class_name, values, picks, hidden):
    call = f"{class_name}({', '.join(f'x{p + 1}' for p in picks)})"
    if hidden:
        shapes = ", ".join(str(np.shape(v)) for v in values)
        return f"{call} on input(s) of shape(s) {shapes}"
    return f"{call} with " + ", ".join(f"x{j + 1} = {inline(v)}" for j, v in enumerate(values))


def _judge_combine(class_name, i, values, picks, outputs, hidden, what=None):
    symbol = "+" if class_name == "Add" else "*"
    what = what or _describe_case(class_name, values, picks, hidden)
    got = recorded(outputs, f"case{i}", what)
    args = [np.asarray(values[p], dtype=float) for p in picks]
    expected = _combine(class_name, args)
    other = _combine("Mul" if class_name == "Add" else "Add", args)
    hints = [(args[0], "only the first input was used: combine every node in self.inbound_nodes."),
             (args[-1], f"only the last input was kept: combine with `{symbol}=` instead of `=`.")]
    last_changed = f"x{picks[-1] + 1}" in str(outputs.get(f"case{i}_changed", "")).split(", ")
    function = "np.add" if class_name == "Add" else "np.multiply"
    if len(args) > 1:
        hints += [(_combine(class_name, args[1:]), "the first input is missing: loop over all of "
                                                   "self.inbound_nodes (self.inbound_nodes[1:] skips it)."),
                  (_combine(class_name, args[:-1]),
                   f"the last input was left out, and its value was overwritten with the result: {function}(a, b, c) "
                   "combines a and b and writes the result into c (its `out`). Combine the values one by one in a "
                   "loop." if last_changed else
                   "the last input is missing: loop over all of self.inbound_nodes (off by one?).")]
    if len(set(picks)) < len(picks):
        unique = [np.asarray(values[p], dtype=float) for p in dict.fromkeys(picks)]
        hints.append((_combine(class_name, unique),
                      "this node takes the same input twice, and it was counted once: every entry of "
                      "self.inbound_nodes counts, so loop over the list itself, not over a set (or dict) of it."))
    if class_name == "Mul":
        hints += [(np.zeros_like(expected), "a product that starts at 0 stays 0: start at 1."),
                  (expected * args[0], "the first input was counted twice: the product started at the first "
                                       "input's value and then the loop multiplied by every input, the first too."),
                  (other, "that is the sum: Mul multiplies its inputs.")]
        if len(args) > 1 and args[0].size > 1:
            hints.append((np.prod(np.array(args)),
                          "np.prod of the list of values multiplies every element into one number: pass "
                          "axis=0, as in np.prod([...], axis=0), or multiply the values one by one."))
        if len(args) == 2 and args[0].ndim == 2:
            hints.append((maybe(lambda: args[0] @ args[1]),
                          "that is the matrix product: Mul multiplies element by element (*), not @."))
    else:
        hints += [(expected + 1, "the sum started at 1: a sum starts at 0 (a product starts at 1)."),
                  (expected + args[0], "the first input was counted twice: the sum started at the first "
                                       "input's value and then the loop added every input, the first too."),
                  (other, "that is the product: Add adds its inputs.")]
        if len(args) > 1 and args[0].size > 1:
            hints.append((np.sum(np.array(args)),
                          "np.sum of the list of values adds every element into one number: pass axis=0, "
                          "as in np.sum([...], axis=0), or add the values one by one."))
    for answer in _visible_answers(class_name):
        if got.size == answer.size and close(got.ravel(), answer.ravel()) and not close(expected, answer):
            example = "the visible test's example" if hidden else "another of this test's examples"
            raise CheckFailed(f"{what} gave {fmt(got)}, the answer to {example}: compute the result from "
                              "the values of the inputs rather than writing answers in.")
    same(got, expected, what, hints)
    if not hidden and i == 0:
        same(got, LESSON_ADD if class_name == "Add" else LESSON_MUL, what)
    judge_forward_purity(outputs, f"case{i}", what, f"{class_name}.forward")


visible_and_hidden(
    "add_forward", "ps1_nodes", partial(_probe_combine, "Add"), partial(_compare_combine, "Add"),
    visible="Add.forward gives 4 + 5 + 10 = 19, adds arrays element by element, counts an input "
            "it takes twice, and leaves its inputs as they were.",
    hidden="Add.forward on 1 to 5 random inputs of random shapes, a batch of 1 and one input taken twice.")
visible_and_hidden(
    "mul_forward", "ps1_nodes", partial(_probe_combine, "Mul"), partial(_compare_combine, "Mul"),
    visible="Mul.forward gives 4 * 5 * 10 = 200, multiplies arrays element by element, counts an input "
            "it takes twice, and leaves its inputs as they were.",
    hidden="Mul.forward on 1 to 5 random inputs of random shapes, a batch of 1 and one input taken twice.")
