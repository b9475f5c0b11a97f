r"""The checks behind every autograded cell of the MiniFlow exercises.

A grade cell is a docstring and one call, ``check("sigmoid_backward", globals())``.
Each check has two halves:

* ``probe(namespace, rng)`` runs the learner's code (found in ``namespace``, the
  notebook's globals) on inputs drawn from ``rng`` and returns plain arrays only;
* ``compare(outputs, rng)`` never runs learner code: it draws the same inputs from
  an identically seeded ``rng``, computes what the reference ``miniflow`` gives,
  and raises :class:`CheckFailed` with a message a learner can act on.

So the comparison can run in a process where learner code never ran: with
``MINIFLOW_PROBE_DIR`` set, :func:`check` only probes and saves the outputs as
``<grade_id>.npz``; otherwise it probes and compares in the same process.

A visible check judges the lesson's fixed cases first (they pin the numbers the
lesson prints), then one more case of the same form drawn from ``rng`` after them,
so code with the lesson's answers written in does not pass it.

A probe runs exactly one piece the learner wrote, in a graph built from reference
pieces that are not exercises of the same assignment (or from nodes that send
back a fixed gradient), so each part is graded on its own.
"""
import io
import os
import secrets
import traceback
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

import numpy as np
from scipy.special import expit

import miniflow
from miniflow import Add, Input, Linear, MSE, MiniflowError, Mul, Node, Sigmoid
from miniflow.check import numerical_gradient, relative_error

__all__ = ["CHECKS", "TARGETS", "CheckFailed", "check", "compare", "probe"]


class CheckFailed(AssertionError):
    """A check found a mistake; the message says what is wrong and how to fix it."""


@dataclass(frozen=True)
class CheckInfo:
    assignment: str
    hidden: bool
    description: str


#: What the learner writes in each assignment, as names in ``miniflow``.
TARGETS = {
    "ps1_nodes": ["Add.forward", "Mul.forward"],
    "ps2_topological_sort": ["sort_nodes"],
    "ps3_forward": ["Linear.forward", "Sigmoid.forward", "MSE.forward"],
    "ps4_backprop": ["Sigmoid.backward", "Linear.backward", "MSE.backward"],
    "ps5_sgd": ["sgd_update"],
}

#: grade_id -> CheckInfo; filled in by @_check below.
CHECKS = {}
_PROBES = {}
_COMPARES = {}

# The numbers the lesson prints.
LESSON_ADD = 19.0
LESSON_MUL = 200.0
LESSON_LINEAR = np.array([[18.0, 21.0], [42.0, 49.0]])
LESSON_SIGMOID = np.array([[1.23394576e-04, 9.82013790e-01], [1.23394576e-04, 9.82013790e-01]])
LESSON_MSE = 23.4166666667
LESSON_GRADIENTS = {
    "X": np.array([[-3.34017280e-05, -5.01025919e-05], [-6.68040138e-05, -1.00206021e-04]]),
    "y": np.array([0.9999833, 1.9999833]),
    "W": np.array([[5.01028709e-05], [1.00205742e-04]]),
    "b": np.array([-5.01028709e-05]),
}
# The lesson's backprop example: MSE(y, Sigmoid(Linear(X, W, b))).
LESSON_X = np.array([[-1.0, -2.0], [-1.0, -2.0]])
LESSON_W = np.array([[2.0], [3.0]])
LESSON_B = np.array([-3.0])
LESSON_Y = np.array([1.0, 2.0])
PRINTED = dict(rtol=1e-6, atol=1e-12)   # the lesson prints 7 to 9 significant digits


def _check(grade_id, assignment, description, probe_fn, compare_fn, hidden=False):
    CHECKS[grade_id] = CheckInfo(assignment, hidden, description)
    _PROBES[grade_id] = probe_fn
    _COMPARES[grade_id] = compare_fn


def _visible_and_hidden(grade_id, assignment, make_probe, make_compare, visible, hidden):
    """Register `grade_id` (visible) and `grade_id`_hidden from one probe/compare family.

    `make_probe(hidden)` and `make_compare(hidden)` build the two halves for either kind.
    """
    _check(grade_id, assignment, visible, make_probe(False), make_compare(False))
    _check(grade_id + "_hidden", assignment, hidden, make_probe(True), make_compare(True), hidden=True)


# --- the protocol ------------------------------------------------------------

def _rng(grade_id, seed):
    return np.random.default_rng([int(seed), zlib.crc32(grade_id.encode())])


def probe(grade_id, namespace, seed):
    """Run the learner's code for `grade_id`; return {name: plain numpy array}."""
    info = CHECKS[grade_id]
    used = set()
    with _tripwires(info.assignment, namespace, used):
        try:
            outputs = _PROBES[grade_id](namespace, _rng(grade_id, seed))
        except _Missing as missing:
            outputs = {"missing": np.array(str(missing))}
    if used:
        outputs["used_reference"] = np.array(", ".join(sorted(used)))
    return {key: _storable(value) for key, value in outputs.items()}


def compare(grade_id, outputs, seed):
    """Judge the probe's `outputs` for `grade_id`; raise CheckFailed if they are wrong. Runs no learner code."""
    outputs = dict(outputs)
    for key, value in outputs.items():
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "biufU":
            raise CheckFailed(f"{grade_id}: the recorded result {key!r} is not a plain array")
    if "used_reference" in outputs:
        names = str(outputs["used_reference"])
        raise CheckFailed(
            f"Your code calls miniflow's own {names} (imported or inherited) instead of yours. "
            f"Write {names} yourself in the solution cell; using the reference earns nothing.")
    if "missing" in outputs:
        raise CheckFailed(str(outputs["missing"]))
    _COMPARES[grade_id](outputs, _rng(grade_id, seed))


def check(grade_id, namespace):
    """Run the check `grade_id` on the learner's code in `namespace` (a notebook's ``globals()``)."""
    __tracebackhide__ = True
    if grade_id not in CHECKS:
        raise KeyError(f"no check called {grade_id!r}; known: {', '.join(sorted(CHECKS))}")
    probe_dir = os.environ.get("MINIFLOW_PROBE_DIR")
    if probe_dir:
        outputs = probe(grade_id, namespace, int(os.environ["MINIFLOW_SEED"]))
        np.savez(os.path.join(probe_dir, grade_id + ".npz"), **outputs)
        return
    seed = int(os.environ["MINIFLOW_SEED"]) if os.environ.get("MINIFLOW_SEED") else secrets.randbits(32)
    outputs = _roundtrip(probe(grade_id, namespace, seed))
    try:
        compare(grade_id, outputs, seed)
    except CheckFailed as failure:
        message = str(failure)
    else:
        print(f"{grade_id}: passed")
        return
    _fail(message)


def _fail(message):
    raise CheckFailed(message) from None   # the test failed: the message below says what is wrong and how to fix it


def _roundtrip(outputs):
    """What the outputs look like after np.savez and np.load, so both modes judge the same data."""
    buffer = io.BytesIO()
    np.savez(buffer, **outputs)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as loaded:
        return {key: loaded[key] for key in loaded.files}


def _storable(value):
    array = np.asarray(value)
    if array.dtype.kind not in "biufU":
        raise TypeError(f"probe output of dtype {array.dtype} cannot be saved without pickle")
    return array


class _Missing(Exception):
    """The notebook does not define what the check needs."""


class _ReferenceUsed(Exception):
    pass


def _learner(namespace, name, kind="class"):
    try:
        obj = namespace[name]
    except KeyError:
        raise _Missing(
            f"`{name}` is not defined: run the cell that defines it (and every cell above) "
            "before this test.") from None
    if kind == "class" and not (isinstance(obj, type) and issubclass(obj, Node)):
        raise _Missing(f"`{name}` should be a class derived from miniflow's Node, got {type(obj).__name__}.")
    if kind == "function" and not callable(obj):
        raise _Missing(f"`{name}` should be a function, got {type(obj).__name__}.")
    return obj


def _target(dotted):
    owner, _, attr = dotted.rpartition(".")
    if owner:
        return [getattr(miniflow, owner)], attr
    modules = [miniflow, miniflow.graph, miniflow.nodes, miniflow.optim, miniflow.check]
    return [m for m in modules if attr in vars(m)], attr


