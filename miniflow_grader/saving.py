"""Stage 5 of grading: nbgrader saves the grades and the graded notebooks; what grading found is recorded.

nbgrader's own preprocessors save the grades (InjectResults stands where its
Execute stands), so `nbgrader generate_feedback` and `nbgrader export` work
unchanged. A submission that was not graded gets zero, and a notebook that
says why, so that its feedback page says it too.

What nbgrader needs of a submission later goes through to autograded/ as with
`nbgrader autograde`: timestamp.txt, and submission_secret.txt (if it has the
form `nbgrader submit` writes), by which `release_feedback` names the page that
the learner's `fetch_feedback` looks for. A submission without them (an LMS
download, a refused one) gets a timestamp (the time it was graded) and a secret
of its own (derived from the course's grading secret), so that
`release_feedback` goes through for every learner; such a page is fetched by
nobody: hand it over from feedback/.

A learner graded again has their old feedback page removed, so that
`nbgrader generate_feedback` (which skips a page whose timestamp.txt is as old
as the graded one) writes it again.
"""
import datetime
import hashlib
import hmac
import html
import json
import shutil
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.converters.base import BaseConverter

from . import intake
from .inert import make_notebook_inert
from .judge import error_output
from .sanitize import convert_node

DELIVERY_FILES = ("timestamp.txt", "submission_secret.txt")


