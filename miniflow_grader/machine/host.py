"""Running one notebook's sandbox on the machine that executes it: a thread of this grader, or a Dask worker.

This module, sandbox.py and mounts.py travel inside the job's bundle (bundle.py),
so an executing machine needs the Python environment learners' notebooks use and
nothing of MiniFlow: not the grader, not the course, not the library's solutions.
Everything arrives as data (the sanitized notebook and its folder's files, the
stubbed library, the seed, the limits) and everything goes back as data (the
runner's report: outputs and probe files). Learner code runs only inside the
sandbox, never in the executing process.

A machine whose sandbox cannot start refuses every job, saying why: it never
runs one unsandboxed unless the grader on this same machine was told it may.
"""
import importlib.util
import itertools
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
from dataclasses import asdict
from pathlib import Path

from .mounts import write_etc
from .sandbox import Limits, Sandbox, SandboxUnavailable

_lock = threading.Lock()
_hosts = {}          # (lib folder, limits, hidden, allow_unsandboxed) -> _Host
_numbers = itertools.count()


def executor_name():
    """This machine's name for the report: the Dask worker's address, or the host's own name."""
    try:
        from distributed import get_worker
        return get_worker().address
    except (ImportError, ValueError):
        return f"{socket.gethostname()} (this machine)"


def _own_folders():
    """The grader's and the library's folders, where this machine has them: never visible in a sandbox."""
    found = []
    for name in ("miniflow", "miniflow_grader"):
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        for location in (spec.submodule_search_locations or []) if spec else []:
            found.append(Path(location).resolve())
    return found


def write_kernel_spec(lib, sandboxed):
    """The kernel spec names this machine's interpreter, and where the library is seen from the kernel."""
    lib = Path(lib)
    inner = "/tmp/grade/lib" if sandboxed else str(lib)
    kernel_dir = lib / "jupyter" / "kernels" / "miniflow-sandbox"
    kernel_dir.mkdir(parents=True, exist_ok=True)
    for folder in (lib / "jupyter", lib / "jupyter" / "kernels", kernel_dir):
        os.chmod(folder, 0o755)
    (kernel_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, f"{inner}/python/_miniflow_runner.py", "kernel", "-f", "{connection_file}"],
        "display_name": "MiniFlow sandbox", "language": "python"}))
    os.chmod(kernel_dir / "kernel.json", 0o644)


class _Host:
    """The sandbox of one bundle on this machine, checked once: it starts, or every job is refused."""

    def __init__(self, lib, limits, hidden, allow_unsandboxed):
        self.lib = Path(lib)
        self.scratch = Path(tempfile.mkdtemp(prefix="miniflow-host-", dir=self.lib.parent))
        os.chmod(self.scratch, 0o755)
        self.refusal = None
        self.warning = None
        self.sandbox = Sandbox(limits, sandboxed=True, etc=write_etc(self.scratch / "etc"),
                               hidden=[*hidden, *_own_folders()])
        write_kernel_spec(self.lib, sandboxed=True)
        try:
            self.sandbox.check_available(self.scratch / "check", self.lib)
        except SandboxUnavailable as error:
            if allow_unsandboxed:
                self.warning = str(error)
                self.sandbox = Sandbox(limits, sandboxed=False)
                write_kernel_spec(self.lib, sandboxed=False)
            else:
                self.refusal = str(error)
        shutil.rmtree(self.scratch / "check", ignore_errors=True)

    def run(self, task):
        job_dir = self.scratch / f"job-{next(_numbers)}"
        work = job_dir / "work"
        try:
            for name, data in sorted(task["files"].items()):
                if Path(name).is_absolute() or ".." in Path(name).parts:
                    raise ValueError(f"a file name the grader does not send: {name!r}")
                path = work / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            run = self.sandbox.run(job_dir, self.lib, task["notebook"], task["seed"])
            return asdict(run)
        finally:
            shutil.rmtree(job_dir, ignore_errors=True)


def run_task(lib, task):
    """Run task (a dict of data: notebook, files, seed, limits, hidden, allow_unsandboxed) with the bundle's lib.

    Returns {"worker": name, "run": RunResult as a dict} or {"worker": name, "refused": why}; a task
    with "check_only" only starts (or fails to start) this machine's sandbox.
    """
    limits = Limits(**task["limits"])
    key = (str(lib), json.dumps(task["limits"], sort_keys=True), tuple(task.get("hidden", ())),
           bool(task.get("allow_unsandboxed")))
    with _lock:
        host = _hosts.get(key)
        if host is None:
            host = _hosts[key] = _Host(lib, limits, task.get("hidden", ()), task.get("allow_unsandboxed"))
    name = executor_name()
    if host.refusal is not None:
        return {"worker": name, "refused": host.refusal}
    if task.get("check_only"):
        return {"worker": name, "unsandboxed": host.warning}
    return {"worker": name, "run": host.run(task), "unsandboxed": host.warning}


def forget():
    """Drop this machine's checked sandboxes (their bundle is being removed)."""
    with _lock:
        _hosts.clear()
