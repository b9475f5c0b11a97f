"""The catalogue of wrong submissions, and how to turn an entry into a submission notebook.

Each `wrong/<name>.py` is one entry, complete in itself: a first comment line saying what the
mistake is, a second one with what it must earn,

    # expect: {"assignment": "ps1_nodes", "score": 3, "visible": true, "message": "only the last input"}

(its score in points, whether the visible tests alone catch it, and a fragment of the message the
learner gets), then one `# %% <solution grade_id>` section per replaced solution cell.
`right/<name>.py` files have the same form without the `expect` line, and hold other right answers
(the first line names the assignment: "ps2_topological_sort: a depth-first sort"); they must score
full marks. A new assignment joins by adding files here: nothing lists the assignments or the entries.
A submission is the released exercise with every solution cell filled in from solutions/,
except the replaced ones.
"""
import contextlib
import io
import itertools
import json
import linecache
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
#: Every assignment of the course: each folder of solutions/ that holds a notebook of its own name.
ASSIGNMENTS = sorted(p.parent.name for p in (REPO / "solutions").glob("*/*.ipynb") if p.stem == p.parent.name)


@dataclass
class Right:
    name: str
    assignment: str
    description: str
    replacements: dict


@dataclass
class Wrong:
    name: str
    assignment: str
    score: float
    visible: bool
    message: str
    mistake: str
    replacements: dict


def notebook_path(folder, assignment):
    return REPO / folder / assignment / f"{assignment}.ipynb"


def read(folder, assignment):
    return nbformat.read(notebook_path(folder, assignment), as_version=4)