@contextmanager
def _tripwires(assignment, namespace, used):
    """While the learner's code runs, each reference target of `assignment` records its use and raises."""
    restore = []
    try:
        for dotted in TARGETS[assignment]:
            owners, attr = _target(dotted)
            original = vars(owners[0])[attr]

            def wire(*args, _dotted=dotted, **kwargs):
                used.add(_dotted)
                raise _ReferenceUsed(f"miniflow's own {_dotted} was called")

            for owner in owners:
                restore.append((owner, attr, vars(owner)[attr]))
                setattr(owner, attr, wire)
            for key, value in list(namespace.items()):
                if value is original:
                    restore.append((namespace, key, value))
                    namespace[key] = wire
        yield
    finally:
        for owner, attr, value in reversed(restore):
            if owner is namespace:
                namespace[attr] = value
            else:
                setattr(owner, attr, value)


def _describe(error):
    """One line for an exception raised by learner code, with the line of theirs it came from."""
    text = f"{type(error).__name__}: {error}"
    if len(text) > 400:
        text = text[:400] + "..."
    frames = traceback.extract_tb(error.__traceback__)
    here = os.path.dirname(__file__)
    theirs = [f for f in frames if not f.filename.startswith(here) and "site-packages" not in f.filename
              and os.sep + "miniflow" + os.sep not in f.filename]
    if theirs and theirs[-1].line:
        text += f"\n    raised at: {theirs[-1].line.strip()}"
    return text


def _attempt(outputs, key, compute):
    """outputs[key] = compute() as a float array, or outputs[key + '__error'] = what went wrong."""
    try:
        value = compute()
        if value is None:
            raise _NoValue()
        outputs[key] = np.array(value, dtype=float)
    except _NoValue:
        outputs[key + "__error"] = np.array("NoValue")
    except _ReferenceUsed:
        pass
    except _Problem as problem:
        outputs[key + "__error"] = np.array("Problem: " + str(problem))
    except Exception as error:   # learner code may raise anything; it is reported, not fatal
        outputs[key + "__error"] = np.array(_describe(error))


class _NoValue(Exception):
    pass


class _Problem(Exception):
    """Something the check noticed about the learner's result (not an error their code raised)."""


def _value_after_forward(node):
    returned = node.forward()
    if node.value is None:
        if returned is not None:
            raise _Problem("forward() returned its result but left self.value as None: "
                           "assign the result to self.value instead of returning it.")
        raise _Problem("self.value is still None after forward(): assign the result to self.value.")
    return node.value


def _gradient_of(node, wrt):
    gradients = node.gradients
    if not isinstance(gradients, dict):
        raise _Problem(f"self.gradients should be a dict {{input node: gradient}}, got {type(gradients).__name__}.")
    if wrt not in gradients:
        raise _Problem(f"self.gradients has no entry for the input {wrt.name!r}: "
                       "key each gradient by the input node object, e.g. self.gradients[self.inbound_nodes[0]].")
    return gradients[wrt]


# --- judging ---------------------------------------------------------------

def _fmt(array):
    return np.array2string(np.asarray(array), precision=8, separator=", ", threshold=24,
                           max_line_width=100).replace("\n", "\n              ")


def _inline(array):
    """An array on one line, for naming the inputs of a test case."""
    text = np.array2string(np.asarray(array), precision=8, separator=", ", threshold=24, max_line_width=10_000)
    return " ".join(line.strip() for line in text.splitlines())


def _error_hint(error):
    if "is yours to write" in error:
        return ("Your code calls miniflow's own version (imported or inherited) instead of yours: "
                "write it yourself in the solution cell.")
    if error.startswith("NotImplementedError"):
        return "It is not written yet: replace `raise NotImplementedError()` with your code."
    if "unsupported operand" in error and ("Input" in error or "Node" in error or "Add" in error or "Mul" in error):
        return ("You combined node objects, not numbers: use the value of each input node, "
                "e.g. `n.value for n in self.inbound_nodes`.")
    if "matmul" in error or "shapes" in error and "not aligned" in error:
        return ("The matrix shapes do not fit. For Z = XW + b with X (n, k) and W (k, m): Z is (n, m), "
                "dC/dX = dC/dZ @ W.T is (n, k) and dC/dW = X.T @ dC/dZ is (k, m); check the order and the "
                "transposes. Element-by-element products use *, not @ or np.dot.")
    if "non-broadcastable output" in error or "could not be broadcast" in error:
        return ("A gradient has the wrong shape to be added into its zeros: a gradient always has the shape "
                "of the value it belongs to.")
    if "only length-1 arrays" in error or "only 0-dimensional" in error or "math" in error and "TypeError" in error:
        return "Use NumPy functions (np.exp, np.sum, ...) that work on whole arrays, not the math module."
    if error.startswith("IndexError") or "values to unpack" in error:
        return "A node can have any number of inputs: loop over self.inbound_nodes instead of indexing a fixed few."
    if error.startswith("RecursionError"):
        return "Your code calls itself without end."
    if error.startswith("KeyError") and "self.gradients" not in error:
        return ("A consumer's gradient is stored under this node: read it as `n.gradients[self]` for each consumer "
                "n in self.outbound_nodes (or use self.upstream_gradient(), their sum).")
    return ""


def _get(outputs, key, what):
    """The learner's recorded array `key`, or CheckFailed saying why there is none."""
    error = outputs.get(key + "__error")
    if error is not None:
        error = str(error)
        if error == "NoValue":
            raise CheckFailed(f"{what}: your code gave None. Did you forget to return (or set) the result?")
        if error.startswith("Problem: "):
            raise CheckFailed(f"{what}: {error[len('Problem: '):]}")
        if error.startswith("NotImplementedError") and "is yours to write" not in error:
            raise CheckFailed(f"{what}: it is not written yet. Replace `raise NotImplementedError()` in the "
                              "solution cell with your code, run that cell, then this test again.")
        hint = _error_hint(error)
        raise CheckFailed(f"{what}: your code raised\n    {error}" + (f"\nHint: {hint}" if hint else ""))
    if key not in outputs:
        raise CheckFailed(f"{what}: no result was recorded; the test did not get that far.")
    value = outputs[key]
    if value.dtype.kind not in "biuf":
        raise CheckFailed(f"{what} should be numbers, got {value.dtype}.")
    return value.astype(float)


def _try(compute):
    """A hint's wrong answer, or None where that mistake cannot happen with these shapes."""
    try:
        with np.errstate(all="ignore"):
            return compute()
    except (ValueError, TypeError, ZeroDivisionError):
        return None


def _close(a, b, rtol=1e-6, atol=1e-9):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def _same(got, expected, what, hints=(), shape_hint="", rtol=1e-6, atol=1e-9, note=""):
    """Raise CheckFailed unless `got` equals `expected`; `hints` are (wrong answer, what causes it) pairs."""
    expected = np.asarray(expected, dtype=float)
    for wrong, hint in hints:
        if wrong is not None and not _close(wrong, expected, rtol, atol) and _close(got, wrong, rtol, atol):
            raise CheckFailed(f"{what} is wrong.\n  expected: {_fmt(expected)}\n  got:      {_fmt(got)}"
                              f"\nHint: {hint}{note}")
    if got.shape != expected.shape:
        raise CheckFailed(f"{what} has shape {got.shape}, but it should have shape {expected.shape}."
                          + (f"\nHint: {shape_hint}" if shape_hint else "") + note)
    if not np.all(np.isfinite(got)):
        raise CheckFailed(f"{what} contains NaN or infinity: {_fmt(got)}\n  expected: {_fmt(expected)}{note}")
    if not np.allclose(got, expected, rtol=rtol, atol=atol):
        raise CheckFailed(f"{what} is wrong.\n  expected: {_fmt(expected)}\n  got:      {_fmt(got)}{note}")


GRADIENT_SHAPE = "a gradient always has the shape of the value it belongs to (np.zeros_like(n.value) to start)."


def _random_shape(rng, ndim=None, batch=None):
    ndim = int(rng.integers(0, 3)) if ndim is None else ndim
    shape = [int(rng.integers(2, 6)) for _ in range(ndim)]
    if batch is not None and shape:
        shape[0] = batch
    return tuple(shape)


def _small(rng, shape, scale=3.0):
    """Random numbers with two decimals, easy to read in a message."""
    return np.round(rng.uniform(-scale, scale, size=shape), 2)


def _with_random_case(cases, hidden, draw, rng):
    """The fixed cases of a visible check and one more drawn from `rng` after them; hidden cases unchanged."""
    return cases if hidden else cases + [draw(rng)]


