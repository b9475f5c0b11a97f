"""`nbgrader zip_collect` for the file names Canvas and Moodle give submissions.

    nbgrader zip_collect ps4_backprop --collector=miniflow_grader.lms.LMSCollector

Canvas names each file `name[_late|_LATE]_userid_fileid_original.ipynb` in one
folder; a learner who handed in twice has both, the later one with `-1` (then
`-2`, ...) added to the name, or ` (1)` when a browser saved it. Moodle puts each
learner's files in a folder `Full Name_userid_assignsubmission_file_` (or names
the file `Full Name_userid_assignsubmission_file_original.ipynb`).

The learner is the user id, never the name part (names repeat, change and
carry accents and spaces), mapped through the id map when there is one
(`LMSIds.id_map`, see ids.py). Of several files of one learner for the same
notebook the latest is kept: the highest Canvas file id, then the highest
resubmission suffix. Canvas's late mark says that, not when: the submission
is given the time `late_seconds` after the assignment's due date in the
gradebook, so nbgrader's late-submission plugin counts it late (and the log
says so); without a due date it is reported and no time is recorded.
"""
import os
import re
from datetime import timedelta
from pathlib import Path

from nbgrader.plugins import FileNameCollectorPlugin
from nbgrader.utils import find_all_notebooks
from traitlets import Float

from ..shown import one_line
from .ids import IdMapError, LMSIds, unsafe_id

CANVAS = re.compile(r"^(?P<name>.+?)(?:_(?P<late>late|LATE))?_(?P<user>\d+)_(?P<file_number>\d+)_(?P<file>.+)$",
                    re.DOTALL)
MOODLE = re.compile(r"^(?P<name>.+)_(?P<user>\d+)_assignsubmission_(?P<plugin>file|onlinetext)_(?P<file>.*)$",
                    re.DOTALL)
RESUBMITTED = re.compile(r"^(?P<stem>.+?)(?:-(?P<dash>\d+)| \((?P<paren>\d+)\))(?P<ext>\.[^.]*)$", re.DOTALL)


def parse_name(relative):
    """What an LMS file name says, or None: {lms, user, name, late, file, file_number}.

    `relative` is the path below the extracted folder (Moodle's learner folder is part of it).
    """
    parts = Path(relative).parts
    base = parts[-1]
    match = CANVAS.match(base)
    moodle = MOODLE.match(base)
    if moodle and moodle.group("file"):
        return {"lms": "moodle", "user": moodle.group("user"), "name": moodle.group("name"), "late": False,
                "file": moodle.group("file"), "file_number": 0}
    for folder in reversed(parts[:-1]):
        moodle = MOODLE.match(folder)
        if moodle and not moodle.group("file"):
            return {"lms": "moodle", "user": moodle.group("user"), "name": moodle.group("name"), "late": False,
                    "file": base, "file_number": 0}
    if match:
        return {"lms": "canvas", "user": match.group("user"), "name": match.group("name"),
                "late": bool(match.group("late")), "file": match.group("file"),
                "file_number": int(match.group("file_number"))}
    return None


def released_name(name, released):
    """(the notebook `name` stands for, its resubmission number): `ps1-2.ipynb` -> (`ps1.ipynb`, 2)."""
    if name in released:
        return name, 0
    again = RESUBMITTED.match(name)
    if again:
        original = again.group("stem") + again.group("ext")
        if original in released or not released:
            return original, int(again.group("dash") or again.group("paren"))
    return name, 0


