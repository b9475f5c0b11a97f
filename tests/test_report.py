"""The grading report on a small course graded for real (ps1_nodes, bubblewrap): what an instructor acts on.

Six learners: one right, one blank, two with the same mistake in Add (the
second renamed every variable and ran the cells in another order), one who
wrote the lesson's answer in, and one whose code raises an error whose
message carries terminal escapes, a right-to-left override and HTML.
One of them is late: the gradebook's penalty shows with its reason.
"""
import csv
import datetime
import html
import re

import pytest

from hostile import course as C
from hostile.support import require, scratch_in
from miniflow_grader import report
from miniflow_grader.grade import Grader
from miniflow_grader.machine.sandbox import Limits

pytestmark = pytest.mark.timeout(900)

A = C.ASSIGNMENT
HOSTILE = "\x1b[2J\x1b]0;pwned\x07\u202eevil\u0085</pre><script>alert(1)</script>"


def with_cells(root, **sources):
    nb = C.correct_submission(root)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in sources:
            cell.source = sources[grade_id]
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    require("bwrap", "grading in a sandbox")
    base = tmp_path_factory.mktemp("report")
    root = C.make_course(base / "course")
    (base / "scratch").mkdir()
    solutions = C.solution_sources(root)
    subtracts = solutions["add_solution"].replace("total + n.value", "total - n.value")
    renamed = (subtracts.replace("total", "acc").replace("for n in", "for node in")
               .replace("n.value", "node.value").replace("        acc = 0", "        # start\n        acc = 0"))
    C.submit(root, "solved", C.correct_submission(root))
    C.submit(root, "blank", C.released(root))
    C.submit(root, "minus", with_cells(root, add_solution=subtracts))
    copied = with_cells(root, add_solution=renamed)
    for number, cell in enumerate(reversed(copied.cells)):
        if cell.cell_type == "code":
            cell.execution_count = 100 + number
        cell.metadata["tags"] = ["mine"]
    C.submit(root, "minus_again", copied)
    C.submit(root, "hardcoded", with_cells(root, add_solution=solutions["add_solution"].replace(
        "self.value = total", "self.value = 19.0")))
    C.submit(root, "noisy", with_cells(root, add_solution=solutions["add_solution"].replace(
        "self.value = total", f"raise ValueError({HOSTILE!r})")), timestamp="2026-01-10 13:30:00.000000 UTC")
    with scratch_in(base / "scratch"):
        summary = Grader(A, root, jobs=2, limits=Limits(wall_seconds=300), progress=False).run()
    assert sorted(summary["graded"]) == ["blank", "hardcoded", "minus", "minus_again", "noisy", "solved"]
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{root}/gradebook.db", "miniflow-test") as gb:   # a late penalty, as nbgrader saves it
        gb.update_or_create_assignment(A, duedate=datetime.datetime(2026, 1, 10, 12, 0))
        submission = gb.find_submission(A, "noisy")
        submission.notebooks[0].late_submission_penalty = 1.0
        gb.db.commit()
    page = report.write_report(A, root)
    return root, page, page.read_text(encoding="utf-8")


def section(text, title):
    return text.split(f"<h2>{title}</h2>")[1].split("<h2>")[0]


def test_every_learner_has_raw_score_penalty_and_final_score(graded):
    _, _, text = graded
    scores = section(text, "Every submission")
    assert "<tr><td>solved</td><td>6</td><td>0</td><td>6</td><td>graded</td>" in scores
    assert "<tr><td>blank</td><td>0</td><td>0</td><td>0</td>" in scores
    assert "<tr><td>noisy</td><td>3</td><td>1</td><td>2</td><td>graded: handed in 1 h 30 min after the due date" \
        in scores
    assert "6 submissions; mean final score" in text


def test_learner_by_part_table_in_the_page_and_the_csv_beside_it(graded):
    _, page, text = graded
    table = section(text, "Learner &times; part")
    assert re.search(r"<tr><td>minus</td><td class=\"lost\">0</td><td class=\"lost\">0</td>"
                     r"<td class=\"full\">1</td><td class=\"full\">2</td><td>3</td></tr>", table)
    with open(page.parent / "parts.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["learner", "status", "raw score", "late penalty", "final score", "why the penalty",
                       "add_forward", "add_forward_hidden", "mul_forward", "mul_forward_hidden"]
    assert rows[1] == ["(points)", "", "6", "", "6", "", "1", "2", "1", "2"]
    by_learner = {r[0]: r for r in rows[2:]}
    assert sorted(by_learner) == ["blank", "hardcoded", "minus", "minus_again", "noisy", "solved"]
    assert by_learner["solved"][2:] == ["6", "0", "6", "", "1", "2", "1", "2"]
    assert by_learner["noisy"][2:6] == ["3", "1", "2", "handed in 1 h 30 min after the due date"]
    assert by_learner["hardcoded"][6:] == ["0", "0", "1", "2"]


