"""Running one notebook in a bubblewrap sandbox, under resource limits and a wall clock.

Inside the sandbox the whole file system is read-only; the course, the
repository (with its `.git`, `solutions/`, book and library sources), `/tmp`,
`/run` and every other hidden place is an empty tmpfs; the only writable
places are the job's own work and output directories. There is no network,
the processes live in their own pid namespace (killing the sandbox kills them
all). The process limit is RLIMIT_NPROC, counted per sandbox in its own user
namespace; root is exempt from RLIMIT_NPROC, so when the grader runs as root each
sandbox gets a pids cgroup instead (or, without one, runs as `nobody`).
"""
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

NOBODY = 65534
INSIDE = "/tmp/grade"        # where the job appears inside the sandbox


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create its namespaces on this machine."""


@dataclass
class Limits:
    memory_bytes: int = 2 * 1024 ** 3     # address space of the kernel process
    cpu_seconds: int = 300                # CPU time of each process
    processes: int = 256                  # processes and threads in the sandbox
    file_bytes: int = 64 * 1024 ** 2      # largest file the sandbox may write
    open_files: int = 512
    output_bytes: int = 2 * 1024 ** 2     # outputs kept from the whole notebook
    cell_timeout: int = 60                # seconds per cell, then the kernel is interrupted
    wall_seconds: int = 600               # seconds for the whole notebook, then everything is killed
    startup_timeout: int = 60


@dataclass
class RunResult:
    cells: dict                # cell index -> {"outputs", "execution_count", "probe"} (untrusted)
    events: list               # [{"event", "cell", ...}] (untrusted)
    finished: bool             # the runner said it was done
    wall_killed: bool
    returncode: int
    stderr: str
    seconds: float


REPORT_LIMIT = 512 * 1024 ** 2   # bytes read from the runner's report


def _read_report(stream, sink):
    """Collect the runner's report lines (bounded); keep draining so the runner never blocks."""
    kept = 0
    buffer = b""
    while True:
        chunk = stream.read(1 << 16)
        if not chunk:
            break
        if kept > REPORT_LIMIT:
            continue
        kept += len(chunk)
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        sink.extend(lines)
    if buffer and kept <= REPORT_LIMIT:
        sink.append(buffer)


def _python_roots():
    roots = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parent.parent}
    return sorted(roots)


def _inside(path, root):
    try:
        Path(path).resolve().relative_to(Path(root).resolve())
        return True
    except ValueError:
        return False


