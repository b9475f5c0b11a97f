"""The adversarial catalogue graded together with correct submissions, in real sandboxes.

Every correct submission gets full marks, every hostile one exactly its expected
score and feedback, the limits it hit are reported, the gradebook stays
consistent (`nbgrader export` agrees), grading again changes nothing, and no
sandbox process is left behind.
"""
import csv
import json
import os
import subprocess

import nbformat
import pytest

from hostile import course as C
from hostile.catalogue import CATALOGUE, CORRECT, CORRECT_ADD_FROM_SERVER
from hostile.probes import BUILDERS, probe_entries
from hostile.support import gradebook_dump, leftover_processes, require, scratch_in, serving
from miniflow_grader import judge
from miniflow_grader.records import Records
from miniflow_grader.grade import Grader
from miniflow_grader.machine.sandbox import Limits

# grading a whole course in sandboxes (its fixture) takes minutes on two busy cores
pytestmark = pytest.mark.timeout(1500)

LIMITS = dict(wall_seconds=90)
SCRATCH = {}      # where the graders of this module keep their sandboxes' jobs


def submit_entry(root, entry, port, student=None, scratch=None):
    student = student or entry.name
    kwargs = {"name": entry.file_name} if entry.file_name else {}
    if entry.raw is not None:
        C.submit(root, student, raw=entry.raw, **kwargs)
    else:
        C.submit(root, student, entry.build(root, port, scratch), **kwargs)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    require("bwrap", "grading in a sandbox")
    root = C.make_course(tmp_path_factory.mktemp("course"), timeout=10)
    scratch = tmp_path_factory.mktemp("scratch")
    with serving(CORRECT_ADD_FROM_SERVER) as port, scratch_in(scratch):
        for entry in CATALOGUE + CORRECT:
            submit_entry(root, entry, port, scratch=scratch)
        grader = Grader(C.ASSIGNMENT, root, jobs=os.cpu_count(), limits=Limits(**LIMITS), progress=False)
        summary = grader.run()
    SCRATCH["graded"] = scratch
    db_url = f"sqlite:///{root}/gradebook.db"
    records = Records(db_url)
    infos = {row["student"]: dict(row, info=json.loads(row["info"])) for row in records.rows(C.ASSIGNMENT)}
    records.close()
    return root, db_url, summary, infos


def test_the_catalogue_is_large_enough():
    assert len(CATALOGUE) >= 25
    assert len({e.name for e in CATALOGUE + CORRECT}) == len(CATALOGUE + CORRECT)


def test_every_submission_was_graded_once(graded):
    root, db_url, summary, infos = graded
    assert summary["sandboxed"]
    assert sorted(summary["graded"]) == sorted(e.name for e in CATALOGUE + CORRECT)
    assert all(row["times_graded"] == 1 for row in infos.values())


@pytest.mark.parametrize("entry", CORRECT, ids=lambda e: e.name)
def test_correct_submissions_get_full_marks(graded, entry):
    root, db_url, summary, infos = graded
    info = infos[entry.name]["info"]
    assert info["score"] == info["max_score"] == sum(C.points(root).values())
    assert info["limits"] == []


@pytest.mark.parametrize("entry", CATALOGUE, ids=lambda e: e.name)
def test_hostile_submission_gets_its_expected_score_and_feedback(graded, entry):
    root, db_url, summary, infos = graded
    info = infos[entry.name]["info"]
    points = C.points(root)
    passed = {grade_id for grade_id, part in info["parts"].items() if part["passed"]}
    assert passed == entry.passes, info["parts"]
    assert info["score"] == sum(points[g] for g in entry.passes)
    for grade_id, phrase in entry.message.items():       # messages are wrapped: compare words, not lines
        assert " ".join(phrase.split()) in " ".join(info["parts"][grade_id]["message"].split()), \
            info["parts"][grade_id]
    kinds = {hit["kind"] for hit in info["limits"]}
    if entry.limits:
        assert kinds & entry.limits, info["limits"]
    assert "infrastructure" not in kinds, info["limits"]     # endless loops and the rest are the learner's


def test_feedback_in_the_autograded_notebooks(graded):
    """A failing check's message is the test cell's only output; a hidden one shows no traceback."""
    root, db_url, summary, infos = graded
    nb = nbformat.read(root / "autograded" / "edit_tests" / C.ASSIGNMENT / f"{C.ASSIGNMENT}.ipynb", as_version=4)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    assert "check(\"add_forward\"" in cells["add_forward"].source          # the test was put back
    (output,) = cells["add_forward"].outputs
    assert output.output_type == "error" and "expected: 19" in output.evalue
    (hidden,) = cells["add_forward_hidden"].outputs
    assert hidden.evalue.startswith("Hidden test failed") and "\n" not in hidden.evalue
    assert hidden.traceback == [hidden.evalue]
    assert cells["mul_forward"].outputs == []


def test_autograded_notebooks_stay_under_the_output_cap(graded):
    """Outputs of every kind (streams, displays and their updates, metadata, errors) count toward the cap."""
    root, db_url, summary, infos = graded
    cap = Limits().output_bytes
    for notebook in (root / "autograded").glob(f"*/{C.ASSIGNMENT}/{C.ASSIGNMENT}.ipynb"):
        assert notebook.stat().st_size < cap + 256 * 1024, notebook


