"""What a learner sees from the Validate button: the real `nbgrader validate` (and ours) on the released exercises.

A hidden-test cell of a released exercise is its docstring and the import of `check`: its output is
nothing, so nbgrader has no output to read as partial credit, warns about none, and prints no docstring.
A learner's own error (a SyntaxError, or an error the cell raised) is what the test shows first, with its line,
in a real kernel, where IPython's `In`, its cell files and its post_run_cell event are what the checks read.
"""
import subprocess
import sys

import nbformat
import pytest

from submissions.catalogue import ASSIGNMENTS, REPO, build_submission, grading, notebook_path


def nbgrader_validate(path):
    done = subprocess.run([sys.executable, "-m", "nbgrader", "validate", str(path)], cwd=REPO, capture_output=True,
                          text=True, timeout=600)
    return done.stdout + done.stderr


def test_hidden_test_cells_are_released_as_a_docstring_and_an_import():
    for assignment in ASSIGNMENTS:
        for cell in nbformat.read(notebook_path("exercises", assignment), as_version=4).cells:
            if grading(cell).get("grade") and grading(cell)["grade_id"].endswith("_hidden"):
                lines = cell.source.splitlines()
                assert len(lines) == 2 and lines[0].startswith('"""') and lines[0].endswith('(hidden test)"""')
                assert lines[1] == "from miniflow_grader import check"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_nbgrader_validate_gives_clean_output_on_the_released_and_the_solved_exercise(assignment, tmp_path):
    released = nbgrader_validate(notebook_path("exercises", assignment))
    solved_path = tmp_path / f"{assignment}.ipynb"
    nbformat.write(build_submission(assignment), solved_path)
    solved = nbgrader_validate(solved_path)
    for output in (released, solved):
        assert "converted to" not in output and "partial credit" not in output, output[-3000:]
        assert "(hidden test)" not in output, output[-3000:]
    assert "NotImplementedError" in released or "not written yet" in released, released[-3000:]
    assert "Success! Your notebook passes all the tests." in solved, solved[-3000:]


def test_the_learners_own_error_comes_first_with_its_line_in_a_real_kernel(tmp_path):
    syntax = ("class Add(Node):\n    def __init__(self, *inputs, name=None):\n        super().__init__(inputs, name)\n\n"
              "    def forward(self):\n        total = = 0\n")
    misspelt = ("class Mul(Nod):\n    def __init__(self, *inputs, name=None):\n        super().__init__(inputs, name)\n\n"
                "    def forward(self):\n        self.value = 1\n")
    path = tmp_path / "ps1_nodes.ipynb"
    nbformat.write(build_submission("ps1_nodes", {"add_solution": syntax, "mul_solution": misspelt}), path)
    done = subprocess.run([sys.executable, "-m", "miniflow_grader.validate", str(path)], cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    out = " ".join(done.stdout.split())
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    add = out.index("FAILED add_forward")
    assert out[add:].startswith("FAILED add_forward Your cell that defines `Add` did not run: Python cannot read "
                                "it. SyntaxError: invalid syntax, at line 6 of that cell: total = = 0"), out
    mul = out.index("FAILED mul_forward")
    assert out[mul:].startswith("FAILED mul_forward Your cell that defines `Mul` stopped with an error when it last "
                                "ran: NameError: name 'Nod' is not defined, at line 1 of that cell: class Mul(Nod):"), out
