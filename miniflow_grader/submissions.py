"""Stage 1 of grading: find the submissions, check them (intake.py and the checks below), stage a private copy.

nbgrader and everything after it read only the staged copy. A submission that
is refused here is zeroed with the reason; the others get a fingerprint (of
their files and of everything that decides their raw grade: the assignment's
source, the checks, the library, the limits, nbgrader's settings), from which
their seeds are drawn, and a key (the fingerprint, and how late the submission
is with the late policy if it is late), so that a submission is graded again
exactly when something that decides its grade changed.

A folder in submitted/ is named by the learner's id, or by an id of the LMS that
an id map (a CSV file with nbgrader's `lms_user_id` and `id` columns, or the
students' `lms_user_id` in the gradebook) turns into the learner's nbgrader id.
An id that still cannot be used gets its zero under `intake.placeholder_id`.
"""
import csv
import hashlib
import importlib.machinery
import importlib.util
import json
import shutil
from pathlib import Path

from . import intake

GRADER_VERSION = "3"
SMALL_FILE = 4096          # a timestamp.txt or submission_secret.txt is far smaller


class IdMapProblem(ValueError):
    """The id map cannot be used; str(error) names the file and the line."""


def read_id_map(path):
    """{LMS user id: nbgrader id} from a CSV file with the columns lms_user_id and id (as `nbgrader db student
    import` reads them); every nbgrader id must be one the grader can use."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            if not reader.fieldnames or not {"lms_user_id", "id"} <= {n.strip() for n in reader.fieldnames}:
                raise IdMapProblem(f"{path}: the first line must name the columns lms_user_id and id "
                                   f"(it names {', '.join(reader.fieldnames or []) or 'none'})")
            mapping = {}
            for line, row in enumerate(reader, start=2):
                row = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
                lms, student = row.get("lms_user_id", ""), row.get("id", "")
                if not lms and not student:
                    continue
                problem = intake.id_problem(student)
                if not lms or problem:
                    raise IdMapProblem(f"{path}, line {line}: " + (problem or "lms_user_id is empty")
                                       + f" (id {intake.shown_id(student)})")
                if mapping.get(lms, student) != student:
                    raise IdMapProblem(f"{path}, line {line}: {intake.shown_id(lms)} is mapped twice")
                mapping[lms] = student
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise IdMapProblem(f"{path}: cannot be read as a CSV file ({error})") from None
    return mapping


def hash_tree(digest, root):
    """Add the grader's own files under `root` (trusted: the source, the checks, the library) to `digest`."""
    root = Path(root)
    if root.name == "__init__.py":
        root = root.parent
    if root.is_file():
        digest.update(root.read_bytes())
        return
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                       and ".ipynb_checkpoints" not in p.parts):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")


def module_name(relative):
    """The module a file at the top of the kernel's working folder would be imported as, or None."""
    parts = relative.split("/")
    if len(parts) == 2 and parts[1] == "__init__.py":
        return parts[0] if parts[0].isidentifier() else None
    if len(parts) == 1:
        for suffix in sorted(importlib.machinery.all_suffixes(), key=len, reverse=True):
            if parts[0].endswith(suffix):
                stem = parts[0][:-len(suffix)].split(".")[0]
                return stem if stem.isidentifier() else None
    return None


