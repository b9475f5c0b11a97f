"""`nbgrader export` to the gradebook CSV that Canvas and Moodle import.

    nbgrader export --exporter=miniflow_grader.lms.CanvasExport --to canvas.csv
    nbgrader export --exporter=miniflow_grader.lms.MoodleExport --to moodle.csv

Each writes one row per learner in the gradebook, and per learner whose
submission the grader refused for their id alone, with one column per
assignment: the final score, after nbgrader's late penalty (as
`nbgrader export` computes it: max(0, score - penalty)); a learner with no
submission, or a refused one, gets 0.

Canvas (Grades > Import) reads the columns Student, ID, SIS User ID, SIS Login
ID and Section (it finds a learner by ID, the Canvas user id), then one column
per assignment: `ps4_backprop (12345)` updates the Canvas assignment 12345
(`CanvasExport.assignment_ids`), a plain `ps4_backprop` the one of that title,
or a new one; the row `Points Possible` under the header gives each its points.
Moodle (Grades > Import > CSV file) finds a learner by the column you map
under "Identify user by": here the first column, the Moodle user id (or, with
`MoodleExport.identifier`, the email address, ID number or username from the
id map); map each assignment's column to its grade item.
"""
import csv

from nbgrader.api import MissingEntry
from nbgrader.plugins import ExportPlugin
from traitlets import Dict, Enum, Unicode

from ..shown import csv_cell, one_line
from .ids import LMSIds

IDENTIFIERS = {"userid": "User ID", "email": "Email address", "idnumber": "ID number", "username": "Username"}


def _score(value):
    value = round(float(value), 4)
    return f"{value:g}" if abs(value) < 1e15 else repr(value)


class LMSExport(ExportPlugin, LMSIds):
    """What both exports share: every learner, every assignment, the final score."""

    default_to = "lms.csv"

    def assignments(self, gradebook):
        wanted = {str(a) for a in self.assignment}
        return [a for a in sorted(gradebook.assignments, key=lambda a: (a.duedate is None, a.duedate or 0, a.name))
                if not wanted or a.name in wanted]

    def learners(self, gradebook, assignments):
        """[(student id, Student or None, {assignment: final score})] for every learner, sorted by id."""
        wanted = {str(s) for s in self.student}
        students = {s.id: s for s in gradebook.students}
        refused = self.refused(gradebook, assignments)
        rows = []
        for student_id in sorted(set(students) | set(refused)):
            if wanted and student_id not in wanted:
                continue
            scores = {}
            for assignment in assignments:
                try:
                    submission = gradebook.find_submission(assignment.name, student_id)
                except MissingEntry:
                    scores[assignment.name] = 0.0
                    continue
                penalty = submission.late_submission_penalty or 0.0
                scores[assignment.name] = max(0.0, (submission.score or 0.0) - penalty)
            rows.append((student_id, students.get(student_id), scores))
        return rows

    def refused(self, gradebook, assignments):
        """The ids the grader refused (kept beside the gradebook), as {id: [assignments]}."""
        try:
            from ..records import Records
            records = Records(gradebook.engine.url.render_as_string(hide_password=False))
        except Exception:
            return {}
        found = {}
        try:
            for assignment in assignments:
                try:
                    entries = records.refused_ids(assignment.name)
                except Exception:           # a gradebook the grader never used has no such table
                    entries = []
                for entry in entries:
                    student = str(entry.get("student", "")) if isinstance(entry, dict) else ""
                    if student:
                        found.setdefault(student, []).append(assignment.name)
        finally:
            records.close()
        return found

    def name_of(self, student_id, student, entry):
        if entry.get("name"):
            return entry["name"]
        if student is not None and (student.last_name or student.first_name):
            return ", ".join(x for x in (student.last_name, student.first_name) if x)
        return student_id

    def write(self, header, rows):
        dest = self.to or self.default_to
        self.log.info("Exporting grades to %s", dest)
        with open(dest, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow([csv_cell(h) for h in header])
            for row in rows:
                writer.writerow(row)
        return dest


class CanvasExport(LMSExport):
    """The CSV Canvas's gradebook imports: Student, ID, SIS User ID, SIS Login ID, Section, one column per assignment."""

    default_to = "canvas_grades.csv"

    assignment_ids = Dict({}, help="nbgrader assignment -> Canvas assignment id, so that each column updates that "
                                   "assignment (its header becomes 'ps4_backprop (12345)').").tag(config=True)
    section = Unicode("", help="The Section column for a learner the id map gives none.").tag(config=True)

    def export(self, gradebook):
        assignments = self.assignments(gradebook)
        mapped = self.by_student()
        columns = []
        for a in assignments:
            canvas_id = self.assignment_ids.get(a.name)
            columns.append(f"{a.name} ({canvas_id})" if canvas_id not in (None, "") else a.name)
        header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"] + columns
        rows = [["Points Possible", "", "", "", ""] + [_score(a.max_score or 0) for a in assignments]]
        unmatched = []
        for student_id, student, scores in self.learners(gradebook, assignments):
            entry = mapped.get(student_id, {})
            canvas_user = entry.get("lms_id", student_id)
            if not canvas_user.isdigit():
                unmatched.append(student_id)
            rows.append([csv_cell(self.name_of(student_id, student, entry)), csv_cell(canvas_user),
                         csv_cell(entry.get("sis_user_id", "")), csv_cell(entry.get("sis_login_id", "")),
                         csv_cell(entry.get("section", self.section))]
                        + [_score(scores[a.name]) for a in assignments])
        dest = self.write(header, rows)
        if unmatched:
            self.log.warning("%d learner(s) have no Canvas user id, so Canvas will not find them: %s. Add them "
                             "to the id map (LMSIds.id_map: lms_id,nbgrader_id) and export again.",
                             len(unmatched), ", ".join(one_line(s, 80) for s in unmatched))
        self.log.info("Wrote %d learners to %s", len(rows) - 1, dest)


class MoodleExport(LMSExport):
    """The CSV Moodle's grade import reads: the identifier, the learner's name, one column per assignment."""

    default_to = "moodle_grades.csv"

    identifier = Enum(sorted(IDENTIFIERS), default_value="userid",
                      help="What Moodle finds each learner by: userid (the number in Moodle's file names, or "
                           "the id map's lms_id), or the id map's email, idnumber or username.").tag(config=True)

    def export(self, gradebook):
        assignments = self.assignments(gradebook)
        mapped = self.by_student()
        header = [IDENTIFIERS[self.identifier], "Full name"] + [a.name for a in assignments]
        rows, missing = [], []
        for student_id, student, scores in self.learners(gradebook, assignments):
            entry = mapped.get(student_id, {})
            if self.identifier == "userid":
                key = entry.get("lms_id", student_id)
                usable = key.isdigit()
            else:
                key = entry.get(self.identifier, "")
                usable = bool(key)
            if not usable:
                missing.append(student_id)
                continue
            rows.append([csv_cell(key), csv_cell(self.name_of(student_id, student, entry))]
                        + [_score(scores[a.name]) for a in assignments])
        dest = self.write(header, rows)
        self.log.info("Wrote %d learners to %s", len(rows), dest)
        if missing:
            what = "a Moodle user id" if self.identifier == "userid" else f"an {self.identifier}"
            self.fail(f"{len(missing)} learner(s) have no {what}, and Moodle stops an import at a row it cannot "
                      f"match, so they are not in {dest}: {', '.join(one_line(s, 80) for s in missing)}. Give them "
                      f"one in the id map (LMSIds.id_map) and export again.")

