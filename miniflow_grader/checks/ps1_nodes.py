r"""Problem set 1: `Add.forward` and `Mul.forward`."""
from functools import partial

import numpy as np

from miniflow import Input

from .common import (CheckFailed, attempt, close, fmt, inline, learner, maybe, other_inputs,
                    random_shape, recorded, same, small, targets, value_after_forward,
                    visible_and_hidden, with_random_case)

targets("ps1_nodes", ["Add.forward", "Mul.forward"])

# The numbers the lesson prints.
LESSON_ADD = 19.0
LESSON_MUL = 200.0


def _combine_cases(rng, hidden):
    """Lists of input values for Add/Mul: the lesson's numbers when visible, random ones when hidden."""
    if not hidden:
        return [[4.0, 5.0, 10.0],
                [np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[5.0, 6.0], [7.0, 8.0]])]]
    cases = []
    for count in (1, 2, int(rng.integers(3, 6))):
        shape = random_shape(rng)
        cases.append([rng.uniform(-3, 3, size=shape) for _ in range(count)])
    shape = random_shape(rng, ndim=2, batch=1)
    cases.append([rng.uniform(-3, 3, size=shape) for _ in range(4)])
    return cases


def _random_combine_case(rng):
    """A visible check's extra case: two small random arrays of one shape."""
    shape = (int(rng.integers(1, 4)), int(rng.integers(2, 4)))
    return [small(rng, shape), small(rng, shape)]


def _all_combine_cases(rng, hidden):
    return with_random_case(_combine_cases(rng, hidden), hidden, _random_combine_case, rng)


def _probe_combine(class_name, hidden):
    def probe_fn(namespace, rng):
        cls = learner(namespace, class_name)
        outputs = {}
        for i, values in enumerate(_all_combine_cases(rng, hidden)):
            def run(values=values):
                inputs = [Input(name=f"x{j + 1}") for j in range(len(values))]
                for node, value in zip(inputs, values):
                    node.value = value
                return value_after_forward(cls(*inputs))
            attempt(outputs, f"case{i}", run)
        return outputs
    return probe_fn


def _visible_answers(class_name):
    combine = sum if class_name == "Add" else (lambda vs: np.prod(np.array(vs), axis=0))
    return [np.asarray(combine(values), dtype=float) for values in _combine_cases(None, False)]


def _compare_combine(class_name, hidden):
    def compare_fn(outputs, rng):
        fixed = len(_combine_cases(None, False))
        for i, values in enumerate(_all_combine_cases(rng, hidden)):
            if not hidden and i == fixed:
                with other_inputs(f"{class_name}.forward", " and ".join(inline(v) for v in values)):
                    _judge_combine(class_name, i, values, outputs, hidden, f"{class_name} of these inputs")
            else:
                _judge_combine(class_name, i, values, outputs, hidden)
    return compare_fn


def _judge_combine(class_name, i, values, outputs, hidden, what=None):
    symbol = "+" if class_name == "Add" else "*"
    shapes = ", ".join(str(np.shape(v)) for v in values)
    what = what or (f"{class_name} of {' and '.join(inline(v) for v in values)}" if not hidden
                    else f"{class_name} of {len(values)} input(s) of shape(s) {shapes}")
    got = recorded(outputs, f"case{i}", what)
    total, product = sum(values), np.prod(np.array(values), axis=0)
    expected = total if class_name == "Add" else product
    hints = [(values[0], "only the first input was used: combine every node in self.inbound_nodes."),
             (values[-1], f"only the last input was kept: combine with `{symbol}=` instead of `=`."),
             (np.zeros_like(expected), "a product that starts at 0 stays 0: start at 1."),
             ((sum(values[:-1]) if class_name == "Add" else np.prod(np.array(values[:-1]), axis=0))
              if len(values) > 1 else None,
              "the last input is missing: loop over all of self.inbound_nodes (off by one?).")]
    if class_name == "Mul":
        hints.append((total, "that is the sum: Mul multiplies its inputs."))
        if len(values) == 2 and np.ndim(values[0]) == 2:
            hints.append((maybe(lambda: values[0] @ values[1]),
                          "that is the matrix product: Mul multiplies element by element (*), not @."))
    else:
        hints.append((product, "that is the product: Add adds its inputs."))
    if hidden:
        for answer in _visible_answers(class_name):
            if close(got, answer) and not close(expected, answer):
                raise CheckFailed(f"{what} gave {fmt(got)}, the answer to the visible test's example: "
                                  "compute the result from the values of the inputs.")
    same(got, expected, what, hints)
    if not hidden and i == 0:
        same(got, LESSON_ADD if class_name == "Add" else LESSON_MUL, what)


visible_and_hidden(
    "add_forward", "ps1_nodes", partial(_probe_combine, "Add"), partial(_compare_combine, "Add"),
    visible="Add.forward gives 4 + 5 + 10 = 19 and adds arrays element by element.",
    hidden="Add.forward on 1 to 5 random inputs of random shapes, including a batch of 1.")
visible_and_hidden(
    "mul_forward", "ps1_nodes", partial(_probe_combine, "Mul"), partial(_compare_combine, "Mul"),
    visible="Mul.forward gives 4 * 5 * 10 = 200 and multiplies arrays element by element.",
    hidden="Mul.forward on 1 to 5 random inputs of random shapes, including a batch of 1.")