@contextmanager
def _other_inputs(what, inputs, lesson="gives the lesson's numbers",
                  fix="compute the result from the inputs rather than writing the answer in"):
    """Judging a visible check's random case, drawn at grading time after its fixed cases.

    The fixed cases passed before this one is judged, so a failure here means code that
    gives the lesson's answers but not the answer for other inputs, which is what
    writing the answers in does.
    """
    try:
        yield
    except CheckFailed as failure:
        raise CheckFailed(f"{what} {lesson} but not the right answer for other inputs ({inputs}): {fix}.\n"
                          f"{failure}") from None


# --- ps1: Add.forward and Mul.forward ----------------------------------------------

def _combine_cases(rng, hidden):
    """Lists of input values for Add/Mul: the lesson's numbers when visible, random ones when hidden."""
    if not hidden:
        return [[4.0, 5.0, 10.0],
                [np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[5.0, 6.0], [7.0, 8.0]])]]
    cases = []
    for count in (1, 2, int(rng.integers(3, 6))):
        shape = _random_shape(rng)
        cases.append([rng.uniform(-3, 3, size=shape) for _ in range(count)])
    shape = _random_shape(rng, ndim=2, batch=1)
    cases.append([rng.uniform(-3, 3, size=shape) for _ in range(4)])
    return cases


def _random_combine_case(rng):
    """A visible check's extra case: two small random arrays of one shape."""
    shape = (int(rng.integers(1, 4)), int(rng.integers(2, 4)))
    return [_small(rng, shape), _small(rng, shape)]


def _all_combine_cases(rng, hidden):
    return _with_random_case(_combine_cases(rng, hidden), hidden, _random_combine_case, rng)


def _probe_combine(class_name, hidden):
    def probe_fn(namespace, rng):
        cls = _learner(namespace, class_name)
        outputs = {}
        for i, values in enumerate(_all_combine_cases(rng, hidden)):
            def run(values=values):
                inputs = [Input(name=f"x{j + 1}") for j in range(len(values))]
                for node, value in zip(inputs, values):
                    node.value = value
                return _value_after_forward(cls(*inputs))
            _attempt(outputs, f"case{i}", run)
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
                with _other_inputs(f"{class_name}.forward", " and ".join(_inline(v) for v in values)):
                    _judge_combine(class_name, i, values, outputs, hidden, f"{class_name} of these inputs")
            else:
                _judge_combine(class_name, i, values, outputs, hidden)
    return compare_fn


def _judge_combine(class_name, i, values, outputs, hidden, what=None):
    symbol = "+" if class_name == "Add" else "*"
    shapes = ", ".join(str(np.shape(v)) for v in values)
    what = what or (f"{class_name} of {' and '.join(_inline(v) for v in values)}" if not hidden
                    else f"{class_name} of {len(values)} input(s) of shape(s) {shapes}")
    got = _get(outputs, f"case{i}", what)
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
            hints.append((_try(lambda: values[0] @ values[1]),
                          "that is the matrix product: Mul multiplies element by element (*), not @."))
    else:
        hints.append((product, "that is the product: Add adds its inputs."))
    if hidden:
        for answer in _visible_answers(class_name):
            if _close(got, answer) and not _close(expected, answer):
                raise CheckFailed(f"{what} gave {_fmt(got)}, the answer to the visible test's example: "
                                  "compute the result from the values of the inputs.")
    _same(got, expected, what, hints)
    if not hidden and i == 0:
        _same(got, LESSON_ADD if class_name == "Add" else LESSON_MUL, what)


_visible_and_hidden(
    "add_forward", "ps1_nodes", partial(_probe_combine, "Add"), partial(_compare_combine, "Add"),
    visible="Add.forward gives 4 + 5 + 10 = 19 and adds arrays element by element.",
    hidden="Add.forward on 1 to 5 random inputs of random shapes, including a batch of 1.")
_visible_and_hidden(
    "mul_forward", "ps1_nodes", partial(_probe_combine, "Mul"), partial(_compare_combine, "Mul"),
    visible="Mul.forward gives 4 * 5 * 10 = 200 and multiplies arrays element by element.",
    hidden="Mul.forward on 1 to 5 random inputs of random shapes, including a batch of 1.")


# --- ps2: sort_nodes -------------------------------------------------------------------

def _lesson_graph_specs():
    """The lesson's graphs as (name, kind, input indices) lists."""
    add = [("x", "Input", ()), ("y", "Input", ()), ("z", "Input", ()), ("f", "Add", (0, 1, 2))]
    network = [("X", "Input", ()), ("y", "Input", ()), ("W1", "Input", ()), ("b1", "Input", ()),
               ("W2", "Input", ()), ("b2", "Input", ()), ("l1", "Linear", (0, 2, 3)), ("s1", "Sigmoid", (6,)),
               ("l2", "Linear", (7, 4, 5)), ("cost", "MSE", (1, 8))]
    return [add, network]


def _random_graph_spec(rng):
    """A random graph of Inputs, Adds and Muls in which some node has two consumers and one takes an input twice."""
    n_inputs = int(rng.integers(2, 5))
    spec = [(f"in{i}", "Input", ()) for i in range(n_inputs)]
    for i in range(int(rng.integers(3, 9))):
        k = len(spec)
        arity = int(rng.integers(1, 4))
        picks = tuple(int(j) for j in rng.integers(0, k, size=arity))
        spec.append((f"op{i}", ("Add", "Mul")[int(rng.integers(0, 2))], picks))
    k = len(spec)
    spec.append(("twice", "Add", (k - 1, k - 1)))                      # the same input twice
    spec.append(("shared", "Mul", (n_inputs, k - 1)))               # op0 and the last op: two consumers
    spec.append(("out", "Add", (len(spec) - 1, len(spec) - 2, n_inputs)))
    return spec


def _small_graph_spec(rng):
    """A visible check's extra graph: a few Inputs, then a few Adds and Muls, each on distinct earlier nodes."""
    n_inputs = int(rng.integers(2, 4))
    spec = [(f"in{i}", "Input", ()) for i in range(n_inputs)]
    for i in range(int(rng.integers(2, 5))):
        k = len(spec)
        arity = min(int(rng.integers(1, 4)), k)
        picks = tuple(sorted(int(j) for j in rng.choice(k, size=arity, replace=False)))
        spec.append((f"op{i}", ("Add", "Mul")[int(rng.integers(0, 2))], picks))
    return spec


def _describe_graph(spec):
    names = [name for name, _, _ in spec]
    return ", ".join(f"{name} = {kind}({', '.join(names[j] for j in picks)})"
                     for name, kind, picks in spec if kind != "Input")


def _build(spec):
    kinds = {"Input": Input, "Add": Add, "Mul": Mul, "Linear": Linear, "Sigmoid": Sigmoid, "MSE": MSE}
    nodes = []
    for name, kind, picks in spec:
        if kind == "Input":
            nodes.append(Input(name=name))
        else:
            nodes.append(kinds[kind](*(nodes[j] for j in picks), name=name))
    return nodes


def _sort_cases(rng, hidden):
    specs = [_random_graph_spec(rng) for _ in range(3)] if hidden else _lesson_graph_specs() + [_small_graph_spec(rng)]
    starts = []
    for spec in specs:
        inputs = [i for i, (_, kind, _) in enumerate(spec) if kind == "Input"]
        starts.append([inputs[j] for j in rng.permutation(len(inputs))] if hidden else inputs)
    return list(zip(specs, starts))


def _probe_sort(hidden):
    def probe_fn(namespace, rng):
        sort = _learner(namespace, "sort_nodes", "function")
        outputs = {}
        for i, (spec, start) in enumerate(_sort_cases(rng, hidden)):
            def run(spec=spec, start=start):
                nodes = _build(spec)
                order = sort([nodes[j] for j in start])
                if order is None:
                    return None
                index = {id(node): j for j, node in enumerate(nodes)}
                return np.array([index.get(id(node), -1) for node in order], dtype=int)
            _attempt(outputs, f"graph{i}", run)
        return outputs
    return probe_fn


