"""Hostile submission folders graded through the real CLI, as the instructor runs it, in real sandboxes.

Each refused submission gets zero, with its reason in the report and in its
feedback page; nothing it pointed at reaches anyone's feedback; every other
learner is graded as usual; ids are used as names, never as patterns.
"""
import json
import os
import subprocess
import sys

import nbformat
import pytest

from hostile import course as C
from hostile.files import FILE_ENTRIES, HOSTILE_CHARS, HOSTILE_TEXT, SECRET_MARKERS, plant_all
from hostile.support import gradebook_dump, leftover_processes, require, scratch_in
from miniflow_grader import intake
from miniflow_grader.records import Records

# grading a whole course in sandboxes (its fixture) takes minutes on two busy cores
pytestmark = pytest.mark.timeout(1500)

FEEDBACK_CONFIG = """
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import GetGrades
from miniflow_grader.feedback import LateNote
c.GenerateFeedback.preprocessors = [GetGrades, LateNote, CSSHTMLHeaderPreprocessor]
"""


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    require("bwrap", "grading in a sandbox")
    if os.geteuid() != 0:
        pytest.skip("device files need root to make")
    root = C.make_course(tmp_path_factory.mktemp("course"), timeout=10)
    with open(root / "nbgrader_config.py", "a") as config:      # the feedback page as the project's config makes it
        config.write(FEEDBACK_CONFIG)
    scratch = tmp_path_factory.mktemp("scratch")
    planted = plant_all(root, FILE_ENTRIES, C.correct_submission(root))
    with scratch_in(scratch):
        done = subprocess.run([sys.executable, "-m", "miniflow_grader.grade", C.ASSIGNMENT, "--no-progress",
                               "--jobs", "2"], cwd=root, env=C.env(), capture_output=True, text=True, timeout=900)
    assert done.returncode == 1, done.stderr[-3000:]        # some learners were refused: the run says so
    feedback = subprocess.run([str(C.BIN / "nbgrader"), "generate_feedback", C.ASSIGNMENT, "--force"],
                              cwd=root, env=C.env(), capture_output=True, text=True, timeout=600)
    exchange = tmp_path_factory.mktemp("exchange")
    released = subprocess.run([str(C.BIN / "nbgrader"), "release_feedback", C.ASSIGNMENT,
                               f"--Exchange.root={exchange}"], cwd=root, env=C.env(), capture_output=True, text=True,
                              timeout=600)
    assert released.returncode == 0, released.stderr[-3000:]
    db_url = f"sqlite:///{root}/gradebook.db"
    records = Records(db_url)
    rows = {row["student"]: row for row in records.rows(C.ASSIGNMENT)}
    records.close()
    grades = gradebook_dump(db_url, C.ASSIGNMENT)
    return root, planted, done, feedback, rows, grades, scratch, exchange


def _feedback_page(root, student):
    return (root / "feedback" / student / C.ASSIGNMENT / f"{C.ASSIGNMENT}.html")


def test_the_grader_went_on_and_graded_the_others(graded):
    root, planted, done, feedback, rows, grades, scratch, exchange = graded
    full = sum(C.points(root).values())
    scores = {r[0]: r for r in grades}
    graded = [e.student or e.name for e in FILE_ENTRIES if not e.refused and e.score is None]
    assert "ivan petrov" in graded and "Ana María Núñez" in graded
    for student in ("alice", "Carol", *graded):
        assert sum(r[3] for r in grades if r[0] == student) == full, student
    assert "alice" in scores


@pytest.mark.parametrize("entry", [e for e in FILE_ENTRIES if e.refused and not e.id_refused], ids=lambda e: e.name)
def test_a_refused_submission_gets_zero_and_says_why(graded, entry):
    root, planted, done, feedback, rows, grades, scratch, exchange = graded
    student = entry.student or entry.name
    mine = [r for r in grades if r[0] == student]
    assert mine and all(r[3] == 0 for r in mine)
    import json
    info = json.loads(rows[student]["info"])
    assert any(hit["kind"] == "refused" and entry.refused in hit["detail"] for hit in info["limits"]), info["limits"]
    page = _feedback_page(root, student)
    assert page.is_file(), feedback.stderr[-2000:]
    assert entry.refused in page.read_text(encoding="utf-8")
    summary = done.stderr[done.stderr.index("NOT GRADED"):]       # the run's last words name it, and why
    assert any(line.startswith(f"  {student}") and entry.refused in line for line in summary.splitlines()), summary


