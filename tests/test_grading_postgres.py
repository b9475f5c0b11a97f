"""Grading into a PostgreSQL gradebook: every submission earns what it earns on SQLite, one grader per assignment,
an interrupted grader started again grades only what is left, nothing is graded twice."""
import subprocess
import sys


import pytest

from hostile import course as C
from hostile import postgres
from hostile.catalogue import ALL_IDS, CATALOGUE, CORRECT, submit_all
from hostile.support import gradebook_dump, kill_when_recorded, leftover_processes, not_earned, require, scratch_in
from miniflow_grader.intake import placeholder_id
from miniflow_grader.records import Records

# grading a whole course in sandboxes (its fixture) takes minutes on two busy cores
pytestmark = pytest.mark.timeout(1500)

CHOSEN = {"always_equal", "import_reference", "hardcode_visible", "syntax_error", "corrupt_ipynb", "os_exit",
          "wrong_file_name", "delete_tests", "sys_exit"}


def test_grading_into_a_postgresql_gradebook_once(tmp_path):
    require("bwrap", "grading in a sandbox")
    if postgres.binaries() is None:
        require("pg_ctl", "the PostgreSQL gradebook test")
    root = C.make_course(tmp_path / "course", timeout=5)
    entries = [e for e in CATALOGUE if e.name in CHOSEN] + CORRECT
    submit_all(root, entries)
    for extra in range(4):        # more correct submissions: the interrupted grader leaves work behind
        C.submit(root, f"learner{extra}", C.correct_submission(root))
    long_id = "x" * 200           # more than the gradebook's VARCHAR(128): refused alone, the others are graded
    C.submit(root, long_id, C.correct_submission(root))
    refused = placeholder_id(long_id)   # the refused learner's zero has a row of its own
    students = sorted([e.name for e in entries] + [f"learner{i}" for i in range(4)] + [refused])

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with postgres.server() as prefix, scratch_in(scratch):
        db_url = postgres.create_database(prefix, "gradebook")
        command = [sys.executable, "-m", "miniflow_grader.grade", C.ASSIGNMENT, "--db", db_url, "--jobs", "2",
                   "--course-dir", str(root), "--no-progress", "--no-report", "--timeout", "90"]
        # while another grader holds the assignment, a second one refuses to start, saying why
        holder = Records(db_url)
        holder.exclusive(C.ASSIGNMENT)
        busy = subprocess.run(command, env=C.env(), cwd=root, capture_output=True, timeout=300)
        assert busy.returncode == 2 and b"another grader is grading" in busy.stderr, busy.stderr.decode()[-2000:]
        holder.close()

        # a grader killed outright in the middle of the run, then started again, grades only what is left
        first = kill_when_recorded(command, root, C.env(), db_url, C.ASSIGNMENT, at_least=4)
        assert 4 <= first < len(students)
        second = subprocess.run(command, env=C.env(), cwd=root, capture_output=True, text=True, timeout=600)
        assert second.returncode == 1, second.stderr[-3000:]     # someone was refused: the run says so
        assert f"graded {len(students) - first} of {len(students)} submissions" in second.stderr, second.stderr[-2000:]
        assert "learner id is 200 characters long" in second.stderr
        records = Records(db_url)
        rows = records.rows(C.ASSIGNMENT)
        records.close()
        assert sorted(r["student"] for r in rows) == students
        assert all(r["times_graded"] == 1 for r in rows)                           # none graded twice
        postgres_grades = gradebook_dump(db_url, C.ASSIGNMENT)

        # grading again finds nothing left to do
        again = subprocess.run(command, env=C.env(), cwd=root, capture_output=True,
                               timeout=300)
        assert again.returncode == 1 and b"graded 0 of" in again.stderr, again.stderr.decode()[-2000:]
        assert gradebook_dump(db_url, C.ASSIGNMENT) == postgres_grades

    # every grade is what the submission earns, as test_grading_hostile.py finds on SQLite for the same entries
    earns = {e.name: e.passes for e in entries} | {f"learner{i}": ALL_IDS for i in range(4)} | {refused: set()}
    assert {r[0] for r in postgres_grades} == set(students)
    assert not_earned(postgres_grades, earns) == []
    assert leftover_processes(scratch) == []