def _judge_order(order, spec, what):
    names = [name for name, _, _ in spec]
    order = order.astype(int).ravel()
    if np.any(order < 0):
        raise CheckFailed(f"{what}: the list you returned contains things that are not nodes of the graph.")
    seen = [names[j] for j in order]
    repeated = sorted({n for n in seen if seen.count(n) > 1})
    if repeated:
        raise CheckFailed(f"{what}: {', '.join(repeated)} appear(s) more than once in your order {seen}."
                          "\nHint: put a node in the ready list once, at the moment its last waiting input is placed.")
    missing = [n for n in names if n not in seen]
    if missing:
        raise CheckFailed(
            f"{what}: your order {seen} leaves out {', '.join(missing)} ({len(seen)} of {len(names)} nodes)."
            "\nHint: a node is ready when all of its inputs are placed. Count each node's inputs with "
            "len(node.inbound_nodes) (a node may take the same input twice, as in Add(x, x)), subtract one for "
            "each placed input, and release the node when its count reaches 0.")
    position = {j: p for p, j in enumerate(order)}
    for j, (name, _, picks) in enumerate(spec):
        for p in picks:
            if position[p] > position[j]:
                raise CheckFailed(f"{what}: in your order {seen}, {name} comes before its input {names[p]}."
                                  "\nHint: a node can only be computed after all of its inputs.")


def _compare_sort(hidden):
    def compare_fn(outputs, rng):
        for i, (spec, start) in enumerate(_sort_cases(rng, hidden)):
            if hidden:
                what = f"sort_nodes on a random graph of {len(spec)} nodes"
            elif i < 2:
                what = ("sort_nodes on the lesson's graph f = Add(x, y, z)" if i == 0 else
                        "sort_nodes on the lesson's network MSE(y, Linear(Sigmoid(Linear(X, W1, b1)), W2, b2))")
            else:
                what = "sort_nodes on this graph"
                with _other_inputs("sort_nodes", f"the graph {_describe_graph(spec)}",
                                   lesson="sorts the lesson's graphs",
                                   fix="order the nodes of the graph it is given rather than writing an order in"):
                    _judge_sort(i, spec, what, outputs)
                continue
            _judge_sort(i, spec, what, outputs)
    return compare_fn


def _judge_sort(i, spec, what, outputs):
    error = str(outputs.get(f"graph{i}__error", ""))
    if error.startswith("MiniflowError"):
        raise CheckFailed(
            f"{what}: your code raised\n    {error}\nbut this graph has no cycle: some node never became "
            "ready.\nHint: a node may take the same input twice, as in Add(x, x); it appears once in "
            "x.outbound_nodes but twice in its inbound_nodes, so subtract m.inbound_nodes.count(n).")
    _judge_order(_get(outputs, f"graph{i}", what), spec, what)


_visible_and_hidden(
    "sort_nodes", "ps2_topological_sort", _probe_sort, _compare_sort,
    visible="sort_nodes puts every node of the lesson's two graphs after its inputs.",
    hidden="sort_nodes on random graphs, started from their Inputs in any order, with a node that has two consumers "
           "and a node that takes the same input twice.")


def _cyclic_graph_spec(rng):
    """A visible check's extra graph: a small random graph whose last node also waits on a node it feeds."""
    spec = _small_graph_spec(rng)
    spec.append(("back", "Add", (len(spec) - 1,)))
    return spec


def _probe_cycle(namespace, rng):
    sort = _learner(namespace, "sort_nodes", "function")
    x = Input(name="x")
    p = Add(x, name="p")
    q = Add(p, name="q")
    p.inbound_nodes.append(q)          # p and q now wait on each other
    q.outbound_nodes.append(p)
    outputs = {}
    _try_sort(sort, [x], outputs, "")
    spec = _cyclic_graph_spec(rng)
    nodes = _build(spec)
    last, back = nodes[-2], nodes[-1]
    last.inbound_nodes.append(back)    # the last node and `back` now wait on each other
    back.outbound_nodes.append(last)
    _try_sort(sort, [n for n, (_, kind, _) in zip(nodes, spec) if kind == "Input"], outputs, "random_")
    return outputs


def _try_sort(sort, start, outputs, prefix):
    try:
        order = sort(start)
        outputs[prefix + "returned"] = np.array(len(order) if order is not None else -1)
    except _ReferenceUsed:
        pass
    except MiniflowError as error:
        outputs[prefix + "raised"] = np.array(_describe(error))
    except Exception as error:
        outputs[prefix + "raised_other"] = np.array(_describe(error))


def _compare_cycle(outputs, rng):
    _judge_cycle(outputs, "", "sort_nodes on a graph with a cycle (p = Add(x, q), q = Add(p))")
    spec = _cyclic_graph_spec(rng)
    cycle = f"{_describe_graph(spec)}, and {spec[-2][0]} also takes back as an input"
    with _other_inputs("sort_nodes", f"the graph {cycle}", lesson="finds the lesson's cycle",
                       fix="look for nodes left waiting in the graph it is given rather than for particular nodes"):
        _judge_cycle(outputs, "random_", "sort_nodes on this graph with a cycle")


def _judge_cycle(outputs, prefix, what):
    if prefix + "raised" in outputs:
        return
    if prefix + "raised_other" in outputs:
        other = outputs[prefix + "raised_other"]
        hint = _error_hint(str(other))
        if hint.startswith("It is not written yet"):
            raise CheckFailed(f"{what}: your code raised\n    {other}\nHint: {hint}")
        raise CheckFailed(f"{what} should raise MiniflowError, but your code raised\n    {other}"
                          "\nHint: when no node is ready but some are still waiting, there is a cycle: "
                          "raise MiniflowError naming the waiting nodes.")
    if prefix + "returned" in outputs:
        raise CheckFailed(f"{what} should raise MiniflowError, but your code returned an order of "
                          f"{int(outputs[prefix + 'returned'])} node(s).\nHint: if fewer nodes were placed than the "
                          "graph has, the rest wait on each other: raise MiniflowError naming them.")
    raise CheckFailed(f"{what}: no result was recorded.")


_check("sort_nodes_cycle", "ps2_topological_sort", "sort_nodes raises MiniflowError when the graph has a cycle.",
       _probe_cycle, _compare_cycle)


# --- ps3: Linear.forward, Sigmoid.forward, MSE.forward ----------------------------------

def _linear_cases(rng, hidden):
    if not hidden:
        return [(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[5.0, 6.0], [7.0, 8.0]]), np.array([-1.0, -1.0])),
                (np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), np.array([[1.0, 0.5, -1.0], [2.0, 0.0, 1.0]]),
                 np.array([0.5, -1.0, 2.0]))]
    cases = []
    for n, low in ((1, 1), (int(rng.integers(2, 7)), 2)):
        k, m = int(rng.integers(low, 6)), int(rng.integers(low, 6))
        cases.append((rng.normal(size=(n, k)), rng.normal(size=(k, m)), rng.normal(size=m)))
    return cases


def _random_linear_case(rng):
    """A visible check's extra case: small random X (2 to 4 x 2 to 3), W and b."""
    n, k, m = int(rng.integers(2, 5)), int(rng.integers(2, 4)), int(rng.integers(2, 4))
    return _small(rng, (n, k)), _small(rng, (k, m)), _small(rng, (m,))


def _probe_linear_forward(hidden):
    def probe_fn(namespace, rng):
        cls = _learner(namespace, "Linear")
        outputs = {}
        for i, (X_, W_, b_) in enumerate(_with_random_case(_linear_cases(rng, hidden), hidden,
                                                            _random_linear_case, rng)):
            def run(X_=X_, W_=W_, b_=b_):
                X, W, b = Input(name="X"), Input(name="W"), Input(name="b")
                X.value, W.value, b.value = X_, W_, b_
                return _value_after_forward(cls(X, W, b))
            _attempt(outputs, f"case{i}", run)
        return outputs
    return probe_fn


def _compare_linear_forward(hidden):
    def compare_fn(outputs, rng):
        fixed = _linear_cases(rng, hidden)
        for i, (X_, W_, b_) in enumerate(_with_random_case(fixed, hidden, _random_linear_case, rng)):
            if hidden or i < len(fixed):
                _judge_linear_forward(i, X_, W_, b_, outputs, hidden)
                continue
            with _other_inputs("Linear.forward", f"X = {_inline(X_)}, W = {_inline(W_)}, b = {_inline(b_)}"):
                _judge_linear_forward(i, X_, W_, b_, outputs, hidden)
    return compare_fn


def _judge_linear_forward(i, X_, W_, b_, outputs, hidden):
    what = f"Linear of X {X_.shape}, W {W_.shape}, b {b_.shape}"
    got = _get(outputs, f"case{i}", what)
    expected = X_ @ W_ + b_
    hints = [(X_ @ W_, "the bias b is missing: the output is XW + b."),
             (_try(lambda: W_ @ X_ + b_),
              "that is WX + b: X is (examples, features), so the product is X @ W."),
             (_try(lambda: X_ * W_ + b_),
              "X * W multiplies element by element: use the matrix product X @ W (np.dot)."),
             (_try(lambda: X_ @ W_.T + b_), "W should not be transposed.")]
    _same(got, expected, what, hints,
          shape_hint="XW + b has one row per example and one column per output: (n, k) @ (k, m) + (m,).")
    if not hidden and i == 0:
        _same(got, LESSON_LINEAR, what)


