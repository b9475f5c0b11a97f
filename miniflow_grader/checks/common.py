r"""What every assignment's checks share: the registry, running learner code, judging its results, hints.

An assignment's module (``ps1_nodes.py``, ...) declares what the learner writes with
:func:`targets` and registers each check with :func:`register` (or :func:`visible_and_hidden`
for a visible check and its hidden twin). A check is a pair of functions:

* ``probe_fn(namespace, rng)`` runs the learner's code and returns {name: array}; each
  piece of learner code runs through :func:`attempt`, which records a value or what went wrong;
* ``compare_fn(outputs, rng)`` runs no learner code: it draws the same inputs from an
  identically seeded ``rng``, reads each result with :func:`recorded` and judges it with
  :func:`same`, which names the mistake when the result equals a known wrong answer.

Nothing here imports more than NumPy and miniflow: the package also runs inside the grading sandbox.
"""
import ast
import linecache
import os
import re
import sys
import sysconfig
import textwrap
import traceback
import zlib
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

import miniflow
from miniflow import Node


class CheckFailed(AssertionError):
    """A check found a mistake; the message says what is wrong and how to fix it."""

    def _render_traceback_(self):
        """What IPython shows for a failed check (and so nbgrader's Validate dialog): the message, no frames."""
        return f"CheckFailed: {self}".splitlines()   # compare() wrapped it, leaving room for the prefix


WIDTH = 90   # characters per line of a message: Validate's dialog and the feedback page cut longer ones


def wrap(message, width=WIDTH, prefix=0):
    """`message` with every line longer than `width` broken at spaces, continued with a deeper indent.

    The first line is left `prefix` characters shorter, for what is printed before it ("CheckFailed: ").
    """
    lines = []
    for number, line in enumerate(str(message).splitlines()):
        room = width - (prefix if number == 0 else 0)
        if len(line) <= room:
            lines.append(line)
            continue
        indent = line[:len(line) - len(line.lstrip())]
        first, _, rest = textwrap.fill(line, room, break_long_words=False, break_on_hyphens=False).partition("\n")
        lines.append(first)
        if rest:
            lines.extend(textwrap.wrap(indent + "    " + " ".join(rest.split()), width,
                                       subsequent_indent=indent + "    ", break_long_words=False,
                                       break_on_hyphens=False))
    return "\n".join(lines)


@dataclass(frozen=True)
class CheckInfo:
    assignment: str
    hidden: bool
    description: str


#: assignment -> what the learner writes in it, as names in ``miniflow``; filled in by :func:`targets`.
TARGETS = {}
#: grade_id -> CheckInfo; filled in by :func:`register`.
CHECKS = {}
PROBES = {}
COMPARES = {}

PRINTED = dict(rtol=1e-6, atol=1e-12)   # the lesson prints 7 to 9 significant digits


def targets(assignment, names):
    """Declare what the learner writes in `assignment` (e.g. ["Add.forward"]): miniflow's own versions earn nothing."""
    TARGETS[assignment] = list(names)


def register(grade_id, assignment, description, probe_fn, compare_fn, hidden=False):
    """Register the check `grade_id`; `description` opens its grade cell's docstring."""
    CHECKS[grade_id] = CheckInfo(assignment, hidden, description)
    PROBES[grade_id] = probe_fn
    COMPARES[grade_id] = compare_fn


def visible_and_hidden(grade_id, assignment, make_probe, make_compare, visible, hidden):
    """Register `grade_id` (visible) and `grade_id`_hidden from one probe/compare family.

    `make_probe(hidden)` and `make_compare(hidden)` build the two halves for either kind.
    """
    register(grade_id, assignment, visible, make_probe(False), make_compare(False))
    register(grade_id + "_hidden", assignment, hidden, make_probe(True), make_compare(True), hidden=True)


def rng_for(grade_id, seed):
    return np.random.default_rng([int(seed), zlib.crc32(grade_id.encode())])


class Missing(Exception):
    """The notebook does not define what the check needs."""


class ReferenceUsed(Exception):
    pass


#: The names the running probe looked up with :func:`learner`: what the learner's own cells must define.
LOOKED_UP = []


