"""intake.py on its own: what a submission folder may hold, and which learner ids are names."""
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
    (lambda f: (f / "a\tb").write_text("x"), "control characters"),
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
])
def test_ids_that_are_patterns_or_paths_are_refused(student, phrase):
    problem = intake.id_problem(student)
    assert problem is not None and phrase in problem, problem
    assert len(intake.shown_id(student)) <= 83
    assert all(c.isprintable() for c in intake.shown_id(student) + problem)      # shown as text, escapes and all
    assert intake.id_problem(intake.placeholder_id(student)) is None