_visible_and_hidden(
    "linear_forward", "ps3_forward", _probe_linear_forward, _compare_linear_forward,
    visible="Linear.forward gives the lesson's [[18, 21], [42, 49]] and XW + b for a 3x2 X.",
    hidden="Linear.forward on random X, W, b, including a batch of 1.")


def _sigmoid_cases(rng, hidden):
    if not hidden:
        return [LESSON_X @ np.array([[2.0, -3.0], [2.0, -3.0]]) + np.array([-3.0, -5.0]),
                np.array([-2.0, 0.0, 2.0])]
    return [rng.normal(scale=3, size=_random_shape(rng, ndim=2, batch=1)),
            rng.normal(scale=3, size=_random_shape(rng, ndim=int(rng.integers(0, 3)))),
            np.array([-50.0, -5.0, 0.0, 5.0, 50.0])]


def _random_sigmoid_case(rng):
    """A visible check's extra case: a small random array of the lesson's shape."""
    return _small(rng, np.shape(LESSON_SIGMOID), scale=4.0)


def _probe_sigmoid_forward(hidden):
    def probe_fn(namespace, rng):
        cls = _learner(namespace, "Sigmoid")
        outputs = {}
        for i, x_ in enumerate(_with_random_case(_sigmoid_cases(rng, hidden), hidden, _random_sigmoid_case, rng)):
            def run(x_=x_):
                x = Input(name="x")
                x.value = x_
                return _value_after_forward(cls(x))
            _attempt(outputs, f"case{i}", run)
        return outputs
    return probe_fn


def _compare_sigmoid_forward(hidden):
    def compare_fn(outputs, rng):
        fixed = _sigmoid_cases(rng, hidden)
        for i, x_ in enumerate(_with_random_case(fixed, hidden, _random_sigmoid_case, rng)):
            if hidden or i < len(fixed):
                _judge_sigmoid_forward(i, x_, outputs, hidden)
                continue
            with _other_inputs("Sigmoid.forward", _inline(x_)):
                _judge_sigmoid_forward(i, x_, outputs, hidden, "Sigmoid of these inputs")
    return compare_fn


def _judge_sigmoid_forward(i, x_, outputs, hidden, what=None):
    what = what or (f"Sigmoid of {_inline(x_)}" if x_.size <= 6 else f"Sigmoid of an input of shape {x_.shape}")
    got = _get(outputs, f"case{i}", what)
    hints = [(expit(-x_), "that is 1/(1 + e^x): the sigmoid is 1/(1 + e^(-x))."),
             (1 / (1 + np.exp(-x_)) * (1 - 1 / (1 + np.exp(-x_))),
              "that is the derivative: forward computes the sigmoid itself."),
             (np.exp(-x_), "the sigmoid is 1/(1 + e^(-x)), not e^(-x).")]
    _same(got, expit(x_), what, hints, shape_hint="the sigmoid acts element by element: same shape as its input.")
    if not hidden and i == 0:
        _same(got, LESSON_SIGMOID, what, **PRINTED)


_visible_and_hidden(
    "sigmoid_forward", "ps3_forward", _probe_sigmoid_forward, _compare_sigmoid_forward,
    visible="Sigmoid.forward gives the lesson's output [[1.23394576e-04, 9.82013790e-01], ...] and sigmoid(0) = 0.5.",
    hidden="Sigmoid.forward on random inputs of random shapes, and on large positive and negative numbers.")


def _mse_cases(rng, hidden):
    if not hidden:
        return [(np.array([1.0, 2.0, 3.0]), np.array([4.5, 5.0, 10.0])),
                (np.array([1.0, 2.0, 3.0]), np.array([[4.5], [5.0], [10.0]]))]
    cases = []
    for n, layout in ((1, int(rng.integers(0, 3))), (int(rng.integers(2, 8)), 0), (int(rng.integers(2, 8)), 1)):
        y_shape, a_shape = [((n,), (n, 1)), ((n, 1), (n,)), ((n, 1), (n, 1))][layout]
        cases.append((rng.normal(size=y_shape), rng.normal(size=a_shape)))
    return cases


def _random_mse_case(rng):
    """A visible check's extra case: random y and a of the lesson's shapes, (3,) each."""
    return _small(rng, (3,), scale=10.0), _small(rng, (3,), scale=10.0)


def _mse_value(y_, a_):
    return np.mean((np.reshape(y_, (-1, 1)) - np.reshape(a_, (-1, 1))) ** 2)


def _probe_mse_forward(hidden):
    def probe_fn(namespace, rng):
        cls = _learner(namespace, "MSE")
        outputs = {}
        for i, (y_, a_) in enumerate(_with_random_case(_mse_cases(rng, hidden), hidden, _random_mse_case, rng)):
            def run(y_=y_, a_=a_):
                y, a = Input(name="y"), Input(name="a")
                y.value, a.value = y_, a_
                return _value_after_forward(cls(y, a))
            _attempt(outputs, f"case{i}", run)
        return outputs
    return probe_fn


def _compare_mse_forward(hidden):
    def compare_fn(outputs, rng):
        fixed = _mse_cases(rng, hidden)
        for i, (y_, a_) in enumerate(_with_random_case(fixed, hidden, _random_mse_case, rng)):
            if hidden or i < len(fixed):
                _judge_mse_forward(i, y_, a_, outputs, hidden)
                continue
            with _other_inputs("MSE.forward", f"y = {_inline(y_)}, a = {_inline(a_)}"):
                _judge_mse_forward(i, y_, a_, outputs, hidden, "MSE of these y and a")
    return compare_fn


def _judge_mse_forward(i, y_, a_, outputs, hidden, what=None):
    what = what or (f"MSE of y = {_inline(y_)} and a = {_inline(a_)}" if not hidden
                    else f"MSE of y {y_.shape} and a {a_.shape}")
    got = _get(outputs, f"case{i}", what)
    if got.size != 1:
        raise CheckFailed(f"{what} should be one number, got an array of shape {got.shape}: {_fmt(got)}"
                          "\nHint: take the mean of the squared differences over all elements.")
    got = got.reshape(())
    expected = _mse_value(y_, a_)
    m = np.size(y_)
    diff = np.reshape(y_, (-1, 1)) - np.reshape(a_, (-1, 1))
    hints = [(np.mean((y_ - a_) ** 2) if np.shape(y_) != np.shape(a_) else None,
              f"y has shape {np.shape(y_)} and a has shape {np.shape(a_)}: subtracting them broadcasts to a "
              f"{m}x{m} table. Reshape both to columns (reshape(-1, 1)) first."),
             (expected * m, "that is the sum of the squared errors: the MSE is their mean."),
             (np.mean(np.abs(diff)), "that is the mean absolute error: square the differences."),
             (np.mean(diff) ** 2, "square each difference before taking the mean."),
             (np.sqrt(expected), "that is the root of the MSE: leave out the square root.")]
    _same(got, expected, what, hints)
    if not hidden and i == 0:
        _same(got, LESSON_MSE, what, rtol=1e-10, atol=1e-10)


_visible_and_hidden(
    "mse_forward", "ps3_forward", _probe_mse_forward, _compare_mse_forward,
    visible="MSE.forward gives the lesson's 23.4166666667, also when y is (3,) and a is (3, 1).",
    hidden="MSE.forward on random y and a, as rows or columns, including a single example.")


# --- ps4: Sigmoid.backward, Linear.backward, MSE.backward ----------------------------

class _Consumer(Node):
    """Stands for the rest of a graph: it consumes one node and sends back a fixed gradient."""

    def __init__(self, node, gradient, name=None):
        super().__init__([node], name)
        self.fixed = np.asarray(gradient, dtype=float)

    def forward(self):
        self.value = np.zeros(())

    def backward(self):
        self.gradients = {self.inbound_nodes[0]: self.fixed.copy()}


def _lesson_upstream(X_=LESSON_X, W_=LESSON_W, b_=LESSON_B, y_=LESSON_Y):
    """dC/da for the lesson's network, where a = Sigmoid(l) is compared with y by MSE (plain NumPy)."""
    l_ = X_ @ W_ + b_
    a_ = expit(l_)
    grad_a = (-2 / a_.size) * (y_.reshape(-1, 1) - a_)
    grad_l = a_ * (1 - a_) * grad_a
    return l_, a_, grad_a, grad_l