def learner(namespace, name, kind="class"):
    LOOKED_UP.append(name)
    try:
        obj = namespace[name]
    except KeyError:
        raise Missing(
            f"`{name}` is not defined: run the cell that defines it (and every cell above) "
            "before this test.") from None
    if kind == "class" and not (isinstance(obj, type) and issubclass(obj, Node)):
        raise Missing(f"`{name}` should be a class derived from miniflow's Node, got {type(obj).__name__}.")
    if kind == "function" and not callable(obj):
        raise Missing(f"`{name}` should be a function, got {type(obj).__name__}.")
    return obj


def target_owners(dotted):
    owner, _, attr = dotted.rpartition(".")
    if owner:
        return [getattr(miniflow, owner)], attr
    modules = [miniflow, miniflow.graph, miniflow.nodes, miniflow.optim, miniflow.check]
    return [m for m in modules if attr in vars(m)], attr


@contextmanager
def tripwires(assignment, namespace, used):
    """While the learner's code runs, each reference target of `assignment` records its use and raises."""
    restore = []
    try:
        for dotted in TARGETS[assignment]:
            owners, attr = target_owners(dotted)
            original = vars(owners[0])[attr]

            def wire(*args, _dotted=dotted, **kwargs):
                used.add(_dotted)
                raise ReferenceUsed(f"miniflow's own {_dotted} was called")

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


def describe(error):
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


def cell_error(namespace, names):
    """What went wrong when the learner's own cell that defines one of `names` last ran, in words, or "".

    The notebook's kernel is IPython: `In` (in the notebook's globals) holds the source of every cell
    run, in the order they ran, and ``sys.last_value`` the last error a cell raised. A cell Python
    cannot read (a SyntaxError) ran nothing, so it defined nothing; a cell that raised stopped there.
    """
    history = namespace.get("In")
    if not isinstance(history, list):
        return ""
    for name in dict.fromkeys(names):
        definition = re.compile(rf"^(?:class|def)\s+{re.escape(name)}\b", re.M)
        sources = [s for s in history if isinstance(s, str) and definition.search(s)]
        if not sources:
            continue
        latest = sources[-1]
        defined = name in namespace
        then = (f"Until it runs without an error, the tests use the `{name}` from the last time it did."
                if defined else f"Until it runs without an error, `{name}` is not defined.")
        try:
            compile(latest, "<cell>", "exec", ast.PyCF_ALLOW_TOP_LEVEL_AWAIT | ast.PyCF_ONLY_AST)
        except SyntaxError as error:
            text = (error.text or "").strip()
            return (f"Your cell that defines `{name}` did not run: Python cannot read it.\n"
                    f"    {type(error).__name__}: {error.msg}, at line {error.lineno} of that cell"
                    + (f":\n        {text}" if text else "") +
                    f"\nFix that line and run the cell again, then this test. {then}")
        raised = _raised_in(latest)
        if raised:
            error, frame = raised
            message = f"{type(error).__name__}: {error}"
            if len(message) > 400:
                message = message[:400] + "..."
            return (f"Your cell that defines `{name}` stopped with an error when it last ran:\n    {message}"
                    + (f", at line {frame.lineno} of that cell:\n        {frame.line.strip()}" if frame else "")
                    + "\nFix it and run the cell again, then this test.")
        if raised is None and (not defined or _defined_in(namespace[name]) not in (None, latest.strip())):
            return (f"Your cell that defines `{name}` ran, but stopped with an error before `{name}` was defined "
                    f"(the error is shown below that cell).\nFix it and run the cell again, then this test. {then}")
    return ""


#: (source, error or None) of the cells run since the first check in this kernel (IPython's post_run_cell).
CELLS_RUN = []
_WATCHING = []


def watch_cells():
    """From now on, keep what each cell of the notebook raised, so a later cell's error does not hide it."""
    if _WATCHING:
        return
    _WATCHING.append(True)
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        return

    def after(result):
        source = getattr(getattr(result, "info", None), "raw_cell", None)
        if isinstance(source, str):
            CELLS_RUN.append((source.strip(), result.error_in_exec or result.error_before_exec))
            del CELLS_RUN[:-200]
    shell.events.register("post_run_cell", after)


