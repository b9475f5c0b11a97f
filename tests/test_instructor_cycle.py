"""The instructor's whole cycle on a local exchange, with the real nbgrader commands and the sandboxed grader.

release_assignment -> fetch_assignment and submit as five learners (one submits twice; two are late; two have
ids with spaces, capitals and accents) -> collect, collect --update -> python -m miniflow_grader.grade ->
generate_feedback -> release_feedback -> fetch_feedback as every learner -> export. The late policy is a
LateSubmissionPlugin in the instructor's own config folder (JUPYTER_CONFIG_DIR), not in the course's file; stock
`nbgrader autograde` grades a copy of the course for comparison. Then the due date moves: the next run grades
again exactly the learners whose lateness changed, and their feedback is written again. Four more folders,
dropped into submitted/ as an LMS download might, have ids the grader refuses: each gets a zero of its own.
"""
import csv
import datetime
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from hostile.support import leftover_processes, require, scratch_in
from miniflow_grader import intake
from miniflow_grader.records import Records
from submissions.catalogue import REPO, build_submission, load_catalogue

pytestmark = pytest.mark.timeout(1800)
BIN = Path(sys.executable).parent
ASSIGNMENT = "ps1_nodes"
COURSE_ID = "miniflow"

POLICY = '''\
from nbgrader.plugins import LateSubmissionPlugin


class TenPercentADay(LateSubmissionPlugin):
    """10% of the score for each day or part of a day late"""

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        days = -(-total_seconds_late // 86400)
        return min(score, round(score * 0.1 * days, 4))


c = get_config()
c.AssignLatePenalties.plugin_class = TenPercentADay
'''
LEARNER_CONFIG = 'c = get_config()\nc.Exchange.root = {root!r}\n'

WRONG_MUL = next(w for w in load_catalogue(ASSIGNMENT) if w.name == "mul_in_place")
#: learner -> (what they hand in, in order)
ON_TIME = {"alice": ["right"], "bob": ["blank", "right"], "ivan petrov": ["wrong"]}
LATE = {"Zoë Ünal": ["right"], "dana": ["wrong"]}
#: folders an LMS download might hold, whose names cannot be nbgrader ids
REFUSED = ["[C]arol", "x" * 200, "evil\u202egnp.exe", "new\nline"]
#: and one that the id map names
MAPPED = {"Frank Miller (4711)": "frank"}


