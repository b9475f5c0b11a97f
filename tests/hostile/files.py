"""Hostile submission folders: links, special files, sizes, names and ids, each with what it must get.

Every entry plants files in a learner's `submitted/<id>/ps1_nodes/` folder (most
start from a correct notebook, so an entry earns full marks if the grader
falls for it). `refused` is a phrase the refusal must contain (None: graded as
usual, with `score`). Entries run as root where they need it (device files).
"""
import json
import os
import socket
import stat
from dataclasses import dataclass

import nbformat

from miniflow_grader import intake

from . import course as C

SECRET_MARKERS = ("root:", "seed_secret", "PATH=", "SQLite format")

# what a terminal, a page or a spreadsheet would act on, in one string: a screen clear, a window title ended by
# BEL, a one-byte CSI (C1), NEL, the Unicode line and paragraph separators, every bidirectional override,
# embedding, isolate and mark, and a zero-width space
HOSTILE_TEXT = ("\x1b[2J\x1b]0;owned\x07\x9b31m\x85\u2028\u2029\u202a\u202b\u202c\u202d\u202e"
                "\u2066\u2067\u2068\u2069\u200e\u200f\u061c\u200b\x1bc=HYPERLINK(1)")
HOSTILE_CHARS = sorted(set(HOSTILE_TEXT) - set("[]2J0;owned31m=HYPERLINK()c"))


@dataclass
class FileEntry:
    name: str            # the learner id (folder name) unless `student` is given
    what: str
    plant: object        # function(folder, ctx) -> None; folder is submitted/<id>/ps1_nodes, ctx a dict
    refused: str = None  # phrase of the refusal reason; None: graded
    score: float = None  # expected score when graded (None: full marks)
    student: str = None
    id_refused: bool = False   # refused for its id: a zero under intake.placeholder_id(student)
    secret_replaced: bool = False   # its submission_secret.txt is not kept (the grader gives it one of its own)


def _correct(folder, ctx):
    nbformat.write(ctx["correct"], folder / f"{C.ASSIGNMENT}.ipynb")


def _link(target):
    def plant(folder, ctx):
        _correct(folder, ctx)
        os.symlink(target.format(**ctx), folder / "notes.txt")
    return plant


def _notebook_link(target):
    def plant(folder, ctx):
        os.symlink(target.format(**ctx), folder / f"{C.ASSIGNMENT}.ipynb")
    return plant


def _nested_link(folder, ctx):
    _correct(folder, ctx)
    (folder / "data" / "deep").mkdir(parents=True)
    os.symlink("/etc/passwd", folder / "data" / "deep" / "x.csv")


def _dir_link(folder, ctx):
    _correct(folder, ctx)
    os.symlink("/", folder / "data")


def _fifo(folder, ctx):
    _correct(folder, ctx)
    os.mkfifo(folder / "pipe")


def _socket(folder, ctx):
    _correct(folder, ctx)
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(folder / "sock"))
    server.close()


def _device(folder, ctx):
    _correct(folder, ctx)
    os.mknod(folder / "zero", 0o600 | stat.S_IFCHR, os.makedev(1, 5))


def _hard_link(folder, ctx):
    os.link(ctx["solution_notebook"], folder / f"{C.ASSIGNMENT}.ipynb")


def _large(folder, ctx):
    _correct(folder, ctx)
    with open(folder / "big.bin", "wb") as f:
        for _ in range(40):
            f.write(b"\0" * (1 << 20))


def _sparse(folder, ctx):
    _correct(folder, ctx)
    with open(folder / "sparse.bin", "wb") as f:
        f.truncate(100 * 1024 ** 3)


def _many(folder, ctx):
    _correct(folder, ctx)
    for i in range(300):
        (folder / f"f{i}.txt").write_text("x")


def _deep(folder, ctx):
    _correct(folder, ctx)
    path = folder
    for i in range(12):
        path = path / f"d{i}"
    path.mkdir(parents=True)


