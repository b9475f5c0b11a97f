"""Stage 2 of grading: nbgrader's sanitizing preprocessors, in the trusted process.

Outputs are cleared, read-only and test cells are overwritten from the source
version, and deleted test cells are put back (nbgrader_steps.py). Each notebook
then becomes a NotebookJob: the sanitized folder's files as data, and a seed
that learners cannot predict (derived from the course's secret).

The staged notebook is parsed once here, and the sanitized notebook travels on
in the job (as nbgrader's preprocessors hand on `nb`), so that judging and
saving parse it no more: a notebook's JSON costs the trusted process in
proportion to its values, at every parse.
"""
import datetime
import hmac
import os
from pathlib import Path

import nbformat
from nbconvert.preprocessors import Preprocessor
from nbconvert.writers import FilesWriter
from nbgrader.converters.base import NbGraderException

from .jobs import NotebookJob
from .nbgrader_steps import SandboxAutograde


def folder_files(folder):
    """{relative name: bytes} of the regular files under `folder` (the grader's own copy, checked at intake)."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


def read_notebook(path):
    """The notebook at `path` (the grader's staged copy) as nbformat reads it, in version 4: the one parse."""
    with open(path, encoding="utf-8") as f:
        return nbformat.read(f, as_version=4)


class KeepNotebook(Preprocessor):
    """The last preprocessor of a conversion: keeps the notebook as the others left it (what nbgrader writes)."""

    kept = None

    def preprocess(self, nb, resources):
        self.kept = nb
        return nb, resources


def convert_node(converter, path, nb):
    """nbgrader's convert_single_notebook for `path`, on `nb` already read: the sanitized notebook it wrote.

    As BaseConverter.convert_single_notebook and nbconvert's from_filename do,
    except that the notebook is not read from `path` again.
    """
    resources = converter.init_single_notebook_resources(str(path))
    resources.setdefault("metadata", {})
    folder, base = os.path.split(str(path))
    resources["metadata"]["name"] = os.path.splitext(base)[0]
    resources["metadata"]["path"] = folder
    modified = datetime.datetime.fromtimestamp(os.path.getmtime(path), tz=datetime.timezone.utc)
    resources["metadata"]["modified_date"] = modified.strftime("%B %-d, %Y")
    keep = KeepNotebook()
    converter.exporter.register_preprocessor(keep, enabled=True)
    output, resources = converter.exporter.from_notebook_node(nb, resources=resources)
    converter.write_single_notebook(output, resources)
    return keep.kept


class Sanitizer:
    def __init__(self, course, saver):
        self.assignment = course.assignment
        self.config = course.config
        self.coursedir = course.coursedir
        self.source_notebooks = course.source_notebooks
        self.secret = course.secret
        self.saver = saver

    def seed(self, student, notebook, fingerprint):
        message = f"{self.assignment}\0{student}\0{notebook}\0{fingerprint}".encode()
        return int.from_bytes(hmac.new(self.secret, message, "sha256").digest()[:4], "big") & 0x7FFFFFFF

    def prepare(self, submission, refusal=None):
        """Fill submission.jobs; a submission that cannot be prepared is zeroed, saying why."""
        notebooks = sorted(self.source_notebooks)
        if refusal is not None:
            self.saver.zero(submission, notebooks, "refused", f"This submission was refused: {refusal}.")
            return
        try:
            self._sanitize(submission)
        except Exception as error:   # one odd submission must not stop the others
            submission.jobs = []
            self.saver.zero(submission, notebooks, "grader_error",
                            f"nbgrader could not prepare this submission ({type(error).__name__}: {str(error)[:200]})")

    def _sanitize(self, submission):
        student = submission.student
        cd = self.coursedir
        cd.student_id = student
        expected = sorted(self.source_notebooks)
        names = ", ".join(f"{n}.ipynb" for n in expected)
        converter = SandboxAutograde(coursedir=cd, config=self.config)
        converter.force = True
        converter.sources = {name: info["notebook"] for name, info in self.source_notebooks.items()}
        submission.converter = converter
        try:
            converter.init_notebooks()
        except NbGraderException:
            self.saver.zero(submission, expected, "missing", f"no notebook was submitted (expected {names})")
            return
        converter.writer = FilesWriter(parent=converter, config=converter.config)
        converter.exporter = converter.exporter_class(parent=converter, config=converter.config)
        (_, notebooks), = converter.assignments.items()
        converter.notebooks = sorted(notebooks)
        converter.init_destination(self.assignment, student)
        try:
            converter.init_assignment(self.assignment, student)
        except NbGraderException:
            submitted = ", ".join(Path(p).name for p in notebooks)
            self.saver.zero(submission, expected, "missing",
                            f"no notebook with the expected name {names} was submitted (got {submitted})")
            return
        present = {Path(p).stem for p in converter.notebooks}
        for missing in sorted(set(expected) - present):
            submission.problems.append({"kind": "missing", "detail": f"{missing}.ipynb was not submitted"})
            for grade_id in self.source_notebooks[missing]["autograded"]:
                submission.parts[grade_id] = {"passed": False, "message": f"{missing}.ipynb was not submitted"}
        for path in converter.notebooks:
            notebook = Path(path).stem
            converter._sanitizing = True
            converter._init_preprocessors()
            try:
                nb = read_notebook(path)
            except Exception as error:
                self.saver.zero(submission, [notebook], "unreadable",
                                f"{notebook}.ipynb could not be read as a notebook ({type(error).__name__})")
                continue
            try:
                sanitized = convert_node(converter, path, nb)
            except Exception as error:
                self.saver.zero(submission, [notebook], "unreadable",
                                f"nbgrader could not prepare {notebook}.ipynb for grading "
                                f"({type(error).__name__}: {str(error)[:200]})")
                continue
            finally:
                del nb
            dest = Path(converter._format_dest(self.assignment, student))
            submission.jobs.append(NotebookJob(
                student, notebook, dest / f"{notebook}.ipynb",
                self.seed(student, notebook, submission.fingerprint), folder_files(dest), node=sanitized))
