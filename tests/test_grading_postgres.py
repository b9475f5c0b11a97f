"""Grading into a PostgreSQL gradebook: grades equal SQLite's, one grader per assignment, nothing graded twice."""
import subprocess
import sys


import pytest

from hostile import course as C
from hostile import postgres
from hostile.catalogue import CATALOGUE, CORRECT, submit_all
from hostile.support import gradebook_dump, leftover_processes, require, scratch_in
from miniflow_grader.records import Records
from miniflow_grader.grade import Grader
from miniflow_grader.sandbox import Limits

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
    for extra in range(4):        # more correct submissions, so both graders have work
        C.submit(root, f"learner{extra}", C.correct_submission(root))
    long_id = "x" * 200           # more than the gradebook's VARCHAR(128): refused alone, the others are graded
    C.submit(root, long_id, C.correct_submission(root))
    students = sorted([e.name for e in entries] + [f"learner{i}" for i in range(4)])

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

        first = subprocess.run(command, env=C.env(), cwd=root, capture_output=True, timeout=600)
        assert first.returncode == 0, first.stderr.decode()[-3000:]
        assert "learner id is 200 characters long" in first.stderr.decode()
        records = Records(db_url)
        rows = records.rows(C.ASSIGNMENT)
        records.close()
        assert sorted(r["student"] for r in rows) == students
        assert all(r["times_graded"] == 1 for r in rows)                           # none graded twice
        postgres_grades = gradebook_dump(db_url, C.ASSIGNMENT)

        # grading again finds nothing left to do
        again = subprocess.run(command, env=C.env(), cwd=root, capture_output=True,
                               timeout=300)
        assert again.returncode == 0 and b"graded 0 of" in again.stderr, again.stderr.decode()[-2000:]
        assert gradebook_dump(db_url, C.ASSIGNMENT) == postgres_grades

    with scratch_in(scratch):
        Grader(C.ASSIGNMENT, root, jobs=2, limits=Limits(wall_seconds=90), progress=False).run()
    sqlite_grades = gradebook_dump(f"sqlite:///{root}/gradebook.db", C.ASSIGNMENT)
    assert postgres_grades == sqlite_grades
    assert {r[0] for r in sqlite_grades} == set(students)
    assert leftover_processes(scratch) == []
