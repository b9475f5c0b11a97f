"""A small nbgrader course for grading tests: one assignment (ps1_nodes: Add.forward, Mul.forward).

`make_course(root)` writes nbgrader_config.py and the instructor's source notebook,
then releases the exercise with the real `nbgrader generate_assignment`.
`correct_submission()` is the released notebook with each solution cell filled in
with the source's solution; hostile submissions are built from it.
"""
import os
import subprocess
import sys
from pathlib import Path

import nbformat

ASSIGNMENT = "ps1_nodes"
REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

CONFIG = """\
c = get_config()
c.CourseDirectory.course_id = "miniflow-test"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.Execute.timeout = {timeout}
c.OverwriteCells.add_missing_cells = True
c.ClearSolutions.code_stub = {{"python": "raise NotImplementedError()"}}
"""

ADD = '''\
class Add(Node):
    """x1 + x2 + ... for any number of inputs."""

    def __init__(self, *inputs, name=None):
        Node.__init__(self, inputs, name)

    def forward(self):
        ### BEGIN SOLUTION
        total = 0
        for n in self.inbound_nodes:
            total = total + n.value
        self.value = total
        ### END SOLUTION
'''

MUL = '''\
class Mul(Node):
    """x1 * x2 * ... for any number of inputs."""

    def __init__(self, *inputs, name=None):
        Node.__init__(self, inputs, name)

    def forward(self):
        ### BEGIN SOLUTION
        product = 1
        for n in self.inbound_nodes:
            product = product * n.value
        self.value = product
        ### END SOLUTION
'''

TESTS = [
    ("add_forward", 1, "Add.forward gives the lesson's sum 19 and adds arrays element by element."),
    ("add_forward_hidden", 2, "Add.forward on random inputs of random shapes."),
    ("mul_forward", 1, "Mul.forward gives the lesson's product 200 and multiplies arrays element by element."),
    ("mul_forward_hidden", 2, "Mul.forward on random inputs of random shapes."),
]


def _meta(grade_id, *, grade=False, solution=False, locked=False, points=0):
    meta = {"nbgrader": {"grade": grade, "solution": solution, "locked": locked, "grade_id": grade_id,
                         "schema_version": 3}}
    if grade:
        meta["nbgrader"]["points"] = points
    return meta


def source_notebook():
    cells = [
        nbformat.v4.new_markdown_cell("# Nodes\nWrite `Add.forward` and `Mul.forward`.",
                                      metadata=_meta("intro", locked=True)),
        nbformat.v4.new_code_cell("import numpy as np\nfrom miniflow import Node, Input",
                                  metadata=_meta("imports", locked=True)),
        nbformat.v4.new_code_cell(ADD, metadata=_meta("add_solution", solution=True)),
        nbformat.v4.new_code_cell(MUL, metadata=_meta("mul_solution", solution=True)),
        nbformat.v4.new_code_cell("x = Input(); x.value = 3.0\nadd = Add(x, x)\n# try things here"),
    ]
    for grade_id, points, description in TESTS:
        cells.append(nbformat.v4.new_code_cell(
            f'"""{description}"""\nfrom miniflow_grader import check\ncheck("{grade_id}", globals())',
            metadata=_meta(grade_id, grade=True, locked=True, points=points)))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def env():
    environment = dict(os.environ)
    environment["PATH"] = f"{BIN}:{environment.get('PATH', '')}"
    return environment


def make_course(root, timeout=10):
    root = Path(root)
    (root / "solutions" / ASSIGNMENT).mkdir(parents=True)
    (root / "nbgrader_config.py").write_text(CONFIG.format(timeout=timeout))
    nbformat.write(source_notebook(), root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    subprocess.run([str(BIN / "nbgrader"), "generate_assignment", ASSIGNMENT, "--force"],
                   cwd=root, env=env(), check=True, capture_output=True)
    return root


def released(root, assignment=ASSIGNMENT):
    return nbformat.read(Path(root) / "exercises" / assignment / f"{assignment}.ipynb", as_version=4)


def solution_sources(root, assignment=ASSIGNMENT):
    """grade_id of each solution cell -> the source's solution, markers removed."""
    source = nbformat.read(Path(root) / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    found = {}
    for cell in source.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            lines = [l for l in cell.source.splitlines() if "### BEGIN SOLUTION" not in l
                     and "### END SOLUTION" not in l]
            found[meta["grade_id"]] = "\n".join(lines) + "\n"
    return found


def correct_submission(root, assignment=ASSIGNMENT):
    nb = released(root, assignment)
    solutions = solution_sources(root, assignment)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in solutions:
            cell.source = solutions[grade_id]
    return nb


def points(root, assignment=ASSIGNMENT):
    """grade_id -> points of each autograded test cell, from the source notebook."""
    source = nbformat.read(Path(root) / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"]["points"])
            for c in source.cells if c.metadata.get("nbgrader", {}).get("grade")
            and not c.metadata["nbgrader"].get("solution")}


def submit(root, student, notebook=None, *, raw=None, name=None, assignment=ASSIGNMENT,
           timestamp="2026-01-10 12:00:00.000000 UTC"):
    """Put a submission in submitted/STUDENT/ASSIGNMENT/: a notebook object, or raw bytes."""
    name = name or f"{assignment}.ipynb"
    folder = Path(root) / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    if raw is not None:
        (folder / name).write_bytes(raw)
    else:
        nbformat.write(notebook, folder / name)
    (folder / "timestamp.txt").write_text(timestamp)
    return folder