def _many_cells(folder, ctx):
    nb = ctx["correct"].copy()
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    nb.cells = nb.cells + [nbformat.v4.new_code_cell("pass") for _ in range(3000)]
    nbformat.write(nb, folder / f"{C.ASSIGNMENT}.ipynb")


def _many_cells_v3(folder, ctx):
    """nbformat 3 keeps its cells in worksheets: they count too."""
    nb = nbformat.from_dict(json.loads(json.dumps(ctx["correct"])))
    nb.cells = nb.cells + [nbformat.v4.new_markdown_cell("x") for _ in range(3000)]
    nbformat.write(nbformat.convert(nb, 3), folder / f"{C.ASSIGNMENT}.ipynb")


def _huge_cell(folder, ctx):
    """One markdown cell of 240,000 characters that is slow to render (each cell is made inert)."""
    nb = nbformat.from_dict(json.loads(json.dumps(ctx["correct"])))
    nb.cells.append(nbformat.v4.new_markdown_cell("**_" * 80000))
    nbformat.write(nb, folder / f"{C.ASSIGNMENT}.ipynb")


def _shadow(relative, text):
    def plant(folder, ctx):
        _correct(folder, ctx)
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(text)
    return plant


def _bad_name(folder, ctx):
    _correct(folder, ctx)
    (folder / os.fsdecode(b"notes-\xff.txt")).write_text("x")


def _control_name(folder, ctx):
    _correct(folder, ctx)
    (folder / "two\nlines.txt").write_text("x")


def _hostile_text(folder, ctx):
    """Every text field a learner controls carries HOSTILE_TEXT: a comment, a markdown cell, stdout, stderr,
    a rich display, an exception's text and traceback, and the message of a failing check (Mul raises it)."""
    nb = nbformat.from_dict(json.loads(json.dumps(ctx["correct"])))
    hostile = repr(HOSTILE_TEXT)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "mul_solution":
            cell.source = (f"# {HOSTILE_TEXT}\nclass Mul(Node):\n    def __init__(self, *inputs, name=None):\n"
                           f"        Node.__init__(self, inputs, name)\n\n    def forward(self):\n"
                           f"        raise ValueError({hostile})\n")
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(f"# {HOSTILE_TEXT}"))
    nb.cells.append(nbformat.v4.new_code_cell(
        f"import sys\nfrom IPython.display import display, HTML\nprint({hostile})\n"
        f"print({hostile}, file=sys.stderr)\ndisplay(HTML({hostile}))\n{hostile}"))
    nb.cells.append(nbformat.v4.new_code_cell(f"raise RuntimeError({hostile})"))
    nbformat.write(nb, folder / f"{C.ASSIGNMENT}.ipynb")


def _named(name):
    def plant(folder, ctx):
        _correct(folder, ctx)
        (folder / "data").mkdir()
        (folder / "data" / name).write_text("x")
    return plant


def _nesting_bomb(folder, ctx):
    (folder / f"{C.ASSIGNMENT}.ipynb").write_text("[" * 200000 + "]" * 200000)


def _with_metadata(value):
    """A correct notebook whose metadata carries `value`: valid JSON, and well under the byte and cell budgets."""
    def plant(folder, ctx):
        nb = nbformat.from_dict(json.loads(json.dumps(ctx["correct"])))
        nb.metadata["extra"] = value() if callable(value) else value
        nbformat.write(nb, folder / f"{C.ASSIGNMENT}.ipynb")
    return plant


def _deep_value(depth):
    value = 0
    for i in range(depth):
        value = {"a": value} if i % 2 else [value]
    return value


def _tiny_lines(folder, ctx):
    """Ten cells of 70,000 one-character lines: under every character budget, not under the value one."""
    nb = nbformat.from_dict(json.loads(json.dumps(ctx["correct"])))
    nb.cells += [nbformat.v4.new_markdown_cell(["\n"] * 70_000) for _ in range(10)]
    nbformat.write(nb, folder / f"{C.ASSIGNMENT}.ipynb")