def _raised_in(source):
    """(the error the cell whose source is `source` raised when it last ran, its deepest frame there or None).

    False when that run is known to have raised nothing; None when it is not known.
    """
    source = source.strip()
    for ran, error in reversed(CELLS_RUN):
        if ran == source:
            return (error, _frame_in(error, source)) if error is not None else False
    error = getattr(sys, "last_value", None)
    if not isinstance(error, BaseException) or isinstance(error, SyntaxError):
        return None   # a SyntaxError is found by reading the cell again
    frames = traceback.extract_tb(error.__traceback__)
    cell = next((f for f in frames if f.name == "<module>"), None)   # the cell that was running
    if cell is None or "".join(linecache.getlines(cell.filename)).strip() != source:
        return None   # raised by another cell, perhaps in a function this one defines
    return error, _frame_in(error, source)


def _frame_in(error, source):
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if "".join(linecache.getlines(f.filename)).strip() == source]
    return frames[-1] if frames else None


def _defined_in(obj):
    """The source of the cell that defined the function or class `obj` (stripped), or None if unknown."""
    if isinstance(obj, type):
        functions = [v for v in vars(obj).values() if hasattr(v, "__code__")]
    else:
        functions = [obj] if hasattr(obj, "__code__") else []
    for function in functions:
        lines = linecache.getlines(function.__code__.co_filename)
        if lines:
            return "".join(lines).strip()
    return None


def attempt(outputs, key, compute):
    """outputs[key] = compute() as a float array, or outputs[key + '__error'] = what went wrong."""
    try:
        value = compute()
        if value is None:
            raise NoValue()
        outputs[key] = np.array(value, dtype=float)
    except NoValue:
        outputs[key + "__error"] = np.array("NoValue")
    except OutOfSteps as out:
        outputs[key + "__error"] = np.array(f"OutOfSteps: {out.args[0]}")
    except ReferenceUsed:
        pass
    except Problem as problem:
        outputs[key + "__error"] = np.array("Problem: " + str(problem))
    except Exception as error:   # learner code may raise anything; it is reported, not fatal
        outputs[key + "__error"] = np.array(describe(error))


class NoValue(Exception):
    pass


class OutOfSteps(BaseException):
    """Learner code ran more lines than its budget (a BaseException, so `except Exception` does not stop it)."""


def _library_paths():
    paths = {os.path.dirname(os.path.abspath(__file__)), os.path.dirname(os.path.abspath(miniflow.__file__)),
             os.path.dirname(os.path.abspath(np.__file__))}
    for name in ("stdlib", "platstdlib", "purelib", "platlib"):
        if sysconfig.get_paths().get(name):
            paths.add(sysconfig.get_paths()[name])
    return tuple(sorted(paths))


@contextmanager
def step_budget(lines=200_000):
    """Stop learner code that runs more than `lines` lines of its own, by raising OutOfSteps inside it.

    Only the learner's own code is counted (not miniflow, NumPy or the standard library), so the
    budget is a count of their loop's steps, the same on a fast or a busy machine, and an endless
    loop ends in a moment with a message instead of at the notebook's time limit.
    """
    library = _library_paths()
    count = [0]

    def local(frame, event, arg):
        if event == "line":
            count[0] += 1
            if count[0] > lines:
                raise OutOfSteps(lines)
        return local

    def calls(frame, event, arg):
        return None if frame.f_code.co_filename.startswith(library) else local

    previous = sys.gettrace()
    sys.settrace(calls)
    try:
        yield
    finally:
        sys.settrace(previous)


class Problem(Exception):
    """Something the check noticed about the learner's result (not an error their code raised)."""


def value_after_forward(node):
    returned = node.forward()
    if node.value is None:
        if returned is not None:
            raise Problem("forward() returned its result but left self.value as None: "
                           "assign the result to self.value instead of returning it.")
        raise Problem("self.value is still None after forward(): assign the result to self.value.")
    return node.value


