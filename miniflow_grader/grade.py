"""Grade an assignment's submissions in sandboxes, in parallel, into nbgrader's gradebook.

    python -m miniflow_grader.grade ASSIGNMENT [--jobs N] [--db URL] [--allow-unsandboxed]

Run it from the course directory (where nbgrader_config.py is), instead of
`nbgrader autograde ASSIGNMENT`. For each submission:

1. nbgrader's sanitizing preprocessors run here, in the trusted process: outputs
   cleared, read-only and test cells overwritten from the source version, deleted
   test cells put back (add_missing_cells).
2. The notebook runs in a sandbox (see sandbox.py) against a copy of `miniflow`
   in which the assignment's targets are stubs. Grade cells only *probe*: they
   save what the learner's code computes on inputs drawn from a seed chosen now.
3. Back here, where learner code never ran, each test cell's arrays are compared
   with the reference (`checks.compare`); the cell's output becomes nothing (pass)
   or the check's message (fail). nbgrader's own preprocessors then save the
   grades, so `nbgrader generate_feedback` and `nbgrader export` work unchanged.

What happened to each submission is kept in the gradebook's database, so that
grading again skips unchanged submissions, several graders can share a
PostgreSQL gradebook, and `miniflow_grader.report` can draw the report.
"""
import argparse
import hashlib
import hmac
import html
import importlib
import importlib.util
import json
import os
import queue
import shutil
import sys
import tempfile
import traceback
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbconvert.writers import FilesWriter
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.converters.base import BaseConverter, NbGraderException
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config

from . import claims as claims_module
from . import intake
from .inert import make_notebook_inert
from .judge import (MESSAGE_LIMIT, cap_outputs, error_output, infrastructure_problem, limits_hit, short,
                    stop_reason, valid_outputs, load_probe_file)
from .nbgrader_steps import SandboxAutograde, SharedEngines, load_config
from .mounts import write_etc
from .sandbox import Limits, Sandbox, SandboxUnavailable
from .probe_side import write_probe_side
from .stubs import write_stubbed_package

GRADER_VERSION = "2"

HERE = Path(__file__).resolve().parent


class GradingError(RuntimeError):
    """The grading run cannot go on (configuration, sandbox, gradebook)."""


# --- the checks protocol --------------------------------------------------------------

def _field(entry, name, index, default=None):
    if isinstance(entry, dict):
        return entry.get(name, default)
    if hasattr(entry, name):
        return getattr(entry, name)
    try:
        return entry[index]
    except (TypeError, IndexError, KeyError):
        return default


# --- data passed between the stages ---------------------------------------------------

@dataclass
class NotebookJob:
    student: str
    notebook: str
    sanitized: Path
    seed: int
    job_dir: Path
    result: "JobResult" = None


@dataclass
class JobResult:
    known_ids: set
    grade_outputs: dict = field(default_factory=dict)      # grade_id -> outputs
    cell_outputs: dict = field(default_factory=dict)       # cell index -> outputs
    execution_counts: dict = field(default_factory=dict)
    parts: dict = field(default_factory=dict)              # grade_id -> {"passed", "message"}
    limits: list = field(default_factory=list)             # [{"kind", "detail"}]
    seconds: float = 0.0
    output_cap: int = 2 * 1024 ** 2


@dataclass
class Submission:
    student: str
    fingerprint: str
    converter: SandboxAutograde = None
    jobs: list = field(default_factory=list)
    problems: list = field(default_factory=list)           # [{"kind", "detail"}]
    parts: dict = field(default_factory=dict)
    pending: int = 0


# --- the grader -----------------------------------------------------------------------

def _hash_tree(digest, root):
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


def _module_name(relative):
    """The module a file at the top of the kernel's working folder would be imported as, or None."""
    import importlib.machinery
    parts = relative.split("/")
    if len(parts) == 2 and parts[1] == "__init__.py":
        return parts[0] if parts[0].isidentifier() else None
    if len(parts) == 1:
        for suffix in sorted(importlib.machinery.all_suffixes(), key=len, reverse=True):
            if parts[0].endswith(suffix):
                stem = parts[0][:-len(suffix)].split(".")[0]
                return stem if stem.isidentifier() else None
    return None


