"""Two grading processes share one PostgreSQL gradebook: each submission is graded once, grades equal SQLite's."""
import subprocess
import sys


import pytest

from hostile import course as C
from hostile import postgres
from hostile.catalogue import CATALOGUE, CORRECT
from hostile.support import gradebook_dump, leftover_processes, require, scratch_in, serving
from miniflow_grader.claims import Claims
from miniflow_grader.grade import Grader
from miniflow_grader.sandbox import Limits

# grading a whole course in sandboxes (its fixture) takes minutes on two busy cores
pytestmark = pytest.mark.timeout(1500)

CHOSEN = {"always_equal", "import_reference", "hardcode_visible", "syntax_error", "corrupt_ipynb", "os_exit",
          "wrong_file_name", "delete_tests", "sys_exit"}


def test_two_graders_share_a_postgresql_gradebook(tmp_path):
    require("bwrap", "grading in a sandbox")
    if postgres.binaries() is None:
        require("pg_ctl", "the PostgreSQL gradebook test")
    root = C.make_course(tmp_path / "course", timeout=5)
    entries = [e for e in CATALOGUE if e.name in CHOSEN] + CORRECT
    with serving("") as port:
        for entry in entries:
            kwargs = {"name": entry.file_name} if entry.file_name else {}
            if entry.raw is not None:
                C.submit(root, entry.name, raw=entry.raw, **kwargs)
            else:
                C.submit(root, entry.name, entry.build(root, port), **kwargs)
    for extra in range(4):        # more correct submissions, so both graders have work
        C.submit(root, f"learner{extra}", C.correct_submission(root))
    long_id = "x" * 200           # more than the gradebook's VARCHAR(128): refused alone, the others are graded
    C.submit(root, long_id, C.correct_submission(root))
    students = sorted([e.name for e in entries] + [f"learner{i}" for i in range(4)])

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with postgres.server() as prefix, scratch_in(scratch):
        db_url = postgres.create_database(prefix, "gradebook")
        command = [sys.executable, "-m", "miniflow_grader.grade", C.ASSIGNMENT, "--db", db_url, "--jobs", "1",
                   "--course-dir", str(root), "--no-progress", "--no-report", "--timeout", "90"]
        graders = [subprocess.Popen(command + ["--worker", f"grader{i}"], env=C.env(), cwd=root,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in (1, 2)]
        outputs = [g.communicate(timeout=600) for g in graders]
        for grader, (out, err) in zip(graders, outputs):
            assert grader.returncode == 0, err.decode()[-3000:]
            assert "learner id is 200 characters long" in err.decode()
        claims = Claims(db_url)
        rows = claims.rows(C.ASSIGNMENT)
        claims.close()
        assert sorted(r["student"] for r in rows) == students
        assert all(r["state"] == "done" and r["times_graded"] == 1 for r in rows)   # none graded twice
        workers = {r["worker"] for r in rows}
        assert workers == {"grader1", "grader2"}                                   # the work was split
        postgres_grades = gradebook_dump(db_url, C.ASSIGNMENT)

        # a third grader finds nothing left to do
        again = subprocess.run(command + ["--worker", "grader3"], env=C.env(), cwd=root, capture_output=True,
                               timeout=300)
        assert again.returncode == 0 and b"graded 0 of" in again.stderr, again.stderr.decode()[-2000:]
        assert gradebook_dump(db_url, C.ASSIGNMENT) == postgres_grades

    with scratch_in(scratch):
        Grader(C.ASSIGNMENT, root, jobs=2, limits=Limits(wall_seconds=90), progress=False).run()
    sqlite_grades = gradebook_dump(f"sqlite:///{root}/gradebook.db", C.ASSIGNMENT)
    assert postgres_grades == sqlite_grades
    assert {r[0] for r in sqlite_grades} == set(students)
    assert leftover_processes(scratch) == []