class Finder:
    """Finds, checks and stages the submissions of one assignment.

    After `find()`: `staged` {student: intake.Staged}, `refused` {student: why},
    `keys` {student: what decides the grade}, `folders` {student: the folder's name
    in submitted/}, `lateness` {student: seconds late}, `delivery` {student: the
    timestamp.txt and submission_secret.txt of a refused submission, if it has
    them}, `identical` {student: [notes]} (byte-identical notebooks, for the report).
    """

    def __init__(self, course, id_map=None):
        self.assignment = course.assignment
        self.config = course.config
        self.coursedir = course.coursedir
        self.root = course.root
        self.source_dir = course.source_dir
        self.budget = course.budget
        self.submitted_dir = course.submitted_dir
        self.base = hashlib.sha256(GRADER_VERSION.encode())
        hash_tree(self.base, self.source_dir)
        hash_tree(self.base, Path(course.checks_file))
        import miniflow
        hash_tree(self.base, Path(miniflow.__file__).resolve().parent)
        self.base.update(json.dumps(vars(course.limits), sort_keys=True).encode())
        self.base.update(json.dumps(vars(self.budget), sort_keys=True).encode())
        from .config import grading_digest, late_policy_digest
        self.base.update(grading_digest(self.config).encode())
        self.late_policy = late_policy_digest(self.config)
        self.id_map = dict(id_map or {})
        self.staged, self.refused, self.identical = {}, {}, {}
        self.keys, self.folders, self.lateness, self.delivery = {}, {}, {}, {}
        self.id_refused = set()
        self._private = None

    def _gradebook_facts(self):
        """The assignment's due date, each learner's extension, and the LMS ids the gradebook maps."""
        from nbgrader.api import Gradebook, MissingEntry
        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
            try:
                assignment = gb.find_assignment(self.assignment)
                duedate = assignment.duedate
                extensions = {s.student.id: s.extension for s in assignment.submissions}
            except MissingEntry:
                duedate, extensions = None, {}
            lms = {s.lms_user_id: s.id for s in gb.students if s.lms_user_id}
        return duedate, extensions, lms

    def _named(self):
        """[(folder, student, problem)]: each folder of submitted/ with the id it is graded under."""
        listed = intake.submissions(self.submitted_dir, self.assignment)
        mapping = {**self.lms_ids, **self.id_map}       # the CSV file wins over the gradebook
        named = []
        for folder, problem in listed:
            student = mapping.get(folder, folder)
            id_problem = intake.id_problem(student)
            if id_problem:
                fix = intake.ID_FIX.format(shown=intake.shown_id(folder).strip("'"))
                problem, student = f"{id_problem}: {fix}", intake.placeholder_id(folder)
                self.id_refused.add(student)
            named.append([folder, student, problem])
        by_student = {}
        for entry in named:
            by_student.setdefault(entry[1], []).append(entry[0])
        for entry in named:
            folders = by_student[entry[1]]
            if len(folders) > 1:
                shown = ", ".join(f"submitted/{intake.shown_id(f)}/" for f in folders)
                clash = (f"{len(folders)} folders are graded as {intake.shown_id(entry[1])} ({shown}; "
                         "an id map may have mapped one to the other): keep one, or correct the id map")
                entry[2] = f"{entry[2]}; and {clash}" if entry[2] else clash
        return named

    def _late_by(self, staged):
        """Seconds after the due date (with the learner's extension) that the staged submission was handed in."""
        if self.duedate is None:
            return 0.0
        timestamp = self.coursedir.get_existing_timestamp(str(staged.path))
        if timestamp is None:
            return 0.0
        extension = self.extensions.get(staged.student)
        due = self.duedate + extension if extension is not None else self.duedate
        return max(0.0, (timestamp - due).total_seconds())

    def find(self, staging):
        """{student: fingerprint} of every submission in submitted/, refused ones too (under the id they get)."""
        staging.mkdir(mode=0o700, exist_ok=True)
        self.duedate, self.extensions, self.lms_ids = self._gradebook_facts()
        found = {}
        for folder, student, problem in self._named():
            if student in self.refused:        # folders that clash: one zero, saying what each was refused for
                if problem not in self.refused[student]:
                    self.refused[student] += f"; {problem}"
                    found[student] = self._refused_digest(self.refused[student])
                    self.keys[student] = hashlib.sha256(found[student].encode() + b"\0on time").hexdigest()
                continue
            self.folders[student] = folder
            late = 0.0
            if problem is None:
                try:
                    staged = intake.stage(self.submitted_dir, folder, self.assignment,
                                          staging / student / self.assignment, self.budget)
                    staged.student = student
                    self._check_timestamp(staged)
                    self._check_not_instructors(staged)
                    late = self._late_by(staged)
                except intake.Refused as refusal:
                    problem = str(refusal)
                except Exception as error:       # whatever it was, it stops this submission only
                    problem = f"the submission could not be read ({type(error).__name__})"
            if problem is not None:
                self.refused[student] = problem
                shutil.rmtree(staging / student, ignore_errors=True)
                found[student] = self._refused_digest(problem)
                self.delivery[student] = self._delivery_files(folder)
            else:
                self.staged[student] = staged
                digest = self.base.copy()
                digest.update(staged.digest.encode())
                found[student] = digest.hexdigest()
            self.lateness[student] = late
            key = hashlib.sha256(found[student].encode())
            key.update(f"\0late {late!r} {self.late_policy}".encode() if late > 0 else b"\0on time")
            self.keys[student] = key.hexdigest()
        self._note_identical_notebooks()
        return found

    def _refused_digest(self, problem):
        digest = self.base.copy()
        digest.update(b"refused\0" + problem.encode("utf-8", "backslashreplace"))
        return digest.hexdigest()

    def _delivery_files(self, folder):
        """What nbgrader needs later of a refused submission (its feedback is released like any other)."""
        kept = {}
        timestamp = intake.read_small(self.submitted_dir, folder, self.assignment, "timestamp.txt", SMALL_FILE)
        if timestamp is not None and intake.timestamp_problem(timestamp) is None and timestamp.strip():
            from nbgrader.utils import parse_utc
            try:
                parse_utc(timestamp.decode("ascii").strip())
                kept["timestamp.txt"] = timestamp
            except Exception:
                pass
        secret = intake.read_small(self.submitted_dir, folder, self.assignment, "submission_secret.txt", SMALL_FILE)
        if intake.valid_secret(secret):
            kept["submission_secret.txt"] = secret
        return kept

    def _instructor_files(self):
        """{sha256: name} of the instructor's own files: the source version and the course's private files."""
        if self._private is None:
            private = {}
            paths = [p for p in sorted(self.source_dir.rglob("*")) if p.is_file()]
            paths += [self.root / "nbgrader_config.py"]
            if self.coursedir.db_url.startswith("sqlite:///"):
                paths.append(Path(self.coursedir.db_url[len("sqlite:///"):]))
            for path in paths:
                try:
                    if path.is_file() and path.stat().st_size <= self.budget.max_bytes:
                        private[hashlib.sha256(path.read_bytes()).hexdigest()] = path.name
                except OSError:
                    pass
            self._private = private
        return self._private

    def _check_not_instructors(self, staged):
        """What `nbgrader collect` made of a link in the exchange is a regular file: refuse the instructor's own.

        A copy of a file of the source version or of the course's private files,
        a notebook that still holds the solution or hidden-test markers (which
        only the source version has), an SQLite database, or a file that would be
        imported instead of a module grading uses, is refused.
        """
        markers = [self.config.ClearSolutions.get("begin_solution_delimeter", "BEGIN SOLUTION"),
                   self.config.ClearHiddenTests.get("begin_test_delimeter", "BEGIN HIDDEN TESTS")]
        private = self._instructor_files()
        for name in staged.files:
            shadowed = module_name(name)
            if shadowed and importlib.util.find_spec(shadowed) is not None:
                raise intake.Refused(f"{name} would be imported in place of the module {shadowed!r} that "
                                     "grading uses: rename it")
            path = staged.path / name
            data = path.read_bytes()          # within the budget: intake checked the size
            head, data_hash = data[:16], hashlib.sha256(data).hexdigest()
            if data_hash in private:
                raise intake.Refused(f"{name} is a copy of the instructor's {private[data_hash]}")
            if head.startswith(b"SQLite format 3"):
                raise intake.Refused(f"{name} is an SQLite database (such as a gradebook), not part of a submission")
            if name.endswith(".ipynb"):
                text = data.decode("utf-8", errors="replace")
                del data
                if any(marker in text for marker in markers):
                    raise intake.Refused(f"{name} holds the source version's solution markers")

    def _check_timestamp(self, staged):
        """A timestamp nbgrader cannot read would be graded as on time: refuse it instead."""
        path = staged.path / "timestamp.txt"
        if path.is_file():
            problem = intake.timestamp_problem(path.read_bytes())    # within the budget: intake checked the size
            if problem:
                raise intake.Refused(problem)
            try:
                self.coursedir.get_existing_timestamp(str(staged.path))
            except Exception:
                raise intake.Refused("its timestamp.txt does not hold a date nbgrader can read") from None

    def _note_identical_notebooks(self):
        """Learners whose notebooks are byte for byte the same (a copy, or a link made a copy by collect)."""
        by_content = {}
        for student, staged in sorted(self.staged.items()):
            for name in staged.files:
                if name.endswith(".ipynb") and "/" not in name:
                    digest = hashlib.sha256((staged.path / name).read_bytes()).hexdigest()
                    by_content.setdefault((name, digest), []).append(student)
        for (name, _), students in by_content.items():
            if len(students) > 1:
                for student in students:
                    others = [s for s in students if s != student]
                    self.identical.setdefault(student, []).append(
                        f"{name} is identical to the one of {', '.join(others[:5])}"
                        + (f" and {len(others) - 5} more" if len(others) > 5 else ""))