def _value_flood_in_an_output(folder, ctx):
    nb = nbformat.from_dict(json.loads(json.dumps(ctx["correct"])))
    nb.cells[-1].outputs = [nbformat.v4.new_output("execute_result", execution_count=1,
                                                   data={"application/json": {"x": [0] * 1_000_000}})]
    nbformat.write(nb, folder / f"{C.ASSIGNMENT}.ipynb")


def _copy_of(source_key, name=None):
    """What `nbgrader collect` makes of a link in the exchange: a regular copy of what it pointed at."""
    def plant(folder, ctx):
        if name is not None:
            _correct(folder, ctx)
        target = folder / (name or f"{C.ASSIGNMENT}.ipynb")
        target.write_bytes(open(ctx[source_key], "rb").read())
    return plant


def _odd_timestamp(folder, ctx):
    _correct(folder, ctx)
    (folder / "timestamp.txt").write_text("not a date " * 1000)


def _secret(content):
    """A correct notebook with a submission_secret.txt that `nbgrader submit` never writes."""
    def plant(folder, ctx):
        _correct(folder, ctx)
        (folder / "submission_secret.txt").write_bytes(content)
    return plant


def _timestamp(text):
    def plant(folder, ctx):
        _correct(folder, ctx)
        (folder / "timestamp.txt").write_text(text.format(**ctx))
    return plant


def _hostile_notebook_for_carol(folder, ctx):
    """A notebook that claims 100 points per test: graded raw, it would give 400 of 6."""
    nb = nbformat.from_dict(json.loads(json.dumps(ctx["correct"])))
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            meta["points"] = 100
            cell.source = "print('ok')"
    nbformat.write(nb, folder / f"{C.ASSIGNMENT}.ipynb")