def _run_backward(node_under_test, consumers, inputs_of_node):
    """Forward through the node and its consumers, then the consumers' backward and the node's backward."""
    node_under_test.forward()
    for consumer in consumers:
        consumer.forward()
        consumer.backward()
    sent = [c.gradients[node_under_test].copy() for c in consumers]
    node_under_test.backward()
    after = [c.gradients[node_under_test] for c in consumers]
    changed = any(not np.array_equal(np.asarray(a, dtype=float), s) for a, s in zip(after, sent))
    return [_gradient_of(node_under_test, n) for n in inputs_of_node], changed


def _graph_cases(rng, kind):
    """Hidden backward cases: (input values, consumer gradients) with random shapes, a batch of 1, two consumers."""
    cases = []
    for n in (1, int(rng.integers(2, 6))):
        if kind == "Sigmoid":
            values = [rng.normal(scale=2, size=(n, int(rng.integers(1, 5))))]
            out_shape = values[0].shape
        elif kind == "Linear":
            low = 1 if n == 1 else 2
            k, m = int(rng.integers(low, 5)), int(rng.integers(low, 5))
            values = [rng.normal(size=(n, k)), rng.normal(size=(k, m)), rng.normal(size=m)]
            out_shape = (n, m)
        else:
            y_shape, a_shape = [((n,), (n, 1)), ((n, 1), (n, 1)), ((n,), (n,))][int(rng.integers(0, 3))]
            values = [rng.normal(size=y_shape), rng.normal(size=a_shape)]
            out_shape = ()
        consumers = [rng.normal(size=out_shape) for _ in range(2 if n > 1 else 1)]
        cases.append((values, consumers))
    return cases


def _reference_backward(kind, values, consumer_grads):
    """The reference node's gradients with respect to its inputs, given its consumers' gradients."""
    inputs = [Input(name=f"in{i}") for i in range(len(values))]
    for node, value in zip(inputs, values):
        node.value = np.array(value, dtype=float)
    node = {"Sigmoid": Sigmoid, "Linear": Linear, "MSE": MSE}[kind](*inputs)
    consumers = [_Consumer(node, g) for g in consumer_grads]
    grads, _ = _run_backward(node, consumers, inputs)
    return grads


def _probe_backward_cases(kind, cases, namespace):
    cls = _learner(namespace, kind)
    outputs = {}
    for i, (values, consumer_grads) in enumerate(cases):
        holder = {}

        def run(values=values, consumer_grads=consumer_grads, holder=holder):
            inputs = [Input(name=name) for name in _INPUT_NAMES[kind]]
            for node, value in zip(inputs, values):
                node.value = np.array(value, dtype=float)
            node = cls(*inputs)
            consumers = [_Consumer(node, g, name=f"consumer{j + 1}") for j, g in enumerate(consumer_grads)]
            grads, changed = _run_backward(node, consumers, inputs)
            holder["inputs"], holder["node"] = inputs, node
            outputs[f"case{i}_changed_upstream"] = np.array(changed)
            return np.array(0.0)

        _attempt(outputs, f"case{i}_ran", run)
        if "inputs" not in holder:
            continue
        for j, name in enumerate(_INPUT_NAMES[kind]):
            _attempt(outputs, f"case{i}_{name}", lambda j=j: _gradient_of(holder["node"], holder["inputs"][j]))

        def forward(holder=holder, consumer_grads=consumer_grads):
            holder["node"].forward()
            value = np.asarray(holder["node"].value, dtype=float)
            return sum(np.sum(value * g) for g in consumer_grads)
        for j, name in enumerate(_INPUT_NAMES[kind]):
            _attempt(outputs, f"case{i}_{name}_numeric",
                     lambda j=j, forward=forward, holder=holder: numerical_gradient(forward, holder["inputs"][j].value))
    return outputs


_INPUT_NAMES = {"Sigmoid": ["x"], "Linear": ["X", "W", "b"], "MSE": ["y", "a"]}


def _backward_hints(kind, name, values, consumer_grads, expected):
    """(wrong answer, cause) pairs for the common mistakes in each backward."""
    hints = []
    if len(consumer_grads) > 1:
        for j in range(len(consumer_grads)):
            only = _reference_backward(kind, values, [consumer_grads[j]])[_INPUT_NAMES[kind].index(name)]
            hints.append((only, "this node has two consumers and only one consumer's gradient was kept: "
                                "accumulate with `+=` over every consumer instead of assigning with `=`."))
    if kind == "Sigmoid":
        x_ = values[0]
        g = sum(consumer_grads)
        s = expit(x_)
        hints += [(x_ * (1 - x_) * g, "the derivative was computed from the input x: it is s(1 - s) where "
                                      "s = self.value is the sigmoid's output."),
                  (s * (1 - s), "multiply the local derivative s(1 - s) by the gradient the consumer sent back "
                                "(the chain rule)."),
                  (-expected, "the sign is flipped.")]
    elif kind == "Linear":
        X_, W_, b_ = values
        g = sum(consumer_grads)
        if name == "X":
            hints += [(_try(lambda: g @ W_),
                       "W needs a transpose: dC/dX = dC/dZ @ W.T."),
                      (_try(lambda: W_ @ g.T),
                       "the product is in the wrong order: dC/dX = dC/dZ @ W.T.")]
        if name == "W":
            hints += [(_try(lambda: X_ @ g), "X needs a transpose: dC/dW = X.T @ dC/dZ."),
                      (_try(lambda: g.T @ X_),
                       "the product is in the wrong order: dC/dW = X.T @ dC/dZ.")]
        if name == "b":
            hints += [(g, "b was added to every row (example): sum the upstream gradient over the batch, "
                          "np.sum(dC/dZ, axis=0)."),
                      (g.sum(axis=1), "sum over axis 0 (the examples), not axis 1."),
                      (g.mean(axis=0), "b's gradient is the sum over the batch, not the mean."),
                      (g.sum(), "sum over the examples only (axis=0): b has one gradient per output."),
                      (g.sum(axis=0, keepdims=True), "b has shape (m,): sum with axis=0 and no keepdims.")]
        hints.append((-expected, "the sign is flipped."))
    else:
        y_, a_ = values
        hints += [(-expected, "the sign is flipped: C = mean((y - a)^2), so dC/dy = 2(y - a)/m and "
                              "dC/da = -2(y - a)/m."),
                  (expected / 2, "the factor 2 from the square is missing."),
                  (expected * np.size(y_), "divide by m, the number of elements: C is a mean."),
                  (np.reshape(expected, (-1, 1)) if np.ndim(expected) == 1 else None,
                   "reshape the gradient to the shape of the value it belongs to: np.reshape(g, np.shape(n.value)).")]
        total = sum(np.sum(g) for g in consumer_grads)
        if len(consumer_grads) > 1 or not np.isclose(total, 1):
            hints.append((expected / total if total != 0 else None,
                          "multiply by the gradient sent back by the MSE's consumers (self.upstream_gradient() "
                          "is 1 when the MSE is the cost)."))
    return hints


def _compare_backward_case(kind, i, values, consumer_grads, outputs, label):
    what = f"{kind}.backward ({label})"
    _get(outputs, f"case{i}_ran", what)
    if bool(outputs.get(f"case{i}_changed_upstream", False)):
        raise CheckFailed(f"{what}: your backward changed the gradient array its consumer sent back "
                          "(an in-place operation such as `grad_cost *= ...`). That array belongs to the consumer: "
                          "compute a new array instead.")
    expected = _reference_backward(kind, values, consumer_grads)
    for j, name in enumerate(_INPUT_NAMES[kind]):
        got = _get(outputs, f"case{i}_{name}", f"{what}: the gradient for {name}")
        note = ""
        numeric = outputs.get(f"case{i}_{name}_numeric")
        if numeric is not None and numeric.dtype.kind == "f" and numeric.shape == got.shape:
            error = relative_error(got, numeric.astype(float))
            note = (f"\n(Gradient check: relative error {error:.2g} between your gradient and a finite-difference "
                    "estimate; below 1e-5 is right, above 1e-2 is wrong.)")
        _same(got, expected[j], f"{what}: the gradient for {name} ({name} has shape {np.shape(values[j])})",
              _backward_hints(kind, name, values, consumer_grads, expected[j]), shape_hint=GRADIENT_SHAPE,
              rtol=1e-5, atol=1e-10, note=note)
    return expected


