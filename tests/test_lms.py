"""The LMS round trip through nbgrader's own commands: Canvas and Moodle zips in, their gradebook CSVs out.

A small course (ps1_nodes, tests/hostile/course.py) gets a Canvas zip with
resubmissions (`-1`, `-2`, ` (1)`), late marks (`_late_`, `_LATE_`) and learners
whose nbgrader ids have spaces, capitals and accents (through the id map);
the real `nbgrader zip_collect --collector=miniflow_grader.lms.LMSCollector`
collects it, stock `nbgrader autograde` grades it with a late-submission plugin,
and the real `nbgrader export --exporter=...` writes what Canvas and Moodle import.
"""
import csv
import shutil
import subprocess
import zipfile

import nbformat
import pytest

from hostile import course as C
from miniflow_grader.lms.collect import parse_name, released_name
from miniflow_grader.lms.ids import IdMapError, read_id_map
from miniflow_grader.records import Records

pytestmark = pytest.mark.timeout(900)

A = C.ASSIGNMENT
DUE = "2026-01-09 12:00:00 UTC"

ID_MAP = """\
lms_id,nbgrader_id,name,email,idnumber,sis_user_id,sis_login_id,section
48213,Ivan Petrov,"Petrov, Ivan",ivan@example.edu,S1042,S1042,ipetrov,Group A
48214,José Müller,"Müller, José",jose@example.edu,S1043,S1043,jmuller,Group B
48215,frank,"Frank, F.",frank@example.edu,S1044,S1044,ffrank,Group A
48217,=cmd|' /C calc'!A0,"=HYPERLINK(""x"")",eve@example.edu,S1046,,,
"""

LATE_PLUGIN = '''\
from nbgrader.plugins import LateSubmissionPlugin


class OnePointPerHour(LateSubmissionPlugin):
    """One point off for each hour (or part of one) after the due date."""

    def late_submission_penalty(self, student_id, score, total_seconds):
        import math
        return min(score, math.ceil(total_seconds / 3600))
'''

CONFIG = """
c.LMSIds.id_map = "lms_ids.csv"
c.AssignLatePenalties.plugin_class = "late.OnePointPerHour"
c.CanvasExport.assignment_ids = {"ps1_nodes": "77001"}
"""


def nbgrader(root, *args, check=True):
    done = subprocess.run([str(C.BIN / "nbgrader"), *args], cwd=root, env={**C.env(), "PYTHONPATH": str(root)},
                          capture_output=True, text=True, timeout=600)
    if check:
        assert done.returncode == 0, (args, done.stdout[-3000:], done.stderr[-3000:])
    return done


def version(root, label, *, wrong=False):
    """The correct submission (or one whose Add subtracts) with `label` in its try-it cell, as bytes."""
    nb = C.correct_submission(root)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and not meta:
            cell.source = f"# version {label}\n" + cell.source
        if wrong and meta.get("grade_id") == "add_solution":
            cell.source = cell.source.replace("total + n.value", "total - n.value")
    return nbformat.writes(nb).encode()


def label_of(path):
    nb = nbformat.read(path, as_version=4)
    return next(line for c in nb.cells for line in c.source.splitlines() if line.startswith("# version "))[10:]


CANVAS_FILES = [   # (name in the zip, label, wrong?)
    ("petrovivan_48213_900001_ps1_nodes.ipynb", "ivan first", False),
    ("petrovivan_LATE_48213_900007_ps1_nodes-1.ipynb", "ivan latest", False),
    ("mullerjose_48214_900002_ps1_nodes.ipynb", "jose only", True),
    ("frank_late_48215_900003_ps1_nodes.ipynb", "frank first", False),
    ("frank_late_48215_900009_ps1_nodes-2.ipynb", "frank latest", False),
    ("frank_late_48215_900005_ps1_nodes-1.ipynb", "frank second", False),
    ("ana_48216_900004_ps1_nodes (1).ipynb", "ana saved twice", True),
    ("eve_48217_900006_ps1_nodes.ipynb", "eve", False),
]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    root = C.make_course(tmp_path_factory.mktemp("lms") / "course")
    with open(root / "nbgrader_config.py", "a") as f:
        f.write(CONFIG)
    (root / "late.py").write_text(LATE_PLUGIN)
    nbgrader(root, "db", "assignment", "add", A, f"--duedate={DUE}")
    return root