FILE_ENTRIES = [
    # --- links: never followed, at any depth -----------------------------------------------
    FileEntry("link_to_solution", "the notebook is a link to the instructor's solution",
              _notebook_link("{course}/solutions/ps1_nodes/ps1_nodes.ipynb"), refused="symbolic link"),
    FileEntry("link_to_classmate", "the notebook is a link to a classmate's notebook",
              _notebook_link("../../alice/ps1_nodes/ps1_nodes.ipynb"), refused="symbolic link"),
    FileEntry("link_to_gradebook", "an extra file links to the gradebook", _link("../../../gradebook.db"),
              refused="symbolic link"),
    FileEntry("link_to_shadow", "an extra file links to /etc/shadow", _link("/etc/shadow"), refused="symbolic link"),
    FileEntry("link_to_environ", "an extra file links to /proc/self/environ", _link("/proc/self/environ"),
              refused="symbolic link"),
    FileEntry("nested_link", "a link three folders down", _nested_link, refused="symbolic link"),
    FileEntry("folder_link", "a folder that is a link to /", _dir_link, refused="symbolic link"),
    # --- what `nbgrader collect` makes of links: regular copies ---------------------------
    FileEntry("collected_solution", "the notebook is a byte copy of the source version (a collected link)",
              _copy_of("solution_notebook"), refused="instructor's"),
    FileEntry("collected_gradebook", "an extra file is a copy of the gradebook", _copy_of("gradebook", "gb.txt"),
              refused="database"),
    FileEntry("collected_shadow", "an extra file holds a copy of /etc/passwd (graded; never handed back)",
              _copy_of("passwd", "notes.txt")),
    FileEntry("collected_classmate", "the notebook is a byte copy of alice's (graded, and flagged)",
              _copy_of("alice_notebook")),
    # --- special files -----------------------------------------------------------------------
    FileEntry("fifo", "a FIFO beside the notebook (reading it would hang)", _fifo, refused="FIFO"),
    FileEntry("unix_socket", "a socket beside the notebook", _socket, refused="socket"),
    FileEntry("device", "a character device beside the notebook", _device, refused="character device"),
    FileEntry("hard_link", "the notebook is a hard link to the instructor's solution", _hard_link,
              refused="hard link"),
    # --- budgets -----------------------------------------------------------------------------
    FileEntry("too_large", "40 MiB beside the notebook", _large, refused="larger than"),
    FileEntry("sparse_file", "a sparse file of 100 GiB", _sparse, refused="larger than"),
    FileEntry("too_many_files", "300 files", _many, refused="more than"),
    FileEntry("too_deep", "folders twelve deep", _deep, refused="nested"),
    FileEntry("too_many_cells", "a notebook of 3,000 cells", _many_cells, refused="cells"),
    FileEntry("too_many_cells_v3", "a notebook of 3,000 cells in nbformat 3", _many_cells_v3, refused="cells"),
    FileEntry("huge_cell", "one cell of 240,000 characters", _huge_cell, refused="characters"),
    # --- files the kernel would import in place of the grader's ---------------------------
    FileEntry("shadow_checks", "a miniflow_grader/ package beside the notebook whose check() does nothing",
              _shadow("miniflow_grader/__init__.py", "def check(*args, **kwargs):\n    pass\n"), refused="rename it"),
    FileEntry("shadow_numpy", "a numpy.py beside the notebook", _shadow("numpy.py", "allclose = lambda *a: True\n"),
              refused="rename it"),
    # --- names -------------------------------------------------------------------------------
    FileEntry("bad_file_name", "a file name that is not UTF-8", _bad_name, refused="UTF-8"),
    FileEntry("control_file_name", "a file name with a newline", _control_name, refused="U+000A"),
    FileEntry("c1_file_name", "a file name with U+009B, a terminal's one-byte CSI", _named("a\x9b2Jb.csv"),
              refused="U+009B"),
    FileEntry("nel_file_name", "a file name with NEL, a line break to some readers", _named("a\x85b.csv"),
              refused="U+0085"),
    FileEntry("bidi_file_name", "a file name with a right-to-left override (shows as another name)",
              _named("report\u202evsc.exe"), refused="U+202E"),
    FileEntry("isolate_file_name", "a file name with a bidi isolate", _named("a\u2067b.csv"), refused="U+2067"),
    FileEntry("zero_width_file_name", "a file name with a zero-width space", _named("da\u200bta.csv"),
              refused="U+200B"),
    FileEntry("private_file_name", "a file name with a private-use character", _named("a\uf8ffb.csv"),
              refused="U+F8FF"),
    FileEntry("unassigned_file_name", "a file name with a code point Unicode has not assigned",
              _named("a\u0378b.csv"), refused="U+0378"),
    FileEntry("separator_file_name", "a file name with U+2028 and U+2029", _named("a\u2028b\u2029c.csv"),
              refused="U+2028"),
    # --- learner text that a terminal or a page would act on: graded, and shown as text -------
    FileEntry("hostile_text", "control, escape and bidi characters in every text a learner writes (Mul fails)",
              _hostile_text, score=3),
    # --- broken, but only for itself ---------------------------------------------------------
    # --- structure that costs the grader more than its size says: refused before it is parsed -
    FileEntry("nesting_bomb", "a notebook of 200,000 nested brackets", _nesting_bomb, refused="nested"),
    FileEntry("deep_metadata", "a valid notebook with metadata nested 100 deep", _with_metadata(_deep_value(100)),
              refused="nested 102 deep"),
    FileEntry("key_flood", "a valid notebook of 8 MB whose metadata holds 600,000 small keys",
              _with_metadata(lambda: {f"k{i}": 0 for i in range(600_000)}), refused="JSON values"),
    FileEntry("line_flood", "ten cells of 70,000 one-character lines", _tiny_lines, refused="JSON values"),
    FileEntry("output_flood", "an output of a million zeros", _value_flood_in_an_output, refused="JSON values"),
    FileEntry("string_flood", "a valid notebook whose metadata holds one string of 20 MiB (under the 32 MiB cap)",
              _with_metadata(lambda: "x" * (20 * 1024 ** 2)), refused="JSON string of"),
    FileEntry("odd_timestamp", "a timestamp.txt that is not a date (it would be graded as on time)",
              _odd_timestamp, refused="timestamp"),
    FileEntry("timestamp_zone_path", "a timestamp whose time zone is a file for dateutil to open",
              _timestamp("2026-01-10 12:00:00 {course}/gradebook.db"), refused="timestamp"),
    FileEntry("timestamp_zone_file", "a timestamp whose time zone is a real zone file, read as a path",
              _timestamp("2026-01-10 12:00:00 /etc/localtime"), refused="timestamp"),
    # --- what nbgrader keeps for release_feedback: only in the form it writes -------------------
    FileEntry("secret_path", "a submission_secret.txt that names a path (graded; the secret is not kept)",
              _secret(b"../../../etc/passwd\n"), secret_replaced=True),
    FileEntry("secret_huge", "a submission_secret.txt of 1 MiB (graded; the secret is not kept)",
              _secret(b"a" * (1 << 20)), secret_replaced=True),
    FileEntry("secret_markup", "a submission_secret.txt of markup and a bidi override (graded; not kept)",
              _secret("<script>alert(1)</script>\u202e".encode()), secret_replaced=True),
    FileEntry("secret_upper", "a secret of 128 upper-case hex digits (not what submit writes; not kept)",
              _secret(b"AB" * 64), secret_replaced=True),
    FileEntry("secret_kept", "a secret as `nbgrader submit` writes it (graded; kept)", _secret(b"0f" * 64)),
    # --- ids are names, not patterns ---------------------------------------------------------
    FileEntry("glob_id", "a learner folder named [C]arol, beside Carol", _hostile_notebook_for_carol,
              student="[C]arol", refused="learner id", id_refused=True),
    FileEntry("long_id", "a learner id of 200 characters", _correct, student="x" * 200, refused="learner id",
              id_refused=True),
    FileEntry("dash_id", "a learner id that starts with a dash", _correct, student="-rf", refused="learner id",
              id_refused=True),
    FileEntry("space_id", "a learner id with a space and a star", _correct, student="a b*", refused="learner id",
              id_refused=True),
    FileEntry("unicode_id", "a learner id in another alphabet (a fine name)", _correct, student="Zoë_Øster"),
    FileEntry("spaced_id", "a learner id with a space, as LMS exports have (a fine name)", _correct,
              student="ivan petrov"),
    FileEntry("accented_id", "a learner id with capitals, accents and spaces (a fine name)", _correct,
              student="Ana María Núñez"),
    FileEntry("bidi_id", "a learner id with a right-to-left override (shown reversed unless escaped)", _correct,
              student="evil\u202egnp.exe", refused="learner id", id_refused=True),
    FileEntry("control_id", "a learner id with an escape sequence and a line break", _correct,
              student="a\x1b[2Jb\nc", refused="learner id", id_refused=True),
    FileEntry("squatted_placeholder", "a folder named as the zero row of another refused id ([C]arol's)",
              _correct, student=intake.placeholder_id("[C]arol"), refused="folders are graded as"),
]


