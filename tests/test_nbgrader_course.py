"""The whole course cycle with the real nbgrader commands, in a temporary course directory.

generate_assignment -> submissions in submitted/<student>/<assignment>/ -> autograde -> generate_feedback
-> export, with a SQLite gradebook of its own. Each command runs once for the whole course (every assignment,
every student: the assignment "*"), as nbgrader takes a glob; each start of nbgrader costs seconds.
"""
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from miniflow_grader.checks import CHECKS
from submissions.catalogue import ASSIGNMENTS, REPO, build_submission, grading, load_catalogue, points, says

#: Autograding the whole catalogue with the real nbgrader takes many minutes on a busy machine.
pytestmark = pytest.mark.timeout(3600)
#: In this module the catalogue's mistakes go through the real nbgrader, one of each kind: the first (by name) of
#: those that replace the same solution cells, and those the feedback tests read. Every entry's score and
#: message, hidden tests included, is checked in this process by test_exercises.py.
READ_BY_FEEDBACK_TESTS = ("add_hardcoded_lesson", "sigmoid_backward_of_input")


def one_of_each_kind(catalogue):
    kinds = {}
    for wrong in catalogue:
        kinds.setdefault((wrong.assignment, tuple(sorted(wrong.replacements))), []).append(wrong)
    chosen = {same[0].name for same in kinds.values()} | set(READ_BY_FEEDBACK_TESTS)
    return [w for w in catalogue if w.name in chosen]


CATALOGUE = one_of_each_kind(load_catalogue())
LOGS = {}   # what each nbgrader command printed, to explain a failure
BIN = Path(sys.executable).parent
TIMEOUT = 5   # seconds per cell in this course: a cell that loops forever costs this much
SEED = "2024"

LOOPING = """
class Mul(Node):
    def __init__(self, *inputs, name=None):
        super().__init__(inputs, name)

    def forward(self):
        while True:
            pass
"""
HIDDEN_ONLY = """
class Add(Node):
    def __init__(self, *inputs, name=None):
        super().__init__(inputs, name)

    def forward(self):
        values = [n.value for n in self.inbound_nodes]
        self.value = sum(values) if len(values) > 1 else 0 * values[0]   # wrong for a single input only
"""
WRONG_SIGMOID = """
class Sigmoid(miniflow.Sigmoid):
    def backward(self):
        x = self.inbound_nodes[0]
        self.gradients[x] = x.value * (1 - x.value) * self.upstream_gradient()
"""


def nbgrader(course, *args):
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", MINIFLOW_SEED=SEED,
               MINIFLOW_CELL_TIMEOUT=str(TIMEOUT))
    for name in ("MINIFLOW_GRADEBOOK_URL", "MINIFLOW_PROBE_DIR"):
        env.pop(name, None)
    return subprocess.run([str(BIN / "nbgrader"), *args], cwd=course, env=env, capture_output=True, text=True,
                          timeout=900)


def submit(course, student, assignment, nb):
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(nb, str):
        (folder / f"{assignment}.ipynb").write_text(nb)
    else:
        nbformat.write(nb, folder / f"{assignment}.ipynb")


def tampered():
    """A wrong Sigmoid.backward whose author deleted one of its tests and emptied the other."""
    nb = build_submission("ps4_backprop", {"sigmoid_solution": WRONG_SIGMOID.strip()})
    nb.cells = [c for c in nb.cells if grading(c).get("grade_id") != "sigmoid_backward"]
    for cell in nb.cells:
        if grading(cell).get("grade_id") in ("sigmoid_backward_hidden", "linear_backward"):
            cell.source = "pass"
    return nb


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    shutil.copy(REPO / "nbgrader_config.py", course)
    for assignment in ASSIGNMENTS:   # these and nothing else, for the glob "*" below
        shutil.copytree(REPO / "solutions" / assignment, course / "solutions" / assignment)
    logs = {}
    done = nbgrader(course, "generate_assignment", "*", "--force")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (course / "exercises").iterdir()) == ASSIGNMENTS, done.stderr
    for assignment in ASSIGNMENTS:
        submit(course, "solution", assignment, build_submission(assignment))
        submit(course, "untouched", assignment, nbformat.read(course / "exercises" / assignment / f"{assignment}.ipynb", 4))
    for wrong in CATALOGUE:
        submit(course, wrong.name, wrong.assignment, build_submission(wrong.assignment, wrong.replacements))
    submit(course, "looping", "ps1_nodes", build_submission("ps1_nodes", {"mul_solution": LOOPING.strip()}))
    submit(course, "hidden_only", "ps1_nodes", build_submission("ps1_nodes", {"add_solution": HIDDEN_ONLY.strip()}))
    submit(course, "tampering", "ps4_backprop", tampered())
    submit(course, "unreadable", "ps1_nodes", '{"cells": [ this is not a notebook')
    archive = course / "downloaded" / "ps2_topological_sort" / "archive"
    archive.mkdir(parents=True)
    with zipfile.ZipFile(archive / "submissions.zip", "w") as lms_download:
        lms_download.writestr("lovelaceada_1234_5678_ps2_topological_sort.ipynb",
                              nbformat.writes(build_submission("ps2_topological_sort")))
    logs["zip_collect"] = nbgrader(course, "zip_collect", "ps2_topological_sort")
    logs["autograde"] = nbgrader(course, "autograde", "*")
    logs["feedback"] = nbgrader(course, "generate_feedback", "*")
    logs["export"] = nbgrader(course, "export", "--to", str(course / "grades.csv"))
    LOGS.update(logs)
    return course, logs