def gradient_of(node, wrt):
    gradients = node.gradients
    if not isinstance(gradients, dict):
        raise Problem(f"self.gradients should be a dict {{input node: gradient}}, got {type(gradients).__name__}.")
    if wrt not in gradients:
        keys = [_key_name(node, key) for key in list(gradients)[:6]]
        held = f"its keys are {', '.join(keys)}" if keys else "it is empty"
        names = any(isinstance(key, str) for key in gradients)
        raise Problem(f"self.gradients has no entry for the input {wrt.name!r} ({held}): "
                       + ("key each gradient by the input node object, not its name, "
                          if names else "key each gradient by the input node object, ")
                       + "e.g. self.gradients[self.inbound_nodes[0]].")
    return gradients[wrt]


def _key_name(node, key):
    if key is node:
        return "this node itself"
    if isinstance(key, Node):
        return f"the node {key.name!r}"
    return f"{type(key).__name__} {str(key)[:30]!r}" if isinstance(key, str) else type(key).__name__


def run_forward(outputs, key, make_node):
    """Run the learner's forward twice on fresh inputs, as a graph does on every step.

    `make_node()` returns (node, its input nodes) with the inputs' values set. Records the first
    value as outputs[key], the names of inputs whose value the forward changed as key_changed,
    and the value of a second forward on the same inputs as key_again.
    """
    holder = {}

    def first():
        node, inputs = make_node()
        holder["node"], holder["inputs"] = node, inputs
        holder["given"] = [np.array(n.value, dtype=float, copy=True) for n in inputs]
        return value_after_forward(node)

    attempt(outputs, key, first)
    if "node" not in holder or key not in outputs:
        return
    changed = [n for n, given in zip(holder["inputs"], holder["given"]) if not _unchanged(n.value, given)]
    outputs[key + "_changed"] = np.array(", ".join(dict.fromkeys(n.name for n in changed)))
    if changed:
        value = holder["node"].value
        shared = [n.name for n in changed if isinstance(value, np.ndarray) and isinstance(n.value, np.ndarray)
                  and np.shares_memory(value, n.value)]
        outputs[key + "_shared"] = np.array(", ".join(dict.fromkeys(shared)))
    if not changed:
        attempt(outputs, key + "_again", lambda: value_after_forward(holder["node"]))


def _unchanged(value, given):
    try:
        value = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return False
    return value.shape == given.shape and bool(np.array_equal(value, given, equal_nan=True))


def judge_forward_purity(outputs, key, what, method):
    """After the first value passed: the inputs are untouched and a second forward gives the same value."""
    changed = str(outputs.get(key + "_changed", ""))
    if changed:
        shared = str(outputs.get(key + "_shared", ""))
        seen = (f"self.value is {shared}'s own array: the result was computed in the input's array"
                if shared else f"the value of {changed} is not what it was given")
        raise CheckFailed(
            f"{what}: the value is right, but {method} changed the value of its input {changed}, so every "
            f"later use of that input (the next forward, the backward pass) sees a wrong number: {seen}.\n"
            "Hint: an in-place operation (`+=`, `*=`, out=, or assigning into `x[...]`) writes into the array it "
            "works on. Never change an input's value: build a new array (`total = total + v` rather than "
            "`total += v`, `np.exp(x)` rather than `np.exp(x, out=x)`), or work on a copy (`x.copy()`).")
    first = recorded(outputs, key, what)
    again = recorded(outputs, key + "_again", f"{what}, run a second time")
    if again.shape != first.shape or not np.allclose(again, first, rtol=1e-12, atol=1e-12):
        raise CheckFailed(
            f"{what}: the first {method} gave the right value, but a second one on the same inputs gave "
            f"{fmt(again)} instead of {fmt(first)}.\nHint: a graph runs forward again on every step; compute "
            "self.value from the inputs' values alone, starting each sum or product afresh inside forward, "
            "and keep nothing from one call to the next.")


# --- judging ---------------------------------------------------------------

def fmt(array):
    return np.array2string(np.asarray(array), precision=8, separator=", ", threshold=24,
                           max_line_width=WIDTH - 14).replace("\n", "\n            ")


def inline(array):
    """An array on one line, for naming the inputs of a test case."""
    text = np.array2string(np.asarray(array), precision=8, separator=", ", threshold=24, max_line_width=10_000)
    return " ".join(line.strip() for line in text.splitlines())


