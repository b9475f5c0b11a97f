"""The course's own five assignments through the sandboxed grader: solutions full marks, blank exercises zero.

The course (nbgrader_config.py, solutions/, exercises/) is copied to a temporary
directory; every assignment's stubs, probes and comparisons run for real.
"""
import shutil

import nbformat
import pytest

from hostile import course as C
from hostile.support import gradebook_dump, leftover_processes, require, scratch_in
from miniflow_grader import checks
from miniflow_grader.grade import Grader
from miniflow_grader.machine.sandbox import Limits

ASSIGNMENTS = sorted(checks.TARGETS)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    require("bwrap", "grading in a sandbox")
    if not (C.REPO / "solutions").is_dir():
        pytest.fail("the course's solutions/ is missing")
    root = tmp_path_factory.mktemp("course")
    (root.parent / "scratch").mkdir(exist_ok=True)
    shutil.copy(C.REPO / "nbgrader_config.py", root)
    shutil.copytree(C.REPO / "solutions", root / "solutions")
    shutil.copytree(C.REPO / "exercises", root / "exercises")
    for assignment in ASSIGNMENTS:
        C.submit(root, "solved", C.correct_submission(root, assignment), assignment=assignment)
        C.submit(root, "blank", C.released(root, assignment), assignment=assignment)
    return root


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solutions_get_full_marks_and_blank_exercises_zero(course, assignment, monkeypatch):
    monkeypatch.delenv("MINIFLOW_GRADEBOOK_URL", raising=False)
    with scratch_in(course.parent / "scratch") as scratch:
        summary = Grader(assignment, course, jobs=2, limits=Limits(wall_seconds=300), progress=False).run()
    assert sorted(summary["graded"]) == ["blank", "solved"]
    rows = gradebook_dump(f"sqlite:///{course}/gradebook.db", assignment)
    autograded = [r for r in rows if r[3] is not None]
    assert {r[2] for r in autograded} >= {g for g, info in checks.CHECKS.items() if info.assignment == assignment}
    for student, notebook, grade_id, auto, manual, needs_manual, max_score in autograded:
        assert auto == (max_score if student == "solved" else 0), (student, grade_id)
    blank = nbformat.read(course / "autograded" / "blank" / assignment / f"{assignment}.ipynb", as_version=4)
    messages = [o.evalue for c in blank.cells for o in c.get("outputs", []) if o.get("output_type") == "error"
                and c.metadata.get("nbgrader", {}).get("grade")]
    assert messages and all(m for m in messages)
    assert leftover_processes(scratch) == []


def test_grading_again_with_force_gives_the_same_gradebook(course, monkeypatch):
    monkeypatch.delenv("MINIFLOW_GRADEBOOK_URL", raising=False)
    assignment = "ps4_backprop"
    Grader(assignment, course, jobs=2, limits=Limits(wall_seconds=300), progress=False).run()
    before = gradebook_dump(f"sqlite:///{course}/gradebook.db", assignment)
    again = Grader(assignment, course, jobs=2, force=True, limits=Limits(wall_seconds=300), progress=False).run()
    assert sorted(again["graded"]) == ["blank", "solved"]
    assert gradebook_dump(f"sqlite:///{course}/gradebook.db", assignment) == before


def test_feedback_and_export_work_unchanged_on_our_grades(course, monkeypatch):
    import csv
    import subprocess
    monkeypatch.delenv("MINIFLOW_GRADEBOOK_URL", raising=False)
    assignment = "ps4_backprop"
    Grader(assignment, course, jobs=2, limits=Limits(wall_seconds=300), progress=False).run()
    for command in (["generate_feedback", assignment, "--force"], ["export", "--to", str(course / "grades.csv")]):
        done = subprocess.run([str(C.BIN / "nbgrader"), *command], cwd=course, env=C.env(), capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
    page = (course / "feedback" / "blank" / assignment / f"{assignment}.html").read_text()
    assert "Hidden test failed." in page
    assert '"sigmoid_backward"</span>' in page                       # a visible test's source is shown
    assert '"sigmoid_backward_hidden"</span>' not in page and "BEGIN HIDDEN TESTS" not in page
    solved = (course / "feedback" / "solved" / assignment / f"{assignment}.html").read_text()
    assert "Hidden test passed." in solved
    with open(course / "grades.csv") as f:
        rows = {(r["student_id"], r["assignment"]): float(r["score"]) for r in csv.DictReader(f)}
    assert rows[("blank", assignment)] == 0
    assert rows[("solved", assignment)] == float(rows[("solved", assignment)]) > 0


def _stage_of(stack):
    """The grading stage whose code made a call: the innermost frame in one of the stages' modules."""
    stages = {"intake.py": "intake", "submissions.py": "intake", "sanitize.py": "sanitize", "judge.py": "judge",
              "saving.py": "saving", "grade.py": "coordinator"}
    for frame in reversed(stack):
        parts = frame.filename.replace("\\", "/").split("/")
        if len(parts) >= 2 and parts[-2] == "miniflow_grader" and parts[-1] in stages:
            return stages[parts[-1]]
    return "elsewhere"


def test_each_notebook_is_parsed_once_per_stage_at_most(tmp_path, monkeypatch):
    """Every JSON parse of a learner's notebook in the trusted process is counted, with the stage that made it."""
    import collections
    import json
    import traceback
    require("bwrap", "grading in a sandbox")
    monkeypatch.delenv("MINIFLOW_GRADEBOOK_URL", raising=False)
    root = C.make_course(tmp_path / "course")
    learners = ["ada", "grace", "blank"]
    for student in learners:
        nb = C.correct_submission(root) if student != "blank" else C.released(root)
        nb.metadata["parse_marker"] = f"parse-marker-{student}"
        C.submit(root, student, nb)
    parses = collections.Counter()
    real_loads = json.loads

    def counting_loads(text, *args, **kwargs):
        raw = text if isinstance(text, str) else bytes(text).decode("utf-8", "replace")
        for student in learners:
            if f"parse-marker-{student}" in raw:
                parses[student, _stage_of(traceback.extract_stack()[:-1])] += 1
        return real_loads(text, *args, **kwargs)

    (tmp_path / "scratch").mkdir()
    monkeypatch.setattr(json, "loads", counting_loads)
    with scratch_in(tmp_path / "scratch"):
        summary = Grader(C.ASSIGNMENT, root, jobs=2, limits=Limits(wall_seconds=120), progress=False).run()
    monkeypatch.setattr(json, "loads", real_loads)
    assert sorted(summary["graded"]) == sorted(learners)
    for student in learners:
        stages = {stage: n for (who, stage), n in parses.items() if who == student}
        assert stages == {"intake": 1, "sanitize": 1}, (student, stages)
    autograded = nbformat.read(root / "autograded" / "ada" / C.ASSIGNMENT / f"{C.ASSIGNMENT}.ipynb", as_version=4)
    assert autograded.metadata["parse_marker"] == "parse-marker-ada"     # what was saved is the learner's notebook
    rows = gradebook_dump(f"sqlite:///{root}/gradebook.db", C.ASSIGNMENT)
    scores = {}
    for student, notebook, grade_id, auto, manual, needs_manual, max_score in rows:
        scores[student] = scores.get(student, 0) + (auto or 0)
    assert scores["ada"] == scores["grace"] == sum(C.points(root).values()) and scores["blank"] == 0