def gradebook(course):
    return Gradebook(f"sqlite:///{course / 'gradebook.db'}")


def scores(course, student, assignment):
    """{grade_id: score} for one graded submission."""
    log = LOGS.get("autograde")
    assert (course / "autograded" / student / assignment).is_dir(), \
        f"{student} was not autograded:\n" + "\n".join(line for line in (log.stdout + log.stderr).splitlines()
                                                     if student in line or "rror" in line)[-4000:]
    with gradebook(course) as gb:
        notebook = gb.find_submission_notebook(assignment, assignment, student)
        return {grade.name: grade.score for grade in notebook.grades}


def autograded(course, student, assignment):
    return nbformat.read(course / "autograded" / student / assignment / f"{assignment}.ipynb", 4)


def feedback(course, student, assignment):
    """The feedback page without its style sheets (whose class names include words like "Traceback")."""
    html = (course / "feedback" / student / assignment / f"{assignment}.html").read_text()
    return re.sub(r"<style.*?</style>", "", html, flags=re.S)


def outputs_of(cell):
    return "\n".join(o.get("text", "") + "\n".join(o.get("traceback", [])) + o.get("evalue", "")
                     for o in cell.get("outputs", []))


def normalised(path):
    """A notebook's JSON without what varies from run to run (nothing so far but cell execution state)."""
    nb = json.loads(Path(path).read_text())
    for cell in nb["cells"]:
        cell.pop("execution_count", None)
        cell.pop("outputs", None) if cell["cell_type"] != "code" else None
    return nb


# --- generation --------------------------------------------------------------------------------

def test_committed_exercises_are_what_generation_produces(course):
    course, _ = course
    generated = sorted(p.relative_to(course / "exercises") for p in (course / "exercises").rglob("*") if p.is_file())
    committed = sorted(p.relative_to(REPO / "exercises") for p in (REPO / "exercises").rglob("*") if p.is_file()
                       and ".ipynb_checkpoints" not in p.parts)
    assert generated == committed, "run `make exercises` and commit exercises/"
    for path in generated:
        assert normalised(course / "exercises" / path) == normalised(REPO / "exercises" / path), \
            f"exercises/{path} differs from what `make exercises` generates: regenerate it, never edit it by hand"


def test_released_exercises_hold_no_solutions_and_no_hidden_tests(course):
    course, _ = course
    for assignment in ASSIGNMENTS:
        text = (course / "exercises" / assignment / f"{assignment}.ipynb").read_text()
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text and "_hidden\\\"" not in text
        nb = nbformat.reads(text, 4)
        for cell in nb.cells:
            if grading(cell).get("solution"):
                assert cell.source.rstrip().endswith("# YOUR CODE HERE\n" + " " * cell.source.rstrip().splitlines()[-1].index("r")
                                                     + "raise NotImplementedError()"), cell.source


# --- scores ----------------------------------------------------------------------------------

def test_solutions_score_full_marks(course):
    course, logs = course
    for assignment in ASSIGNMENTS:
        assert scores(course, "solution", assignment) == points(assignment), logs["autograde"].stderr[-3000:]


def test_a_submission_collected_from_an_lms_zip_is_graded(course):
    course, logs = course
    assert logs["zip_collect"].returncode == 0, logs["zip_collect"].stderr
    assert scores(course, "lovelaceada", "ps2_topological_sort") == points("ps2_topological_sort")