def notebook(kind):
    if kind == "blank":
        return nbformat.read(REPO / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    return build_submission(ASSIGNMENT, WRONG_MUL.replacements if kind == "wrong" else None)


class Course:
    """A course directory, an exchange, an instructor and learners, each with a home and a config folder."""

    def __init__(self, top):
        self.top = top
        self.root = top / "course"
        self.exchange = top / "exchange"
        self.exchange.mkdir()
        self.exchange.chmod(0o777)
        self.instructor = top / "instructor"
        (self.instructor / ".jupyter").mkdir(parents=True)
        (self.instructor / ".jupyter" / "nbgrader_config.py").write_text(POLICY)
        self.logs = []

    def env(self, home, config):
        env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", HOME=str(home),
                   JUPYTER_CONFIG_DIR=str(config), MINIFLOW_SEED="2024")
        for name in ("MINIFLOW_GRADEBOOK_URL", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "MINIFLOW_PROBE_DIR"):
            env.pop(name, None)
        return env

    def run(self, *command, cwd=None, learner=None, check=True, timeout=900):
        """Run a command as the instructor (in the course) or as a learner (in their home); log it with its time."""
        if learner is None:
            env, cwd = self.env(self.instructor, self.instructor / ".jupyter"), cwd or self.root
        else:
            home = self.home(learner)
            env, cwd = self.env(home, home / ".jupyter"), home
        start = datetime.datetime.now()
        done = subprocess.run([str(BIN / command[0]) if (BIN / command[0]).exists() else command[0], *command[1:]],
                              cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
        self.logs.append((" ".join(command), learner, (datetime.datetime.now() - start).total_seconds(),
                          done.returncode))
        if check:
            assert done.returncode == 0, f"{command} as {learner!r}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        return done

    def home(self, learner):
        home = self.top / "homes" / learner
        if not home.exists():
            (home / ".jupyter").mkdir(parents=True)
            (home / ".jupyter" / "nbgrader_config.py").write_text(LEARNER_CONFIG.format(root=str(self.exchange)))
        return home

    def learner(self, name, *command):
        return self.run("nbgrader", *command, ASSIGNMENT, "--course", COURSE_ID, "--student", name, learner=name)

    def hand_in(self, name, kind):
        """Write the learner's work into the fetched notebook and submit it; return the submission's timestamp."""
        path = self.home(name) / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        nbformat.write(notebook(kind), path)
        self.learner(name, "submit")
        cache = self.home(name) / ".local" / "share" / "jupyter" / "nbgrader_cache" / COURSE_ID
        latest = sorted(cache.glob(f"*+{ASSIGNMENT}+*"), key=lambda p: (p / "timestamp.txt").read_text())[-1]
        return parse((latest / "timestamp.txt").read_text())

    def grade(self, scratch):
        with scratch_in(scratch):
            return self.run(sys.executable, "-m", "miniflow_grader.grade", ASSIGNMENT, "--jobs", "2",
                            "--no-progress", "--id-map", str(self.top / "ids.csv"), check=False)

    def due(self, moment):
        self.run("nbgrader", "db", "assignment", "add", ASSIGNMENT,
                 f"--duedate={moment.strftime('%Y-%m-%d %H:%M:%S.%f')} UTC")


def parse(text):
    from nbgrader.utils import parse_utc
    return parse_utc(text.strip())


def gradebook_scores(root):
    """{student: (raw score, late penalty)} of the assignment in the course's gradebook."""
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        return {s.student.id: (s.score, s.late_submission_penalty) for s in gb.assignment_submissions(ASSIGNMENT)}


def exported(course):
    out = course.top / "grades.csv"
    course.run("nbgrader", "export", "--to", str(out))
    with open(out, newline="") as f:
        return {row["student_id"]: row for row in csv.DictReader(f) if row["assignment"] == ASSIGNMENT}


def feedback_page(root, student):
    return root / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html"


@pytest.fixture(scope="module")
def cycle(tmp_path_factory):
    require("bwrap", "grading in a sandbox")
    top = tmp_path_factory.mktemp("cycle")
    course = Course(top)
    root = course.root
    (root / "solutions").mkdir(parents=True)
    shutil.copytree(REPO / "solutions" / ASSIGNMENT, root / "solutions" / ASSIGNMENT)
    config = (REPO / "nbgrader_config.py").read_text()
    (root / "nbgrader_config.py").write_text(config + f"\nc.Exchange.root = {str(course.exchange)!r}\n")
    scratch = top / "scratch"
    scratch.mkdir()
    facts = {"scratch": scratch}

    # release
    course.run("nbgrader", "generate_assignment", ASSIGNMENT, "--force")
    course.run("nbgrader", "release_assignment", ASSIGNMENT)
    # fetch, work, submit (bob twice: collected once, then again with --update)
    for name in [*ON_TIME, *LATE]:
        course.learner(name, "fetch_assignment")
    stamps = {}
    for name, kinds in ON_TIME.items():
        stamps[name] = course.hand_in(name, kinds[0])
    course.run("nbgrader", "collect", ASSIGNMENT)
    stamps["bob"] = course.hand_in("bob", ON_TIME["bob"][1])
    for name, kinds in LATE.items():
        stamps[name] = course.hand_in(name, kinds[0])
    course.run("nbgrader", "collect", "--update", ASSIGNMENT)
    # due after the on-time learners, before the late ones
    first_due = stamps["bob"] + (stamps["Zoë Ünal"] - stamps["bob"]) / 2
    course.due(first_due)
    facts["stamps"] = stamps

    # stock nbgrader on a copy, with the same config folders
    stock = top / "stock"
    shutil.copytree(root, stock)
    course.run("nbgrader", "autograde", ASSIGNMENT, cwd=stock)
    facts["stock"] = gradebook_scores(stock)

    # an LMS download adds folders whose names are no ids
    (top / "ids.csv").write_text("lms_user_id,id\n" + "".join(f'"{k}",{v}\n' for k, v in MAPPED.items()))
    for raw in [*REFUSED, *MAPPED]:
        folder = root / "submitted" / raw / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(notebook("right"), folder / f"{ASSIGNMENT}.ipynb")
        (folder / "timestamp.txt").write_text(stamps["alice"].strftime("%Y-%m-%d %H:%M:%S.%f UTC"))

    facts["first"] = course.grade(scratch)
    facts["ours"] = gradebook_scores(root)
    course.run("nbgrader", "generate_feedback", ASSIGNMENT)
    course.run("nbgrader", "release_feedback", ASSIGNMENT)
    facts["fetched"] = {}
    for name in [*ON_TIME, *LATE]:
        course.learner(name, "fetch_feedback")
        facts["fetched"][name] = sorted((course.home(name) / ASSIGNMENT / "feedback").rglob("*.html"))
    facts["export"] = exported(course)
    facts["pages_before"] = {s: feedback_page(root, s).stat().st_mtime_ns for s in [*ON_TIME, *LATE]}
    facts["penalised_page"] = feedback_page(root, "Zoë Ünal").read_text(encoding="utf-8")

    # the due date moves to between the two late learners: Zoë is on time now, dana late by less
    second_due = stamps["Zoë Ünal"] + (stamps["dana"] - stamps["Zoë Ünal"]) / 2
    course.due(second_due)
    facts["second"] = course.grade(scratch)
    facts["feedback_left"] = {s: feedback_page(root, s).exists() for s in [*ON_TIME, *LATE]}
    course.run("nbgrader", "generate_feedback", ASSIGNMENT)
    course.run("nbgrader", "release_feedback", ASSIGNMENT)
    facts["pages_after"] = {s: feedback_page(root, s).stat().st_mtime_ns for s in [*ON_TIME, *LATE]}
    facts["after"] = gradebook_scores(root)
    facts["export_after"] = exported(course)
    records = Records(f"sqlite:///{root / 'gradebook.db'}")
    facts["records"] = {r["student"]: r for r in records.rows(ASSIGNMENT)}
    records.close()
    facts["logs"] = course.logs
    return course, facts


FULL = 6.0
RAW = {"alice": FULL, "bob": FULL, "ivan petrov": 3.0, "Zoë Ünal": FULL, "dana": 3.0}


def test_the_grader_scores_as_stock_nbgrader_autograde_with_the_late_policy_from_a_user_config_folder(cycle):
    course, facts = cycle
    assert facts["stock"] == {s: (RAW[s], round(RAW[s] * 0.1, 4) if s in LATE else 0.0) for s in RAW}, facts["stock"]
    ours = {s: v for s, v in facts["ours"].items() if s in RAW}
    assert ours == facts["stock"]
    export = facts["export"]
    for student, (raw, penalty) in facts["stock"].items():
        assert float(export[student]["raw_score"]) == raw
        assert float(export[student]["late_submission_penalty"]) == penalty
        assert float(export[student]["score"]) == raw - penalty


def test_a_resubmission_collected_with_update_is_the_one_graded(cycle):
    course, facts = cycle
    assert facts["ours"]["bob"] == (FULL, 0.0)
    graded = nbformat.read(course.root / "autograded" / "bob" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    assert "raise NotImplementedError" not in "".join(c.source for c in graded.cells
                                                      if c.metadata.get("nbgrader", {}).get("solution"))


def test_every_learner_fetches_their_own_feedback(cycle):
    course, facts = cycle
    for name in [*ON_TIME, *LATE]:
        pages = facts["fetched"][name]
        assert len(pages) == 1, (name, pages)
        text = pages[0].read_text(encoding="utf-8")
        score = RAW[name] - (round(RAW[name] * 0.1, 4) if name in LATE else 0)
        assert f"(Score: {float(round(score, 2))} / {FULL})" in text, (name, score)
    secret = (course.root / "autograded" / "alice" / ASSIGNMENT / "submission_secret.txt").read_bytes()
    cache = course.home("alice") / ".local" / "share" / "jupyter" / "nbgrader_cache" / COURSE_ID
    assert secret in {p.read_bytes() for p in cache.glob("*/submission_secret.txt")}
    assert intake.valid_secret(secret)


def test_the_feedback_page_says_why_points_were_taken(cycle):
    course, facts = cycle
    page = facts["penalised_page"]
    assert "Handed in late." in page and "10% of the score for each day or part of a day late" in page
    assert "Penalty: 0.6 points" in page and "scores 5.4 of 6" in page
    assert "Handed in late." not in feedback_page(course.root, "alice").read_text(encoding="utf-8")


def test_ids_with_spaces_capitals_and_accents_are_graded(cycle):
    course, facts = cycle
    for name in ("ivan petrov", "Zoë Ünal"):
        assert (course.root / "autograded" / name / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()
        assert float(facts["export"][name]["raw_score"]) == RAW[name]


def test_a_folder_the_id_map_names_is_graded_as_its_nbgrader_id(cycle):
    course, facts = cycle
    for folder, student in MAPPED.items():
        assert facts["ours"][student] == (FULL, 0.0)
        assert (course.root / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()
        assert not (course.root / "autograded" / folder).exists()
        with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}") as gb:
            assert gb.find_student(student).lms_user_id == folder
        assert intake.shown_id(folder) not in facts["first"].stderr[facts["first"].stderr.index("NOT GRADED"):]


def test_refused_ids_get_a_zero_a_feedback_page_an_export_line_and_a_failing_exit_status(cycle):
    course, facts = cycle
    first = facts["first"]
    assert first.returncode == 1, first.stderr[-3000:]
    summary = first.stderr[first.stderr.index("NOT GRADED"):]
    assert all(c.isprintable() or c == "\n" for c in summary)          # no control or bidi character got through
    for raw in REFUSED:
        placeholder = intake.placeholder_id(raw)
        assert intake.shown_id(raw)[:60] in summary and placeholder in summary
        assert "--id-map" in summary
        row = facts["export"][placeholder]
        assert float(row["score"]) == 0 and row["last_name"]
        page = feedback_page(course.root, placeholder).read_text(encoding="utf-8")
        assert "Not graded." in page and "learner id" in page
        assert not (course.root / "autograded" / raw).exists()
    assert "\u202e" not in json.dumps(facts["export"], ensure_ascii=False)


def test_moving_the_due_date_grades_again_exactly_the_learners_whose_lateness_changed(cycle):
    course, facts = cycle
    second = facts["second"]
    assert "graded 2 of 10 submissions" in second.stderr, second.stderr[-3000:]
    times = {s: facts["records"][s]["times_graded"] for s in RAW}
    assert times == {"alice": 1, "bob": 1, "ivan petrov": 1, "Zoë Ünal": 2, "dana": 2}
    assert facts["after"]["Zoë Ünal"] == (FULL, 0.0) and facts["after"]["dana"] == (3.0, 0.3)
    assert float(facts["export_after"]["Zoë Ünal"]["score"]) == FULL
    # the regraded learners' stale pages were removed, so generate_feedback wrote them again; the others stand
    assert facts["feedback_left"] == {s: s not in LATE for s in RAW}
    for student in RAW:
        changed = facts["pages_after"][student] != facts["pages_before"][student]
        assert changed == (student in LATE), student
    assert "Handed in late." not in feedback_page(course.root, "Zoë Ünal").read_text(encoding="utf-8")


def test_no_process_is_left_behind(cycle):
    course, facts = cycle
    assert leftover_processes(facts["scratch"]) == []