def raised_line(error):
    """The learner's line that `error` (a :func:`describe` text) was raised at, or ""."""
    return error.partition("\n    raised at: ")[2].strip()


def error_hint(error):
    """A hint for the error text `error` (from :func:`describe`), only where the error and its line show the cause."""
    line = raised_line(error)
    kind = error.partition(":")[0]
    if "is yours to write" in error:
        return ("Your code calls miniflow's own version (imported or inherited) instead of yours: "
                "write it yourself in the solution cell.")
    if error.startswith("NotImplementedError"):
        return "It is not written yet: replace `raise NotImplementedError()` with your code."
    if kind == "TypeError" and re.search(r"\b(?:np|numpy)\.(?:add|multiply)\(", line):
        name = re.search(r"\b(?:np|numpy)\.(add|multiply)\(", line).group(1)
        return (f"np.{name} combines exactly two arrays (a third argument is not a third input: it is the array "
                f"NumPy writes the result into, `out`). For any number of inputs, combine the values one by one "
                "in a loop.")
    if "unsupported operand" in error and ("Input" in error or "Node" in error or "Add" in error or "Mul" in error):
        return ("You combined node objects, not numbers: use the value of each input node, "
                "e.g. `n.value for n in self.inbound_nodes`.")
    if "matmul" in error or "shapes" in error and "not aligned" in error:
        return ("The matrix shapes do not fit in the product at that line: (a, b) @ (c, d) needs b == c. "
                "For Z = XW + b with X (n, n_in) and W (n_in, n_out), Z and G = dC/dZ are (n, n_out): "
                "dC/dX = G @ W.T is (n, n_in) and dC/dW = X.T @ G is (n_in, n_out). Element-by-element "
                "products use *, not @ or np.dot.")
    into = re.search(r"non-broadcastable output operand with shape (\([\d, ]*\)) doesn't match the broadcast "
                     r"shape (\([\d, ]*\))", error)
    if into:
        return (f"An in-place operation at that line (`+=`, `-=`, `*=` or out=) writes a result of shape "
                f"{into.group(2)} into an array of shape {into.group(1)}, which cannot grow."
                + (" A gradient always has the shape of the value it belongs to." if "gradients" in line else ""))
    apart = re.search(r"could not be broadcast together with (?:remapped )?shapes ((?:\([\d, ]*\)\s*)+)", error)
    if apart:
        shapes = re.findall(r"\([\d, ]*\)", apart.group(1))
        in_place = re.search(r"[-+*/@]=", line)
        if in_place and len(shapes) == 3:   # NumPy names the two operands and the output, the left side
            found = (f"`{in_place.group(0)}` at that line combines the array on its left, of shape {shapes[0]}, with "
                     f"a result of shape {shapes[1]}, and NumPy cannot make them one shape.")
        else:
            found = (f"NumPy cannot combine arrays of shapes {' and '.join(shapes[:2])} element by element at that "
                     "line: print the shape of each operand there.")
        return found + (" A gradient always has the shape of the value it belongs to." if "gradients" in line else "")
    if "only length-1 arrays" in error or "only 0-dimensional" in error or "math" in error and "TypeError" in error:
        return "Use NumPy functions (np.exp, np.sum, ...) that work on whole arrays, not the math module."
    if kind == "IndexError" and "tuple index out of range" in error and ".shape[" in line:
        return ("An array at that line has fewer axes than the index asks for: a row (m,) has one axis, so its "
                ".shape[1] does not exist. Use np.size(v) for the number of elements, or reshape first.")
    if (kind == "IndexError" or "values to unpack" in error) and "inbound_nodes" in line:
        return "A node can have any number of inputs: loop over self.inbound_nodes instead of indexing a fixed few."
    if kind == "RecursionError":
        return "Your code calls itself without end."
    if kind == "KeyError" and ".gradients[" in line and "self.gradients[" not in line:
        return ("A consumer's gradient is stored under this node: read it as `n.gradients[self]` for each consumer "
                "n in self.outbound_nodes (or use self.upstream_gradient(), their sum).")
    return ""


