"""Shared by the grading tests: required tools, a local server, gradebook dumps, leftover processes."""
import os
import shutil
import socketserver
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest


def require(tool, why):
    """Fail in CI (where .ci/run installs the tool), skip elsewhere, when `tool` is missing."""
    if shutil.which(tool) is None and not any(Path(p).is_file() for p in _debian_paths(tool)):
        message = f"{tool} is needed for {why}"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI installs it: .ci/run)")
        pytest.skip(message)


def _debian_paths(tool):
    return sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{tool}")) if Path("/usr/lib/postgresql").is_dir() else []


@contextmanager
def serving(payload):
    """A TCP server on 127.0.0.1 that sends `payload` to whoever connects; yields its port."""
    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            self.request.sendall(payload.encode())

    server = socketserver.TCPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def leftover_processes(marker):
    """Grading processes still alive whose command line mentions `marker` (a test's scratch directory),
    and cgroups left by graders in this process: there must be none once grading is over.

    Every sandbox's bwrap names its job directories, which are under the scratch
    directory; everything inside a sandbox dies with its bwrap (pid namespace).
    """
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(marker) in cmdline and ("bwrap" in cmdline or "_miniflow_runner" in cmdline):
            found.append(f"{entry.name}: {cmdline[:200]}")
    prefix = f"miniflow-grader-{os.getpid()}-"
    for cgroups in ("/sys/fs/cgroup/pids", "/sys/fs/cgroup/memory"):
        # os.walk, not rglob: other graders' cgroups come and go while the tree is walked
        for folder, subfolders, _ in os.walk(cgroups):
            found += [os.path.join(folder, name) for name in subfolders if name.startswith(prefix)]
    return found


@contextmanager
def scratch_in(path):
    """Graders started in this block (here or as subprocesses) keep their scratch under `path`."""
    import tempfile
    saved, saved_env = tempfile.tempdir, os.environ.get("TMPDIR")
    tempfile.tempdir = str(path)
    os.environ["TMPDIR"] = str(path)
    try:
        yield path
    finally:
        tempfile.tempdir = saved
        if saved_env is None:
            del os.environ["TMPDIR"]
        else:
            os.environ["TMPDIR"] = saved_env


def gradebook_dump(db_url, assignment):
    """Every grade and comment of the assignment, as comparable tuples."""
    from nbgrader.api import Gradebook
    rows = []
    with Gradebook(db_url) as gb:
        for submission in gb.assignment_submissions(assignment):
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    rows.append((submission.student.id, notebook.name, grade.name, grade.auto_score,
                                 grade.manual_score, grade.needs_manual_grade, grade.max_score))
    return sorted(rows, key=lambda r: tuple(str(x) for x in r))


def recorded(records, assignment):
    """How many submissions of `assignment` the grader's results table (an open Records) holds (0 before it exists)."""
    try:
        return len(records.rows(assignment))
    except Exception:        # the table is made by the grader's first run
        return 0


def not_earned(grades, earns):
    """The grades (rows of gradebook_dump) that are not what their submission earns: full marks for the test
    cells in earns[student], zero for the others."""
    return [(student, grade_id, auto) for student, notebook, grade_id, auto, manual, needs_manual, max_score in grades
            if auto != (max_score if grade_id in earns[student] else 0)]


def kill_when_recorded(command, cwd, env, db_url, assignment, at_least, timeout=600):
    """Start the grading `command`, kill it outright (SIGKILL, no clean-up) once it has recorded `at_least`
    submissions; return how many it had recorded by then."""
    import signal
    import subprocess
    import tempfile
    import time
    from miniflow_grader.records import Records
    records = Records(db_url)
    with tempfile.TemporaryFile() as log:
        grader = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=log,
                                  start_new_session=True)
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and grader.poll() is None and recorded(records, assignment) < at_least:
                time.sleep(0.2)
            if grader.poll() is not None:
                log.seek(0)
                raise AssertionError("grading ended before it could be interrupted:\n"
                                     + log.read().decode(errors="replace")[-2000:])
            os.kill(grader.pid, signal.SIGKILL)
            grader.wait(timeout=60)
        finally:
            if grader.poll() is None:
                grader.kill()
                grader.wait(timeout=60)
    try:
        return recorded(records, assignment)
    finally:
        records.close()
