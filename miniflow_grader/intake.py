"""The one place where learners' files become checked data: ids, file types, sizes.

Everything under `submitted/` is untrusted, whatever put it there (`nbgrader
collect`, `zip_collect`, a script, a learner with a shell). Before anything
trusted opens a submission, `stage()` walks it through directory file
descriptors, never following a link: it accepts regular files and directories
only, refuses symbolic links at any depth, devices, FIFOs, sockets, hard links
and anything over the budget, and copies what it accepts, a chunk at a time,
into a private folder of the grader's. nbgrader and the rest of the grader read
only that copy.

Learner ids are names, never patterns: an id with characters that nbgrader
would read as a glob or a path, or longer than its gradebook can store, is
refused for that learner alone (`placeholder_id` names the gradebook row that
holds their zero). Ids are shown as text: `shown_id` escapes what a terminal or
a page would act on (control and bidirectional-override characters).
"""
import hashlib
import json
import os
import re
import shutil
import stat
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

ID_LIMIT = 128          # nbgrader's gradebook keeps student ids in a VARCHAR(128)
ID_PUNCTUATION = set("._@+- ")   # a space as in "ivan petrov": nbgrader quotes nothing, so it is safe
SECRET_FORM = re.compile(rb"[0-9a-f]{128}")     # what `nbgrader submit` writes: secrets.token_hex(64)
ID_FIX = ("rename the folder submitted/{shown}/ to the learner's nbgrader id (letters, digits, spaces and . _ @ + -), "
          "or map it to one in an id map (--id-map FILE.csv with columns lms_user_id,id)")
CHUNK = 1 << 20


class Refused(Exception):
    """This submission is not graded; str(error) says why, in words for the learner and the report."""


@dataclass
class Budget:
    """How much of a submission the grader accepts (a submission over it is refused, not cut)."""
    max_bytes: int = 32 * 1024 ** 2     # all files together
    max_files: int = 256                # files and folders
    max_depth: int = 8                  # folders inside folders
    max_cells: int = 2000               # cells in one notebook (any nbformat version)
    max_cell_chars: int = 100_000       # characters in one cell's source
    max_source_chars: int = 1_000_000   # characters in all of one notebook's cell sources
    max_json_values: int = 500_000      # JSON values (numbers, strings, lists, objects...) in one notebook
    max_json_depth: int = 64            # lists and objects inside one another in one notebook
    max_json_string: int = 16 * 1024 ** 2   # bytes of one JSON string in one notebook (an image output is one)


@dataclass
class Staged:
    """A submission that passed the checks, copied to `path` (a folder only the grader writes)."""
    student: str
    path: Path
    digest: str                          # SHA-256 over names and contents, in a stable order
    files: list = field(default_factory=list)
    size: int = 0


def id_problem(student):
    """Why `student` cannot be used as a learner id, or None if it can be used as it is."""
    if not isinstance(student, str) or not student:
        return "the learner id is empty"
    try:
        student.encode("utf-8")
    except UnicodeEncodeError:
        return "the learner id is not valid UTF-8"
    if len(student) > ID_LIMIT:
        return f"the learner id is {len(student)} characters long, more than the gradebook's {ID_LIMIT}"
    if unicodedata.normalize("NFC", student) != student:
        return "the learner id is not in Unicode normal form (NFC)"
    if student[0] in ".-":
        return f"the learner id starts with {student[0]!r}"
    if student != student.strip(" "):
        return "the learner id starts or ends with a space"
    bad = sorted({c for c in student if not (c.isalnum() or c in ID_PUNCTUATION)})
    if bad:
        shown = " ".join(_escaped(repr(c)) for c in bad[:8])
        return (f"the learner id contains {shown}: ids may hold letters, digits, spaces and . _ @ + - only "
                "(nbgrader reads other characters as patterns or paths)")
    return None


def _escaped(text):
    """`text` with every character a terminal or a page would act on written as an escape (\\u202e, \\x1b)."""
    out = []
    for c in text:
        if c.isprintable():
            out.append(c)
        elif ord(c) < 0x100:
            out.append(f"\\x{ord(c):02x}")
        elif 0xDC80 <= ord(c) <= 0xDCFF:          # a byte that is not UTF-8, as os.fsdecode keeps it
            out.append(f"\\x{ord(c) - 0xDC00:02x}")
        else:
            out.append(f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}")
    return "".join(out)


