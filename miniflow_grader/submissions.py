"""Stage 1 of grading: find the submissions, check them (intake.py and the checks below), stage a private copy.

nbgrader and everything after it read only the staged copy. A submission that
is refused here is zeroed with the reason; the others get a fingerprint (of
their files and of everything that decides their grade), so that unchanged ones
are not graded again.
"""
import hashlib
import importlib.machinery
import importlib.util
import json
import shutil
from pathlib import Path

from . import intake

GRADER_VERSION = "2"


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
    `identical` {student: [notes]} (byte-identical notebooks, for the report).
    """

    def __init__(self, grader):
        self.assignment = grader.assignment
        self.config = grader.config
        self.coursedir = grader.coursedir
        self.root = grader.root
        self.source_dir = grader.source_dir
        self.budget = grader.budget
        self.submitted_dir = grader.submitted_dir
        self.base = hashlib.sha256(GRADER_VERSION.encode())
        hash_tree(self.base, self.source_dir)
        hash_tree(self.base, Path(grader.checks.__file__))
        import miniflow
        hash_tree(self.base, Path(miniflow.__file__).resolve().parent)
        self.base.update(json.dumps(vars(grader.limits), sort_keys=True).encode())
        self.base.update(json.dumps(vars(self.budget), sort_keys=True).encode())
        self.staged, self.refused, self.identical = {}, {}, {}
        self._private = None

    def find(self, staging):
        """{student: fingerprint} of every submission with a name the gradebook can hold (refused ones too)."""
        staging.mkdir(mode=0o700, exist_ok=True)
        found = {}
        for student, problem in intake.submissions(self.submitted_dir, self.assignment):
            problem = intake.id_problem(student) or problem
            if problem is None:
                try:
                    staged = intake.stage(self.submitted_dir, student, self.assignment,
                                          staging / student / self.assignment, self.budget)
                    self._check_timestamp(staged)
                    self._check_not_instructors(staged)
                except intake.Refused as refusal:
                    problem = str(refusal)
                except Exception as error:       # whatever it was, it stops this submission only
                    problem = f"the submission could not be read ({type(error).__name__})"
            digest = self.base.copy()
            if problem is not None:
                self.refused[student] = problem
                if intake.id_problem(student):
                    continue      # not a name nbgrader or the gradebook can take: only the report lists it
                shutil.rmtree(staging / student, ignore_errors=True)
                digest.update(b"refused\0" + problem.encode())
            else:
                self.staged[student] = staged
                digest.update(staged.digest.encode())
            found[student] = digest.hexdigest()
        self._note_identical_notebooks()
        return found

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
        if (staged.path / "timestamp.txt").is_file():
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
