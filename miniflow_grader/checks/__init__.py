r"""The checks behind every autograded cell of the MiniFlow exercises, one module per assignment.

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

Each assignment's checks are in the module of its name (``ps1_nodes.py``, ...); every
module of this package whose name does not start with ``_`` and is not ``common`` is
one, imported here. The machinery they share is in :mod:`.common`.
"""
import importlib
import io
import os
import pkgutil
import secrets

import numpy as np

from .common import (CHECKS, COMPARES, LOOKED_UP, PROBES, TARGETS, CheckFailed, Missing, cell_error, rng_for,
                     tripwires, watch_cells, wrap)

__all__ = ["CHECKS", "TARGETS", "CheckFailed", "check", "compare", "probe"]

ASSIGNMENT_MODULES = sorted(m.name for m in pkgutil.iter_modules(__path__)
                            if not m.name.startswith("_") and m.name != "common")
for _name in ASSIGNMENT_MODULES:
    importlib.import_module(f"{__name__}.{_name}")


def probe(grade_id, namespace, seed):
    """Run the learner's code for `grade_id`; return {name: plain numpy array}."""
    info = CHECKS[grade_id]
    used = set()
    LOOKED_UP.clear()
    with tripwires(info.assignment, namespace, used):
        try:
            outputs = PROBES[grade_id](namespace, rng_for(grade_id, seed))
        except Missing as missing:
            outputs = {"missing": np.array(str(missing))}
    if used:
        outputs["used_reference"] = np.array(", ".join(sorted(used)))
    try:
        own = cell_error(namespace, list(LOOKED_UP))
    except Exception:   # the notebook's `In` is the learner's to change: it explains, it never decides
        own = ""
    if own:
        outputs["own_error"] = np.array(own)
    return {key: _storable(value) for key, value in outputs.items()}


def compare(grade_id, outputs, seed):
    """Judge the probe's `outputs` for `grade_id`; raise CheckFailed if they are wrong. Runs no learner code.

    When the learner's own cell that defines what the check runs raised an error (or could not be read),
    a failure says so first: that error is the one to fix.
    """
    outputs = dict(outputs)
    for key, value in outputs.items():
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "biufU":
            raise CheckFailed(f"{grade_id}: the recorded result {key!r} is not a plain array")
    own = str(outputs.pop("own_error", ""))
    try:
        _judge(grade_id, outputs, seed)
    except CheckFailed as failure:
        message = str(failure)
        if own:
            message = own if "missing" in outputs else f"{own}\n\nWhat this test found:\n{message}"
        raise CheckFailed(wrap(message, prefix=len("CheckFailed: "))) from None   # lines short enough for Validate


def _judge(grade_id, outputs, seed):
    if "used_reference" in outputs:
        names = str(outputs["used_reference"])
        raise CheckFailed(
            f"Your code calls miniflow's own {names} (imported or inherited) instead of yours. "
            f"Write {names} yourself in the solution cell; using the reference earns nothing.")
    if "missing" in outputs:
        raise CheckFailed(str(outputs["missing"]))
    COMPARES[grade_id](outputs, rng_for(grade_id, seed))


def check(grade_id, namespace):
    """Run the check `grade_id` on the learner's code in `namespace` (a notebook's ``globals()``)."""
    __tracebackhide__ = True
    watch_cells()   # what later cells raise stays known, though each new error replaces sys.last_value
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

