"""Judging what came back from a sandbox: untrusted data, checked here before anything uses it.

Outputs are kept only when well-formed and, all kinds together, under the cap;
probe files only when they are plain arrays; the run's events become the limits
the report lists, and a run the learner did not cause to fail is told apart.
"""
import io
import json
import math
import struct
import zipfile

import nbformat
import numpy as np

from .jobs import JobResult

NPZ_LIMIT = 64 * 1024 ** 2          # uncompressed bytes accepted from one probe file
TEXT_LIMIT = 20_000                 # characters of text accepted in one probe array (messages, names)
MESSAGE_LIMIT = 2000                # characters of a failure message shown to a learner
MEMBER_LIMIT = 256                  # arrays in one probe file (np.savez writes one member for each)
LISTING_LIMIT = 256 * 1024          # bytes of a probe file's list of members
RATIO_LIMIT = 100                   # how far a member may be compressed (np.savez stores, 1 to 1)...
RATIO_FREE = 1024 ** 2              # ...once it is larger than this


def probe_members(data):
    """How many members the zip archive `data` lists and how many bytes its listing takes, from its end record.

    Read before zipfile reads the listing (which costs time per member): the
    record is where zipfile looks for it, in the last 64 KiB. ZIP64 archives
    (for more than 65,535 members or 4 GiB) are never what np.savez writes here.
    """
    end = len(data) - 22
    if end < 0:
        raise ValueError("it is not a zip archive")
    if data[end:end + 4] != b"PK\x05\x06":
        end = data.rfind(b"PK\x05\x06", max(0, len(data) - 22 - 65535), len(data) - 21)
        if end < 0:
            raise ValueError("it is not a zip archive")
    members, listing = struct.unpack("<HI", data[end + 10:end + 16])
    if data.rfind(b"PK\x06\x07", max(0, end - 20), end) >= 0 or members == 0xFFFF or listing == 0xFFFFFFFF:
        raise ValueError("it is a ZIP64 archive, which np.savez does not write for a few arrays")
    return members, listing


