"""Running one notebook in a bubblewrap sandbox, under resource limits and a wall clock.

What the sandbox can see is an allow-list (mounts.py): the system's libraries,
the interpreter, the job's own folders and a minimal /etc, all read-only; the
only writable places are /tmp and /dev/shm, each a tmpfs of bounded size.
There is no network, the processes live in their own pid namespace (killing the
sandbox kills them all), and the kernel runs as an unprivileged uid with no
capabilities, which is `nobody` outside when the grader runs as root.

Limits: RLIMIT_AS per process, RLIMIT_NPROC (counted per sandbox, in its own
user namespace), CPU time, file size, open files, time per cell and per
notebook, output. Forked copies of a kernel share one memory budget: a memory
cgroup where the grader runs as root and can make one, otherwise a watchdog
here that adds up the resident memory of every process in the sandbox.
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

from .mounts import INSIDE, NOBODY, MountPlan, python_roots, stage_dir, tools_missing, write_etc


HOST_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}


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
    tmp_bytes: int = 256 * 1024 ** 2      # each of the sandbox's writable tmpfs (/tmp, /dev/shm)

    def shared_memory_bytes(self):
        """What all the sandbox's processes may use together: the kernel's budget, plus the runner and tmpfs."""
        return self.memory_bytes + 1024 ** 3


@dataclass
class RunResult:
    cells: dict                # cell index -> {"outputs", "execution_count", "probe"} (untrusted)
    events: list               # [{"event", "cell", ...}] (untrusted)
    finished: bool             # the runner said it was done
    wall_killed: bool
    returncode: int
    stderr: str
    seconds: float
    memory_killed: bool = False     # the watchdog killed a process: together they held too much memory
    phases: dict = None             # seconds from the runner's start to each of its phases (untrusted; for measuring)


REPORT_LIMIT = 128 * 1024 ** 2   # bytes read from the runner's report


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


def _phases(value):
    """The runner's phase timings, kept only as a few named numbers."""
    if not isinstance(value, dict):
        return None
    return {str(k)[:20]: float(v) for k, v in list(value.items())[:10]
            if isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < 1e6} or None


def _diagnose(stderr, returncode):
    """Why a trivial sandbox did not work, in words that name the real cause."""
    text = stderr.strip()
    if any(s in text for s in ("No permissions to create", "Creating new namespace failed", "setting up uid map",
                               "unshare failed", "Operation not permitted")) and "execvp" not in text:
        return (f"bubblewrap could not create its namespaces ({text[:300]}); user namespaces may be disabled "
                "(sysctl kernel.unprivileged_userns_clone=1 or user.max_user_namespaces > 0)")
    if "execvp" in text:
        return (f"the interpreter {sys.executable} could not be started inside the sandbox ({text[:300]}); "
                f"mounted there: {', '.join(str(r) for r in python_roots())}")
    if "Error" in text or "error" in text:
        return f"Python could not start the grading kernel's imports inside the sandbox: {text[-500:]}"
    return f"the sandbox did not work (exit {returncode}): {text[:300] or 'no message'}"