def test_gradebook_is_consistent_and_exports(graded):
    root, db_url, summary, infos = graded
    rows = gradebook_dump(db_url, C.ASSIGNMENT)
    students = {e.name for e in CATALOGUE + CORRECT}
    assert {r[0] for r in rows} == students
    assert len(rows) == len(students) * len(C.points(root))
    assert all(r[3] is not None and r[5] is False for r in rows)     # auto-graded, nothing left for a human
    subprocess.run([str(C.BIN / "nbgrader"), "export", "--to", str(root / "grades.csv")], cwd=root, env=C.env(),
                   check=True, capture_output=True)
    with open(root / "grades.csv") as f:
        exported = {row["student_id"]: float(row["score"]) for row in csv.DictReader(f)}
    assert exported == {s: infos[s]["info"]["score"] for s in students}


def test_grading_again_changes_nothing(graded):
    root, db_url, summary, infos = graded
    before = gradebook_dump(db_url, C.ASSIGNMENT)
    with scratch_in(SCRATCH["graded"]):
        again = Grader(C.ASSIGNMENT, root, jobs=2, limits=Limits(**LIMITS), progress=False).run()
    # nothing changed, so nothing is graded again (unless the library or the checks were edited meanwhile,
    # which changes every submission's fingerprint: then all are graded again, to the same grades)
    assert set(again["graded"]) in (set(), {e.name for e in CATALOGUE + CORRECT})
    assert gradebook_dump(db_url, C.ASSIGNMENT) == before


def test_no_process_is_left_behind(graded):
    assert leftover_processes(SCRATCH["graded"]) == []


def test_report_shows_scores_failures_and_limits(graded):
    from miniflow_grader.report import write_report
    root, db_url, summary, infos = graded
    page = write_report(C.ASSIGNMENT, root)
    assert page == root / "reports" / C.ASSIGNMENT / "index.html"
    for plot in ("scores.png", "parts.png"):
        assert (page.parent / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = page.read_text()
    assert f"{len(infos)} submissions" in text
    assert "Add(x1, x2, x3) with x1 = 4., x2 = 5., x3 = 10. is wrong." in text     # the most common failure
    for student, limit in [("infinite_loop", "time limit"), ("memory_bomb", "memory limit"),
                           ("fork_bomb", "process limit"), ("network", "sandbox violation"),
                           ("os_exit", "kernel died"), ("corrupt_ipynb", "unreadable notebook")]:
        assert f"<tr><td>{student}</td><td>{limit}</td>" in text
    limits = text.split("<h2>Submissions that hit a limit</h2>")[1].split("<h2>")[0]
    assert "<tr><td>correct_reference</td>" not in limits
    graded_on = text.split("<h2>Every submission</h2>")[1]       # which machine graded each one
    assert "<tr><td>correct_reference</td><td>6</td><td>" in graded_on and "(this machine)" in graded_on


# --- probe files whose structure would cost the grader more than their size says ----------------------------

PROBES = probe_entries()


@pytest.mark.parametrize("build", BUILDERS, ids=lambda b: b.__name__)
def test_a_probe_file_is_refused_by_its_structure_before_it_is_read(monkeypatch, build):
    data, phrase = build()
    opened = []
    real = judge.zipfile.ZipFile
    monkeypatch.setattr(judge.zipfile, "ZipFile", lambda *a, **k: opened.append(a) or real(*a, **k))
    with pytest.raises(ValueError, match=phrase):
        judge.load_probe_file(data)
    assert len(opened) <= 1
    if build.__name__ in ("many_members", "zip64_members", "lying_end_record", "not_a_zip"):
        assert opened == []           # refused from the end record: zipfile never reads the listing


def test_an_honest_probe_file_is_read_once_and_the_same_as_np_load():
    import io

    import numpy as np
    buffer = io.BytesIO()
    values = dict(scalar=np.float64(19.0), matrix=np.asfortranarray(np.arange(6.0).reshape(2, 3)),
                  ints=np.array([[18, 21], [42, 49]]), flags=np.array([True, False]), text=np.array("a message"),
                  empty=np.zeros((0, 3)))
    np.savez(buffer, **values)
    got = judge.load_probe_file(buffer.getvalue())
    assert set(got) == set(values)
    for key, value in values.items():
        assert got[key].dtype == value.dtype and got[key].shape == value.shape and np.array_equal(got[key], value)


@pytest.fixture(scope="module")
def probes_graded(tmp_path_factory):
    require("bwrap", "grading in a sandbox")
    root = C.make_course(tmp_path_factory.mktemp("course"), timeout=10)
    scratch = tmp_path_factory.mktemp("scratch")
    with scratch_in(scratch):
        for entry in PROBES + CORRECT[:1]:
            submit_entry(root, entry, 0, scratch=scratch)
        summary = Grader(C.ASSIGNMENT, root, jobs=os.cpu_count(), limits=Limits(**LIMITS), progress=False).run()
    records = Records(f"sqlite:///{root}/gradebook.db")
    infos = {row["student"]: json.loads(row["info"]) for row in records.rows(C.ASSIGNMENT)}
    records.close()
    return root, summary, infos, scratch


@pytest.mark.parametrize("entry", PROBES, ids=lambda e: e.name)
def test_a_hostile_probe_file_fails_only_its_part_with_the_reason(probes_graded, entry):
    root, summary, infos, scratch = probes_graded
    info = infos[entry.name]
    passed = {grade_id for grade_id, part in info["parts"].items() if part["passed"]}
    assert passed == entry.passes, info["parts"]
    for grade_id, phrase in entry.message.items():
        assert phrase in " ".join(info["parts"][grade_id]["message"].split()), info["parts"][grade_id]
    assert infos[CORRECT[0].name]["score"] == sum(C.points(root).values())
    assert leftover_processes(scratch) == []