def load_probe_file(data):
    """The arrays in one probe file (bytes), as plain ndarrays; raises ValueError if it is not an honest npz.

    Its structure is checked before it is read (members and the bytes of their
    listing, from the end record; then the sizes and compression each member
    declares, and each array's header against its member's size), and it is read
    once, a member at a time.
    """
    if len(data) > NPZ_LIMIT:
        raise ValueError(f"the probe file takes {len(data)} bytes, more than {NPZ_LIMIT}")
    members, listing = probe_members(data)
    if members > MEMBER_LIMIT or listing > LISTING_LIMIT:
        raise ValueError(f"the saved values are {members} members listed in {listing} bytes, more than "
                         f"{MEMBER_LIMIT} (one per array)")
    arrays = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        if len(infos) > MEMBER_LIMIT:
            raise ValueError(f"the saved values are {len(infos)} members, more than {MEMBER_LIMIT}")
        total = sum(info.file_size for info in infos)
        if total > NPZ_LIMIT:
            raise ValueError(f"the saved values take {total} bytes, more than {NPZ_LIMIT}")
        for info in infos:
            if info.file_size > RATIO_FREE and info.file_size > RATIO_LIMIT * max(info.compress_size, 1):
                raise ValueError(f"{info.filename!r} is compressed {info.file_size // max(info.compress_size, 1)} "
                                 f"to 1, more than {RATIO_LIMIT} to 1")
            if not info.filename.endswith(".npy"):
                raise ValueError(f"{info.filename[:100]!r} is not an array file (np.savez writes NAME.npy)")
            key = info.filename[:-4]
            with archive.open(info) as member:
                value = _read_array(member, info.file_size, key)
            if value.dtype.kind not in "biufU":
                raise ValueError(f"{key!r} holds {value.dtype} values, not numbers")
            if value.dtype.kind == "U" and value.size * (value.dtype.itemsize // 4) > TEXT_LIMIT:
                raise ValueError(f"{key!r} holds more than {TEXT_LIMIT} characters of text")
            arrays[key] = value
    return arrays


def _read_array(member, size, key):
    """One .npy member: its header checked against the member's size before any array is made."""
    version = np.lib.format.read_magic(member)
    if version not in ((1, 0), (2, 0), (3, 0)):
        raise ValueError(f"{key!r} is not an array file")
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    try:
        shape, fortran, dtype = read_header(member, max_header_size=10_000)
    except Exception as error:     # numpy's header parser raises more than ValueError on what it cannot read
        raise ValueError(f"{key!r} has an array header numpy cannot read ({type(error).__name__})") from None
    if dtype.hasobject or dtype.kind not in "biufU" or dtype.fields is not None or dtype.subdtype is not None:
        raise ValueError(f"{key!r} holds {dtype} values, not numbers")
    if any(d < 0 for d in shape):
        raise ValueError(f"{key!r} says it holds an array of shape {shape}")
    count = math.prod(shape)
    if count * dtype.itemsize > size:
        raise ValueError(f"{key!r} says it holds {count} values of {dtype.itemsize} bytes, more than its "
                         f"{size} bytes")
    raw = member.read(count * dtype.itemsize + 1)
    if len(raw) != count * dtype.itemsize:
        raise ValueError(f"{key!r} holds {len(raw)} bytes of values, not the {count * dtype.itemsize} its header says")
    value = np.frombuffer(raw, dtype=dtype).copy()
    return value.reshape(shape, order="F" if fortran else "C")


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
    stuck = next((e for e in run.events if e.get("event") == "stuck"), None)
    if stuck is not None:
        return (f"cell {stuck.get('cell')} ran longer than {limits.cell_timeout} s and went on running when it was "
                "interrupted, so the notebook was stopped there")
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
        elif kind == "stuck":
            hits.append({"kind": "timeout", "detail": f"cell {cell} went on running when it was interrupted: "
                                                      "the cells after it were not run"})
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


def judge_run(run, job, source, limits, checks, problem=None):
    """The JobResult of one notebook: its sandbox's `run` (untrusted) judged against the reference, here.

    `source` is the source notebook's {"known", "autograded"}; `problem` an
    infrastructure problem that made the grader run it again.
    """
    result = JobResult(source["known"], seconds=run.seconds, output_cap=limits.output_bytes)
    sent = job.node if job.node is not None else nbformat.read(job.sanitized, as_version=4)
    grade_cells = {}
    for index, cell in enumerate(sent.cells):
        if cell.cell_type != "code":
            continue
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in source["autograded"]:
            grade_cells[grade_id] = index
        outputs, count = valid_outputs(run.cells.get(index))
        result.cell_outputs[index] = outputs
        result.execution_counts[index] = count
    result.limits = limits_hit(run, result.cell_outputs, grade_cells, limits)
    if problem:
        result.limits.append({"kind": "infrastructure", "detail": problem})
    if cap_outputs(result.cell_outputs, limits.output_bytes, set(grade_cells.values())) \
            and not any(hit["kind"] == "output" for hit in result.limits):
        result.limits.append({"kind": "output", "detail": f"more than {limits.output_bytes} bytes of output"})
    stopped = stop_reason(run, limits)
    timed_out = {e.get("cell") for e in run.events if e.get("event") == "timeout"}
    died = {e.get("cell") for e in run.events if e.get("event") == "kernel_died"}
    for grade_id, hidden in source["autograded"].items():
        index = grade_cells.get(grade_id)
        message = run.cells.get(index) if index is not None else None
        probe = message.get("probe") if isinstance(message, dict) else None
        if index in timed_out and not isinstance(probe, str):
            passed, text = False, (f"This test ran longer than {limits.cell_timeout} s and was stopped "
                                   "(is there an endless loop, or a cell above that never finished?).")
        elif index in died and not isinstance(probe, str):
            passed, text = False, ("The kernel died while this test ran (os._exit, a crash, "
                                   "or too much memory), so it could not finish.")
        else:
            passed, text = verdict(checks, grade_id, hidden, probe, job.seed,
                                   result.cell_outputs.get(index) if index is not None else None,
                                   stopped if message is None else None)
        result.parts[grade_id] = {"passed": passed, "message": text}
        result.grade_outputs[grade_id] = [] if passed else [error_output(text)]
    return result


def verdict(checks, grade_id, hidden, probe, seed, cell_outputs, stopped):
    """(passed, message) of one grade cell, from its probe file (base64 text, untrusted) or what stopped it."""
    if not isinstance(probe, str):
        error = next((o for o in (cell_outputs or []) if o.get("output_type") == "error"), None)
        if error is not None:
            name = str(error.get("ename", "Error"))[:80]
            if hidden:
                return False, f"Hidden test failed: your code raised {name}."
            value = str(error.get("evalue", ""))[:MESSAGE_LIMIT]
            return False, f"{name}: {value}" if value else name
        if stopped:
            return False, f"This test did not run: {stopped}."
        return False, "This test did not run to the end: its results are missing."
    try:
        import base64
        outputs = load_probe_file(base64.b64decode(probe, validate=True))
    except Exception as error:
        return False, f"The values your code produced could not be read as arrays ({error})."[:MESSAGE_LIMIT]
    try:
        checks.compare(grade_id, outputs, seed)
    except checks.CheckFailed as failure:
        if hidden:
            return False, "Hidden test failed: " + short(str(failure))
        return False, str(failure)[:MESSAGE_LIMIT]
    except Exception as error:
        return False, f"The values your code produced could not be checked ({type(error).__name__})."
    return True, ""


def failed_result(source, detail, message="the grader failed on this notebook"):
    """The JobResult of a notebook the grader itself could not grade: nothing of it counts."""
    result = JobResult(source["known"], limits=[{"kind": "grader_error", "detail": detail}])
    for grade_id in source["autograded"]:
        result.grade_outputs[grade_id] = [error_output(message)]
        result.parts[grade_id] = {"passed": False, "message": message}
    return result