@pytest.mark.parametrize("entry", [e for e in FILE_ENTRIES if e.id_refused], ids=lambda e: e.name)
def test_an_id_that_is_not_a_plain_name_is_refused_for_that_learner_alone(graded, entry):
    """It gets a zero of its own, under a name the gradebook can hold, and the run ends naming it."""
    root, planted, done, feedback, rows, grades, scratch, exchange = graded
    assert entry.student not in rows
    assert entry.student not in {r[0] for r in grades}
    placeholder = intake.placeholder_id(entry.student)
    mine = [r for r in grades if r[0] == placeholder]
    assert mine and all(r[3] == 0 for r in mine)
    assert "learner id" in _feedback_page(root, placeholder).read_text(encoding="utf-8")
    summary = done.stderr[done.stderr.index("NOT GRADED"):]
    assert f"{placeholder} (submitted/{intake.shown_id(entry.student)}/)" in summary
    assert all(c.isprintable() for line in done.stderr.splitlines() for c in line)     # ids shown as text
    assert not (root / "autograded" / entry.student).exists() and not (root / "feedback" / entry.student).exists()
    report = (root / "reports" / C.ASSIGNMENT / "index.html").read_text(encoding="utf-8")
    assert "submission refused" in report


@pytest.mark.parametrize("entry", [e for e in FILE_ENTRIES if e.name.startswith("secret_")], ids=lambda e: e.name)
def test_only_a_submission_secret_as_nbgrader_writes_it_reaches_the_exchange(graded, entry):
    """A learner's submission_secret.txt names their page in the exchange: only 128 hex digits go through."""
    root, planted, done, feedback, rows, grades, scratch, exchange = graded
    student = entry.student or entry.name
    planted_secret = (root / "submitted" / student / C.ASSIGNMENT / "submission_secret.txt").read_bytes()
    for top in ("autograded", "feedback"):
        kept = (root / top / student / C.ASSIGNMENT / "submission_secret.txt").read_bytes()
        assert intake.valid_secret(kept)
        assert (kept == planted_secret) == (not entry.secret_replaced)
    limits = json.loads(rows[student]["info"])["limits"]
    assert any(hit["kind"] == "feedback_delivery" for hit in limits) == entry.secret_replaced
    from nbgrader.utils import notebook_hash
    released = exchange / "miniflow-test" / "feedback" / (notebook_hash(secret=(
        root / "feedback" / student / C.ASSIGNMENT / "submission_secret.txt").read_text(), notebook_id=C.ASSIGNMENT)
        + ".html")
    assert released.is_file()


def test_release_feedback_goes_through_for_every_learner(graded):
    root, planted, done, feedback, rows, grades, scratch, exchange = graded
    students = {r[0] for r in grades}
    assert len(list((exchange / "miniflow-test" / "feedback").glob("*.html"))) == len(students)


def test_a_pattern_id_never_touches_the_learner_it_matches(graded):
    """[C]arol's notebook claims 100 points a test; Carol's own grades and notebook stay hers."""
    root, planted, done, feedback, rows, grades, scratch, exchange = graded
    carol = [r for r in grades if r[0] == "Carol"]
    assert sum(r[3] for r in carol) == sum(C.points(root).values()) and all(r[6] <= 2 for r in carol)
    nb = nbformat.read(root / "autograded" / "Carol" / C.ASSIGNMENT / f"{C.ASSIGNMENT}.ipynb", as_version=4)
    assert any(c.get("execution_count") for c in nb.cells if c.cell_type == "code")


