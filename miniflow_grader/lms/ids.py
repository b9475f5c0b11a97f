"""The id map: a CSV of LMS user id -> nbgrader id, for a course whose LMS ids are not the names it grades by.

    lms_id,nbgrader_id,name,email,idnumber,sis_user_id,sis_login_id,section
    48213,ivan petrov,Ivan Petrov,ivan@example.edu,S1042,S1042,ipetrov,Group A

`lms_id` and `nbgrader_id` are required; the other columns are optional and
only fill the LMS's own columns in the exported gradebook (a learner's name,
their email or ID number for Moodle, SIS ids and section for Canvas).
Set it once for the collector and both exporters:

    c.LMSIds.id_map = "lms_ids.csv"        # in nbgrader_config.py, relative to the course directory
"""
import csv
import os
from pathlib import Path

from traitlets import Unicode
from traitlets.config import LoggingConfigurable

from ..shown import one_line

REQUIRED = ("lms_id", "nbgrader_id")
OPTIONAL = ("name", "email", "idnumber", "username", "sis_user_id", "sis_login_id", "section")
MAP_LIMIT = 16 * 1024 ** 2


class IdMapError(ValueError):
    """The id map cannot be used; the message names the row and says what to change."""


def unsafe_id(student):
    """Why `student` cannot name a folder of submitted/ (a path, a NUL, empty), or None.

    Other ids are the grader's to accept or refuse (with a zero and the reason):
    the collector only keeps files from landing outside the learner's folder.
    """
    if not student.strip():
        return "it is empty"
    if student in (".", "..") or "/" in student or "\\" in student or "\0" in student:
        return "it would name a path, not a folder"
    return None


def read_id_map(path):
    """{lms_id: {"nbgrader_id": ..., optional columns...}} from the CSV at `path`; raises IdMapError."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as error:
        raise IdMapError(f"the id map {path} cannot be read ({error.strerror}): "
                         "check LMSIds.id_map in nbgrader_config.py") from None
    if size > MAP_LIMIT:
        raise IdMapError(f"the id map {path} is {size} bytes, more than {MAP_LIMIT}: is it the right file?")
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise IdMapError(f"the id map {path} has no column {', '.join(missing)}: its first line must name "
                             f"the columns, at least {','.join(REQUIRED)}")
        reader.fieldnames = header
        found, owners = {}, {}
        for line, row in enumerate(reader, start=2):
            lms_id = (row.get("lms_id") or "").strip()
            student = (row.get("nbgrader_id") or "").strip()
            if not lms_id and not student:
                continue
            if not lms_id:
                raise IdMapError(f"{path}, line {line}: the nbgrader id {one_line(student, 80)!r} has no lms_id")
            problem = unsafe_id(student)
            if problem:
                raise IdMapError(f"{path}, line {line}: the nbgrader id {one_line(student, 80)!r} for LMS user "
                                 f"{one_line(lms_id, 40)} cannot be used: {problem}")
            if lms_id in found and found[lms_id]["nbgrader_id"] != student:
                raise IdMapError(f"{path}, line {line}: LMS user {one_line(lms_id, 40)} is mapped twice, to "
                                 f"{one_line(found[lms_id]['nbgrader_id'], 80)!r} and {one_line(student, 80)!r}")
            if student in owners and owners[student] != lms_id:
                raise IdMapError(f"{path}, line {line}: the nbgrader id {one_line(student, 80)!r} is given to two LMS "
                                 f"users, {one_line(owners[student], 40)} and {one_line(lms_id, 40)}")
            entry = {"nbgrader_id": student, "lms_id": lms_id}
            entry.update({c: (row.get(c) or "").strip() for c in OPTIONAL if (row.get(c) or "").strip()})
            found[lms_id] = entry
            owners[student] = lms_id
    return found


class LMSIds(LoggingConfigurable):
    """Where the id map is; the collector and the exporters share it (their classes derive from this one)."""

    id_map = Unicode("", help="A CSV of LMS user id -> nbgrader id (columns lms_id,nbgrader_id, and optionally "
                              "name,email,idnumber,username,sis_user_id,sis_login_id,section), relative to the "
                              "course directory. Empty: the LMS user id is the nbgrader id.").tag(config=True)

    _ids = None

    def course_root(self):
        coursedir = getattr(self.parent, "coursedir", None)
        return Path(coursedir.root) if coursedir is not None else Path(os.getcwd())

    def ids(self):
        """{lms_id: entry} from the id map ({} when there is none)."""
        if self._ids is None:
            self._ids = read_id_map(self.course_root() / self.id_map) if self.id_map else {}
        return self._ids

    def by_student(self):
        """{nbgrader_id: entry} from the id map."""
        return {entry["nbgrader_id"]: entry for entry in self.ids().values()}

    def fail(self, message):
        """Stop the nbgrader command with `message` (its own way of failing: logged, exit status 1)."""
        fail = getattr(self.parent, "fail", None)
        if fail is None:
            raise IdMapError(message)
        fail(message)