@pytest.fixture(scope="module")
def canvas(base, tmp_path_factory):
    root = tmp_path_factory.mktemp("canvas") / "course"
    shutil.copytree(base, root)
    (root / "lms_ids.csv").write_text(ID_MAP.replace("48217,=cmd|' /C calc'!A0", "48217,eve"), encoding="utf-8")
    archive = root / "downloaded" / A / "archive"
    archive.mkdir(parents=True)
    with zipfile.ZipFile(archive / "submissions.zip", "w") as z:
        for name, label, wrong in CANVAS_FILES:
            z.writestr(name, version(root, label, wrong=wrong))
    done = nbgrader(root, "zip_collect", A, "--collector=miniflow_grader.lms.LMSCollector")
    return root, done.stdout + done.stderr


def test_canvas_zip_collects_every_learner_under_their_id_with_the_latest_file(canvas):
    root, log = canvas
    submitted = root / "submitted"
    assert sorted(p.name for p in submitted.iterdir()) == sorted(["Ivan Petrov", "José Müller", "frank", "48216",
                                                                  "eve"])
    assert label_of(submitted / "Ivan Petrov" / A / f"{A}.ipynb") == "ivan latest"
    assert label_of(submitted / "José Müller" / A / f"{A}.ipynb") == "jose only"
    assert label_of(submitted / "frank" / A / f"{A}.ipynb") == "frank latest"
    assert label_of(submitted / "48216" / A / f"{A}.ipynb") == "ana saved twice"   # " (1)" read as a resubmission
    for learner in submitted.iterdir():
        assert sorted(p.name for p in (learner / A).iterdir()) in ([f"{A}.ipynb"], [f"{A}.ipynb", "timestamp.txt"])
    assert "48216" in log and "not in the id map" in log          # said, and still collected
    assert "frank: ps1_nodes-2.ipynb is kept, the earlier ps1_nodes-1.ipynb is not" in log.replace(
        "frank_late_48215_900009_", "").replace("frank_late_48215_900005_", "")


def test_the_late_mark_becomes_a_time_after_the_due_date(canvas):
    root, log = canvas
    submitted = root / "submitted"
    for late in ("Ivan Petrov", "frank"):
        assert (submitted / late / A / "timestamp.txt").read_text().startswith("2026-01-09 12:00:01")
    for on_time in ("José Müller", "48216", "eve"):
        assert not (submitted / on_time / A / "timestamp.txt").exists()
    assert "marks" in log and "late without saying when" in log


@pytest.fixture(scope="module")
def graded(canvas):
    root, _ = canvas
    nbgrader(root, "db", "student", "add", "nobody handed in", "--first-name=Nora", "--last-name=Absent")
    nbgrader(root, "autograde", A)
    records = Records(f"sqlite:///{root}/gradebook.db")
    records.setup()
    records.note_refused_ids(A, [{"student": "zoë\x1b[31m", "detail": "the learner id has a control character"}])
    records.close()
    return root


