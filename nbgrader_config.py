"""nbgrader's configuration for the MiniFlow course: this repository is the course directory.

    solutions/<assignment>/   instructor sources: solutions and hidden tests
    exercises/<assignment>/   what learners get (`make exercises` regenerates it)
    submitted/, autograded/, feedback/, gradebook.db   grading state (not in git)

nbgrader (and python -m miniflow_grader.grade) read this file last, after every nbgrader_config.py
of Jupyter's config path (`jupyter --paths`: the environment's, JUPYTER_CONFIG_DIR or ~/.jupyter,
the system's): a setting here wins over theirs. A late-submission policy
(c.AssignLatePenalties.plugin_class) may be set here or in any of those.

Environment overrides: MINIFLOW_GRADEBOOK_URL (e.g. postgresql+psycopg2://user@host/miniflow)
and MINIFLOW_CELL_TIMEOUT (seconds per cell).
"""
import html
import os
import re
from pathlib import Path

from nbconvert.exporters import HTMLExporter
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor, Preprocessor
from nbgrader.preprocessors import GetGrades
from traitlets import Bool

from miniflow_grader.feedback import LateNote
from miniflow_grader.inert import make_notebook_inert, mathml

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)
course = Path(__file__).resolve().parent

c.CourseDirectory.root = str(course)
c.CourseDirectory.course_id = "miniflow"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.db_url = os.environ.get("MINIFLOW_GRADEBOOK_URL") or f"sqlite:///{course / 'gradebook.db'}"

# A cell that runs longer than this is interrupted and graded as failed; the rest still run.
c.ExecutePreprocessor.timeout = int(os.environ.get("MINIFLOW_CELL_TIMEOUT", "30"))
# A busy grading machine can be slow to start a kernel or to deliver a cell's last output.
c.ExecutePreprocessor.startup_timeout = 120
c.ExecutePreprocessor.iopub_timeout = 15
# A submission that deletes a test cell gets it back, and is graded by it.
c.OverwriteCells.add_missing_cells = True


class HideHiddenTests(Preprocessor):
    """Feedback shows a hidden test as learners saw it (docstring only) and whether it passed, nothing more."""

    enabled = Bool(True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or "BEGIN HIDDEN TESTS" not in cell.source:
            return cell, resources
        kept, hiding = [], False
        for line in cell.source.splitlines():
            if "BEGIN HIDDEN TESTS" in line:
                hiding = True
            elif "END HIDDEN TESTS" in line:
                hiding = False
            elif not hiding:
                kept.append(line)
        cell.source = "\n".join(kept).rstrip()
        grading = cell.metadata.get("nbgrader", {})
        passed = grading.get("score") is not None and grading.get("score") == grading.get("points")
        failed = any(output.get("output_type") == "error" for output in cell.outputs)
        verdict = ("Hidden test passed." if passed and not failed else
                   "Hidden test failed.\nIt checks what its description above says, on inputs chosen at grading "
                   "time; its details are not shown.\nMake sure your code handles every case the task describes.")
        cell.outputs = [{"output_type": "stream", "name": "stdout", "text": verdict + "\n"}]
        cell.execution_count = None
        return cell, resources


class MakeInert(Preprocessor):
    """Learner outputs and markdown made inert again before a page shows them (grading saved them inert)."""

    def preprocess(self, nb, resources):
        return make_notebook_inert(nb), resources


_MATH = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$(?!\s)(.+?)(?<![\s\\])\$", re.S)


class MathToMathML(Preprocessor):
    """Render the $...$ and $$...$$ math of markdown cells to MathML, which browsers show without MathJax."""

    enabled = Bool(True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "markdown":
            cell.source = _MATH.sub(_mathml, cell.source)
        return cell, resources


def _mathml(match):
    from latex2mathml.converter import convert
    block, inline = match.group(1), match.group(2)
    try:
        markup = convert(block if block is not None else inline, display="block" if block is not None else "inline")
    except Exception:   # leave math the converter does not know as its source text
        return html.escape(match.group(0))
    return mathml(markup) or html.escape(match.group(0))     # \text{<script>} stays text


class FeedbackExporter(HTMLExporter):
    """nbgrader's feedback page, with no script fetched from a CDN (its math is MathML already)."""

    def from_notebook_node(self, nb, resources=None, **kw):
        output, resources = super().from_notebook_node(nb, resources, **kw)
        output = re.sub(r"<script[^>]*mathjax[^>]*>\s*</script>", "", output, flags=re.I)
        output = re.sub(r'<script type="text/x-mathjax-config">.*?</script>', "", output, flags=re.S)
        output = re.sub(r"<!-- Load mathjax -->|<!-- Loading mathjax macro -->|<!-- MathJax configuration -->"
                        r"|<!-- End of mathjax configuration -->", "", output)
        return output, resources


# formgrader's grading view and the feedback page (a FeedbackExporter is an HTMLExporter) run it first.
c.HTMLExporter.preprocessors = [MakeInert]
c.GenerateFeedback.exporter_class = FeedbackExporter
# LateNote: a late submission's page says when it came, how late, the late policy and the points it took.
c.GenerateFeedback.preprocessors = [GetGrades, LateNote, HideHiddenTests, MathToMathML, CSSHTMLHeaderPreprocessor]

# zip_collect: LMS downloads named like "lovelaceada_1234_5678_ps4_backprop.ipynb" (Canvas; "_late_" allowed).
c.FileNameCollectorPlugin.named_regexp = r"^(?:.*/)?(?P<student_id>[^_/]+)_(?:late_)?\d+_\d+_(?P<file_id>[^/]+)$"