def plant_all(root, entries, correct):
    """Plant every entry (and the classmates they point at) in root/submitted; return {student: entry}."""
    submitted = root / "submitted"
    for classmate in ("alice", "Carol"):
        folder = submitted / classmate / C.ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(correct, folder / f"{C.ASSIGNMENT}.ipynb")
    ctx = {"course": str(root), "correct": correct,
           "solution_notebook": str(root / "solutions" / C.ASSIGNMENT / f"{C.ASSIGNMENT}.ipynb"),
           "gradebook": str(root / "gradebook.db"), "passwd": "/etc/passwd",
           "alice_notebook": str(submitted / "alice" / C.ASSIGNMENT / f"{C.ASSIGNMENT}.ipynb")}
    planted = {}
    for entry in entries:
        student = entry.student or entry.name
        folder = submitted / student / C.ASSIGNMENT
        folder.mkdir(parents=True)
        entry.plant(folder, ctx)
        if not (folder / "timestamp.txt").exists():
            (folder / "timestamp.txt").write_text("2026-01-10 12:00:00.000000 UTC")
        planted[student] = entry
    # the folders themselves can be links too
    os.symlink("alice", submitted / "student_folder_link")
    (submitted / "assignment_folder_link").mkdir()
    os.symlink(f"../alice/{C.ASSIGNMENT}", submitted / "assignment_folder_link" / C.ASSIGNMENT)
    return planted