def _read(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_canvas_csv_has_the_columns_canvas_requires_and_final_scores(graded):
    root = graded
    nbgrader(root, "export", "--exporter=miniflow_grader.lms.CanvasExport", f"--to={root / 'canvas.csv'}")
    rows = _read(root / "canvas.csv")
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "ps1_nodes (77001)"]
    assert rows[1] == ["Points Possible", "", "", "", "", "6"]
    by_id = {r[1]: r for r in rows[2:]}
    assert by_id["48213"][:5] == ["Petrov, Ivan", "48213", "S1042", "ipetrov", "Group A"]
    assert by_id["48213"][5] == "5"          # right answers (6), late by a second: one point off
    assert by_id["48215"][5] == "5"
    assert by_id["48214"][5] == "3"          # Add wrong, on time
    assert by_id["48216"][5] == "3"          # not in the id map: under the LMS id it came with
    assert by_id["48217"][5] == "6"
    assert by_id["48217"][0] == "'=HYPERLINK(\"x\")"      # a name a spreadsheet would run, neutralised
    assert by_id["nobody handed in"][0] == "Absent, Nora" and by_id["nobody handed in"][5] == "0"
    assert by_id["zoë\\x1b[31m"][5] == "0"  # refused by the grader: there, with 0, its escape shown
    assert len(rows) == 2 + 7
    with open(root / "canvas.csv", encoding="utf-8") as f:
        assert "\x1b" not in f.read()


def test_moodle_csv_identifies_every_learner_and_stops_on_one_it_cannot(graded):
    root = graded
    done = nbgrader(root, "export", "--exporter=miniflow_grader.lms.MoodleExport", f"--to={root / 'moodle.csv'}",
                    "--MoodleExport.identifier=email", check=False)
    assert done.returncode != 0
    message = done.stdout + done.stderr
    assert "nobody handed in" in message and "48216" in message and "zoë\\x1b[31m" in message
    rows = _read(root / "moodle.csv")
    assert rows[0] == ["Email address", "Full name", "ps1_nodes"]
    scores = {r[0]: r[2] for r in rows[1:]}
    assert scores == {"ivan@example.edu": "5", "jose@example.edu": "3", "frank@example.edu": "5",
                      "eve@example.edu": "6"}

    nbgrader(root, "db", "student", "remove", "nobody handed in", "--force")
    records = Records(f"sqlite:///{root}/gradebook.db")
    records.note_refused_ids(A, [])
    records.close()
    nbgrader(root, "export", "--exporter=miniflow_grader.lms.MoodleExport", f"--to={root / 'moodle.csv'}")
    rows = _read(root / "moodle.csv")
    assert rows[0] == ["User ID", "Full name", "ps1_nodes"]
    assert {r[0]: r[2] for r in rows[1:]} == {"48213": "5", "48214": "3", "48215": "5", "48216": "3", "48217": "6"}


def test_moodle_folders_and_flat_names_are_collected_by_user_id(base, tmp_path):
    root = tmp_path / "course"
    shutil.copytree(base, root)
    (root / "lms_ids.csv").write_text(ID_MAP.replace("48217,=cmd|' /C calc'!A0", "48217,eve"), encoding="utf-8")
    archive = root / "downloaded" / A / "archive"
    archive.mkdir(parents=True)
    with zipfile.ZipFile(archive / "moodle.zip", "w") as z:
        z.writestr(f"Ivan Petrov_48213_assignsubmission_file_/{A}.ipynb", version(root, "ivan folder"))
        z.writestr(f"José Müller_48214_assignsubmission_file_{A}.ipynb", version(root, "jose flat"))
        z.writestr("José Müller_48214_assignsubmission_onlinetext_onlinetext.html", b"<p>see the notebook</p>")
    nbgrader(root, "zip_collect", A, "--collector=miniflow_grader.lms.LMSCollector")
    assert sorted(p.name for p in (root / "submitted").iterdir()) == ["Ivan Petrov", "José Müller"]
    assert label_of(root / "submitted" / "Ivan Petrov" / A / f"{A}.ipynb") == "ivan folder"
    assert label_of(root / "submitted" / "José Müller" / A / f"{A}.ipynb") == "jose flat"