class LMSCollector(FileNameCollectorPlugin, LMSIds):
    """Collects Canvas's and Moodle's submission files under the LMS user id (or the id map's nbgrader id)."""

    late_seconds = Float(1.0, help="A submission the LMS marks late, with no time, is taken as handed in this many "
                                   "seconds after the due date (nbgrader db assignment add ... --duedate).").tag(
        config=True)

    _chosen = None

    # --- what nbgrader calls -----------------------------------------------------------

    def collect(self, submitted_file):
        _, ext = os.path.splitext(submitted_file)
        if ext not in self.valid_ext:
            return None
        if self._chosen is None:
            try:
                self._chosen = self._choose(self._extracted_root(submitted_file))
            except IdMapError as error:
                self.fail(str(error))
                raise
        info = self._chosen.get(os.path.abspath(submitted_file))
        if info is None:
            return None
        return dict(info)

    # --- deciding, once, for every file ---------------------------------------------------

    def _extracted_root(self, submitted_file):
        app = self.parent
        if app is not None and hasattr(app, "_format_collect_path"):
            return Path(app._format_collect_path(app.extracted_directory))
        return Path(submitted_file).parent

    def _released(self):
        app = self.parent
        coursedir = getattr(app, "coursedir", None)
        if coursedir is None or not coursedir.assignment_id:
            return set()
        return set(find_all_notebooks(coursedir.format_path(coursedir.release_directory, ".",
                                                            coursedir.assignment_id)))

    def _due(self):
        coursedir = getattr(self.parent, "coursedir", None)
        if coursedir is None or not coursedir.assignment_id:
            return None
        from nbgrader.api import Gradebook, MissingEntry
        try:
            with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
                return gb.find_assignment(coursedir.assignment_id).duedate
        except MissingEntry:
            return None

    def _choose(self, root):
        """{absolute path: nbgrader's info} for the file kept for each (learner, notebook)."""
        released = self._released()
        ids = self.ids()
        candidates = {}
        for folder, _, files in os.walk(root):
            for base in sorted(files):
                path = os.path.abspath(os.path.join(folder, base))
                if os.path.splitext(base)[1] not in self.valid_ext:
                    continue
                relative = os.path.relpath(path, root)
                parsed = parse_name(relative)
                if parsed is None:
                    self.log.warning("Not a Canvas or Moodle submission file name, skipped: %s",
                                     one_line(relative, 200))
                    continue
                file_id, again = released_name(parsed["file"], released)
                student = parsed["user"]
                if ids:
                    entry = ids.get(parsed["user"])
                    if entry is None:
                        self.log.warning("LMS user %s (%s) is not in the id map %s: collected as %s; add a line "
                                         "%s,<nbgrader id> and collect again to grade them under their name",
                                         parsed["user"], one_line(parsed["name"], 60), self.id_map, parsed["user"],
                                         parsed["user"])
                    else:
                        student = entry["nbgrader_id"]
                problem = unsafe_id(student)
                if problem:
                    raise IdMapError(f"the learner id {one_line(student, 80)!r} (LMS user {parsed['user']}) "
                                     f"cannot be used: {problem}")
                key = (student, file_id)
                rank = (parsed["file_number"], again, path)
                candidates.setdefault(key, []).append((rank, path, parsed))
        due = self._due() if any(p["late"] for group in candidates.values() for _, _, p in group) else None
        chosen = {}
        for (student, file_id), group in sorted(candidates.items()):
            group.sort()
            _, path, parsed = group[-1]
            for _, older, _ in group[:-1]:
                self.log.warning("%s: %s is kept, the earlier %s is not", one_line(student, 80),
                              one_line(os.path.basename(path), 200), one_line(os.path.basename(older), 200))
            info = {"student_id": student, "file_id": file_id}
            if parsed["late"]:
                if due is None:
                    self.log.warning("%s (LMS user %s): the LMS marks %s late, but the assignment has no due date "
                                     "in the gradebook, so no submission time is recorded (nbgrader db assignment "
                                     "add ASSIGNMENT --duedate ...)", one_line(student, 80), parsed["user"],
                                     one_line(os.path.basename(path), 200))
                else:
                    when = due + timedelta(seconds=self.late_seconds)
                    info["timestamp"] = when.strftime("%Y-%m-%d %H:%M:%S.%f UTC")
                    self.log.warning("%s (LMS user %s): the LMS marks %s late without saying when: recorded as "
                                     "handed in at %s, %g s after the due date", one_line(student, 80),
                                     parsed["user"], one_line(os.path.basename(path), 200), info["timestamp"],
                                     self.late_seconds)
            chosen[path] = info
        return chosen