def test_untouched_exercises_score_zero_on_every_graded_part(course):
    course, _ = course
    for assignment in ASSIGNMENTS:
        got = scores(course, "untouched", assignment)
        assert set(got) == set(points(assignment)) and set(got.values()) == {0}, (assignment, got)


@pytest.mark.parametrize("wrong", CATALOGUE, ids=lambda w: w.name)
def test_each_catalogued_wrong_submission_gets_its_expected_score(course, wrong):
    course, _ = course
    got = scores(course, wrong.name, wrong.assignment)
    assert sum(got.values()) == wrong.score, got
    failing = [c for c in autograded(course, wrong.name, wrong.assignment).cells
               if grading(c).get("grade") and got[grading(c)["grade_id"]] == 0]
    visible = [c for c in failing if not CHECKS[grading(c)["grade_id"]].hidden]
    assert bool(visible) == wrong.visible
    assert any(says(outputs_of(c), wrong.message) for c in (visible or failing))


def test_an_infinite_loop_is_cut_by_the_timeout_and_the_rest_is_graded(course):
    course, _ = course
    got = scores(course, "looping", "ps1_nodes")
    assert got == {"add_forward": 2, "add_forward_hidden": 1, "mul_forward": 0, "mul_forward_hidden": 0}
    cell = next(c for c in autograded(course, "looping", "ps1_nodes").cells if grading(c).get("grade_id") == "mul_forward")
    assert "Timeout" in outputs_of(cell) or "KeyboardInterrupt" in outputs_of(cell)


def test_deleted_and_edited_test_cells_are_restored_and_graded(course):
    course, _ = course
    got = scores(course, "tampering", "ps4_backprop")
    assert got["sigmoid_backward"] == 0 and got["sigmoid_backward_hidden"] == 0
    assert sum(got.values()) == sum(points("ps4_backprop").values()) - 5
    cells = {grading(c).get("grade_id"): c for c in autograded(course, "tampering", "ps4_backprop").cells}
    assert 'check("sigmoid_backward", globals())' in cells["sigmoid_backward"].source
    assert "the derivative was computed from the input x" in outputs_of(cells["sigmoid_backward"])
    assert 'check("linear_backward", globals())' in cells["linear_backward"].source


def test_an_unreadable_notebook_is_reported_and_the_others_are_graded(course):
    course, logs = course
    log = logs["autograde"].stdout + logs["autograde"].stderr
    assert "unreadable" in log and "error" in log.lower()
    assert not (course / "autograded" / "unreadable" / "ps1_nodes" / "ps1_nodes.ipynb").exists()
    assert scores(course, "solution", "ps1_nodes") == points("ps1_nodes")
    assert sum(scores(course, "looping", "ps1_nodes").values()) == 3


# --- feedback -------------------------------------------------------------------------------

def all_feedback(course):
    return sorted((course / "feedback").rglob("*.html"))


def test_every_graded_submission_gets_feedback(course):
    course, logs = course
    expected = 2 * len(ASSIGNMENTS) + len(CATALOGUE) + 4   # and looping, hidden_only, tampering, lovelaceada
    assert len(all_feedback(course)) == expected, logs["feedback"].stderr[-6000:]


def test_feedback_shows_neither_hidden_test_source_nor_their_tracebacks(course):
    course, _ = course
    for page in all_feedback(course):
        html = page.read_text()
        assert "BEGIN HIDDEN TESTS" not in html, page
        assert not re.search(r"check\(.{0,80}_hidden", html), page
    # Only hidden tests fail here: the page must not carry their messages or tracebacks.
    assert scores(course, "hidden_only", "ps1_nodes") == {"add_forward": 2, "add_forward_hidden": 0,
                                                           "mul_forward": 2, "mul_forward_hidden": 1}
    html = feedback(course, "hidden_only", "ps1_nodes")
    assert "Hidden test failed" in html
    assert "CheckFailed" not in html and "Traceback" not in html and not says(html, "on input(s) of shape(s)")
    # The visible and the hidden test fail here: the visible one's message shows, the hidden one's does not.
    html = feedback(course, "add_hardcoded_lesson", "ps1_nodes")
    assert "Hidden test failed" in html and says(html, "rather than writing answers in")
    assert "visible test&#39;s example" not in html and "answer to the visible" not in html
    html = feedback(course, "looping", "ps1_nodes")
    assert "Hidden test failed" in html
    assert html.count("Timeout") <= 2   # the try-it cell and the visible test, not the hidden one