class Sandbox:
    """Runs jobs with bubblewrap, or (only when explicitly allowed) without it."""

    def __init__(self, hidden_paths, limits=None, sandboxed=True):
        self.limits = limits or Limits()
        self.sandboxed = sandboxed
        self.hidden = sorted({Path(p).resolve() for p in hidden_paths if Path(p).exists()})
        self.cgroups = _pids_cgroup_root() if sandboxed and os.geteuid() == 0 else None
        self.memory_cgroups = _memory_cgroup_root() if self.cgroups is not None else None
        self.as_nobody = sandboxed and os.geteuid() == 0 and self.cgroups is None
        self.bwrap = shutil.which("bwrap")
        self._numbers = itertools.count()

    # --- command line ---------------------------------------------------------------

    def _bwrap_args(self, lib, work, out):
        args = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                "--size", str(256 * 1024 ** 2), "--tmpfs", "/tmp",
                "--tmpfs", "/run", "--tmpfs", "/var/tmp", "--tmpfs", "/dev/shm"]
        roots = [r for r in _python_roots() if any(_inside(r, h) for h in self.hidden)]
        inner = [h for h in self.hidden if any(_inside(h, r) for r in _python_roots())]
        for path in self.hidden:
            if path not in inner:
                args += ["--tmpfs", str(path)]
        # the interpreter and its packages stay visible where a hidden directory holds them ...
        for root in roots:
            args += ["--ro-bind", str(root), str(root)]
        # ... except what is hidden inside them (a library installed into site-packages)
        for path in inner:
            args += ["--tmpfs", str(path)]
        for path in self.hidden:
            args += ["--remount-ro", str(path)]
        # the job comes in read-only; the runner copies it into /tmp, a size-limited tmpfs that is
        # the only writable place in the sandbox, and that vanishes with it
        args += ["--dir", "/tmp/home",
                 "--ro-bind", str(lib), f"{INSIDE}/lib",
                 "--ro-bind", str(work), f"{INSIDE}/src",
                 "--ro-bind", str(out), f"{INSIDE}/out",
                 "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
                 "--chdir", "/tmp", "--clearenv"]
        return args

    def _env(self, seed, lib, out, probes):
        python_bin = str(Path(sys.executable).parent)
        env = {
            "PATH": f"{python_bin}:/usr/local/bin:/usr/bin:/bin",
            "HOME": "/tmp/home" if self.sandboxed else str(Path(out).parent / "home"),
            "LANG": "C.UTF-8",
            "PYTHONPATH": f"{lib}/python",
            "PYTHONDONTWRITEBYTECODE": "1",
            "JUPYTER_PATH": f"{lib}/jupyter",
            "JUPYTER_PLATFORM_DIRS": "1",
            "MPLBACKEND": "Agg",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "NBGRADER_EXECUTION": "autograde",
            "MINIFLOW_PROBE_DIR": probes,
            "MINIFLOW_SEED": str(int(seed)),
            "MINIFLOW_KERNEL_LIMITS": json.dumps(asdict(self.limits)),
        }
        home = env["HOME"]
        env.update({"IPYTHONDIR": f"{home}/.ipython", "MPLCONFIGDIR": f"{home}/.mpl",
                    "JUPYTER_RUNTIME_DIR": f"{home}/.runtime", "JUPYTER_CONFIG_DIR": f"{home}/.jupyter",
                    "JUPYTER_DATA_DIR": f"{home}/.data"})
        return env

    def command(self, lib, work, out, seed, cgroup=None):
        """The argv that runs the job whose directories are lib (read-only), work and out."""
        if not self.sandboxed:
            env = self._env(seed, lib, out, f"{out}/probes")
            return [sys.executable, f"{lib}/python/_miniflow_runner.py", "run", f"{out}/spec.json"], env
        env = self._env(seed, f"{INSIDE}/lib", f"{INSIDE}/out", f"{INSIDE}/probes")
        argv = []
        if cgroup is not None:
            pids, memory = cgroup
            if memory is None:
                argv = ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(pids)]
            else:
                argv = ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && echo $$ > "$1/cgroup.procs" && shift && exec "$@"',
                        str(pids), str(memory)]
        if self.as_nobody:
            argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"]
        argv += [self.bwrap] + self._bwrap_args(lib, work, out)
        for key, value in env.items():
            argv += ["--setenv", key, value]
        argv += [sys.executable, f"{INSIDE}/lib/python/_miniflow_runner.py", "run", f"{INSIDE}/out/spec.json"]
        return argv, None

    # --- checks ---------------------------------------------------------------------

    def check_available(self, scratch):
        """Raise SandboxUnavailable, saying why, unless a trivial sandbox starts and works."""
        if not self.sandboxed:
            return
        if self.bwrap is None:
            raise SandboxUnavailable("bubblewrap (bwrap) is not installed; on Debian: apt-get install bubblewrap")
        if self.as_nobody and shutil.which("setpriv") is None:
            raise SandboxUnavailable("setpriv (util-linux) is needed to drop root before starting the sandbox")
        scratch = Path(scratch)
        lib, work, out = (scratch / "probe-lib", scratch / "probe-work", scratch / "probe-out")
        for d in (lib, work, out):
            d.mkdir(parents=True, exist_ok=True)
            self._own(d)
        argv = []
        if self.as_nobody:
            argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"]
        argv += [self.bwrap] + self._bwrap_args(lib, work, out)
        argv += ["--setenv", "PATH", "/usr/bin:/bin", sys.executable, "-c",
                 "import os; open('/tmp/ok', 'w').write('ok'); print(open('/tmp/ok').read(), os.getpid())"]
        try:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise SandboxUnavailable(f"bubblewrap could not start: {error}") from None
        if done.returncode != 0 or not done.stdout.startswith(b"ok"):
            message = done.stderr.decode(errors="replace").strip()[:500]
            raise SandboxUnavailable(
                f"bubblewrap could not create its sandbox ({message or 'exit %d' % done.returncode}); "
                "user namespaces may be disabled (sysctl kernel.unprivileged_userns_clone=1 "
                "or user.max_user_namespaces > 0)")

    def _own(self, path):
        if self.as_nobody:
            os.chown(path, NOBODY, NOBODY)

    # --- running --------------------------------------------------------------------

    def run(self, job_dir, lib, notebook_name, seed):
        """Execute job_dir/work/notebook_name; return a RunResult. Never raises for learner behaviour."""
        import threading
        job_dir = Path(job_dir)
        work, out = job_dir / "work", job_dir / "out"
        (out / "probes").mkdir(parents=True, exist_ok=True)
        for dirpath, dirnames, filenames in os.walk(job_dir):
            self._own(dirpath)
            for name in filenames:
                self._own(os.path.join(dirpath, name))
        if self.sandboxed:
            paths = {"work": f"{INSIDE}/work", "probes": f"{INSIDE}/probes", "copy_from": f"{INSIDE}/src"}
        else:
            paths = {"work": str(work), "probes": str(out / "probes"), "copy_from": None}
        read_end, write_end = os.pipe()
        spec = {
            "notebook": f"{paths['work']}/{notebook_name}",
            "probe_dir": paths["probes"],
            "copy_from": paths["copy_from"],
            "cwd": paths["work"],
            "report_fd": write_end,
            "cell_timeout": self.limits.cell_timeout,
            "startup_timeout": self.limits.startup_timeout,
            "output_bytes": self.limits.output_bytes,
            "probe_bytes": self.limits.file_bytes,
            "kill_strays": self.sandboxed,
            "limits": asdict(self.limits),
        }
        (out / "spec.json").write_text(json.dumps(spec))
        cgroup = self._make_cgroup()
        argv, env = self.command(lib, work, out, seed, cgroup)
        started = time.monotonic()
        lines = []
        with open(job_dir / "stderr.log", "wb") as stderr:
            try:
                proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                                        env=env, cwd=str(work), start_new_session=True, pass_fds=(write_end,))
            finally:
                os.close(write_end)
            reader = threading.Thread(target=_read_report, args=(os.fdopen(read_end, "rb"), lines), daemon=True)
            reader.start()
            wall_killed = False
            try:
                proc.wait(timeout=self.limits.wall_seconds)
            except subprocess.TimeoutExpired:
                wall_killed = True
            finally:
                self._kill(proc, cgroup)
            reader.join(timeout=30)
        seconds = time.monotonic() - started
        cells, events, finished = {}, [], False
        for line in lines:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if not isinstance(message, dict):
                continue
            kind = message.get("type")
            if kind == "cell" and isinstance(message.get("index"), int):
                cells[message["index"]] = message
            elif kind == "event":
                events.append(message)
            elif kind == "done":
                finished = True
        try:
            with open(job_dir / "stderr.log", "rb") as f:
                stderr_text = f.read(4000).decode(errors="replace")
        except OSError:
            stderr_text = ""
        return RunResult(cells, events, finished, wall_killed, proc.returncode, stderr_text, seconds)

    def _make_cgroup(self):
        """A pids cgroup (and, where there is one, a memory cgroup) for one sandbox, or None."""
        if self.cgroups is None:
            return None
        name = f"miniflow-grader-{os.getpid()}-{next(self._numbers)}"
        pids = self.cgroups / name
        pids.mkdir()
        (pids / "pids.max").write_text(str(self.limits.processes))
        memory = None
        if self.memory_cgroups is not None:
            memory = self.memory_cgroups / name
            try:
                memory.mkdir()
                # the kernel's own limit, plus the runner and the sandbox's tmpfs: forked copies share it all
                (memory / "memory.limit_in_bytes").write_text(str(self.limits.memory_bytes + 1024 ** 3))
            except OSError:
                memory = None
        return pids, memory

    def _kill(self, proc, cgroup=None):
        """Kill the sandbox's whole process group; its pid namespace dies with its first process."""
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        if cgroup is not None:
            cgroup, memory = cgroup
            for _ in range(300):
                pids = [int(p) for p in (cgroup / "cgroup.procs").read_text().split()]
                if not pids:
                    break
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                time.sleep(0.01)
            for path in (cgroup, memory):
                try:
                    if path is not None:
                        path.rmdir()
                except OSError:
                    pass
        if not self.sandboxed:
            _kill_descendants_unsandboxed(proc.pid)


def _pids_cgroup_root():
    """A cgroup v1 pids hierarchy this (root) process can create groups in, or None."""
    root = Path("/sys/fs/cgroup/pids")
    if root.is_dir() and (root / "cgroup.procs").exists() and os.access(root, os.W_OK):
        return root
    return None


def _memory_cgroup_root():
    """This process's own cgroup v1 memory group, if it can hold sub-groups, or None."""
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            number, controllers, path = line.split(":", 2)
            if "memory" in controllers.split(","):
                root = Path("/sys/fs/cgroup/memory") / path.lstrip("/")
                if (root / "memory.limit_in_bytes").exists() and os.access(root, os.W_OK):
                    return root
    except (OSError, ValueError):
        pass
    return None


def _kill_descendants_unsandboxed(pid):
    """Without a pid namespace, learner processes that left the process group are found by session."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getsid(int(entry.name)) == pid:
                os.kill(int(entry.name), signal.SIGKILL)
        except (ProcessLookupError, PermissionError, OSError):
            pass
