"""The grader tells its own failures from the learner's: a kernel that stalls is run again, not zeroed.

A real kernel is made to stall from outside (SIGSTOP on the sandboxed kernel's
process, the first time only): the notebook is run again and graded in full,
and the report says what happened. A kernel that goes quiet because of the
learner's own code stalls the same way on the second run: it is graded as it
ran, as the learner's timeout. A learner's endless loop is the learner's (the hostile
catalogue's `infinite_loop`), and is never called an infrastructure problem.
"""
import os
import signal
import threading
import time

import nbformat
import pytest

from hostile import course as C
from hostile.support import leftover_processes, require, scratch_in
from miniflow_grader.records import Records
from miniflow_grader.grade import Grader
from miniflow_grader.machine.sandbox import Limits

# grading a whole course in sandboxes (its fixture) takes minutes on two busy cores
pytestmark = pytest.mark.timeout(900)

SWALLOW_ONE_REPLY = """\
_kernel = get_ipython().kernel
_send = _kernel.session.send
def _quiet(stream, msg_or_type, *args, **kwargs):
    kind = msg_or_type if isinstance(msg_or_type, str) else msg_or_type.get("header", {}).get("msg_type")
    if kind == "execute_reply" and not getattr(_kernel, "_swallowed", False):
        _kernel._swallowed = True       # the kernel goes idle, and its reply never comes
        return None
    return _send(stream, msg_or_type, *args, **kwargs)
_kernel.session.send = _quiet
"""


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _parent(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def _under(pid, marker):
    while pid > 1:
        if marker in _cmdline(pid):
            return True
        pid = _parent(pid)
    return False


def stop_first_kernel(marker, stopped, deadline=180):
    """Stop (SIGSTOP) the first sandboxed kernel started below a process that names `marker`."""
    end = time.monotonic() + deadline
    while time.monotonic() < end and not stopped:
        for entry in os.listdir("/proc"):
            if entry.isdigit() and "_miniflow_runner.py kernel" in _cmdline(int(entry)) \
                    and _under(int(entry), marker):
                os.kill(int(entry), signal.SIGSTOP)
                stopped.append(int(entry))
                return
        time.sleep(0.01)


def _info(root, student):
    records = Records(f"sqlite:///{root}/gradebook.db")
    try:
        import json
        return next(json.loads(r["info"]) for r in records.rows(C.ASSIGNMENT) if r["student"] == student)
    finally:
        records.close()


def test_a_kernel_that_stalls_is_run_again_and_graded_in_full(tmp_path):
    require("bwrap", "grading in a sandbox")
    root = C.make_course(tmp_path / "course", timeout=10)
    C.submit(root, "alice", C.correct_submission(root))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    stopped = []
    watcher = threading.Thread(target=stop_first_kernel, args=(str(scratch), stopped), daemon=True)
    with scratch_in(scratch):
        watcher.start()
        summary = Grader(C.ASSIGNMENT, root, jobs=1, progress=False,
                         limits=Limits(wall_seconds=120, startup_timeout=15)).run()
    watcher.join(timeout=5)
    assert stopped, "the kernel was never seen"
    assert summary["graded"] == ["alice"]
    info = _info(root, "alice")
    assert info["score"] == info["max_score"] == sum(C.points(root).values())
    (hit,) = [h for h in info["limits"] if h["kind"] == "infrastructure"]
    assert "graded on a second run" in hit["detail"]
    assert not [h for h in info["limits"] if h["kind"] == "timeout"]
    assert leftover_processes(scratch) == []


def test_a_kernel_the_learner_silenced_is_the_learners_timeout(tmp_path):
    require("bwrap", "grading in a sandbox")
    root = C.make_course(tmp_path / "course", timeout=5)
    nb = C.correct_submission(root)
    first_test = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade"))
    nb.cells.insert(first_test, nbformat.v4.new_code_cell(SWALLOW_ONE_REPLY))
    nb.cells.insert(first_test + 1, nbformat.v4.new_code_cell("1 + 1"))
    C.submit(root, "mallory", nb)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with scratch_in(scratch):
        Grader(C.ASSIGNMENT, root, jobs=1, progress=False, limits=Limits(wall_seconds=120)).run()
    info = _info(root, "mallory")
    # it went quiet in the same cell on both runs: that is the notebook's doing, graded as a timeout
    assert not [h for h in info["limits"] if h["kind"] == "infrastructure"], info["limits"]
    assert [h for h in info["limits"] if h["kind"] == "timeout"], info["limits"]
    # the quiet cell was not a test: the tests after it ran and were graded, nothing more
    assert info["score"] == sum(C.points(root).values())
    assert leftover_processes(scratch) == []