def test_a_right_submission_gets_feedback_with_no_error_in_any_cell(course):
    course, _ = course
    for assignment in ASSIGNMENTS:
        nb = autograded(course, "solution", assignment)
        errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"
                  or o.get("name") == "stderr" and "Error" in o.get("text", "")]
        assert not errors, (assignment, errors)
        html = feedback(course, "solution", assignment)
        assert "NotImplementedError:" not in html and "is yours to write" not in html, assignment


def test_feedback_still_shows_visible_test_messages(course):
    course, _ = course
    html = feedback(course, "sigmoid_backward_of_input", "ps4_backprop")
    assert "the derivative was computed from the input x" in html


def test_feedback_math_renders_offline(course):
    course, _ = course
    for page in all_feedback(course):
        html = page.read_text()
        assert not re.search(r"<script[^>]+src=[\"']?(https?:)?//", html), page
        assert "mathjax" not in html.lower() and "cdnjs" not in html, page
        assert "$$" not in html, page
        if "ps2_topological_sort" not in page.name:   # the only assignment without math
            assert "<math" in html, page


# --- export -------------------------------------------------------------------------------------

def test_export_writes_every_score_to_the_grades_csv(course):
    course, logs = course
    assert logs["export"].returncode == 0, logs["export"].stderr
    with open(course / "grades.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    by_key = {(r["assignment"], r["student_id"]): float(r["score"]) for r in rows}
    for assignment in ASSIGNMENTS:
        total = sum(points(assignment).values())
        assert by_key[(assignment, "solution")] == total
        assert by_key[(assignment, "untouched")] == 0
        assert all(float(r["max_score"]) == total for r in rows if r["assignment"] == assignment)
    for wrong in CATALOGUE:
        assert by_key[(wrong.assignment, wrong.name)] == wrong.score


# --- validating, as a learner does ------------------------------------------------------------

def test_the_validate_command_lists_failing_visible_tests_and_passes_a_solution(tmp_path):
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", MINIFLOW_CELL_TIMEOUT="30")
    env.pop("MINIFLOW_PROBE_DIR", None)
    wrong = next(w for w in load_catalogue("ps4_backprop") if w.name == "sigmoid_backward_overwrites")
    (tmp_path / "bad").mkdir()
    (tmp_path / "good").mkdir()
    nbformat.write(build_submission("ps4_backprop", wrong.replacements), tmp_path / "bad" / "ps4_backprop.ipynb")
    nbformat.write(build_submission("ps4_backprop"), tmp_path / "good" / "ps4_backprop.ipynb")
    command = [sys.executable, "-m", "miniflow_grader.validate"]
    bad = subprocess.run(command + [str(tmp_path / "bad" / "ps4_backprop.ipynb")], env=env, capture_output=True,
                         text=True, timeout=600)
    assert bad.returncode == 1
    assert "sigmoid_backward" in bad.stdout and says(bad.stdout, "accumulate with `+=`")
    assert "1 test(s) failed" in bad.stdout
    good = subprocess.run(command + [str(tmp_path / "good" / "ps4_backprop.ipynb")], env=env, capture_output=True,
                          text=True, timeout=600)
    assert good.returncode == 0 and "every visible test passed" in good.stdout, good.stdout + good.stderr


# --- the configuration ---------------------------------------------------------------------------

def load_config(monkeypatch, **env):
    from traitlets.config.loader import PyFileConfigLoader
    for name in ("MINIFLOW_GRADEBOOK_URL", "MINIFLOW_CELL_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config()


def test_the_course_directory_is_the_repository_with_a_sqlite_gradebook_by_default(monkeypatch):
    config = load_config(monkeypatch)
    assert config.CourseDirectory.root == str(REPO)
    assert (config.CourseDirectory.source_directory, config.CourseDirectory.release_directory) == ("solutions", "exercises")
    assert config.CourseDirectory.db_url == f"sqlite:///{REPO / 'gradebook.db'}"
    assert config.ExecutePreprocessor.timeout == 30 and config.OverwriteCells.add_missing_cells is True
    ignored = (REPO / ".gitignore").read_text().split()
    assert {"/submitted/", "/autograded/", "/feedback/", "/gradebook.db"} <= set(ignored)


def test_the_gradebook_and_the_timeout_can_be_set_from_the_environment(monkeypatch):
    url = "postgresql+psycopg2://grader@127.0.0.1:5432/miniflow"
    config = load_config(monkeypatch, MINIFLOW_GRADEBOOK_URL=url, MINIFLOW_CELL_TIMEOUT="7")
    assert config.CourseDirectory.db_url == url and config.ExecutePreprocessor.timeout == 7
