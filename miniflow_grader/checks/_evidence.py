r"""Judging with evidence: a hint only where every case agrees with it, and otherwise what was observed.

A check runs several cases; for each it knows the right answer and the answers of known wrong variants
(computed by the check itself). :func:`consistent` keeps the variants that the learner's results match in *every*
case (a variant that equals the right answer in some case must be right there too), so a hint is never
contradicted by another case. When no variant fits, :func:`observed` says precisely what differs: which entries,
by how much, in which case.
"""
import contextlib

import numpy as np

import miniflow
import miniflow.check

from .common import CheckFailed, ReferenceUsed, fmt


def close(a, b, rtol=1e-7, atol=1e-9):
    """Same shape and values, NaN matching NaN and an infinity the same infinity."""
    if a is None or b is None:
        return False
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        return False
    with np.errstate(all="ignore"):
        return bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))


def consistent(cases, rtol=1e-7, atol=1e-9):
    """The hints whose variant the learner's results match in every case.

    `cases` are (got, expected, [(variant, hint), ...]) with got None where nothing was recorded; each case lists
    its variants in the same order (None where a variant cannot be computed). A hint counts only if its variant
    differs from the right answer in some case where the learner was wrong.
    """
    if not cases:
        return []
    hints = []
    for j, (_, hint) in enumerate(cases[0][2]):
        agrees, tells = True, False
        for got, expected, variants in cases:
            if got is None or j >= len(variants) or variants[j][0] is None:
                continue
            wrong = variants[j][0]
            if not close(got, wrong, rtol, atol):
                agrees = False
                break
            if not close(wrong, expected, rtol, atol) and not close(got, expected, rtol, atol):
                tells = True
        if agrees and tells and hint not in hints:
            hints.append(hint)
    return hints


def hint_lines(hints):
    if len(hints) == 1:
        return f"Hint: {hints[0]}"
    return "Hint: one of these mistakes gives these answers:" + "".join(f"\n  - {h}" for h in hints)


def observed(got, expected):
    """What differs between `got` and `expected` (same shape), in a sentence."""
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    with np.errstate(all="ignore"):
        wrong = ~np.isclose(got, expected, rtol=1e-7, atol=1e-9)
        if not np.any(wrong):
            return "every entry is right"
        if np.all(np.isfinite(got)) and np.all(expected != 0):
            ratio = got / expected
            if np.allclose(ratio, ratio.flat[0], rtol=1e-6):
                return f"every entry is {ratio.flat[0]:.6g} times the right one"
        if np.all(np.isfinite(got)):
            offset = got - expected
            if np.allclose(offset, offset.flat[0], rtol=1e-6, atol=1e-12):
                return f"every entry is the right one {'+' if offset.flat[0] > 0 else '-'} {abs(offset.flat[0]):.6g}"
    places = list(zip(*np.nonzero(wrong))) if got.ndim else [()]
    shown = []
    for place in places[:4]:
        index = "[" + ", ".join(str(int(i)) for i in place) + "]" if place else ""
        shown.append(f"entry {index or '(the only one)'} is {got[place]:.6g} instead of {expected[place]:.6g}")
    more = f" (and {len(places) - 4} more)" if len(places) > 4 else ""
    return f"{len(places)} of {max(got.size, 1)} entries differ: " + "; ".join(shown) + more


def fail_with_evidence(what, got, expected, cases, note="", shape_hint="", rtol=1e-7, atol=1e-9):
    """Raise CheckFailed for one failing case: expected and got, then a consistent hint or what was observed."""
    got = np.asarray(got, dtype=float)
    expected = np.asarray(expected, dtype=float)
    hints = consistent(cases, rtol, atol)
    head = f"{what} is wrong.\n  expected: {fmt(expected)}\n  got:      {fmt(got)}"
    if hints:
        raise CheckFailed(f"{head}\n{hint_lines(hints)}{note}")
    if got.shape != expected.shape:
        raise CheckFailed(f"{what} has shape {got.shape}, but it should have shape {expected.shape}."
                          + (f"\nHint: {shape_hint}" if shape_hint else "") + note)
    raise CheckFailed(f"{head}\nObserved: {observed(got, expected)}.{note}")


#: What a backward pass must not call: numerical differentiation gets the answer without the derivative.
NUMERICAL = ("numerical_gradient", "gradient_check")


@contextlib.contextmanager
def no_library_shortcuts(namespace, used, classes=()):
    """While learner code runs, miniflow.check's numerical differentiation and the methods of `classes` (the
    checks' own stand-ins) record their use in `used` and raise, like the tripwires on an assignment's targets."""
    restore = []

    def wire(label):
        def raising(*args, **kwargs):
            used.add(label)
            raise ReferenceUsed(label)
        return raising

    try:
        for attr in NUMERICAL:
            original = getattr(miniflow.check, attr)
            label = f"miniflow.check.{attr}"
            for owner in (miniflow.check, miniflow):
                if getattr(owner, attr, None) is original:
                    restore.append((owner, attr, original))
                    setattr(owner, attr, wire(label))
            for key, value in list(namespace.items()):
                if value is original:
                    restore.append((namespace, key, value))
                    namespace[key] = wire(label)
        for cls in classes:
            for attr in ("forward", "backward"):
                restore.append((cls, attr, vars(cls)[attr]))
                setattr(cls, attr, wire(f"the grader's own {getattr(cls, 'role', cls.__name__)}.{attr}"))
        yield
    finally:
        for owner, attr, value in reversed(restore):
            if owner is namespace:
                namespace[attr] = value
            else:
                setattr(owner, attr, value)


def judge_shortcuts(outputs, part):
    """CheckFailed if the probe saw the learner's `part` call a library shortcut."""
    used = str(outputs.get("library_used", ""))
    if not used:
        return
    if "miniflow.check" in used:
        raise CheckFailed(f"{part} differentiates numerically ({used}) instead of computing the derivative: "
                          "a finite difference is how a gradient is checked, not how it is written. Write the "
                          "derivative itself; getting it from the library earns nothing.")
    raise CheckFailed(f"{part} calls {used} instead of code of your own: write it yourself in the solution cell; "
                      "using the grader's own version earns nothing.")
