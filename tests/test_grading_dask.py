"""Grading on a real local Dask cluster: a scheduler and workers on 127.0.0.1, each worker in a scratch folder of its own.

The workers cannot import MiniFlow or its grader (an import hook refuses them),
so everything they run arrives as data. The same course is graded on this machine
(--jobs 2) and on the cluster, where one worker is killed in the middle of the run
and another one has no working sandbox: the grades are the same, every submission
is graded once, the refusing worker ran nothing and is named.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from hostile import course as C
from hostile.catalogue import CATALOGUE, CORRECT, submit_all
from hostile.support import gradebook_dump, leftover_processes, require, scratch_in
from miniflow_grader.records import Records

pytestmark = [pytest.mark.timeout(1800), pytest.mark.xdist_group("dask")]

CHOSEN = {"always_equal", "import_reference", "hardcode_visible", "syntax_error", "corrupt_ipynb", "os_exit",
          "wrong_file_name", "delete_tests", "sys_exit", "fork_bomb", "root_only_files", "read_solutions",
          "write_gradebook", "kill_runner", "forged_probe", "infinite_loop", "memory_bomb"}

# Worker processes can import neither miniflow nor miniflow_grader: what they run must come as data.
BLOCKER = """\
import sys

class _NotOnWorkers:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("miniflow", "miniflow_grader"):
            raise ImportError(f"{name} is not installed on this worker")
        return None