class Saver:
    def __init__(self, course, records, id_refused=frozenset()):
        self.assignment = course.assignment
        self.coursedir = course.coursedir
        self.source_dir = course.source_dir
        self.source_notebooks = course.source_notebooks
        self.records = records
        self.log = course.log
        self.secret = course.secret
        self.shown = course.shown
        self.stale_feedback = []
        self.id_refused = id_refused                      # learners whose zero is under a placeholder id

    def zero(self, submission, notebooks, kind, detail):
        """Zero these notebooks of the submission in the gradebook, with `detail` as the reason."""
        student = submission.student
        names = {}
        if student in self.id_refused:
            names = {"first_name": "(refused id)", "last_name": _csv_safe(intake.shown_id(submission.folder))}
        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
            gb.update_or_create_student(student, **names)
            try:
                gb.find_submission(self.assignment, student)
            except MissingEntry:
                gb.update_or_create_submission(self.assignment, student)
            for notebook in notebooks:
                submitted = gb.find_submission_notebook(notebook, self.assignment, student)
                for grade in submitted.grades:
                    grade.auto_score = 0
                    grade.needs_manual_grade = False
                for comment in submitted.comments:      # formgrader and the feedback page show it
                    comment.auto_comment = detail
                submitted.late_submission_penalty = None
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
        dest = self._autograded(student)
        dest.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, dest / f"{notebook}.ipynb")

    def _autograded(self, student):
        return Path(self.coursedir.format_path(self.coursedir.autograded_directory, student, self.assignment))

    def _own_secret(self, student):
        """A submission secret for a learner who has none, in the form nbgrader writes, the same every run."""
        message = f"submission_secret\0{self.assignment}\0{student}".encode()
        return hmac.new(self.secret, message, hashlib.sha512).hexdigest().encode()

    def _delivery_files(self, submission, dest):
        """Put timestamp.txt and submission_secret.txt in the learner's autograded folder (see the module's doc)."""
        secret = dest / "submission_secret.txt"
        if secret.is_file() and not secret.is_symlink() and not intake.valid_secret(secret.read_bytes()[:4096]):
            secret.unlink()
            submission.problems.append({"kind": "feedback_delivery", "detail": (
                "its submission_secret.txt is not one `nbgrader submit` writes, so release_feedback cannot release "
                "its feedback where fetch_feedback looks: hand the page over from feedback/")})
        written = {"timestamp.txt": submission.delivery.get("timestamp.txt"),
                   "submission_secret.txt": submission.delivery.get("submission_secret.txt")}
        if not written["timestamp.txt"]:
            now = datetime.datetime.now(datetime.timezone.utc)
            written["timestamp.txt"] = now.strftime("%Y-%m-%d %H:%M:%S.%f %Z").encode()
        if not written["submission_secret.txt"]:
            written["submission_secret.txt"] = self._own_secret(submission.student)
        for name in DELIVERY_FILES:
            if not (dest / name).exists():
                (dest / name).write_bytes(written[name])

    def _remove_stale_feedback(self, student):
        """The learner's feedback page is out of date once they are graded again: remove it (see the module's doc)."""
        feedback = Path(self.coursedir.format_path(self.coursedir.feedback_directory, student, self.assignment))
        if feedback.is_symlink():
            feedback.unlink()
        elif feedback.is_dir():
            shutil.rmtree(feedback)
        else:
            return
        self.stale_feedback.append(student)

    def _keep_only_graded_files(self, student):
        """The learner's own extra files stay out of autograded/, so no feedback page hands them back.

        (Collect turns a link in the exchange into a copy of what it pointed at.)
        Notebooks, timestamp.txt, submission_secret.txt and the files of the source version are kept.
        """
        dest = self._autograded(student)
        keep = {p.relative_to(self.source_dir) for p in self.source_dir.rglob("*") if p.is_file()}
        for path in sorted(dest.rglob("*"), reverse=True):
            relative = path.relative_to(dest)
            if path.is_symlink() or (path.is_file() and path.suffix != ".ipynb" and relative not in keep
                                     and str(relative) not in DELIVERY_FILES):
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
                self.records.finish(self.assignment, submission.student, submission.key or submission.fingerprint,
                                    None, info)
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
                if job.node is None:
                    BaseConverter.convert_single_notebook(converter, str(job.sanitized))
                else:
                    convert_node(converter, job.sanitized, job.node)
            except Exception as error:
                detail = f"nbgrader could not save the grades of {job.notebook}.ipynb ({type(error).__name__})"
                self.zero(submission, [job.notebook], "grader_error", detail)
                continue
            finally:
                converter._sanitizing = True
                converter.current_result = None
                job.node = None
            submission.parts.update(job.result.parts)
            limits += [dict(item, notebook=job.notebook) for item in job.result.limits]
        if submission.jobs:
            self._keep_only_graded_files(student)
        dest = self._autograded(student)
        if dest.is_dir():
            before = len(submission.problems)
            self._delivery_files(submission, dest)
            limits += submission.problems[before:]
        if submission.jobs:
            converter.set_permissions(self.assignment, student)
        self._remove_stale_feedback(student)
        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
            if submission.folder not in (None, student) and student not in self.id_refused:
                gb.update_or_create_student(student, lms_user_id=submission.folder[:128])   # an id map's
            record = gb.find_submission(self.assignment, student)
            score, max_score = record.score, record.max_score
            penalty, seconds_late = record.late_submission_penalty or 0.0, record.total_seconds_late
        workers = sorted({job.worker for job in submission.jobs if job.worker})
        # "score" is the raw score (before a late penalty), as nbgrader's SubmittedAssignment.score
        info = {"score": score, "max_score": max_score, "parts": submission.parts, "limits": limits,
                "raw_score": score, "late_penalty": penalty, "final_score": max(0.0, score - penalty),
                "seconds_late": seconds_late,
                "notes": [{"kind": "identical", "detail": d} for d in notes],
                "seconds": sum(job.result.seconds for job in submission.jobs), "workers": workers}
        self.records.finish(self.assignment, student, submission.key or submission.fingerprint,
                            ", ".join(workers) or None, info)


def _csv_safe(text):
    """`nbgrader export` writes its CSV without quoting: a name keeps no comma, quote or line break."""
    return text.replace(",", "\\x2c").replace('"', "\\x22").replace("\n", "\\n").replace("\r", "\\r")
