"""Judging what came back from a sandbox: untrusted data, checked here before anything uses it.

Outputs are kept only when well-formed and, all kinds together, under the cap;
probe files only when they are plain arrays; the run's events become the limits
the report lists, and a run the learner did not cause to fail is told apart.
"""
import io
import json
import zipfile

import nbformat
import numpy as np

NPZ_LIMIT = 64 * 1024 ** 2          # uncompressed bytes accepted from one probe file
TEXT_LIMIT = 20_000                 # characters of text accepted in one probe array (messages, names)
MESSAGE_LIMIT = 2000                # characters of a failure message shown to a learner


def load_probe_file(data):
    """The arrays in one probe file (bytes), as plain ndarrays; raises ValueError if it is not an honest npz."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        total = sum(info.file_size for info in archive.infolist())
    if total > NPZ_LIMIT:
        raise ValueError(f"the saved values take {total} bytes, more than {NPZ_LIMIT}")
    with np.load(io.BytesIO(data), allow_pickle=False) as loaded:
        arrays = {}
        for key in loaded.files:
            value = np.array(loaded[key], copy=True)
            if value.dtype.kind not in "biufU":
                raise ValueError(f"{key!r} holds {value.dtype} values, not numbers")
            if value.dtype.kind == "U" and value.size * (value.dtype.itemsize // 4) > TEXT_LIMIT:
                raise ValueError(f"{key!r} holds more than {TEXT_LIMIT} characters of text")
            arrays[key] = value
    return arrays


# --- reading what the sandbox wrote ---------------------------------------------------

def error_output(message):
    return {"output_type": "error", "ename": "CheckFailed", "evalue": message, "traceback": [message]}


def short(message):
    first = message.strip().splitlines()[0] if message.strip() else "wrong result"
    return first[:200]


OUTPUT_TYPES = {"stream", "display_data", "execute_result", "error"}


def valid_outputs(message):
    """The outputs of one cell as the runner reported them, kept only if they are well-formed."""
    if not isinstance(message, dict):
        return [], None
    outputs = message.get("outputs")
    count = message.get("execution_count")
    count = count if isinstance(count, int) and not isinstance(count, bool) else None
    if not isinstance(outputs, list) or not all(isinstance(o, dict) and o.get("output_type") in OUTPUT_TYPES
                                                for o in outputs):
        return [], count
    cell = nbformat.v4.new_code_cell(outputs=outputs, execution_count=count)
    try:
        nbformat.validate(nbformat.v4.new_notebook(cells=[cell]))
    except Exception:
        return [], count
    return outputs, count


def infrastructure_problem(run):
    """What went wrong on the grader's side of a run (a kernel that did not start, or went quiet), or None.

    A kernel that is running the learner's code says so ("busy"): a cell that
    times out while it is busy is the learner's (an endless loop, a long sleep).
    One that times out with the kernel idle, or before the kernel acknowledged
    the cell, or a kernel that never started, is not.
    """
    timeouts = [e for e in run.events if e.get("event") == "timeout"]
    if timeouts and timeouts[0].get("kernel") in ("idle", "unacknowledged"):
        # only the first: after a learner's cell that ignores the interrupt, the next ones go unacknowledged too
        return (f"the kernel stopped answering in cell {timeouts[0].get('cell')} while it was not running "
                f"anything ({timeouts[0].get('kernel')})")
    for event in run.events:
        kind, cell = event.get("event"), event.get("cell")
        if kind in ("runner_error", "kernel_died") and cell is None:
            return f"the kernel did not start ({str(event.get('detail', kind))[:200]})"
    if not run.finished and not run.cells and not run.wall_killed and not run.memory_killed:
        return f"the sandbox stopped before the kernel started (exit {run.returncode}: {run.stderr.strip()[-200:]})"
    return None


def output_size(output):
    try:
        return len(json.dumps(output))
    except (TypeError, ValueError, RecursionError):
        return float("inf")


def cap_outputs(cell_outputs, cap, skip=()):
    """Keep outputs in notebook order while all of them together (every kind, metadata included) fit in `cap`.

    What does not fit is dropped, with one notice where the cut is. Returns whether anything was cut.
    """
    used, cut = 0, False
    for index in sorted(cell_outputs):
        if index in skip:         # grade cells: their outputs are the checks' verdicts, not the learner's
            continue
        kept = []
        for output in cell_outputs[index]:
            size = output_size(output)
            if not cut and used + size <= cap:
                used += size
                kept.append(output)
            elif not cut:
                cut = True
                kept.append(nbformat.v4.new_output("stream", name="stdout",
                                                   text=f"\n[output cut: this notebook's outputs take more than "
                                                        f"{cap} bytes]\n"))
        cell_outputs[index] = kept
    return cut


def stop_reason(run, limits):
    if run.wall_killed:
        return f"the notebook ran longer than {limits.wall_seconds} s and was stopped"
    if any(e.get("event") == "kernel_died" for e in run.events):
        return "the kernel died before this test (memory, os._exit or a crash)"
    if not run.finished:
        return "the sandbox stopped before this test"
    return None


VIOLATION_HINTS = ("Read-only file system", "Network is unreachable", "Connection refused", "Temporary failure in name resolution",
                   "Name or service not known", "Permission denied", "Operation not permitted")


def limits_hit(run, cell_outputs, grade_cells, limits):
    hits = []
    for event in run.events:
        kind = event.get("event")
        cell = event.get("cell")
        if kind == "timeout":
            hits.append({"kind": "timeout", "detail": f"cell {cell} ran longer than {limits.cell_timeout} s"})
        elif kind == "kernel_died":
            hits.append({"kind": "kernel_died", "detail": f"the kernel died in cell {cell}"})
        elif kind == "output_limit":
            hits.append({"kind": "output", "detail": f"more than {limits.output_bytes} bytes of output"})
        elif kind == "processes_killed":
            hits.append({"kind": "processes", "detail": f"{event.get('count')} processes left running by cell "
                                                        f"{cell} were killed"})
        elif kind == "runner_error":
            hits.append({"kind": "sandbox", "detail": str(event.get("detail", ""))[:300]})
    if run.memory_killed:
        hits.append({"kind": "memory", "detail": f"the notebook's processes together used more than "
                                                 f"{limits.shared_memory_bytes() // 1024 ** 2} MiB: the largest "
                                                 "was stopped"})
    if run.wall_killed:
        hits.append({"kind": "timeout", "detail": f"the notebook ran longer than {limits.wall_seconds} s"})
    elif not run.finished:
        hits.append({"kind": "sandbox", "detail": f"the sandbox stopped (exit {run.returncode}): "
                                                  f"{run.stderr.strip()[-300:]}"})
    test_cells = set(grade_cells.values())
    for index, outputs in sorted(cell_outputs.items()):
        if index in test_cells:
            continue
        for output in outputs:
            if output.get("output_type") == "stream" and "MemoryError" in str(output.get("text", "")):
                hits.append({"kind": "memory", "detail": f"cell {index}: the kernel ran out of memory"})
                continue
            if output.get("output_type") != "error":
                continue
            name, value = str(output.get("ename", "")), str(output.get("evalue", ""))
            if name == "MemoryError" or "Unable to allocate" in value:
                hits.append({"kind": "memory", "detail": f"cell {index}: {name}: {value[:120]}"})
            elif name == "BlockingIOError" or "Resource temporarily unavailable" in value:
                hits.append({"kind": "processes", "detail": f"cell {index}: {name}: {value[:120]}"})
            elif name in ("PermissionError", "gaierror", "ConnectionRefusedError") or any(h in value for h in VIOLATION_HINTS):
                hits.append({"kind": "sandbox_violation", "detail": f"cell {index}: {name}: {value[:120]}"})
    return hits
