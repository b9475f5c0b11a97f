"""Grading on a real local Dask cluster: a scheduler and workers on 127.0.0.1, each worker in a scratch folder of its own.

The workers cannot import MiniFlow or its grader (an import hook refuses them),
so everything they run arrives as data. The coordinator is killed in the middle
of the run and started again, one worker is killed under the second coordinator,
and another worker has no working sandbox: every submission is graded once and
earns what it earns on one machine, the refusing worker ran nothing and is named.
"""
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from hostile import course as C
from hostile.catalogue import ALL_IDS, CATALOGUE, CORRECT, submit_all
from hostile.support import (gradebook_dump, kill_when_recorded, leftover_processes, not_earned, recorded, require,
                             scratch_in)
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
    earns = {e.name: e.passes for e in entries}
    for extra in range(24 - len(entries)):
        C.submit(root, f"learner{extra:02d}", C.correct_submission(root))
        earns[f"learner{extra:02d}"] = ALL_IDS
    return root, earns


def test_grading_on_a_dask_cluster(tmp_path):
    require("bwrap", "grading in a sandbox")
    root, earns = _course(tmp_path)
    students = sorted(earns)
    assert len(students) >= 24
    db_url = f"sqlite:///{root}/gradebook.db"
    command = [sys.executable, "-m", "miniflow_grader.grade", C.ASSIGNMENT, "--no-report", "--timeout", "90"]

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
        command += ["--scheduler", dask.address]
        grading_scratch = tmp_path / "coordinator"
        grading_scratch.mkdir()
        with scratch_in(grading_scratch):
            # a coordinator killed outright in the middle of the run ...
            first = kill_when_recorded(command + ["--no-progress"], root, C.env(), db_url, C.ASSIGNMENT, at_least=6)
            assert 6 <= first < len(students)
            # ... and started again grades only what is left, while a worker is killed under it
            coordinator = subprocess.Popen(command, cwd=root, env=C.env(), stdout=subprocess.PIPE,
                                           stderr=subprocess.PIPE, text=True)
        try:
            # kill w1 outright while it is running a sandbox, after some more submissions are graded
            deadline, running = time.monotonic() + 600, False
            records = Records(db_url)
            while time.monotonic() < deadline and coordinator.poll() is None:
                running = bool(leftover_processes(tmp_path / "cluster" / "w1"))
                if recorded(records, C.ASSIGNMENT) >= first + 3 and running:
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
    assert f"graded {len(students) - first} of {len(students)} submissions" in err, err[-2000:]

    # every submission graded once, by the workers that could, and each earns what it earns on one machine
    # (test_grading_hostile.py grades the same entries with --jobs)
    records = Records(db_url)
    rows = records.rows(C.ASSIGNMENT)
    secret = records.secret()
    records.close()
    assert sorted(r["student"] for r in rows) == students
    assert all(r["times_graded"] == 1 for r in rows)
    grades = gradebook_dump(db_url, C.ASSIGNMENT)
    assert {r[0] for r in grades} == set(students)
    assert not_earned(grades, earns) == []
    used = {w for r in rows if r["worker"] for w in r["worker"].split(", ")}
    assert used <= {workers["w1"], workers["w2"]} and workers["w2"] in used
    assert workers["nosandbox"] not in used
    # the refusing worker is named, with its reason
    assert f"worker {workers['nosandbox']} refused" in err and "not installed" in err, err[-3000:]

    # nothing of the course reached a worker: no solution, no gradebook, no secret
    for folder in ("w1", "w2", "nosandbox", "scheduler"):
        for path in (tmp_path / "cluster" / folder).rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                assert secret.encode() not in data and b"BEGIN SOLUTION" not in data, path
                assert not data.startswith(b"SQLite format 3"), path
    assert leftover_processes(tmp_path) == []