class Grader:
    def __init__(self, assignment, course_dir=".", db_url=None, jobs=None, allow_unsandboxed=False,
                 force=False, progress=True, limits=None, checks_module="miniflow_grader.checks",
                 python_paths=(), worker=None, keep_scratch=False, log=None, budget=None):
        self.assignment = assignment
        self.config = load_config(course_dir, db_url)
        self.coursedir = CourseDirectory(config=self.config)
        self.coursedir.assignment_id = assignment
        self.root = Path(self.coursedir.root).resolve()
        self.jobs = max(1, int(jobs or os.cpu_count() or 1))
        self.force = force
        self.progress = progress
        self.keep_scratch = keep_scratch
        self.log = log or (lambda message: print(message, file=sys.stderr))
        limits = limits or Limits()
        timeout = self.config.Execute.get("timeout", self.config.ExecutePreprocessor.get("timeout"))
        if limits.cell_timeout == Limits.cell_timeout and isinstance(timeout, (int, float)) and timeout > 0:
            limits.cell_timeout = int(timeout)
        self.limits = limits
        for path in python_paths:
            if str(path) not in sys.path:
                sys.path.insert(0, str(path))
        self.python_paths = [Path(p).resolve() for p in python_paths]
        self.checks_module_name = checks_module
        self.checks = importlib.import_module(checks_module)
        self.allow_unsandboxed = allow_unsandboxed
        self.worker = worker
        self.budget = budget or intake.Budget()
        submitted = Path(self.coursedir.submitted_directory)
        self.submitted_dir = submitted if submitted.is_absolute() else self.root / submitted
        self.staged = {}          # student -> intake.Staged
        self.refused = {}         # student -> why the submission was refused before grading
        self.source_notebooks = self._read_source()
        self.sandbox = None
        self.claims = None
        self.scratch = None

    # --- setup ----------------------------------------------------------------------

    def _read_source(self):
        source = Path(self.coursedir.format_path(self.coursedir.source_directory, ".", self.assignment))
        if not source.is_dir():
            raise GradingError(f"no source version of {self.assignment!r} at {source}")
        notebooks = {}
        for path in sorted(source.glob("*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            known, autograded, other = set(), {}, []
            for cell in nb.cells:
                meta = cell.metadata.get("nbgrader", {})
                grade_id = meta.get("grade_id")
                if grade_id:
                    known.add(grade_id)
                if meta.get("grade") and not meta.get("solution") and cell.cell_type == "code":
                    if grade_id in self.checks.CHECKS:
                        autograded[grade_id] = bool(_field(self.checks.CHECKS[grade_id], "hidden", 1, False))
                    else:
                        other.append(grade_id)
            if other:
                self.log(f"warning: grade cells {other} in {path.name} do not use the check protocol; "
                         "their outputs come from the learner's kernel")
            notebooks[path.stem] = {"known": known, "autograded": autograded, "path": path, "notebook": nb}
        if not notebooks:
            raise GradingError(f"no notebooks in {source}")
        self.source_dir = source
        return notebooks

    def _build_lib(self, sandboxed):
        """The read-only directory the sandbox imports from: stubbed miniflow, the probe code, the runner."""
        import miniflow
        lib = self.scratch / "lib"
        python = lib / "python"
        python.mkdir(parents=True)
        targets = list(getattr(self.checks, "TARGETS", {}).get(self.assignment, []))
        write_stubbed_package(Path(miniflow.__file__).resolve().parent, targets, python)
        # the checks' probing half only: the judging half knows the answers (probe_side.py)
        parts = self.checks_module_name.split(".")
        origin = Path(importlib.import_module(parts[0]).__file__).resolve()
        if origin.name == "__init__.py":
            inner = "/".join(parts[1:])
            only = ["__init__.py"] + [f"{'/'.join(parts[1:i])}/__init__.py" for i in range(2, len(parts))]
            only += [inner, f"{inner}.py"] if inner else [""]
            write_probe_side(origin.parent, python / parts[0], only=only if inner else None)
        else:
            write_probe_side(origin, python / origin.name)
        shutil.copy(HERE / "_runner.py", python / "_miniflow_runner.py")
        inner = "/tmp/grade/lib" if sandboxed else str(lib)
        kernel_dir = lib / "jupyter" / "kernels" / "miniflow-sandbox"
        kernel_dir.mkdir(parents=True)
        (kernel_dir / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, f"{inner}/python/_miniflow_runner.py", "kernel", "-f", "{connection_file}"],
            "display_name": "MiniFlow sandbox", "language": "python"}))
        for dirpath, dirnames, filenames in os.walk(lib):
            os.chmod(dirpath, 0o755)
            for name in filenames:
                os.chmod(os.path.join(dirpath, name), 0o644)
        return lib

    def _ensure_assignment(self):
        """Put the assignment's source cells in the gradebook if they are not there yet."""
        Gradebook(self.coursedir.db_url, self.coursedir.course_id).close()
        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
            try:
                assignment = gb.find_assignment(self.assignment)
                if {n.name for n in assignment.notebooks} >= set(self.source_notebooks):
                    return
            except MissingEntry:
                pass
        from nbgrader.converters import GenerateAssignment
        release = tempfile.mkdtemp(prefix="miniflow-release-")
        try:
            config = Config(self.config)
            config.CourseDirectory.release_directory = release
            coursedir = CourseDirectory(config=config)
            coursedir.assignment_id = self.assignment
            converter = GenerateAssignment(coursedir=coursedir, config=config)
            converter.force = True
            converter.start()
        finally:
            shutil.rmtree(release, ignore_errors=True)

    def submissions(self):
        """{student: fingerprint} of every submission that passed intake (see intake.py).

        Each accepted submission is copied to the grader's scratch, and nbgrader
        reads only that copy; a refused one is recorded in self.refused, with why.
        """
        base = hashlib.sha256(GRADER_VERSION.encode())
        _hash_tree(base, self.source_dir)
        _hash_tree(base, Path(self.checks.__file__))
        import miniflow
        _hash_tree(base, Path(miniflow.__file__).resolve().parent)
        base.update(json.dumps(vars(self.limits), sort_keys=True).encode())
        base.update(json.dumps(vars(self.budget), sort_keys=True).encode())
        staging = self.scratch / "submitted"
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
            digest = base.copy()
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
        self.coursedir.submitted_directory = str(staging)
        self._note_identical_notebooks()
        return found

    def _instructor_files(self):
        """{sha256: name} of the instructor's own files: the source version and the course's private files."""
        if getattr(self, "_private", None) is None:
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
        only the source version has), or an SQLite database, is refused.
        """
        markers = [self.config.ClearSolutions.get("begin_solution_delimeter", "BEGIN SOLUTION"),
                   self.config.ClearHiddenTests.get("begin_test_delimeter", "BEGIN HIDDEN TESTS")]
        private = self._instructor_files()
        for name in staged.files:
            shadowed = _module_name(name)
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
        self.identical = {}
        for (name, _), students in by_content.items():
            if len(students) > 1:
                for student in students:
                    others = [s for s in students if s != student]
                    self.identical.setdefault(student, []).append(
                        f"{name} is identical to the one of {', '.join(others[:5])}"
                        + (f" and {len(others) - 5} more" if len(others) > 5 else ""))

    # --- the run --------------------------------------------------------------------

    def run(self):
        """Grade every pending submission; return {"graded": [...], "skipped": n, "sandboxed": bool}."""
        start_dir = os.getcwd()
        os.chdir(self.root)
        self.scratch = Path(tempfile.mkdtemp(prefix="miniflow-grade-"))
        os.chmod(self.scratch, 0o755)
        try:
            with warnings.catch_warnings():
                # nbgrader's own gradebook code warns about its session use; it is not ours to fix
                warnings.filterwarnings("ignore", message=".*not in session.*")
                warnings.filterwarnings("ignore", message=".*missing an id field.*")
                with SharedEngines():
                    return self._run()
        finally:
            os.chdir(start_dir)
            if not self.keep_scratch:
                shutil.rmtree(self.scratch, ignore_errors=True)

    def _private_folders(self):
        """What no sandbox may see, wherever it lies: the library's source and the course."""
        import miniflow
        return [Path(miniflow.__file__).resolve().parent, self.root, *self.python_paths]

    def _run(self):
        sandbox = Sandbox(self.limits, sandboxed=True, etc=write_etc(self.scratch / "etc"),
                          hidden=self._private_folders())
        self.lib = self._build_lib(sandboxed=True)
        try:
            sandbox.check_available(self.scratch / "check", self.lib)
        except SandboxUnavailable as error:
            if not self.allow_unsandboxed:
                raise GradingError(
                    f"refusing to run learners' code: the sandbox cannot start: {error}. "
                    "Pass --allow-unsandboxed to run it with your own permissions anyway "
                    "(only for code you trust).") from None
            self.log(f"WARNING: the sandbox cannot start ({error}); running learners' code UNSANDBOXED, "
                     "with resource limits only, because --allow-unsandboxed was given")
            sandbox = Sandbox(self.limits, sandboxed=False)
            shutil.rmtree(self.lib)
            self.lib = self._build_lib(sandboxed=False)
        self.sandbox = sandbox

        self.claims = claims_module.Claims(self.coursedir.db_url, worker=self.worker)
        try:
            # nbgrader's gradebook first: it stamps an empty database as new only if it has no tables
            self.claims.setup(first=self._ensure_assignment)
            self.secret = self.claims.secret().encode()
            fingerprints = self.submissions()
            unnamed = {s: p for s, p in self.refused.items() if intake.id_problem(s)}
            self.claims.note_refused_ids(self.assignment, [
                {"student": intake.shown_id(s), "detail": f"{p}; not graded"} for s, p in sorted(unnamed.items())])
            for student, problem in sorted(unnamed.items()):
                self.log(f"refused {intake.shown_id(student)}: {problem}")
            self.claims.register(self.assignment, fingerprints, force=self.force)
            total = self.claims.pending_count(self.assignment)
            graded = self._grade_all(total, fingerprints)
        finally:
            self.claims.close()
        return {"graded": graded, "submissions": len(fingerprints), "sandboxed": sandbox.sandboxed}

    def _grade_all(self, total, fingerprints):
        bar = None
        if self.progress:
            from tqdm import tqdm
            bar = tqdm(total=total, unit="submission", desc=f"grading {self.assignment}", file=sys.stderr)
        done_queue = queue.Queue()
        in_flight = {}
        graded = []
        exhausted = False
        pool = ThreadPoolExecutor(max_workers=self.jobs)
        try:
            while True:
                while not exhausted and len(in_flight) < 2 * self.jobs:
                    claim = self.claims.claim(self.assignment)
                    if claim is None:
                        exhausted = True
                        break
                    student, fingerprint = claim
                    if fingerprints.get(student) != fingerprint:   # changed since registration
                        fingerprint = fingerprints.get(student, fingerprint)
                    submission = Submission(student, fingerprint)
                    in_flight[student] = submission
                    self._prepare(submission)
                    for job in submission.jobs:
                        submission.pending += 1
                        future = pool.submit(self._execute, job)
                        future.add_done_callback(lambda f, s=submission: done_queue.put(s))
                    if submission.pending == 0:
                        done_queue.put(submission)
                if not in_flight:
                    break
                submission = done_queue.get()
                if submission.pending > 0:
                    submission.pending -= 1
                if submission.pending == 0 and submission.student in in_flight:
                    del in_flight[submission.student]
                    self._finish_contained(submission)
                    graded.append(submission.student)
                    if bar is not None:
                        bar.update(1)
        except BaseException:
            for student in in_flight:
                self.claims.release(self.assignment, student)
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            if bar is not None:
                bar.close()
        return graded

    # --- stage 1: nbgrader's sanitizing, here ----------------------------------------

    def _seed(self, student, notebook, fingerprint):
        message = f"{self.assignment}\0{student}\0{notebook}\0{fingerprint}".encode()
        return int.from_bytes(hmac.new(self.secret, message, "sha256").digest()[:4], "big") & 0x7FFFFFFF

    def _zero(self, student, notebooks, kind, detail, submission):
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
        nb = json.loads(json.dumps(self.source_notebooks[notebook]["notebook"]))
        nb = nbformat.from_dict(nb)
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

    def _prepare(self, submission):
        if submission.student in self.refused:
            self._zero(submission.student, sorted(self.source_notebooks), "refused",
                       f"This submission was refused: {self.refused[submission.student]}.", submission)
            return
        try:
            self._sanitize(submission)
        except Exception as error:   # one odd submission must not stop the others
            submission.jobs = []
            self._zero(submission.student, sorted(self.source_notebooks), "grader_error",
                       f"nbgrader could not prepare this submission ({type(error).__name__}: {str(error)[:200]})",
                       submission)

    def _sanitize(self, submission):
        student = submission.student
        cd = self.coursedir
        cd.student_id = student
        expected = sorted(self.source_notebooks)
        converter = SandboxAutograde(coursedir=cd, config=self.config)
        converter.force = True
        converter.sources = {name: info["notebook"] for name, info in self.source_notebooks.items()}
        submission.converter = converter
        try:
            converter.init_notebooks()
        except NbGraderException:
            names = ", ".join(f"{n}.ipynb" for n in expected)
            self._zero(student, expected, "missing", f"no notebook was submitted (expected {names})", submission)
            return
        converter.writer = FilesWriter(parent=converter, config=converter.config)
        converter.exporter = converter.exporter_class(parent=converter, config=converter.config)
        (_, notebooks), = converter.assignments.items()
        converter.notebooks = sorted(notebooks)
        converter.init_destination(self.assignment, student)
        try:
            converter.init_assignment(self.assignment, student)
        except NbGraderException:
            names = ", ".join(f"{n}.ipynb" for n in expected)
            submitted = ", ".join(Path(p).name for p in notebooks)
            self._zero(student, expected, "missing",
                       f"no notebook with the expected name {names} was submitted (got {submitted})", submission)
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
                self._zero(student, [notebook], "unreadable", detail, submission)
                continue
            dest = Path(converter._format_dest(self.assignment, student))
            job_dir = self.scratch / "jobs" / f"{student}-{notebook}"
            shutil.copytree(dest, job_dir / "work")
            submission.jobs.append(NotebookJob(
                student, notebook, dest / f"{notebook}.ipynb",
                self._seed(student, notebook, submission.fingerprint), job_dir))

    # --- stage 2: the sandbox, in a worker thread ------------------------------------

    def _execute(self, job):
        try:
            job.result = self._execute_and_check(job)
        except Exception:   # a fault of the grader itself: nothing from this notebook counts
            source = self.source_notebooks[job.notebook]
            job.result = JobResult(source["known"], limits=[{
                "kind": "grader_error", "detail": traceback.format_exc(limit=3)[-500:]}])
            for grade_id in source["autograded"]:
                job.result.grade_outputs[grade_id] = [error_output("the grader failed on this notebook")]
                job.result.parts[grade_id] = {"passed": False, "message": "the grader failed on this notebook"}
        finally:
            if not self.keep_scratch:
                shutil.rmtree(job.job_dir, ignore_errors=True)

    def _execute_and_check(self, job):
        source = self.source_notebooks[job.notebook]
        run = self.sandbox.run(job.job_dir, self.lib, f"{job.notebook}.ipynb", job.seed)
        problem = infrastructure_problem(run)
        if problem:      # not the learner's doing, it seems: once more
            run = self.sandbox.run(job.job_dir, self.lib, f"{job.notebook}.ipynb", job.seed)
            again = infrastructure_problem(run)
            if again is None:
                problem = f"{problem}; graded on a second run"
            elif again == problem:
                problem = None   # the same cell went quiet the same way twice: the notebook's own doing
            else:
                problem = f"{problem}, and on a second run {again}"
        result = JobResult(source["known"], seconds=run.seconds, output_cap=self.limits.output_bytes)
        sent = nbformat.read(job.sanitized, as_version=4)
        grade_cells = {}
        for index, cell in enumerate(sent.cells):
            if cell.cell_type != "code":
                continue
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in source["autograded"]:
                grade_cells[grade_id] = index
            outputs, count = valid_outputs(run.cells.get(index))
            result.cell_outputs[index] = outputs
            result.execution_counts[index] = count
        result.limits = limits_hit(run, result.cell_outputs, grade_cells, self.limits)
        if problem:
            result.limits.append({"kind": "infrastructure", "detail": problem})
        if cap_outputs(result.cell_outputs, self.limits.output_bytes, set(grade_cells.values())) \
                and not any(hit["kind"] == "output" for hit in result.limits):
            result.limits.append({"kind": "output", "detail": f"more than {self.limits.output_bytes} bytes of output"})
        stopped = stop_reason(run, self.limits)
        timed_out = {e.get("cell") for e in run.events if e.get("event") == "timeout"}
        died = {e.get("cell") for e in run.events if e.get("event") == "kernel_died"}
        for grade_id, hidden in source["autograded"].items():
            index = grade_cells.get(grade_id)
            message = run.cells.get(index) if index is not None else None
            probe = message.get("probe") if isinstance(message, dict) else None
            if index in timed_out and not isinstance(probe, str):
                passed, text = False, (f"This test ran longer than {self.limits.cell_timeout} s and was stopped "
                                       "(is there an endless loop, or a cell above that never finished?).")
            elif index in died and not isinstance(probe, str):
                passed, text = False, ("The kernel died while this test ran (os._exit, a crash, "
                                       "or too much memory), so it could not finish.")
            else:
                passed, text = self._verdict(grade_id, hidden, probe, job.seed,
                                             result.cell_outputs.get(index) if index is not None else None,
                                             stopped if message is None else None)
            result.parts[grade_id] = {"passed": passed, "message": text}
            result.grade_outputs[grade_id] = [] if passed else [error_output(text)]
        return result

    def _verdict(self, grade_id, hidden, probe, seed, cell_outputs, stopped):
        if not isinstance(probe, str):
            error = next((o for o in (cell_outputs or []) if o.get("output_type") == "error"), None)
            if error is not None:
                name = str(error.get("ename", "Error"))[:80]
                if hidden:
                    return False, f"Hidden test failed: your code raised {name}."
                value = str(error.get("evalue", ""))[:MESSAGE_LIMIT]
                return False, f"{name}: {value}" if value else name
            if stopped:
                return False, f"This test did not run: {stopped}."
            return False, "This test did not run to the end: its results are missing."
        try:
            import base64
            outputs = load_probe_file(base64.b64decode(probe, validate=True))
        except Exception as error:
            return False, f"The values your code produced could not be read as arrays ({error})."[:MESSAGE_LIMIT]
        try:
            self.checks.compare(grade_id, outputs, seed)
        except self.checks.CheckFailed as failure:
            if hidden:
                return False, "Hidden test failed: " + short(str(failure))
            return False, str(failure)[:MESSAGE_LIMIT]
        except Exception as error:
            return False, f"The values your code produced could not be checked ({type(error).__name__})."
        return True, ""

    # --- stage 3: nbgrader's grading, here -------------------------------------------

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

    def _finish_contained(self, submission):
        """Save one submission's grades; a failure zeroes that submission, and grading goes on."""
        try:
            self._finish(submission)
        except Exception as error:
            detail = f"the grader could not save this submission's grades ({type(error).__name__})"
            self.log(f"error: {submission.student}: {detail}: {str(error)[:300]}")
            try:
                self._zero(submission.student, sorted(self.source_notebooks), "grader_error", detail, submission)
                info = {"score": 0.0, "max_score": None, "parts": submission.parts, "limits": submission.problems,
                        "notes": [], "seconds": 0.0}
                self.claims.finish(self.assignment, submission.student, info)
            except Exception as again:     # the claim stays running; the next run takes it up again
                self.log(f"error: {submission.student}: not recorded ({type(again).__name__})")

    def _finish(self, submission):
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
                self._zero(student, [job.notebook], "grader_error", detail, submission)
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
        notes = [{"kind": "identical", "detail": d} for d in getattr(self, "identical", {}).get(student, [])]
        info = {"score": score, "max_score": max_score, "parts": submission.parts, "limits": limits, "notes": notes,
                "seconds": sum(job.result.seconds for job in submission.jobs)}
        self.claims.finish(self.assignment, student, info)