class Sandbox:
    """Runs jobs with bubblewrap, or (only when explicitly allowed) without it."""

    def __init__(self, limits=None, sandboxed=True, etc=None, hidden=()):
        self.limits = limits or Limits()
        self.sandboxed = sandboxed
        self.as_root = sandboxed and os.geteuid() == 0
        self.cgroups = _pids_cgroup_root() if self.as_root else None
        self.memory_cgroups = _memory_cgroup_root() if self.cgroups is not None else None
        self.bwrap = shutil.which("bwrap")
        self.etc = Path(etc) if etc is not None else None
        self.hidden = list(hidden)     # folders never to be seen, even inside the interpreter's
        self._numbers = itertools.count()

    # --- command line ---------------------------------------------------------------

    def _env(self, seed, lib, out, probes):
        python_bin = str(Path(sys.executable).parent)
        env = {
            "PATH": f"{python_bin}:/usr/local/bin:/usr/bin:/bin",
            "HOME": "/tmp/home" if self.sandboxed else str(Path(out).parent / "home"),
            "USER": "learner", "LOGNAME": "learner",
            "LANG": "C.UTF-8",
            "PYTHONPATH": f"{lib}/python",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONNOUSERSITE": "1",
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

    def _etc(self, near):
        if self.etc is None:
            self.etc = write_etc(Path(near) / "sandbox-etc")
        return self.etc

    def command(self, lib, work, out, seed, cgroup=None):
        """The argv (and environment, unsandboxed) that runs the job whose folders are lib, work and out."""
        if not self.sandboxed:
            env = self._env(seed, lib, out, f"{out}/probes")
            return [sys.executable, f"{lib}/python/_miniflow_runner.py", "run", f"{out}/spec.json"], env
        env = self._env(seed, f"{INSIDE}/lib", f"{INSIDE}/out", f"{INSIDE}/probes")
        plan = MountPlan(self._etc(Path(lib).parent), lib, work, out, self.hidden)
        program = [sys.executable, f"{INSIDE}/lib/python/_miniflow_runner.py", "run", f"{INSIDE}/out/spec.json"]
        # bwrap's own processes get no more of the grader's environment than a PATH
        return plan.command(self.bwrap, self.limits, env, program, self.as_root, cgroup), dict(HOST_ENV)

    # --- checks ---------------------------------------------------------------------

    def check_available(self, scratch, lib=None):
        """Raise SandboxUnavailable, saying why, unless a sandbox starts and can import what grading needs."""
        if not self.sandboxed:
            return
        missing = tools_missing(self.as_root)
        if missing:
            packages = {"bwrap": "bubblewrap", "unshare": "util-linux", "setpriv": "util-linux", "mount": "mount"}
            raise SandboxUnavailable(
                f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed; on Debian: "
                f"apt-get install {' '.join(sorted({packages[t] for t in missing}))}")
        if self.as_root and stage_dir() is None:
            raise SandboxUnavailable("no folder such as /mnt to stage the sandbox's mounts under")
        scratch = Path(scratch)
        lib = Path(lib) if lib is not None else scratch / "probe-lib"
        work, out = scratch / "probe-work", scratch / "probe-out"
        for d in (lib, work, out):
            d.mkdir(parents=True, exist_ok=True)
            os.chmod(d, 0o755)
        plan = MountPlan(self._etc(scratch), lib, work, out, self.hidden)
        code = ("import os, sys; open('/tmp/ok', 'w').write('ok'); "
                "sys.modules.setdefault('rfc3987_syntax', None); "     # as the runner: see sandboxed/runner.py, run()
                "import nbclient, ipykernel, numpy; "
                + ("import miniflow, _miniflow_runner; " if (lib / "python").is_dir() else "")
                + "print(open('/tmp/ok').read(), os.getuid())")
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{INSIDE}/lib/python", "PYTHONNOUSERSITE": "1",
               "HOME": "/tmp/home"}
        cgroup = self._make_cgroup()
        argv = plan.command(self.bwrap, self.limits, env, [sys.executable, "-c", code], self.as_root, cgroup)
        try:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=120, env=dict(HOST_ENV))
        except (OSError, subprocess.TimeoutExpired) as error:
            raise SandboxUnavailable(f"bubblewrap could not start: {error}") from None
        finally:
            self._remove_cgroup(cgroup)
        if done.returncode != 0 or not done.stdout.startswith(b"ok"):
            raise SandboxUnavailable(_diagnose(done.stderr.decode(errors="replace"), done.returncode))

    def _own(self, path):
        if self.as_root:
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
            "probe_bytes": PROBE_LIMIT,
            "kill_strays": self.sandboxed,
            "limits": asdict(self.limits),
        }
        (out / "spec.json").write_text(json.dumps(spec))
        self._own(out / "spec.json")
        cgroup = self._make_cgroup()
        argv, env = self.command(lib, work, out, seed, cgroup)
        started = time.monotonic()
        lines = []
        with open(job_dir / "stderr.log", "wb") as stderr:
            try:
                proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                                        env=env, cwd="/" if self.sandboxed else str(work), start_new_session=True,
                                        pass_fds=(write_end,))
            finally:
                os.close(write_end)
            reader = threading.Thread(target=_read_report, args=(os.fdopen(read_end, "rb"), lines), daemon=True)
            reader.start()
            watchdog = None
            if self.sandboxed and (cgroup is None or cgroup[1] is None):
                watchdog = _MemoryWatchdog(proc, self.limits.shared_memory_bytes())
                watchdog.start()
            wall_killed = False
            try:
                proc.wait(timeout=self.limits.wall_seconds)
            except subprocess.TimeoutExpired:
                wall_killed = True
            finally:
                self._kill(proc, cgroup)
                if watchdog is not None:
                    watchdog.stop()
            reader.join(timeout=30)
        seconds = time.monotonic() - started
        cells, events, finished, phases = {}, [], False, None
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
                phases = _phases(message.get("phases"))
        try:
            with open(job_dir / "stderr.log", "rb") as f:
                stderr_text = f.read(4000).decode(errors="replace")
        except OSError:
            stderr_text = ""
        return RunResult(cells, events, finished, wall_killed, proc.returncode, stderr_text, seconds,
                         memory_killed=bool(watchdog and watchdog.fired), phases=phases)

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
                (memory / "memory.limit_in_bytes").write_text(str(self.limits.shared_memory_bytes()))
            except OSError:
                memory = None
        return pids, memory

    def _remove_cgroup(self, cgroup):
        """Kill whatever is still in the sandbox's cgroups, then remove them."""
        if cgroup is None:
            return
        for _ in range(300):
            try:
                pids = [int(p) for p in (cgroup[0] / "cgroup.procs").read_text().split()]
            except OSError:
                break
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.01)
        for path in cgroup:
            try:
                if path is not None:
                    path.rmdir()
            except OSError:
                pass

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
        self._remove_cgroup(cgroup)
        if not self.sandboxed:
            _kill_descendants_unsandboxed(proc.pid)


PROBE_LIMIT = 16 * 1024 ** 2     # bytes of one probe file taken from the sandbox


def _descendants(pid):
    """pid and every process below it (host pids), from /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


def _resident_bytes(pids):
    """{pid: resident bytes} of each of `pids` still alive."""
    page = os.sysconf("SC_PAGE_SIZE")
    found = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm") as f:
                found[pid] = int(f.read().split()[1]) * page
        except (OSError, ValueError, IndexError):
            pass
    return found


class _MemoryWatchdog:
    """Keeps a sandbox's processes together under `budget` bytes of memory, as a memory cgroup would.

    While they hold more, the largest one is killed (a forked copy, or the kernel itself, which the
    runner then reports as dead); `fired` says that it happened.
    """

    def __init__(self, proc, budget, interval=0.1):
        import threading
        self.proc, self.budget, self.interval = proc, budget, interval
        self.fired = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)

    def _watch(self):
        while not self._stop.wait(self.interval):
            if self.proc.poll() is not None:
                return
            sizes = _resident_bytes(_descendants(self.proc.pid))
            if sum(sizes.values()) > self.budget:
                self.fired = True
                try:
                    os.kill(max(sizes, key=sizes.get), signal.SIGKILL)
                except OSError:
                    pass


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
