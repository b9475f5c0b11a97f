"""Runs one notebook inside the sandbox; this file is copied into the sandbox and run there.

    python _miniflow_runner.py run SPEC.json          execute the notebook described by SPEC
    python _miniflow_runner.py kernel -f CONNECTION   start an IPython kernel under the kernel's limits

It imports nothing from the grader: it sees only the sandbox. It reports to the
grader through a pipe (SPEC's report_fd) that the kernel does not inherit: one
JSON line per executed code cell (its outputs and, for a grade cell, the probe
file that cell wrote, taken away as soon as the cell finishes, so later cells
cannot replace it), events (timeouts, kernel death, output cut), and a last
line when done. The grader treats every line as untrusted data.
"""
import base64
import json
import os
import resource
import sys
import time

#: Seconds a cell that timed out has to stop once interrupted; still running after that, it stops the notebook.
INTERRUPT_GRACE = 5


def _limit(kind, value):
    if value is None:
        return
    soft, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(kind, (value, value))


def set_limits(limits):
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_NPROC, limits.get("processes"))
    _limit(resource.RLIMIT_CPU, limits.get("cpu_seconds"))
    _limit(resource.RLIMIT_FSIZE, limits.get("file_bytes"))
    _limit(resource.RLIMIT_NOFILE, limits.get("open_files"))


def kernel(argv):
    limits = json.loads(os.environ.get("MINIFLOW_KERNEL_LIMITS", "{}"))
    set_limits(limits)
    _limit(resource.RLIMIT_AS, limits.get("memory_bytes"))
    import signal
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)   # forked children leave no zombies holding process slots
    from ipykernel import kernelapp
    sys.argv = [sys.argv[0]] + argv
    kernelapp.launch_new_instance()