def _network_case(kind, X_, W_, b_, y_):
    """The values and the consumer's gradient of `kind`'s node in the lesson's network MSE(y, Sigmoid(Linear(X, W, b)))."""
    l_, a_, grad_a, grad_l = _lesson_upstream(X_, W_, b_, y_)
    if kind == "Sigmoid":
        return [l_], [grad_a]
    if kind == "Linear":
        return [X_, W_, b_], [grad_l]
    return [y_, a_], [np.ones(())]


def _random_network(rng):
    """A visible check's extra case: the lesson's network with random X, W, b and y of the lesson's shapes."""
    return [_small(rng, np.shape(v)) for v in (LESSON_X, LESSON_W, LESSON_B, LESSON_Y)]


def _visible_backward_cases(kind):
    l_, a_, grad_a, grad_l = _lesson_upstream()
    if kind == "Sigmoid":
        lesson = ([l_], [grad_a])
        two = ([np.array([[-1.0, 0.0, 2.0], [0.5, 1.0, -2.0]])],
               [np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]]), np.array([[0.5, -1.0, 1.0], [2.0, 1.0, -0.5]])])
    elif kind == "Linear":
        lesson = ([LESSON_X, LESSON_W, LESSON_B], [grad_l])
        two = ([np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.0]]), np.array([[1.0, -1.0, 0.5, 2.0], [0.0, 1.0, 1.0, -1.0]]),
                np.array([0.1, 0.2, 0.3, 0.4])],
               [np.array([[1.0, 0.0, -1.0, 2.0], [0.5, 1.0, 1.0, 0.0], [-1.0, 2.0, 0.0, 1.0]]),
                np.array([[0.0, 1.0, 1.0, -1.0], [2.0, 0.0, 0.5, 1.0], [1.0, 1.0, -2.0, 0.0]])])
    else:
        lesson = ([LESSON_Y, a_], [np.ones(())])
        two = ([np.array([1.0, 2.0, 3.0]), np.array([4.5, 5.0, 10.0])], [np.array(2.0), np.array(0.5)])
    return [lesson, two]


def _probe_backward(kind, hidden):
    def probe_fn(namespace, rng):
        cases = (_graph_cases(rng, kind) if hidden
                 else _visible_backward_cases(kind) + [_network_case(kind, *_random_network(rng))])
        return _probe_backward_cases(kind, cases, namespace)
    return probe_fn


def _compare_backward(kind, hidden):
    def compare_fn(outputs, rng):
        if hidden:
            for i, (values, consumer_grads) in enumerate(_graph_cases(rng, kind)):
                shapes = ", ".join(f"{name} {np.shape(v)}" for name, v in zip(_INPUT_NAMES[kind], values))
                label = f"random inputs {shapes}, {len(consumer_grads)} consumer(s)"
                _compare_backward_case(kind, i, values, consumer_grads, outputs, label)
            return
        (lesson, two) = _visible_backward_cases(kind)
        names = {"Sigmoid": "a = Sigmoid(l) in the lesson's network MSE(y, Sigmoid(Linear(X, W, b)))",
                 "Linear": "l = Linear(X, W, b) in the lesson's network MSE(y, Sigmoid(Linear(X, W, b)))",
                 "MSE": "the lesson's cost MSE(y, a)"}
        expected = _compare_backward_case(kind, 0, *lesson, outputs, names[kind])
        _pin_lesson(kind, outputs, expected)
        values, sent = two
        inputs = ", ".join(f"{name} = {_inline(v)}" for name, v in zip(_INPUT_NAMES[kind], values))
        label = (f"with two consumers; {inputs}; the consumers send back "
                 f"{_inline(sent[0])} and {_inline(sent[1])}")
        _compare_backward_case(kind, 1, *two, outputs, label)
        network = _random_network(rng)
        values, sent = _network_case(kind, *network)
        inputs = ", ".join(f"{name} = {_inline(v)}" for name, v in zip("XWby", network))
        label = f"{names[kind]} with these values"
        with _other_inputs(f"{kind}.backward", inputs):
            _compare_backward_case(kind, 2, values, sent, outputs, label)
    return compare_fn


def _pin_lesson(kind, outputs, expected):
    """The four gradient arrays the lesson prints, from the learner's piece and the lesson's math for the rest."""
    l_, a_, grad_a, grad_l = _lesson_upstream()
    if kind == "Sigmoid":
        grad_l = _get(outputs, "case0_x", "Sigmoid.backward")
    if kind == "Linear":
        grads = {n: _get(outputs, f"case0_{n}", "Linear.backward") for n in "XWb"}
    else:
        grads = {"X": grad_l @ LESSON_W.T, "W": LESSON_X.T @ grad_l, "b": grad_l.sum(axis=0)}
    grads["y"] = (_get(outputs, "case0_y", "MSE.backward") if kind == "MSE"
                  else (2 / a_.size) * (LESSON_Y - a_.ravel()))
    for name in "XyWb":
        _same(grads[name], LESSON_GRADIENTS[name],
              f"With your {kind}.backward, the lesson's gradient for {name}", **PRINTED)


_visible_and_hidden(
    "sigmoid_backward", "ps4_backprop", partial(_probe_backward, "Sigmoid"), partial(_compare_backward, "Sigmoid"),
    visible="Sigmoid.backward gives the lesson's four gradient arrays for X, y, W and b, and adds up two consumers.",
    hidden="Sigmoid.backward on random shapes, a batch of 1 and a node with two consumers, against finite differences.")
_visible_and_hidden(
    "linear_backward", "ps4_backprop", partial(_probe_backward, "Linear"), partial(_compare_backward, "Linear"),
    visible="Linear.backward gives the lesson's gradients for X, W and b, and adds up two consumers of a 3x4 output.",
    hidden="Linear.backward on random shapes, a batch of 1 and a node with two consumers, against finite differences.")
_visible_and_hidden(
    "mse_backward", "ps4_backprop", partial(_probe_backward, "MSE"), partial(_compare_backward, "MSE"),
    visible="MSE.backward gives the lesson's gradients for y ([0.9999833, 1.9999833]) and a, and scales by its consumers.",
    hidden="MSE.backward on random rows and columns, a single example, and an MSE with two consumers.")


# --- ps5: sgd_update and training ----------------------------------------------------

def _sgd_cases(rng, hidden):
    if not hidden:
        return [([LESSON_W, LESSON_B], [np.array([[5.0], [-10.0]]), np.array([2.0])], 0.1),
                ([np.array([[1.0, 2.0], [3.0, 4.0]])], [np.array([[1.0, 1.0], [-1.0, 0.0]])], None)]
    cases = []
    for _ in range(2):
        count = int(rng.integers(1, 5))
        values = [rng.normal(size=_random_shape(rng, ndim=int(rng.integers(1, 3)))) for _ in range(count)]
        cases.append((values, [rng.normal(size=v.shape) for v in values], float(rng.uniform(0.001, 0.5))))
    return cases


def _random_sgd_case(rng):
    """A visible check's extra case: random W and b of the lesson's shapes, random gradients and learning rate."""
    values = [_small(rng, np.shape(LESSON_W)), _small(rng, np.shape(LESSON_B))]
    return values, [_small(rng, np.shape(v), scale=10.0) for v in values], float(rng.choice([0.05, 0.2, 0.3, 0.5]))


def _probe_sgd(hidden):
    def probe_fn(namespace, rng):
        update = _learner(namespace, "sgd_update", "function")
        outputs = {}
        for i, (values, grads, rate) in enumerate(_with_random_case(_sgd_cases(rng, hidden), hidden,
                                                                    _random_sgd_case, rng)):
            holder = {}

            def run(values=values, grads=grads, rate=rate, holder=holder):
                trainables = [Input(name=f"t{j + 1}") for j in range(len(values))]
                given = [np.array(v, dtype=float) for v in values]
                for t, v, g in zip(trainables, given, grads):
                    t.value = v
                    t.gradients = {t: np.array(g, dtype=float)}
                if rate is None:
                    update(trainables)
                else:
                    update(trainables, rate)
                holder["trainables"], holder["given"] = trainables, given
                return np.array(0.0)

            _attempt(outputs, f"case{i}_ran", run)
            for j in range(len(values)):
                if "trainables" in holder:
                    _attempt(outputs, f"case{i}_t{j}", lambda j=j: holder["trainables"][j].value)
                    outputs[f"case{i}_t{j}_given_changed"] = np.array(
                        not np.array_equal(holder["given"][j], values[j]))
        return outputs
    return probe_fn