def test_an_id_map_that_names_a_path_stops_zip_collect_saying_which_line(base, tmp_path):
    root = tmp_path / "course"
    shutil.copytree(base, root)
    (root / "lms_ids.csv").write_text("lms_id,nbgrader_id\n48213,../../outside\n")
    archive = root / "downloaded" / A / "archive"
    archive.mkdir(parents=True)
    (archive / "petrovivan_48213_900001_ps1_nodes.ipynb").write_bytes(version(root, "x"))
    done = nbgrader(root, "zip_collect", A, "--collector=miniflow_grader.lms.LMSCollector", check=False)
    assert done.returncode != 0
    assert "line 2" in done.stdout + done.stderr and "path" in done.stdout + done.stderr
    assert not (root / "submitted").exists() and not (tmp_path / "outside").exists()


# --- the names alone ----------------------------------------------------------------------

@pytest.mark.parametrize("relative, expected", [
    ("subs/frank_late_48215_900003_ps4_backprop-1.ipynb",
     {"lms": "canvas", "user": "48215", "late": True, "file": "ps4_backprop-1.ipynb", "file_number": 900003}),
    ("smithjohn_LATE_1_2_a_b_c.ipynb", {"lms": "canvas", "user": "1", "late": True, "file": "a_b_c.ipynb"}),
    ("o'brien_12_34_ps1_nodes.ipynb", {"lms": "canvas", "user": "12", "late": False, "file": "ps1_nodes.ipynb"}),
    ("zip/Anne-Marie O'Neil_99_assignsubmission_file_/ps1_nodes.ipynb",
     {"lms": "moodle", "user": "99", "name": "Anne-Marie O'Neil", "file": "ps1_nodes.ipynb"}),
    ("Zoë_Ann Li_7_assignsubmission_file_ps1_nodes.ipynb", {"lms": "moodle", "user": "7", "name": "Zoë_Ann Li"}),
])
def test_file_names_give_the_user_id_not_the_name(relative, expected):
    parsed = parse_name(relative)
    assert {k: parsed[k] for k in expected} == expected


def test_names_that_are_not_an_lms_s_are_not_guessed():
    assert parse_name("ps1_nodes.ipynb") is None
    assert parse_name("frank_ps1_nodes.ipynb") is None


def test_resubmission_suffixes_name_the_released_notebook():
    released = {"ps1_nodes.ipynb", "part-2.ipynb"}
    assert released_name("ps1_nodes-2.ipynb", released) == ("ps1_nodes.ipynb", 2)
    assert released_name("ps1_nodes (3).ipynb", released) == ("ps1_nodes.ipynb", 3)
    assert released_name("part-2.ipynb", released) == ("part-2.ipynb", 0)      # its own name, not a resubmission
    assert released_name("other-1.ipynb", released) == ("other-1.ipynb", 0)    # left for zip_collect to warn about


@pytest.mark.parametrize("text, says", [
    ("lms_id,student\n1,a\n", "no column nbgrader_id"),
    ("lms_id,nbgrader_id\n1,a\n1,b\n", "mapped twice"),
    ("lms_id,nbgrader_id\n1,a\n2,a\n", "two LMS users"),
    ("lms_id,nbgrader_id\n1,a/b\n", "line 2"),
    ("lms_id,nbgrader_id\n1,..\n", "path"),
    ("lms_id,nbgrader_id\n,a\n", "no lms_id"),
])
def test_an_unusable_id_map_says_which_line_and_why(tmp_path, text, says):
    (tmp_path / "ids.csv").write_text(text)
    with pytest.raises(IdMapError, match=says):
        read_id_map(tmp_path / "ids.csv")


def test_an_id_map_keeps_accents_spaces_and_the_optional_columns(tmp_path):
    (tmp_path / "ids.csv").write_text("\ufeffLMS_ID,NBGRADER_ID,Email\n 5 , José Müller ,j@x\n", encoding="utf-8")
    assert read_id_map(tmp_path / "ids.csv") == {"5": {"lms_id": "5", "nbgrader_id": "José Müller", "email": "j@x"}}