def test_common_failures_show_the_error_not_the_inputs(graded):
    _, _, text = graded
    visible = html.unescape(section(text, "Most common failures"))
    first_lines = re.findall(r"<tr><td>(\d+)</td><td><code>(\w+)</code></td><td>(.*?)<details>", visible)
    written = [line for _, part, line in first_lines if part == "add_forward" and "is not written yet" in line]
    assert written and written[0].endswith("run that cell, then this test again.")   # the wrapped line joined
    hardcoded = [line for _, part, line in first_lines if part == "add_forward" and "gave 19." in line]
    assert hardcoded == ["Add(x1, x2) with x1 = [[1., 2.], [3., 4.]], x2 = [[5., 6.], [7., 8.]] gave 19., the "
                         "answer to another of this test's examples: compute the result from the values of the "
                         "inputs rather than writing answers in."]
    counts = {(part, line): int(count) for count, part, line in first_lines}
    assert counts[("add_forward", "Add(x1, x2, x3) with x1 = 4., x2 = 5., x3 = 10. is wrong.")] == 2   # one group


def test_hidden_failures_with_different_random_inputs_are_one_group(graded):
    root, _, text = graded
    import json
    from miniflow_grader.records import Records
    records = Records(f"sqlite:///{root}/gradebook.db")
    infos = {r["student"]: json.loads(r["info"]) for r in records.rows(A)}
    records.close()
    raw = {infos[s]["parts"]["add_forward_hidden"]["message"] for s in ("minus", "minus_again")}
    hidden = html.unescape(section(text, "Hidden tests: failures grouped across random inputs"))
    rows = re.findall(r"<tr><td>(\d+)</td><td><code>add_forward_hidden</code></td><td>(.*?)<details>.*?"
                      r"</details></td><td>(.*?)</td></tr>", hidden, re.S)
    together = [row for row in rows if "minus" in row[2]]
    assert len(together) == 1 and together[0][0] == "2" and together[0][2] == "minus, minus_again"
    if len(raw) > 1:                                    # the two seeds drew different inputs
        assert "2 variants of the inputs" in together[0][1]


def test_learner_text_is_shown_as_text(graded):
    root, page, text = graded
    for raw in ("\x1b", "\x07", "\u202e", "\u0085", "<script>", "</pre><script"):
        assert raw not in text
    assert "\\x1b[2J" in text and "\\u202e" in text and "\\x85" in text and "&lt;script&gt;" in text
    csv_text = (page.parent / "parts.csv").read_text(encoding="utf-8")
    assert "\x1b" not in csv_text and "\u202e" not in csv_text


def test_renamed_copy_is_listed_with_its_shared_lines(graded):
    _, _, text = graded
    similar = section(text, "Similar solutions")
    pairs = re.findall(r"<h3>(.*?) and (.*?)</h3>", similar)
    assert ("minus", "minus_again") in pairs
    assert not any("blank" in pair for pair in pairs)                     # the released stub is not a copy
    block = similar.split("<h3>minus and minus_again</h3>")[1].split("<h3>")[0]
    assert "<p>100% of minus's code and 100% of minus_again's is in common" in html.unescape(block)
    assert "<mark>        for node in self.inbound_nodes:</mark>" in block
    assert "<mark>        for n in self.inbound_nodes:</mark>" in block
    assert "<mark>        # start</mark>" not in block and "        # start" in block
    assert "<mark>    def forward(self):</mark>" not in block              # given to everyone


def test_the_report_module_draws_it_again(graded):
    root, page, _ = graded
    assert report.main([A, "--course-dir", str(root)]) == 0
    for plot in ("scores.png", "parts.png"):
        assert (page.parent / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("message, line, key", [
    ("Add(x1) with x1 = [[1.5, -2.], [3., 4e-3]]: your code raised\n    NameError: name 'q' is not defined",
     "Add(x1) with x1 = [[1.5, -2.], [3., 4e-3]]: your code raised NameError: name 'q' is not defined",
     "Add(x1) with x1 = …: your code raised NameError: name 'q' is not defined"),
    ("Hidden test failed: Mul(x1, x2) on input(s) of shape(s) (3, 4), (3, 4) gave nan",
     "Mul(x1, x2) on input(s) of shape(s) (3, 4), (3, 4) gave nan",
     "Mul(x1, x2) on input(s) of shape(s) (…), (…) gave …"),
    ("Sigmoid.backward is wrong.\n  expected: [0.25]\n  got:      [0.5]", "Sigmoid.backward is wrong.",
     "Sigmoid.backward is wrong."),
    ("", "wrong result", ""),
])
def test_headline_joins_the_first_line_and_groups_without_the_numbers(message, line, key):
    assert report.headline(message) == (line, key)


def test_a_long_first_line_is_shown_without_its_numbers_so_the_error_stays():
    inputs = ", ".join(f"x{i} = [{', '.join(str(j / 7) for j in range(8))}]" for i in range(1, 6))
    shown, key = report.headline(f"Add(x1, ..., x5) with {inputs}: it is not written yet.")
    assert shown == key and shown.endswith(": it is not written yet.") and len(shown) <= report.HEADLINE_LIMIT