sys.meta_path.insert(0, _NotOnWorkers())
"""


def _free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """`dask scheduler` and `dask worker` processes on 127.0.0.1, each in its own session."""

    def __init__(self, scratch):
        self.scratch = Path(scratch)
        self.blocker = self.scratch / "blocker"
        self.blocker.mkdir(parents=True)
        (self.blocker / "sitecustomize.py").write_text(BLOCKER)
        self.port = _free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.processes = {}

    def _start(self, name, argv, env, cwd):
        cwd.mkdir(parents=True, exist_ok=True)
        log = open(self.scratch / f"{name}.log", "wb")
        self.processes[name] = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                                stdin=subprocess.DEVNULL, start_new_session=True)

    def start_scheduler(self):
        env = dict(C.env(), PYTHONPATH=str(self.blocker))
        self._start("scheduler", [str(C.BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port",
                                  str(self.port), "--no-dashboard"], env, self.scratch / "scheduler")

    def start_worker(self, name, path=None):
        """A worker whose temporary files (bundles, jobs) all live in its own folder; `path`: its PATH."""
        folder = self.scratch / name
        env = dict(C.env(), PYTHONPATH=str(self.blocker), TMPDIR=str(folder / "tmp"))
        if path is not None:
            env["PATH"] = path
        (folder / "tmp").mkdir(parents=True)
        self._start(name, [str(C.BIN / "dask"), "worker", self.address, "--nthreads", "1", "--nworkers", "1",
                           "--no-nanny", "--name", name, "--no-dashboard", "--local-directory", str(folder / "dask"),
                           "--host", "127.0.0.1"], env, folder)

    def wait_for(self, count, timeout=120):
        from distributed import Client
        deadline = time.monotonic() + timeout
        while True:
            try:
                with Client(self.address, timeout=10) as client:
                    client.wait_for_workers(count, timeout=max(1, deadline - time.monotonic()))
                    return {info["name"]: address for address, info in client.scheduler_info(n_workers=-1)["workers"].items()}
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    raise AssertionError("the Dask cluster did not start: " + self.logs()) from None
                time.sleep(0.5)

    def kill(self, name):
        os.killpg(self.processes[name].pid, signal.SIGKILL)
        self.processes[name].wait(timeout=30)

    def logs(self):
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-1500:]}" for p in self.scratch.glob("*.log"))

    def stop(self):
        for name, proc in self.processes.items():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)


@contextmanager
def cluster(scratch):
    c = Cluster(scratch)
    try:
        yield c
    finally:
        c.stop()


def _course(tmp_path):
    root = C.make_course(tmp_path / "course", timeout=5)
    entries = [e for e in CATALOGUE if e.name in CHOSEN] + CORRECT
    submit_all(root, entries)
    students = [e.name for e in entries]
    for extra in range(32 - len(entries)):
        C.submit(root, f"learner{extra:02d}", C.correct_submission(root))
        students.append(f"learner{extra:02d}")
    # one secret for both copies of the course: the seeds are the same, so the grades must be too
    records = Records(f"sqlite:///{root}/gradebook.db")
    records.setup()
    records.secret()
    records.close()
    return root, sorted(students)


def test_grading_on_a_dask_cluster_equals_grading_here(tmp_path):
    require("bwrap", "grading in a sandbox")
    root, students = _course(tmp_path)
    assert len(students) >= 30
    on_cluster = tmp_path / "course-dask"
    shutil.copytree(root, on_cluster)
    command = [sys.executable, "-m", "miniflow_grader.grade", C.ASSIGNMENT, "--no-report", "--timeout", "90"]

    # on this machine, a coordinator killed outright in the middle, then started again, grades only what is left
    here_scratch = tmp_path / "here"
    here_scratch.mkdir()
    with scratch_in(here_scratch):
        first = subprocess.Popen(command + ["--jobs", "2", "--no-progress"], cwd=root, env=C.env(),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        records = Records(f"sqlite:///{root}/gradebook.db")
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and first.poll() is None and len(records.rows(C.ASSIGNMENT)) < 8:
            time.sleep(0.2)
        assert first.poll() is None, "grading ended before it could be interrupted"
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=60)
        first.stderr.close()
        recorded = len(records.rows(C.ASSIGNMENT))
        records.close()
        here = subprocess.run(command + ["--jobs", "2", "--no-progress"], cwd=root, env=C.env(),
                              capture_output=True, text=True, timeout=900)
    assert here.returncode == 0, here.stderr[-3000:]
    assert 8 <= recorded < len(students)
    assert f"graded {len(students) - recorded} of {len(students)} submissions" in here.stderr, here.stderr[-2000:]
    expected = gradebook_dump(f"sqlite:///{root}/gradebook.db", C.ASSIGNMENT)

    with cluster(tmp_path / "cluster") as dask:
        dask.start_scheduler()
        dask.start_worker("w1")
        dask.start_worker("w2")
        dask.start_worker("nosandbox", path=str(C.BIN))        # no bwrap, setpriv or unshare on its PATH
        workers = dask.wait_for(3)
        from distributed import Client
        with Client(dask.address, timeout=30) as client:      # the workers have no MiniFlow of their own
            assert all(client.run(__import__, "numpy").values())
            for module in ("miniflow", "miniflow_grader"):
                found = client.run(__import__, module, on_error="return")
                assert len(found) == 3 and all(isinstance(e, ImportError) for e in found.values()), found
        grading_scratch = tmp_path / "coordinator"
        grading_scratch.mkdir()
        with scratch_in(grading_scratch):
            coordinator = subprocess.Popen(command + ["--scheduler", dask.address], cwd=on_cluster, env=C.env(),
                                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            # kill w1 outright while it is running a sandbox, after some submissions are graded
            records = Records(f"sqlite:///{on_cluster}/gradebook.db")
            deadline, running = time.monotonic() + 600, False
            while time.monotonic() < deadline and coordinator.poll() is None:
                try:
                    done = len(records.rows(C.ASSIGNMENT))
                except Exception:       # the table may not exist yet
                    done = 0
                running = bool(leftover_processes(tmp_path / "cluster" / "w1"))
                if done >= 6 and running:
                    break
                time.sleep(0.2)
            records.close()
            assert coordinator.poll() is None and running, "grading ended before a worker could be killed"
            dask.kill("w1")
            out, err = coordinator.communicate(timeout=900)
        finally:
            if coordinator.poll() is None:
                coordinator.kill()
        logs = dask.logs()
    assert coordinator.returncode == 0, err[-3000:] + logs

    # the same grades as on one machine, every submission graded once, by the workers that could
    assert gradebook_dump(f"sqlite:///{on_cluster}/gradebook.db", C.ASSIGNMENT) == expected
    records = Records(f"sqlite:///{on_cluster}/gradebook.db")
    rows = records.rows(C.ASSIGNMENT)
    records.close()
    graded = sorted(r["student"] for r in rows)
    here_records = Records(f"sqlite:///{root}/gradebook.db")
    here_rows = here_records.rows(C.ASSIGNMENT)
    here_records.close()
    assert graded == sorted(r["student"] for r in here_rows) == students
    assert all(r["times_graded"] == 1 for r in rows + here_rows)
    used = {w for r in rows if r["worker"] for w in r["worker"].split(", ")}
    assert used <= {workers["w1"], workers["w2"]} and workers["w2"] in used
    assert workers["nosandbox"] not in used
    # the refusing worker is named, with its reason
    assert f"worker {workers['nosandbox']} refused" in err and "not installed" in err, err[-3000:]
    assert re.search(rf"graded {len(graded)} of {len(graded)} submissions", err), err[-2000:]

    # nothing of the course reached a worker: no solution, no gradebook, no secret
    secret = Records(f"sqlite:///{on_cluster}/gradebook.db").secret()
    for folder in ("w1", "w2", "nosandbox", "scheduler"):
        for path in (tmp_path / "cluster" / folder).rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                assert secret.encode() not in data and b"BEGIN SOLUTION" not in data, path
                assert not data.startswith(b"SQLite format 3"), path
    assert leftover_processes(tmp_path) == []