def test_links_to_the_folders_themselves_are_refused(graded):
    root, planted, done, feedback, rows, grades, scratch, exchange = graded
    import json
    for student in ("student_folder_link", "assignment_folder_link"):
        if student in rows:
            info = json.loads(rows[student]["info"])
            assert any("symbolic link" in hit["detail"] for hit in info["limits"]), info
            assert all(r[3] == 0 for r in grades if r[0] == student)


def test_nothing_a_link_pointed_at_reaches_any_feedback_or_report(graded):
    root, planted, done, feedback, rows, grades, scratch, exchange = graded
    pages = list((root / "feedback").rglob("*.html")) + list((root / "reports").rglob("*.html"))
    assert pages
    secret = Records(f"sqlite:///{root}/gradebook.db").secret()
    for page in pages:
        text = page.read_text(encoding="utf-8", errors="replace")
        assert secret not in text, page
        for marker in SECRET_MARKERS:
            assert marker not in text, (page, marker)
    for folder in (root / "autograded").iterdir():
        for path in folder.rglob("*"):
            assert not path.is_symlink() and (path.is_dir() or path.stat().st_nlink == 1), path


def test_the_learners_own_extra_files_are_never_handed_back(graded):
    root, planted, done, feedback, rows, grades, scratch, exchange = graded
    for top in ("autograded", "feedback"):
        assert not list((root / top / "collected_shadow").rglob("notes.txt")), top


def test_identical_notebooks_are_flagged_for_the_instructor(graded):
    import json
    root, planted, done, feedback, rows, grades, scratch, exchange = graded
    notes = json.loads(rows["collected_classmate"]["info"])["notes"]
    assert any(note["kind"] == "identical" and "alice" in note["detail"] for note in notes), notes
    report = (root / "reports" / C.ASSIGNMENT / "index.html").read_text(encoding="utf-8")
    assert "identical to the one of" in report


def test_learner_text_is_shown_as_text_in_everything_the_grader_writes(graded, tmp_path):
    """Every page, CSV and line of terminal output: none holds a raw control, escape or bidi character.

    (hostile_text carries them in every field it controls; refused file names and ids carry others.)"""
    root, planted, done, feedback, rows, grades, scratch, exchange = graded
    exported = subprocess.run([str(C.BIN / "nbgrader"), "export", f"--to={tmp_path / 'grades.csv'}"], cwd=root,
                              env=C.env(), capture_output=True, text=True, timeout=600)
    assert exported.returncode == 0, exported.stderr[-2000:]
    written = {"the grading run's stdout": done.stdout, "the grading run's stderr": done.stderr,
               "generate_feedback's stderr": feedback.stderr, "export's stdout": exported.stdout}
    for top in (root / "feedback", root / "reports", exchange, tmp_path):
        for path in sorted(top.rglob("*")):
            if path.is_file() and path.suffix in (".html", ".csv", ".txt", ".log", ".json"):
                written[str(path)] = path.read_text(encoding="utf-8", errors="strict")
    mine = _feedback_page(root, "hostile_text").read_text(encoding="utf-8")
    assert "\\u202e" in mine and "\\x9b" in mine and "\\x07" in mine     # the learner's text is there, visibly
    report = (root / "reports" / C.ASSIGNMENT / "index.html").read_text(encoding="utf-8")
    assert "\\u202e" in report                                        # Mul's failure message, from its exception
    for where, text in written.items():
        raw = sorted({f"U+{ord(c):04X}" for c in text if c in HOSTILE_CHARS})
        assert not raw, (where, raw)
    graded_nb = nbformat.read(root / "autograded" / "hostile_text" / C.ASSIGNMENT / f"{C.ASSIGNMENT}.ipynb", 4)
    assert any(HOSTILE_TEXT in cell.source for cell in graded_nb.cells)    # the graded notebook keeps what was written


def test_no_process_is_left_behind(graded):
    root, planted, done, feedback, rows, grades, scratch, exchange = graded
    assert leftover_processes(scratch) == []
