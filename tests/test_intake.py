"""intake.py on its own: what a submission folder may hold, and which learner ids are names."""
import json
import os
import socket

import pytest

from miniflow_grader import intake


def _submission(tmp_path, student="alice", assignment="ps1"):
    folder = tmp_path / "submitted" / student / assignment
    folder.mkdir(parents=True)
    (folder / "ps1.ipynb").write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    return folder


def _stage(tmp_path, student="alice", budget=None):
    return intake.stage(tmp_path / "submitted", student, "ps1", tmp_path / "staged" / student, budget)


def test_regular_files_and_folders_are_copied_with_a_stable_digest(tmp_path):
    folder = _submission(tmp_path)
    (folder / "data").mkdir()
    (folder / "data" / "x.csv").write_text("1,2\n")
    staged = _stage(tmp_path)
    assert staged.files == ["data/x.csv", "ps1.ipynb"]
    assert (staged.path / "data" / "x.csv").read_text() == "1,2\n"
    again = intake.stage(tmp_path / "submitted", "alice", "ps1", tmp_path / "again")
    assert again.digest == staged.digest
    (folder / "data" / "x.csv").write_text("1,3\n")
    assert intake.stage(tmp_path / "submitted", "alice", "ps1", tmp_path / "changed").digest != staged.digest


@pytest.mark.parametrize("make, phrase", [
    (lambda f: os.symlink("/etc/passwd", f / "x"), "symbolic link"),
    (lambda f: os.symlink("ps1.ipynb", f / "same.ipynb"), "symbolic link"),
    (lambda f: (f / "d").mkdir() or os.symlink("/", f / "d" / "root"), "symbolic link"),
    (lambda f: os.mkfifo(f / "pipe"), "FIFO"),
    (lambda f: socket.socket(socket.AF_UNIX).bind(str(f / "sock")), "socket"),
    (lambda f: os.link(f / "ps1.ipynb", f / "again.ipynb"), "hard link"),
    (lambda f: (f / os.fsdecode(b"\xff")).write_text("x"), "UTF-8"),
    (lambda f: (f / "a\tb").write_text("x"), "control character"),
])
def test_anything_but_regular_files_is_refused_with_the_reason(tmp_path, make, phrase):
    folder = _submission(tmp_path)
    make(folder)
    with pytest.raises(intake.Refused, match=phrase):
        _stage(tmp_path)


def test_the_budget_counts_bytes_files_depth_and_cells(tmp_path):
    folder = _submission(tmp_path)
    small = intake.Budget(max_bytes=1000, max_files=5, max_depth=2, max_cells=3)
    (folder / "big").write_bytes(b"x" * 2000)
    with pytest.raises(intake.Refused, match="larger than"):
        _stage(tmp_path, budget=small)
    (folder / "big").unlink()
    with open(folder / "sparse", "wb") as f:
        f.truncate(10 ** 12)                      # refused by its size, never read
    with pytest.raises(intake.Refused, match="larger than"):
        _stage(tmp_path, budget=small)
    (folder / "sparse").unlink()
    for i in range(6):
        (folder / f"f{i}").write_text("x")
    with pytest.raises(intake.Refused, match="more than 5 files"):
        _stage(tmp_path, budget=small)
    for i in range(6):
        (folder / f"f{i}").unlink()
    (folder / "a" / "b" / "c").mkdir(parents=True)
    with pytest.raises(intake.Refused, match="nested"):
        _stage(tmp_path, budget=small)
    os.removedirs(folder / "a" / "b" / "c")
    (folder / "ps1.ipynb").write_text('{"cells": [1, 2, 3, 4]}')
    with pytest.raises(intake.Refused, match="4 cells"):
        _stage(tmp_path, budget=small)


def test_folders_that_are_links_are_listed_as_refused(tmp_path):
    _submission(tmp_path, "alice")
    submitted = tmp_path / "submitted"
    os.symlink("alice", submitted / "bob")
    (submitted / "carol").mkdir()
    os.symlink("../alice/ps1", submitted / "carol" / "ps1")
    (submitted / "dave").mkdir()                   # no submission of this assignment: not listed
    found = dict(intake.submissions(submitted, "ps1"))
    assert found["alice"] is None
    assert "symbolic link" in found["bob"] and "symbolic link" in found["carol"]
    assert "dave" not in found


@pytest.mark.parametrize("student", ["alice", "bob.smith", "b_2@uni.edu", "Zoë", "x" * 128, "a+b-c", "ivan petrov",
                                     "Ana María Núñez"])
def test_plain_names_are_ids(student):
    assert intake.id_problem(student) is None


@pytest.mark.parametrize("student, phrase", [
    ("[C]arol", "'['"), ("st*r", "'*'"), ("a?", "'?'"), ("a/b", "'/'"), (" ab", "space"), ("ab ", "space"),
    ("a\u202eb", "\\u202e"), ("a\tb", "\\t"), ("x" * 129, "129 characters"),
    ("-rf", "starts with"), (".hidden", "starts with"), ("a\\b", "'\\\\'"), ("", "empty"),
    ("e\u0301", "normal form"), (os.fsdecode(b"\xff"), "UTF-8"),
    ("a\x9bb", "\\x9b"), ("a\x85b", "\\x85"), ("a\u2028b", "\\u2028"), ("a\u2066b", "\\u2066"),
    ("a\ue000b", "\\ue000"), ("a\u0378b", "\\u0378"), ("a\u200bb", "\\u200b"),
])
def test_ids_that_are_patterns_or_paths_are_refused(student, phrase):
    problem = intake.id_problem(student)
    assert problem is not None and phrase in problem, problem
    assert len(intake.shown_id(student)) <= 83
    assert all(c.isprintable() for c in intake.shown_id(student) + problem)      # shown as text, escapes and all
    assert intake.id_problem(intake.placeholder_id(student)) is None