def _compare_sgd(hidden):
    def compare_fn(outputs, rng):
        fixed = _sgd_cases(rng, hidden)
        for i, (values, grads, rate) in enumerate(_with_random_case(fixed, hidden, _random_sgd_case, rng)):
            if hidden or i < len(fixed):
                _judge_sgd(i, values, grads, rate, outputs)
                continue
            inputs = "; ".join(f"value {_inline(v)}, gradient {_inline(g)}" for v, g in zip(values, grads))
            with _other_inputs("sgd_update", f"{inputs}; learning rate {rate:.3g}"):
                _judge_sgd(i, values, grads, rate, outputs)
    return compare_fn


def _judge_sgd(i, values, grads, rate, outputs):
    lr = 1e-2 if rate is None else rate
    call = "sgd_update(trainables)" if rate is None else f"sgd_update(trainables, {rate:.3g})"
    _get(outputs, f"case{i}_ran", call)
    for j, (v, g) in enumerate(zip(values, grads)):
        what = f"{call}: the new value of trainable {j + 1} (value {_inline(v)}, gradient {_inline(g)})" \
            if v.size <= 4 else f"{call}: the new value of trainable {j + 1} (shape {v.shape})"
        if bool(outputs.get(f"case{i}_t{j}_given_changed", False)):
            raise CheckFailed(
                f"{call} changed the array it was given in place (`t.value -= ...`). Other code may hold "
                "that array (the data you fed in, or a copy of the weights you want to compare with): "
                "assign a new array instead, `t.value = t.value - learning_rate * gradient`.")
        got = _get(outputs, f"case{i}_t{j}", what)
        hints = [(v + lr * g, "that steps uphill: subtract the gradient, w - learning_rate * dC/dw."),
                 (v - g, "multiply the gradient by the learning rate."),
                 (v - 1e-2 * g if rate is not None else None,
                  "use the learning_rate argument instead of a fixed 0.01."),
                 (-lr * g, "the new value is the old value minus the step, not the step alone."),
                 (v, "the value did not change: assign the updated value to t.value.")]
        _same(got, v - lr * g, what, hints, shape_hint="the update keeps the shape of the value.")


_visible_and_hidden(
    "sgd_update", "ps5_sgd", _probe_sgd, _compare_sgd,
    visible="sgd_update moves each trainable one step against its gradient, "
                                "with the given learning rate or 0.01.",
    hidden="sgd_update on random trainables, shapes and learning rates.")

#: The settings the training checks pass to the learner's train(); the threshold is on standardised targets.
TRAIN_SETTINGS = dict(n_hidden=10, epochs=100, batch_size=11, learning_rate=0.05)
TRAIN_THRESHOLD = 0.55


def standardised_diabetes():
    """scikit-learn's diabetes data (bundled), each feature and the target scaled to mean 0 and std 1."""
    from sklearn.datasets import load_diabetes
    data = load_diabetes()
    X_, y_ = data["data"], data["target"]
    return (X_ - X_.mean(axis=0)) / X_.std(axis=0), (y_ - y_.mean()) / y_.std()


def _train_data(rng, hidden):
    X_, y_ = standardised_diabetes()
    seed = int(rng.integers(0, 2**31))
    if hidden:
        rows = rng.permutation(len(y_))[: int(0.8 * len(y_))]
        columns = rng.permutation(X_.shape[1])
        X_, y_ = X_[rows][:, columns], y_[rows]
    return X_, y_, seed


def _sgd_step(trainables, learning_rate=1e-2):
    """One SGD step, standing in for the learner's sgd_update while their training loop is checked."""
    for t in trainables:
        t.value = t.value - learning_rate * t.gradients[t]


def _random_train_data(rng):
    """A visible check's extra case: the same data with its features in a random order, and another seed."""
    X_, y_ = standardised_diabetes()
    columns = rng.permutation(X_.shape[1])
    return X_[:, columns], y_, int(rng.integers(0, 2**31))


def _probe_train(hidden):
    def probe_fn(namespace, rng):
        train = _learner(namespace, "train", "function")
        outputs = {}
        _run_train(namespace, train, *_train_data(rng, hidden), outputs, "")
        if not hidden:
            _run_train(namespace, train, *_random_train_data(rng), outputs, "random_")
        return outputs
    return probe_fn


def _run_train(namespace, train, X_, y_, seed, outputs, prefix):
    had = "sgd_update" in namespace
    saved = namespace.get("sgd_update")
    namespace["sgd_update"] = _sgd_step
    try:
        holder = {}

        def run():
            holder["params"] = train(X_.copy(), y_.copy(), seed=seed, **TRAIN_SETTINGS)
            return np.array(0.0)
        _attempt(outputs, prefix + "ran", run)
    finally:
        if had:
            namespace["sgd_update"] = saved
        else:
            namespace.pop("sgd_update", None)
    if "params" in holder:
        params = holder["params"]
        try:
            params = list(params)
        except Exception as error:
            outputs[prefix + "params__error"] = np.array(_describe(error))
            return
        outputs[prefix + "count"] = np.array(len(params))
        for name, value in zip(("W1", "b1", "W2", "b2"), params):
            _attempt(outputs, prefix + name, lambda value=value: value)


def _network_cost(X_, y_, W1, b1, W2, b2):
    X, y, w1, c1, w2, c2 = (Input(name=n) for n in ("X", "y", "W1", "b1", "W2", "b2"))
    cost = MSE(y, Linear(Sigmoid(Linear(X, w1, c1)), w2, c2))
    graph = miniflow.topological_sort({X: X_, y: y_, w1: W1, c1: b1, w2: W2, c2: b2})
    return float(miniflow.forward_pass(cost, graph))


def _compare_train(hidden):
    def compare_fn(outputs, rng):
        what = ("train on the standardised diabetes data" if not hidden
                else "train on a random 80% of the diabetes data with its features shuffled")
        _judge_train(outputs, "", what, *_train_data(rng, hidden))
        if not hidden:
            X_, y_, seed = _random_train_data(rng)
            with _other_inputs("train", "the same data with its features in another order",
                               lesson="fits the lesson's data",
                               fix="train on the data it is given rather than returning fixed weights"):
                _judge_train(outputs, "random_", "train on the standardised diabetes data with its features "
                                                 "in another order", X_, y_, seed)
    return compare_fn


def _judge_train(outputs, prefix, what, X_, y_, seed):
    _get(outputs, prefix + "ran", what)
    if prefix + "params__error" in outputs:
        raise CheckFailed(f"{what}: the result is not a list of arrays: {outputs[prefix + 'params__error']}")
    if int(outputs.get(prefix + "count", -1)) != 4:
        raise CheckFailed(f"{what} should return the four trained values [W1, b1, W2, b2], "
                          f"got {int(outputs.get(prefix + 'count', 0))} item(s).")
    k, h = X_.shape[1], TRAIN_SETTINGS["n_hidden"]
    shapes = {"W1": (k, h), "b1": (h,), "W2": (h, 1), "b2": (1,)}
    params = {}
    for name, shape in shapes.items():
        params[name] = _get(outputs, prefix + name, f"{what}: the returned {name}")
        if params[name].shape != shape:
            raise CheckFailed(f"{what}: the returned {name} has shape {params[name].shape}, expected {shape} "
                              f"(Linear -> Sigmoid -> Linear with {h} hidden units on {k} features).")
        if not np.all(np.isfinite(params[name])):
            raise CheckFailed(f"{what}: the returned {name} contains NaN or infinity: the training diverged. "
                              "Is the learning rate used as given, and is the gradient subtracted?")
    loss = _network_cost(X_, y_, **params)
    if not loss < TRAIN_THRESHOLD:
        raise CheckFailed(
            f"{what}: after training, the network's MSE on all the data is {loss:.4g}; it should be below "
            f"{TRAIN_THRESHOLD} (predicting the mean scores 1.0).\nHint: each step should sample a new batch of "
            f"batch_size examples, set X.value and y.value, run forward and backward through the sorted graph, "
            f"then update the trainables [W1, b1, W2, b2] with the learning rate given; repeat for "
            f"epochs * (number of examples // batch_size) steps, and return the trained values.")


_visible_and_hidden(
    "train", "ps5_sgd", _probe_train, _compare_train,
    visible="train gets the lesson's network below an MSE of 0.55 on the standardised diabetes data.",
    hidden="train on a random part of the data with shuffled features, from another seed.")