def recorded(outputs, key, what):
    """The learner's recorded array `key`, or CheckFailed saying why there is none."""
    error = outputs.get(key + "__error")
    if error is not None:
        error = str(error)
        if error == "NoValue":
            raise CheckFailed(f"{what}: your code gave None. Did you forget to return (or set) the result?")
        if error.startswith("OutOfSteps: "):
            raise CheckFailed(f"{what}: your code did not finish: it ran {int(error.split()[1]):,} lines without "
                              "returning, so it was stopped.\nHint: some loop never ends; check the condition "
                              "that should stop it.")
        if error.startswith("Problem: "):
            raise CheckFailed(f"{what}: {error[len('Problem: '):]}")
        if error.startswith("NotImplementedError") and "is yours to write" not in error:
            raise CheckFailed(f"{what}: it is not written yet. Replace `raise NotImplementedError()` in the "
                              "solution cell with your code, run that cell, then this test again.")
        hint = error_hint(error)
        raise CheckFailed(f"{what}: your code raised\n    {error}" + (f"\nHint: {hint}" if hint else ""))
    if key not in outputs:
        raise CheckFailed(f"{what}: no result was recorded; the test did not get that far.")
    value = outputs[key]
    if value.dtype.kind not in "biuf":
        raise CheckFailed(f"{what} should be numbers, got {value.dtype}.")
    return value.astype(float)


def maybe(compute):
    """A hint's wrong answer, or None where that mistake cannot happen with these shapes."""
    try:
        with np.errstate(all="ignore"):
            return compute()
    except (ValueError, TypeError, ZeroDivisionError):
        return None


def close(a, b, rtol=1e-6, atol=1e-9):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def matching_hints(got, expected, hints, rtol=1e-6, atol=1e-9):
    """The causes, in order and each once, of the known wrong answers that `got` equals."""
    causes = []
    for wrong, hint in hints:
        if (wrong is not None and hint not in causes and not close(wrong, expected, rtol, atol)
                and close(got, wrong, rtol, atol)):
            causes.append(hint)
    return causes


def hint_text(causes):
    if len(causes) == 1:
        return f"Hint: {causes[0]}"
    return "Hint: one of these mistakes gives this answer:" + "".join(f"\n  - {c}" for c in causes)


def same(got, expected, what, hints=(), shape_hint="", rtol=1e-6, atol=1e-9, note=""):
    """Raise CheckFailed unless `got` equals `expected`; `hints` are (wrong answer, what causes it) pairs."""
    expected = np.asarray(expected, dtype=float)
    causes = matching_hints(got, expected, hints, rtol, atol)
    if causes:
        raise CheckFailed(f"{what} is wrong.\n  expected: {fmt(expected)}\n  got:      {fmt(got)}"
                          f"\n{hint_text(causes)}{note}")
    if got.shape != expected.shape:
        raise CheckFailed(f"{what} has shape {got.shape}, but it should have shape {expected.shape}."
                          + (f"\nHint: {shape_hint}" if shape_hint else "") + note)
    if not np.all(np.isfinite(got)):
        raise CheckFailed(f"{what} contains NaN or infinity: {fmt(got)}\n  expected: {fmt(expected)}{note}")
    if not np.allclose(got, expected, rtol=rtol, atol=atol):
        raise CheckFailed(f"{what} is wrong.\n  expected: {fmt(expected)}\n  got:      {fmt(got)}{note}")


GRADIENT_SHAPE = "a gradient always has the shape of the value it belongs to (np.zeros_like(n.value) to start)."


def random_shape(rng, ndim=None, batch=None):
    ndim = int(rng.integers(0, 3)) if ndim is None else ndim
    shape = [int(rng.integers(2, 6)) for _ in range(ndim)]
    if batch is not None and shape:
        shape[0] = batch
    return tuple(shape)


def small(rng, shape, scale=3.0):
    """Random numbers with two decimals, easy to read in a message."""
    return np.round(rng.uniform(-scale, scale, size=shape), 2)


def with_random_case(cases, hidden, draw, rng):
    """The fixed cases of a visible check and one more drawn from `rng` after them; hidden cases unchanged."""
    return cases if hidden else cases + [draw(rng)]


@contextmanager
def other_inputs(what, inputs, lesson="gives the lesson's numbers",
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


