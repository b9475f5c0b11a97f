"""Stage 5 of grading: nbgrader saves the grades and the graded notebooks; what grading found is recorded.

nbgrader's own preprocessors save the grades (InjectResults stands where its
Execute stands), so `nbgrader generate_feedback` and `nbgrader export` work
unchanged. A submission that was not graded gets zero, and a notebook that
says why, so that its feedback page says it too.
"""
import html
import json
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.converters.base import BaseConverter

from .inert import make_notebook_inert
from .judge import error_output


class Saver:
    def __init__(self, grader, records):
        self.assignment = grader.assignment
        self.coursedir = grader.coursedir
        self.source_dir = grader.source_dir
        self.source_notebooks = grader.source_notebooks
        self.records = records
        self.log = grader.log

    def zero(self, submission, notebooks, kind, detail):
        """Zero these notebooks of the submission in the gradebook, with `detail` as the reason."""
        student = submission.student
        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
            gb.update_or_create_student(student)
            try:
                gb.find_submission(self.assignment, student)
            except MissingEntry:
                gb.update_or_create_submission(self.assignment, student)
            for notebook in notebooks:
                for grade in gb.find_submission_notebook(notebook, self.assignment, student).grades:
                    grade.auto_score = 0
                    grade.needs_manual_grade = False
            gb.db.commit()
        submission.problems.append({"kind": kind, "detail": detail})
        for notebook in notebooks:
            for grade_id in self.source_notebooks[notebook]["autograded"]:
                submission.parts[grade_id] = {"passed": False, "message": detail}
            try:
                self._write_zero_notebook(student, notebook, detail)
            except Exception as error:    # the zero stands; only the feedback page is missing
                self.log(f"warning: no feedback notebook for {student}/{notebook}: {type(error).__name__}")

    def _write_zero_notebook(self, student, notebook, detail):
        """An autograded notebook that says why nothing was graded, so that generate_feedback shows it.

        It is built from the source version: the solutions are emptied, and every
        graded cell's output is the reason.
        """
        nb = nbformat.from_dict(json.loads(json.dumps(self.source_notebooks[notebook]["notebook"])))
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution"):
                cell.source = ""
            if cell.cell_type == "code":
                cell.outputs = [error_output(detail)] if meta.get("grade") else []
                cell.execution_count = None
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(f"**Not graded.** {html.escape(detail)}"))
        make_notebook_inert(nb)
        dest = Path(self.coursedir.format_path(self.coursedir.autograded_directory, student, self.assignment))
        dest.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, dest / f"{notebook}.ipynb")

    def _keep_only_graded_files(self, student):
        """The learner's own extra files stay out of autograded/, so no feedback page hands them back.

        (Collect turns a link in the exchange into a copy of what it pointed at.)
        Notebooks, timestamp.txt and the files of the source version are kept.
        """
        dest = Path(self.coursedir.format_path(self.coursedir.autograded_directory, student, self.assignment))
        keep = {p.relative_to(self.source_dir) for p in self.source_dir.rglob("*") if p.is_file()}
        for path in sorted(dest.rglob("*"), reverse=True):
            relative = path.relative_to(dest)
            if path.is_symlink() or (path.is_file() and path.suffix != ".ipynb" and relative not in keep
                                     and str(relative) != "timestamp.txt"):
                path.unlink()
            elif path.is_dir() and not path.is_symlink() and not any(path.iterdir()):
                path.rmdir()

    def finish(self, submission, notes):
        """Save one submission's grades; a failure zeroes that submission, and grading goes on."""
        try:
            self._finish(submission, notes)
        except Exception as error:
            detail = f"the grader could not save this submission's grades ({type(error).__name__})"
            self.log(f"error: {submission.student}: {detail}: {str(error)[:300]}")
            try:
                self.zero(submission, sorted(self.source_notebooks), "grader_error", detail)
                info = {"score": 0.0, "max_score": None, "parts": submission.parts, "limits": submission.problems,
                        "notes": [], "seconds": 0.0}
                self.records.finish(self.assignment, submission.student, submission.fingerprint, None, info)
            except Exception as again:     # not recorded: the next run grades it again
                self.log(f"error: {submission.student}: not recorded ({type(again).__name__})")

    def _finish(self, submission, notes):
        student = submission.student
        self.coursedir.student_id = student
        converter = submission.converter
        limits = list(submission.problems)
        for job in submission.jobs:
            converter._sanitizing = False
            converter._init_preprocessors()
            converter.current_result = job.result
            try:
                BaseConverter.convert_single_notebook(converter, str(job.sanitized))
            except Exception as error:
                detail = f"nbgrader could not save the grades of {job.notebook}.ipynb ({type(error).__name__})"
                self.zero(submission, [job.notebook], "grader_error", detail)
                continue
            finally:
                converter._sanitizing = True
                converter.current_result = None
            submission.parts.update(job.result.parts)
            limits += [dict(item, notebook=job.notebook) for item in job.result.limits]
        if submission.jobs:
            self._keep_only_graded_files(student)
            converter.set_permissions(self.assignment, student)
        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
            record = gb.find_submission(self.assignment, student)
            score, max_score = record.score, record.max_score
        workers = sorted({job.worker for job in submission.jobs if job.worker})
        info = {"score": score, "max_score": max_score, "parts": submission.parts, "limits": limits,
                "notes": [{"kind": "identical", "detail": d} for d in notes],
                "seconds": sum(job.result.seconds for job in submission.jobs), "workers": workers}
        self.records.finish(self.assignment, student, submission.fingerprint, ", ".join(workers) or None, info)