# one name for each Unicode category a file name may not hold, with the character that must be named
NAME_CASES = [
    ("Cc", "a\x9b[2Jb.py", "U+009B"),            # CSI, a C1 control: a terminal reads what follows as a command
    ("Cc", "a\x1b]0;x\x07.py", "U+001B"),        # ESC, then BEL
    ("Cc", "next\x85line.py", "U+0085"),          # NEL: a line break to some readers
    ("Cc", "two\nlines.py", "U+000A"),
    ("Cc", "back\rwards.py", "U+000D"),
    ("Cc", "del\x7f.py", "U+007F"),
    ("Cf", "cod\u202egnp.exe", "U+202E"),         # right-to-left override: shows as "codexe.png"
    ("Cf", "iso\u2066late.py", "U+2066"),
    ("Cf", "zero\u200bwidth.py", "U+200B"),
    ("Cf", "mark\u200f.py", "U+200F"),
    ("Cf", "arabic\u061cmark.py", "U+061C"),
    ("Co", "private\ue000.py", "U+E000"),
    ("Cn", "unassigned\u0378.py", "U+0378"),
    ("Cn", "nonchar\uffff.py", "U+FFFF"),
    ("Zl", "line\u2028sep.py", "U+2028"),
    ("Zp", "para\u2029sep.py", "U+2029"),
]


@pytest.mark.parametrize("category, name, point", NAME_CASES, ids=[f"{c}-{p}" for c, _, p in NAME_CASES])
def test_file_names_are_refused_by_unicode_category_and_the_character_is_named(tmp_path, category, name, point):
    import unicodedata
    assert unicodedata.category(chr(int(point[2:], 16))) == category
    folder = _submission(tmp_path)
    (folder / "data").mkdir()
    (folder / "data" / name).write_text("x")
    with pytest.raises(intake.Refused) as refused:
        _stage(tmp_path)
    reason = str(refused.value)
    assert point in reason and "data/" in reason
    assert all(c.isprintable() for c in reason), reason           # the name is shown escaped, never raw
    assert not (tmp_path / "staged" / "alice").exists()


def test_a_surrogate_in_a_name_is_refused_without_being_encoded():
    assert "UTF-8" in intake._name_problem("a\udcffb")        # a byte os.fsdecode could not decode
    assert "UTF-8" in intake._name_problem("a\ud800b")        # a lone surrogate from anywhere else


@pytest.mark.parametrize("name", ["Zoë.ipynb", "données/x.csv", "日本語.txt", "a b.py", "emoji\U0001f600.png",
                                  "ivan petrov (2).ipynb", "x\u00a0y.txt"])
def test_printable_names_in_any_script_are_accepted(tmp_path, name):
    folder = _submission(tmp_path)
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("x")
    assert name in _stage(tmp_path).files


@pytest.mark.parametrize("text, values, depth, longest", [
    (b'{"a": [1, 2, {"b": "x,[{"}], "c": "q\\"[["}', 7, 3, 7),
    (b'["\\\\", "\\\\\\"[", [[]]]', 6, 3, 7),      # escaped backslashes and quotes end no string
    (b'"just a string, [with] {brackets}"', 1, 0, 34),
    (b"[]", 2, 1, 0),
])
def test_json_structure_counts_values_depth_and_the_longest_string_outside_strings(text, values, depth, longest):
    import json
    json.loads(text)
    assert intake.json_structure(text) == (values, depth, longest)


@pytest.mark.parametrize("notebook, phrase", [
    (lambda: "[" * 100_000 + "]" * 100_000, "nested 100000 deep"),
    (lambda: json.dumps({"cells": [], "metadata": {f"k{i}": i for i in range(2000)}}), "JSON values"),
    (lambda: json.dumps({"cells": [{"cell_type": "markdown", "source": ["x"] * 3000, "metadata": {}}]}),
     "JSON values"),
    (lambda: json.dumps({"cells": [], "metadata": {"blob": "x" * 5000}}), "JSON string of 5002 bytes"),
])
def test_a_notebook_over_the_structure_budget_is_refused_before_it_is_parsed(tmp_path, monkeypatch, notebook,
                                                                               phrase):
    folder = _submission(tmp_path)
    (folder / "ps1.ipynb").write_text(notebook())
    parsed = []
    monkeypatch.setattr(intake.json, "loads", lambda *a, **k: parsed.append(a) or {})
    with pytest.raises(intake.Refused, match=phrase) as refused:
        _stage(tmp_path, budget=intake.Budget(max_json_values=1000, max_json_depth=20, max_json_string=4096))
    assert "ps1.ipynb" in str(refused.value) and parsed == []
    assert not (tmp_path / "staged" / "alice").exists()


def test_an_ordinary_notebook_is_well_within_the_structure_budget():
    import nbformat
    nb = nbformat.read(os.path.join(os.path.dirname(__file__), "..", "exercises", "ps1_nodes", "ps1_nodes.ipynb"),
                       as_version=4)
    values, depth, longest = intake.json_structure(nbformat.writes(nb).encode())
    budget = intake.Budget()
    assert values < budget.max_json_values / 100 and depth < budget.max_json_depth / 4
    assert longest < budget.max_json_string / 100