def grading(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def points(assignment):
    """{grade_id: points} of the assignment's grade cells."""
    return {grading(c)["grade_id"]: grading(c)["points"] for c in read("solutions", assignment).cells
            if grading(c).get("grade")}


def strip_markers(source):
    return "\n".join(line for line in source.splitlines()
                     if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)


def solution_sources(assignment):
    """{solution grade_id: the instructor's solution, without the markers}."""
    return {grading(c)["grade_id"]: strip_markers(c.source) for c in read("solutions", assignment).cells
            if grading(c).get("solution")}


def parse(text):
    """(mistake, {grade_id: source}) from a wrong/ or right/ file."""
    lines = text.splitlines()
    mistake = lines[0].lstrip("# ").strip()
    sections, current = {}, None
    for line in lines[1:]:
        if line.startswith("# %% "):
            current = line[5:].strip()
            sections[current] = []
        elif current is not None:
            sections[current].append(line)
    return mistake, {key: "\n".join(body).strip("\n") for key, body in sections.items()}


def expectation(text):
    """The `# expect: {...}` line of a wrong/ file, as a dict."""
    for line in text.splitlines()[1:]:
        if line.startswith("# expect:"):
            return json.loads(line[len("# expect:"):])
        if line.startswith("# %% "):
            break
    raise ValueError("no `# expect: {...}` line before the first section")


def load_catalogue(assignment=None):
    """Every wrong/ entry (of `assignment`, if given), sorted by name."""
    entries = []
    for path in sorted((HERE / "wrong").glob("*.py")):
        text = path.read_text()
        info = expectation(text)
        if assignment not in (None, info["assignment"]):
            continue
        mistake, replacements = parse(text)
        entries.append(Wrong(path.stem, info["assignment"], info["score"], info["visible"], info["message"],
                             mistake, replacements))
    return entries


def load_right(assignment=None):
    """Every right/ entry (of `assignment`, if given), sorted by name."""
    entries = []
    for path in sorted((HERE / "right").glob("*.py")):
        description, replacements = parse(path.read_text())
        owner, _, description = description.partition(":")
        if assignment in (None, owner.strip()):
            entries.append(Right(path.stem, owner.strip(), description.strip(), replacements))
    return entries


def normalised_text(text):
    """`text` with every run of whitespace made one space: messages are wrapped to the width of a dialog."""
    return " ".join(str(text).split())


def specific(message):
    """A message that names a cause or an observation beyond the numbers: a hint, the learner's own error, or a
    finding that is neither a bare expected/got nor an error passed on as it was raised."""
    return ("Hint:" in message or "Your cell that defines" in message
            or not any(bare in message for bare in ("expected:", "your code raised", "contains NaN")))


def says(message, fragment):
    return normalised_text(fragment) in normalised_text(message)


def build_submission(assignment, replacements=None, fill=True):
    """The released exercise with its solution cells filled in (and some replaced)."""
    nb = read("exercises", assignment)
    sources = solution_sources(assignment) if fill else {}
    sources.update(replacements or {})
    unknown = set(replacements or {}) - {grading(c).get("grade_id") for c in nb.cells}
    if unknown:
        raise KeyError(f"no such solution cells in {assignment}: {sorted(unknown)}")
    for cell in nb.cells:
        grade_id = grading(cell).get("grade_id")
        if grading(cell).get("solution") and grade_id in sources:
            cell.source = sources[grade_id]
    return nb


def grade_in_process(nb, solutions_nb=None):
    """{grade_id: (score, points, output)} by running the notebook's cells in this process.

    A quick stand-in for nbgrader: each cell runs in one namespace; a grade cell scores its
    points unless it raises. Grade cells come from `solutions_nb` (hidden tests included),
    matched by grade_id, as nbgrader's autograde restores them. As in IPython's kernel, `In` lists
    the source of every cell run so far, a cell's lines can be read back (linecache) for its
    tracebacks, the last error a cell raised is kept in sys.last_value, and once a check has asked
    for them (common.watch_cells) each cell's error is kept as IPython's post_run_cell event would.
    """
    from miniflow_grader.checks import common
    originals = {grading(c).get("grade_id"): c.source for c in (solutions_nb or nb).cells if grading(c).get("grade")}
    history = [""]
    namespace = {"__name__": "__main__", "In": history}
    sys.last_type = sys.last_value = sys.last_traceback = None
    common.CELLS_RUN.clear()
    common._WATCHING.clear()
    results = {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        info = grading(cell)
        source = originals.get(info.get("grade_id"), cell.source) if info.get("grade") else cell.source
        filename = f"<cell {index} {info.get('grade_id', '')}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        history.append(source)
        output = io.StringIO()
        failed = raised = None
        with contextlib.redirect_stdout(output):
            try:
                exec(compile(source, filename, "exec"), namespace)
            except Exception as error:   # the notebook carries on after a failing cell, as nbgrader's does
                failed = f"{type(error).__name__}: {error}"
                sys.last_type, sys.last_value, sys.last_traceback = type(error), error, error.__traceback__
                raised = error
        if common._WATCHING:
            common.CELLS_RUN.append((source.strip(), raised))
        if info.get("grade"):
            results[info["grade_id"]] = (0 if failed else info["points"], info["points"],
                                         failed or output.getvalue())
    return results


def namespace_of(assignment, replacements=None, fill=True, try_it=True):
    """The globals of a submission notebook after running all of its cells except the grade cells.

    Without `try_it`, the cells the learner only tries things in (no nbgrader metadata) are left out too: the
    solution cells and the given cells they need are the learner's code, loaded once to be graded many times.
    The cells run as in IPython's kernel (see grade_in_process): `In` lists their sources, their lines can be read
    back for tracebacks, and what each one raised is kept, so a check reports the learner's own error, with its
    line, as the graded notebook does.
    """
    from miniflow_grader.checks import common
    nb = build_submission(assignment, replacements, fill=fill)
    history = [""]
    namespace = {"__name__": "__main__", "In": history}
    sys.last_type = sys.last_value = sys.last_traceback = None
    common.CELLS_RUN.clear()
    for cell in nb.cells:
        if cell.cell_type != "code" or grading(cell).get("grade") or not (try_it or grading(cell)):
            continue
        filename = f"<cell {next(_CELL_NUMBERS)} {grading(cell).get('grade_id', '')}>"
        linecache.cache[filename] = (len(cell.source), None, cell.source.splitlines(True), filename)
        history.append(cell.source)
        raised = None
        try:
            exec(compile(cell.source, filename, "exec"), namespace)
        except Exception as error:   # an unfinished exercise raises NotImplementedError in its try-it cells
            sys.last_type, sys.last_value, sys.last_traceback = type(error), error, error.__traceback__
            raised = error
        common.CELLS_RUN.append((cell.source.strip(), raised))
    return namespace


#: A number for each cell loaded, so that no two cells' lines share a name in linecache.
_CELL_NUMBERS = itertools.count()