def shown_id(student, limit=80):
    """An id as it may be shown in a terminal or a report: text only (escapes for the rest), bounded.

    A refused id is quoted, so where it starts and ends shows."""
    if not isinstance(student, str):
        student = repr(student)
    text = _escaped(student)
    if id_problem(student):
        text = "'" + text.replace("'", "\\'") + "'"
    return text if len(text) <= limit else text[:limit] + "..."


def placeholder_id(student):
    """The gradebook id under which a learner whose id cannot be used gets their zero: 'refused-NAME-HASH'.

    NAME keeps the ASCII letters and digits of the id (so the instructor knows whom
    it stands for), HASH tells apart ids that keep the same ones.
    """
    raw = student.encode("utf-8", "surrogateescape") if isinstance(student, str) else bytes(student)
    fragment = "".join(c for c in str(student) if c.isascii() and c.isalnum())[:24]
    return f"refused-{fragment}-{hashlib.sha256(raw).hexdigest()[:10]}" if fragment else \
        f"refused-{hashlib.sha256(raw).hexdigest()[:10]}"


def read_small(submitted, student, assignment, name, limit):
    """The bytes of submitted/student/assignment/name if it is a regular file of at most `limit` bytes, else None.

    Nothing is followed (the learner's folders are opened as for `stage`); for the
    few small files nbgrader keeps of a submission that is refused.
    """
    try:
        root_fd = _open_dir(str(submitted), follow=True)
    except Refused:
        return None
    fds = [root_fd]
    try:
        for folder in (student, assignment):
            fds.append(_open_dir(folder, fds[-1]))
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=fds[-1])
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_nlink > 1 or info.st_size > limit:
                return None
            data = os.read(fd, limit + 1)
            return data if len(data) <= limit else None
        finally:
            os.close(fd)
    except (OSError, Refused):
        return None
    finally:
        for fd in reversed(fds):
            os.close(fd)


TIMESTAMP_FORM = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?"
                            r"( ?(Z|[+-]\d{2}:?\d{2})| [A-Za-z]{1,6})?")


def timestamp_problem(data):
    """Why the bytes of a timestamp.txt are not a date as nbgrader writes it, or None.

    nbgrader hands the text to dateutil, which reads a time zone named like a path
    (`2026-01-10 12:00 /dev/stdin`) from that file: only a date, a time and a zone
    of letters or digits get that far.
    """
    if len(data) > 100:
        return f"its timestamp.txt holds {len(data)} bytes, not a date"
    try:
        text = data.decode("ascii").strip()
    except UnicodeDecodeError:
        return "its timestamp.txt does not hold a date nbgrader can read"
    if not text:
        return None                          # nbgrader reads an empty one as no timestamp
    if not TIMESTAMP_FORM.fullmatch(text):
        return ("its timestamp.txt does not hold a date nbgrader can read, in the form nbgrader writes "
                "(2026-01-10 12:00:00.000000 UTC)")
    return None


def valid_secret(data):
    """Whether `data` is a submission_secret.txt as `nbgrader submit` writes it (128 lowercase hex digits)."""
    return isinstance(data, bytes) and SECRET_FORM.fullmatch(data) is not None


def _kind(mode):
    for test, name in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "not a regular file"


# Unicode categories a file name may not hold: it would not print as what it is (a control such as ESC or
# NEL, a line break, a bidirectional override such as U+202E, a zero-width character), or has no meaning yet
NAME_REFUSED = {"Cc": "a control character", "Cf": "a format character (invisible, or reordering what follows)",
                "Cs": "a surrogate", "Co": "a private-use character", "Cn": "a code point Unicode has not assigned",
                "Zl": "a line separator", "Zp": "a paragraph separator"}


def _code_point(char):
    """U+202E RIGHT-TO-LEFT OVERRIDE: a character named by its code point, never shown raw."""
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" {name}" if name else "")


def _name_problem(name):
    """Why `name` (one file or folder name) is refused, or None: it must be printable UTF-8."""
    if any(0xDC80 <= ord(c) <= 0xDCFF for c in name):      # a byte that is not UTF-8, as os.fsdecode keeps it
        return "is not valid UTF-8"
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid UTF-8"
    for char in name:
        category = unicodedata.category(char)
        if category in NAME_REFUSED:
            return (f"contains {_code_point(char)}, {NAME_REFUSED[category]}: rename the file with printable "
                    "characters only")
    return None