def _not_dumpable():
    """Keep the kernel's processes (same user) out of this one: no ptrace, no /proc/PID/fd."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)   # PR_SET_DUMPABLE, 0
    except (OSError, AttributeError):
        pass


def sliced_get_msg(get, slice_seconds=1.0):
    """`get` (an async channel's get_msg) made to wait a second at a time, however long its caller waits.

    A reply that arrives while the client waits in one long poll is sometimes not seen until that poll's
    time runs out (the client idle, the kernel idle, the reply queued): short polls see it within a second.
    Works on a bound method and on the class's function alike.
    """
    from queue import Empty

    async def get_msg(*args, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                return await get(*args, timeout=slice_seconds if left is None else min(slice_seconds, left))
            except Empty:
                if left is not None and left <= slice_seconds:
                    raise
    return get_msg


def _poll_in_slices(kc):
    for channel in (kc.shell_channel, kc.iopub_channel):
        channel.get_msg = sliced_get_msg(channel.get_msg)


def run(spec_path):
    phases = {"start": time.monotonic()}
    _not_dumpable()
    with open(spec_path) as f:
        spec = json.load(f)
    if spec.get("copy_from"):
        import shutil
        shutil.copytree(spec["copy_from"], spec["cwd"])
        os.makedirs(spec["probe_dir"], exist_ok=True)
    os.chdir(spec["cwd"])
    fd = spec["report_fd"]
    os.set_inheritable(fd, False)
    report = os.fdopen(fd, "w", buffering=1)
    set_limits(spec["limits"])
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)

    def send(**message):
        report.write(json.dumps(message) + "\n")
        report.flush()

    # jsonschema (through nbformat) would spend a second compiling an optional URI grammar it never needs here
    sys.modules.setdefault("rfc3987_syntax", None)
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError
    from nbclient.util import run_sync
    phases["imports"] = time.monotonic()

    cap = spec["output_bytes"]
    probe_dir = spec["probe_dir"]
    # "kernel": what the kernel last said about the cell being run: "unacknowledged" (nothing yet),
    # "busy" (it is running the learner's code) or "idle" (it finished, whether or not a reply came)
    state = {"bytes": 0, "truncated": False, "cell": None, "kernel": "unacknowledged"}

    def over_cap(content, cell_index):
        """Count one message's content (all of it: text, data, metadata, traceback) against the cap."""
        try:
            state["bytes"] += len(json.dumps(content, default=str))
        except (TypeError, ValueError, RecursionError):
            state["bytes"] = cap + 1
        if state["bytes"] <= cap:
            return False
        if not state["truncated"]:
            state["truncated"] = True
            send(type="event", event="output_limit", cell=cell_index)
        return True

    class Client(NotebookClient):
        def output(self, outs, msg, display_id, cell_index):
            if over_cap(msg.get("content", {}), cell_index):
                if state["truncated"] is True:
                    state["truncated"] = "noted"
                    outs.append(nbformat.v4.new_output(
                        "stream", name="stdout",
                        text=f"\n[output cut: this notebook printed more than {cap} bytes]\n"))
                return None
            return super().output(outs, msg, display_id, cell_index)

        def _update_display_id(self, display_id, msg):
            if over_cap(msg.get("content", {}), state["cell"]):
                return None
            return super()._update_display_id(display_id, msg)

        def process_message(self, msg, cell, cell_index):
            kind = msg.get("header", {}).get("msg_type")
            if kind == "status":
                state["kernel"] = str(msg.get("content", {}).get("execution_state", state["kernel"]))[:20]
            elif kind == "execute_input":
                state["kernel"] = "busy"
            return super().process_message(msg, cell, cell_index)

        async def _async_handle_timeout(self, timeout, cell=None):
            send(type="event", event="timeout", cell=state["cell"], kernel=state["kernel"])
            state["timed_out"] = state["cell"]
            return await super()._async_handle_timeout(timeout, cell)

    async def answers(seconds):
        """Whether the kernel answers a kernel_info request within `seconds`. Its shell takes one request at a
        time, so a kernel still running a cell that went on after the interrupt (it ignores SIGINT, or catches
        KeyboardInterrupt and loops again) cannot, and every cell after it would only wait out its timeout."""
        from queue import Empty
        msg_id = client.kc.kernel_info()
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                reply = await client.kc.shell_channel.get_msg(timeout=left)
            except Empty:
                return False
            if reply.get("parent_header", {}).get("msg_id") == msg_id:   # not the interrupted cell's late reply
                return True
        return False

    def take_probe(grade_id):
        """The probe file this grade cell wrote (or None); the probe directory is emptied either way."""
        data = None
        for name in os.listdir(probe_dir):
            path = os.path.join(probe_dir, name)
            try:
                if name == f"{grade_id}.npz" and os.path.getsize(path) <= spec["probe_bytes"]:
                    with open(path, "rb") as f:
                        data = base64.b64encode(f.read()).decode()
                os.unlink(path)
            except OSError:
                pass
        return data

    def kill_strays():
        """Kill every process in the sandbox but this one, its ancestors and the kernel (between cells)."""
        me = os.getpid()
        keep = {1, me, os.getppid()}
        killed = 0
        for _ in range(20):
            strays = []
            for entry in os.listdir("/proc"):
                if not entry.isdigit() or int(entry) in keep:
                    continue
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        parent = int(f.read().rsplit(")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    continue
                if parent == me:      # the kernel
                    continue
                strays.append(int(entry))
            if not strays:
                break
            for pid in strays:
                try:
                    os.kill(pid, 9)
                    killed += 1
                except OSError:
                    pass
            time.sleep(0.01)
        return killed

    nb = nbformat.read(spec["notebook"], as_version=4)
    grade_ids = {i: c.metadata.get("nbgrader", {}).get("grade_id") for i, c in enumerate(nb.cells)
                 if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")}
    client = Client(
        nb, kernel_name="miniflow-sandbox", timeout=spec["cell_timeout"], allow_errors=True,
        interrupt_on_timeout=True, startup_timeout=spec["startup_timeout"],
        error_on_timeout={"ename": "TimeoutError",
                          "evalue": f"this cell ran longer than {spec['cell_timeout']} s and was stopped",
                          "traceback": []},
        resources={"metadata": {"path": spec["cwd"]}}, record_timing=False)
    started = time.monotonic()

    def finish(early=False):
        if early and not spec.get("kill_strays"):
            return    # without a sandbox, the kernel must be shut down properly
        phases["done"] = time.monotonic()
        send(type="done", seconds=time.monotonic() - started,
             phases={k: round(v - phases["start"], 4) for k, v in phases.items()})
        report.close()
        os._exit(0)   # in a sandbox, it is torn down next, kernel and all

    try:
        with client.setup_kernel():
            _poll_in_slices(client.kc)
            phases["kernel"] = time.monotonic()
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                state["cell"] = index
                state["kernel"] = "unacknowledged"
                died = False
                grade_id = grade_ids.get(index)
                if grade_id:
                    take_probe(None)
                try:
                    client.execute_cell(cell, index)
                except DeadKernelError:
                    died = True
                strays = kill_strays() if spec.get("kill_strays") else 0
                if strays:
                    send(type="event", event="processes_killed", cell=index, count=strays)
                send(type="cell", index=index, outputs=cell.get("outputs", []),
                     execution_count=cell.get("execution_count"),
                     probe=take_probe(grade_id) if grade_id else None)
                if died:
                    send(type="event", event="kernel_died", cell=index)
                    break
                if state.get("timed_out") == index and not run_sync(answers)(INTERRUPT_GRACE):
                    send(type="event", event="stuck", cell=index)
                    break
            phases["cells"] = time.monotonic()
            finish(early=True)     # before the kernel's graceful shutdown, which nobody needs to wait for
    except DeadKernelError:
        send(type="event", event="kernel_died", cell=state["cell"])
    except Exception as error:  # the kernel failed to start, or the client failed
        send(type="event", event="runner_error", cell=state["cell"],
             detail=f"{type(error).__name__}: {str(error)[:300]}")
    finish()


if __name__ == "__main__":
    if sys.argv[1] == "kernel":
        kernel(sys.argv[2:])
    else:
        run(sys.argv[2])
