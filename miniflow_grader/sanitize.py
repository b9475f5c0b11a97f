"""Stage 2 of grading: nbgrader's sanitizing preprocessors, in the trusted process.

Outputs are cleared, read-only and test cells are overwritten from the source
version, and deleted test cells are put back (nbgrader_steps.py). Each notebook
then becomes a NotebookJob: the sanitized folder's files as data, and a seed
that learners cannot predict (derived from the course's secret).
"""
import hmac
from pathlib import Path

import nbformat
from nbconvert.writers import FilesWriter
from nbgrader.converters.base import BaseConverter, NbGraderException

from .jobs import NotebookJob
from .nbgrader_steps import SandboxAutograde


def folder_files(folder):
    """{relative name: bytes} of the regular files under `folder` (the grader's own copy, checked at intake)."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


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
                BaseConverter.convert_single_notebook(converter, path)
            except Exception as error:
                try:
                    nbformat.read(path, as_version=4)
                    detail = (f"nbgrader could not prepare {notebook}.ipynb for grading "
                              f"({type(error).__name__}: {str(error)[:200]})")
                except Exception:
                    detail = f"{notebook}.ipynb could not be read as a notebook ({type(error).__name__})"
                self.saver.zero(submission, [notebook], "unreadable", detail)
                continue
            dest = Path(converter._format_dest(self.assignment, student))
            submission.jobs.append(NotebookJob(
                student, notebook, dest / f"{notebook}.ipynb",
                self.seed(student, notebook, submission.fingerprint), folder_files(dest)))