# --- command line -----------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m miniflow_grader.grade",
        description="Autograde an assignment's submissions in sandboxes, in parallel, "
                    "into the nbgrader gradebook (instead of `nbgrader autograde`).")
    parser.add_argument("assignment")
    parser.add_argument("--jobs", type=int, default=os.cpu_count(), help="notebooks run at once (default: all cores)")
    parser.add_argument("--db", help="gradebook URL (default: the course's, SQLite); "
                                     "e.g. postgresql+psycopg2://user@host/gradebook")
    parser.add_argument("--course-dir", default=".", help="the course directory (default: here)")
    parser.add_argument("--allow-unsandboxed", action="store_true",
                        help="run learners' code without a sandbox when bubblewrap cannot start (unsafe)")
    parser.add_argument("--force", action="store_true", help="grade again submissions already graded unchanged")
    parser.add_argument("--worker", help="this grader's name in the claims table (default host:pid)")
    parser.add_argument("--timeout", type=int, help="seconds per notebook before it is killed")
    parser.add_argument("--cell-timeout", type=int, help="seconds per cell (default: the course's Execute.timeout)")
    parser.add_argument("--memory", type=int, help="MiB of memory for the learner's kernel")
    parser.add_argument("--max-submission-mb", type=int, help="MiB a submission may hold in all (default 32; "
                                                                "a larger one is refused)")
    parser.add_argument("--max-files", type=int, help="files and folders a submission may hold (default 256)")
    parser.add_argument("--checks", default="miniflow_grader.checks", help=argparse.SUPPRESS)
    parser.add_argument("--python-path", action="append", default=[], help=argparse.SUPPRESS)
    parser.add_argument("--no-report", action="store_true", help="do not write the report")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--keep-scratch", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    limits = Limits()
    if args.timeout:
        limits.wall_seconds = args.timeout
    if args.cell_timeout:
        limits.cell_timeout = args.cell_timeout
    if args.memory:
        limits.memory_bytes = args.memory * 1024 ** 2
    budget = intake.Budget()
    if args.max_submission_mb:
        budget.max_bytes = args.max_submission_mb * 1024 ** 2
    if args.max_files:
        budget.max_files = args.max_files
    try:
        grader = Grader(args.assignment, args.course_dir, db_url=args.db, jobs=args.jobs,
                        allow_unsandboxed=args.allow_unsandboxed, force=args.force,
                        progress=not args.no_progress, limits=limits, checks_module=args.checks,
                        python_paths=args.python_path, worker=args.worker, keep_scratch=args.keep_scratch,
                        budget=budget)
        summary = grader.run()
    except (GradingError, SandboxUnavailable) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    refused = len(grader.refused)
    print(f"graded {len(summary['graded'])} of {summary['submissions']} submissions of {args.assignment}"
          + (f" ({refused} refused: see the report)" if refused else "")
          + ("" if summary["sandboxed"] else " WITHOUT A SANDBOX"), file=sys.stderr)
    if not args.no_report:
        from .report import write_report
        path = write_report(args.assignment, args.course_dir, db_url=args.db)
        print(f"report: {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