def _open_dir(name, dir_fd=None, follow=False):
    """A directory's file descriptor, refusing a link (unless `follow`); raises Refused."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    try:
        return os.open(name, flags, dir_fd=dir_fd)
    except OSError as error:
        raise Refused(f"{name} could not be opened as a folder ({error.strerror})") from None


def submissions(submitted, assignment):
    """[(student, error or None)] for every folder in `submitted` that holds `assignment`, by name.

    Nothing is followed: a student folder or an assignment folder that is a link
    (or not a folder) is listed with the reason it is refused.
    """
    found = []
    try:
        entries = sorted(os.scandir(submitted), key=lambda e: e.name)
    except FileNotFoundError:
        return []
    for entry in entries:
        student = entry.name
        if entry.is_symlink():
            found.append((student, "the learner's folder in submitted/ is a symbolic link"))
            continue
        if not entry.is_dir(follow_symlinks=False):
            continue
        try:
            info = os.stat(os.path.join(entry.path, assignment), follow_symlinks=False)
        except FileNotFoundError:
            continue
        except OSError as error:
            found.append((student, f"the submission folder could not be read ({error.strerror})"))
            continue
        if stat.S_ISLNK(info.st_mode):
            found.append((student, f"the learner's {assignment} folder is a symbolic link"))
        elif not stat.S_ISDIR(info.st_mode):
            found.append((student, f"the learner's {assignment} is {_kind(info.st_mode)}, not a folder"))
        else:
            found.append((student, None))
    return found


def stage(submitted, student, assignment, dest, budget=None):
    """Copy submitted/student/assignment to `dest` (which must not exist) if it passes the checks.

    Returns a Staged; raises Refused, saying why, at the first thing refused.
    """
    budget = budget or Budget()
    dest = Path(dest)
    digest = hashlib.sha256()
    state = {"bytes": 0, "files": 0, "list": []}
    root_fd = _open_dir(str(submitted), follow=True)     # the instructor's folder: it may be a link
    try:
        student_fd = _open_dir(student, root_fd)
        try:
            folder_fd = _open_dir(assignment, student_fd)
        finally:
            os.close(student_fd)
        dest.mkdir(parents=True, mode=0o700)
        try:
            try:
                _copy_tree(folder_fd, dest, "", 0, budget, digest, state)
            finally:
                os.close(folder_fd)
            for name in state["list"]:
                if name.endswith(".ipynb") and "/" not in name:
                    _check_cells(dest / name, name, budget)
        except BaseException:
            shutil.rmtree(dest, ignore_errors=True)      # nothing of a refused submission is kept
            raise
    finally:
        os.close(root_fd)
    return Staged(student, dest, digest.hexdigest(), state["list"], state["bytes"])


def _copy_tree(dir_fd, dest, prefix, depth, budget, digest, state):
    with os.scandir(dir_fd) as scan:
        names = sorted(entry.name for entry in scan)
    for name in names:
        shown = prefix + name
        problem = _name_problem(name)
        if problem:
            raise Refused(f"the file name '{_escaped(shown)}' {problem}")
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        state["files"] += 1
        if state["files"] > budget.max_files:
            raise Refused(f"the submission holds more than {budget.max_files} files and folders")
        if stat.S_ISDIR(info.st_mode):
            if depth + 1 > budget.max_depth:
                raise Refused(f"{shown}/ is nested more than {budget.max_depth} folders deep")
            digest.update(b"d\0" + shown.encode() + b"\0")
            child = _open_dir(name, dir_fd)
            try:
                (dest / name).mkdir(mode=0o700)
                _copy_tree(child, dest / name, shown + "/", depth + 1, budget, digest, state)
            finally:
                os.close(child)
        elif stat.S_ISREG(info.st_mode):
            _copy_file(dir_fd, name, shown, info, dest / name, budget, digest, state)
        else:
            raise Refused(f"{shown} is {_kind(info.st_mode)}: only regular files and folders are accepted")


def _copy_file(dir_fd, name, shown, info, target, budget, digest, state):
    if info.st_nlink > 1:
        raise Refused(f"{shown} is a hard link to another file ({info.st_nlink} names): "
                      "only files of the submission's own are accepted")
    left = budget.max_bytes - state["bytes"]
    if info.st_size > left:
        raise Refused(f"the submission is larger than {budget.max_bytes // 1024 ** 2} MiB ({shown} alone "
                      f"takes {info.st_size} bytes)")
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(name, flags, dir_fd=dir_fd)
    except OSError as error:
        raise Refused(f"{shown} could not be opened ({error.strerror})") from None
    try:
        opened = os.fstat(fd)
        if (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino) or not stat.S_ISREG(opened.st_mode) \
                or opened.st_nlink > 1:
            raise Refused(f"{shown} changed while it was being read")
        digest.update(b"f\0" + shown.encode() + b"\0")
        copied = 0
        with open(target, "xb") as out:
            while True:
                chunk = os.read(fd, min(CHUNK, left - copied + 1))
                if not chunk:
                    break
                copied += len(chunk)
                if copied > left:
                    raise Refused(f"the submission is larger than {budget.max_bytes // 1024 ** 2} MiB")
                digest.update(chunk)
                out.write(chunk)
        digest.update(b"\0" + str(copied).encode() + b"\0")
    finally:
        os.close(fd)
    state["bytes"] += copied
    state["list"].append(shown)


def json_structure(data):
    """(values, depth, longest string) of JSON text `data` (bytes), counted without parsing it: a few passes in C
    and NumPy.

    Escapes are blanked first (each `\\\\`, then each `\\"`), so every quote left opens
    or closes a string; a bracket or a comma counts only outside strings (an even
    number of quotes before it). Every value but the first follows a comma or an
    opening bracket (a key and its value count as one), and the depth is the running
    count of brackets; the longest string is the widest gap between a quote that
    opens and the one that closes (in bytes, quotes included). On valid JSON all
    three are exact; where `data` stops being JSON, any parser reading it stops too.
    """
    import numpy as np

    codes = np.frombuffer(data.replace(b"\\\\", b"__").replace(b'\\"', b"__"), dtype=np.uint8)
    quotes = np.flatnonzero(codes == ord('"'))
    marks = np.flatnonzero((codes == ord(",")) | (codes == ord("[")) | (codes == ord("{"))
                           | (codes == ord("]")) | (codes == ord("}")))
    kinds = codes[marks[np.searchsorted(quotes, marks) % 2 == 0]]
    opens = (kinds == ord("[")) | (kinds == ord("{"))
    closes = (kinds == ord("]")) | (kinds == ord("}"))
    values = 1 + int(np.count_nonzero(kinds == ord(","))) + int(np.count_nonzero(opens))
    running = np.cumsum(opens.astype(np.int32) - closes, dtype=np.int64)
    pairs = len(quotes) // 2 * 2
    longest = int((quotes[1:pairs:2] - quotes[0:pairs:2]).max()) + 1 if pairs else 0
    return values, int(running.max()) if len(running) else 0, longest


def _check_structure(data, name, budget):
    """Refuse a notebook whose JSON would cost the grader far more than its size says, before anything parses it."""
    values, depth, longest = json_structure(data)
    if longest > budget.max_json_string:
        raise Refused(f"{name} holds a JSON string of {longest} bytes, more than {budget.max_json_string}: "
                      "clear its outputs (a large image or printout is one string), then save it again")
    if depth > budget.max_json_depth:
        raise Refused(f"{name} has lists or objects nested {depth} deep, more than {budget.max_json_depth}: "
                      "a notebook saved by Jupyter is never this deep; save it again from Jupyter")
    if values > budget.max_json_values:
        raise Refused(f"{name} holds about {values} JSON values (numbers, strings, keys, lists), more than "
                      f"{budget.max_json_values}: clear its outputs and remove what was added to its metadata, "
                      "then save it again")


def _check_cells(path, name, budget):
    """Refuse a notebook over the budget: its JSON's structure first, then cells (one not JSON is left to nbgrader)."""
    with open(path, "rb") as f:
        data = f.read()
    _check_structure(data, name, budget)
    try:
        nb = json.loads(data)
    except (ValueError, RecursionError, UnicodeDecodeError):
        return
    if not isinstance(nb, dict):
        return
    cells = nb.get("cells") if isinstance(nb.get("cells"), list) else []
    for sheet in nb.get("worksheets", []) if isinstance(nb.get("worksheets"), list) else []:
        if isinstance(sheet, dict) and isinstance(sheet.get("cells"), list):    # nbformat 3
            cells = cells + sheet["cells"]
    if len(cells) > budget.max_cells:
        raise Refused(f"{name} has {len(cells)} cells, more than {budget.max_cells}")
    total = 0
    for cell in cells:
        source = cell.get("source", cell.get("input", "")) if isinstance(cell, dict) else ""
        size = sum(len(line) for line in source) if isinstance(source, list) else len(str(source))
        total += size
        if size > budget.max_cell_chars:
            raise Refused(f"{name} has a cell of {size} characters, more than {budget.max_cell_chars}")
    if total > budget.max_source_chars:
        raise Refused(f"{name} holds {total} characters of cell sources, more than {budget.max_source_chars}")
