"""Grade an assignment's submissions in sandboxes, in parallel, into nbgrader's gradebook.

    python -m miniflow_grader.grade ASSIGNMENT [--jobs N | --scheduler tcp://HOST:PORT] [--db URL]

Run it from the course directory (where nbgrader_config.py is), instead of
`nbgrader autograde ASSIGNMENT`. Grading is a pipeline; each stage is a module:

1. submissions.py (with intake.py): find the submissions, check every file
   before anything trusted opens it, stage a private copy; refuse the rest.
2. sanitize.py: nbgrader's sanitizing preprocessors, here, in the trusted
   process; each notebook becomes a job (its files as data, a secret seed).
3. engines.py (machine/, on the executing machine): the notebook runs
   in a sandbox against a copy of `miniflow` whose targets are stubs (bundle.py),
   on this machine (--jobs N) or on the workers of a Dask cluster (--scheduler).
   Grade cells only *probe*: they save what the learner's code computes on
   inputs drawn from the seed.
4. judge.py: back here, where learner code never ran, each test cell's arrays
   are compared with the reference (`checks.compare`).
5. saving.py: nbgrader's own preprocessors save the grades, so
   `nbgrader generate_feedback` and `nbgrader export` work unchanged; records.py
   keeps what grading found, for skipping unchanged submissions next time and
   for the report (report.py).
"""
import argparse
import importlib
import os
import queue
import shutil
import sys
import tempfile
import warnings
from dataclasses import asdict
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config

from . import intake
from .bundle import build_bundle, write_lib
from .engines import DaskEngine, LocalEngine
from .jobs import Course, Submission
from .judge import failed_result, infrastructure_problem, judge_run
from .config import ConfigProblem
from .nbgrader_steps import SharedEngines, load_config, sandboxed_preprocessors
from .records import Busy, Records
from .machine.sandbox import Limits, RunResult, SandboxUnavailable
from .sanitize import Sanitizer
from .saving import Saver
from .shown import one_line, visible
from .submissions import Finder, IdMapProblem, read_id_map


class GradingError(RuntimeError):
    """The grading run cannot go on (configuration, sandbox, gradebook)."""


def _hidden_flag(entry):
    """Whether a CHECKS entry is hidden (a Check, a dict or a tuple (check, hidden))."""
    if isinstance(entry, dict):
        return bool(entry.get("hidden", False))
    if hasattr(entry, "hidden"):
        return bool(entry.hidden)
    try:
        return bool(entry[1])
    except (TypeError, IndexError, KeyError):
        return False


class Grader:
    def __init__(self, assignment, course_dir=".", db_url=None, jobs=None, allow_unsandboxed=False,
                 force=False, progress=True, limits=None, checks_module="miniflow_grader.checks",
                 python_paths=(), scheduler=None, log=None, budget=None, id_map=None):
        self.assignment = assignment
        try:
            self.config = load_config(course_dir, db_url)
            from nbgrader.converters import Autograde
            sandboxed_preprocessors(Autograde(config=self.config).autograde_preprocessors)
        except (ConfigProblem, ValueError, ImportError) as error:
            raise GradingError(f"{error}") from None
        try:
            self.id_map = read_id_map(id_map) if id_map else {}
        except IdMapProblem as error:
            raise GradingError(f"the id map {error}") from None
        self.coursedir = CourseDirectory(config=self.config)
        self.coursedir.assignment_id = assignment
        self.root = Path(self.coursedir.root).resolve()
        self.jobs = max(1, int(jobs or os.cpu_count() or 1))
        self.scheduler = scheduler
        self.force = force
        self.progress = progress
        sink = log or (lambda message: print(message, file=sys.stderr))
        self.log = lambda message: sink(visible(message))      # learner text in a message is shown as text
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
        self.budget = budget or intake.Budget()
        submitted = Path(self.coursedir.submitted_directory)
        self.submitted_dir = submitted if submitted.is_absolute() else self.root / submitted
        self.source_notebooks = self._read_source()
        self.refused = {}
        self.refusals = {}        # worker -> why it refused to run sandboxes
        self.sandboxed = True

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
                        autograded[grade_id] = _hidden_flag(self.checks.CHECKS[grade_id])
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

    def _private_folders(self):
        """What no sandbox on this machine may see, wherever it lies: the library's source and the course."""
        import miniflow
        return [str(p) for p in (Path(miniflow.__file__).resolve().parent, self.root, *self.python_paths)]

    def _task(self, job=None):
        """What the executing machine gets for `job`, as data (without a job: only a check of its sandbox)."""
        task = {"limits": asdict(self.limits)}
        if job is None:
            task["check_only"] = True
        else:
            task.update(notebook=f"{job.notebook}.ipynb", files=job.files, seed=job.seed)
        if self.scheduler is None:     # the course lies on this machine; a worker knows nothing of it
            task.update(hidden=self._private_folders(), allow_unsandboxed=self.allow_unsandboxed)
        return task

    def _targets(self):
        return list(getattr(self.checks, "TARGETS", {}).get(self.assignment, []))

    def write_lib(self, folder, sandboxed=True):
        """The library a sandbox of this assignment imports, written into `folder` (for tools and tests)."""
        return write_lib(folder, self.checks_module_name, self._targets(), sandboxed)

    def _start_engine(self):
        self.blob = build_bundle(self.checks_module_name, self._targets())
        if self.scheduler is not None:
            try:
                return DaskEngine(self.scheduler)
            except (OSError, TimeoutError) as error:
                raise GradingError(f"cannot reach the Dask scheduler at {self.scheduler}: {error}") from None
        engine = LocalEngine(self.jobs)
        check = engine.submit(self.blob, self._task()).result()
        if "refused" in check:
            engine.close()
            raise GradingError(
                f"refusing to run learners' code: the sandbox cannot start: {check['refused']}. "
                "Pass --allow-unsandboxed to run it with your own permissions anyway (only for code you trust).")
        if check.get("unsandboxed"):
            self.sandboxed = False
            self.log(f"WARNING: the sandbox cannot start ({check['unsandboxed']}); running learners' code "
                     "UNSANDBOXED, with resource limits only, because --allow-unsandboxed was given")
        return engine

    # --- the run --------------------------------------------------------------------

    def run(self):
        """Grade every pending submission; return {"graded": [...], "submissions": n, "sandboxed": bool}."""
        start_dir = os.getcwd()
        os.chdir(self.root)
        self.scratch = Path(tempfile.mkdtemp(prefix="miniflow-grade-"))
        try:
            with warnings.catch_warnings():
                # nbgrader's own gradebook code warns about its session use; it is not ours to fix
                warnings.filterwarnings("ignore", message=".*not in session.*")
                warnings.filterwarnings("ignore", message=".*missing an id field.*")
                with SharedEngines():
                    return self._run()
        finally:
            os.chdir(start_dir)
            shutil.rmtree(self.scratch, ignore_errors=True)

    def _run(self):
        records = Records(self.coursedir.db_url)
        try:
            try:
                records.exclusive(self.assignment)
            except Busy as busy:
                raise GradingError(str(busy)) from None
            self.engine = self._start_engine()
            try:
                # nbgrader's gradebook first: it stamps an empty database as new only if it has no tables
                records.setup(first=self._ensure_assignment)
                self.secret = records.secret().encode()
                self.course = Course(self.assignment, self.config, self.coursedir, self.root, self.source_dir,
                                     self.submitted_dir, self.source_notebooks, Path(self.checks.__file__),
                                     self.limits, self.budget, self.secret, self.log, self.shown)
                self.finder = Finder(self.course, self.id_map)
                fingerprints = self.finder.find(self.scratch / "submitted")
                self.coursedir.submitted_directory = str(self.scratch / "submitted")
                self.refused = self.finder.refused
                records.note_refused_ids(self.assignment, [])   # each has a row of its own now
                for student, problem in sorted(self.refused.items()):
                    self.log(f"refused {self.shown(student)}: {problem}")
                self.saver = Saver(self.course, records, self.finder.id_refused)
                self.sanitizer = Sanitizer(self.course, self.saver)
                pending = records.pending(self.assignment, self.finder.keys, force=self.force)
                graded = self._grade_all(pending, fingerprints)
            finally:
                self.engine.close()
        finally:
            records.close()
        return {"graded": graded, "submissions": len(fingerprints), "sandboxed": self.sandboxed,
                "refusals": dict(self.refusals), "stale_feedback": list(self.saver.stale_feedback),
                "refused": {student: {"folder": self.finder.folders.get(student, student), "why": why}
                            for student, why in sorted(self.refused.items())}}

    def shown(self, student):
        """A learner as the terminal and the report show them: the id, and the folder if it is another name."""
        folder = getattr(self, "finder", None) and self.finder.folders.get(student)
        if folder is None or folder == student:
            return intake.shown_id(student)
        return f"{intake.shown_id(student)} (submitted/{intake.shown_id(folder)}/)"

    def _grade_all(self, pending, fingerprints):
        bar = None
        if self.progress:
            from tqdm import tqdm
            bar = tqdm(total=len(pending), unit="submission", desc=f"grading {self.assignment}", file=sys.stderr)
        done = queue.Queue()
        in_flight, graded = {}, []
        todo = iter(pending)
        exhausted = False
        try:
            while True:
                while not exhausted and len(in_flight) < 2 * self.engine.jobs:
                    student = next(todo, None)
                    if student is None:
                        exhausted = True
                        break
                    submission = in_flight[student] = Submission(
                        student, fingerprints[student], key=self.finder.keys[student],
                        folder=self.finder.folders.get(student), delivery=self.finder.delivery.get(student, {}),
                        seconds_late=self.finder.lateness.get(student, 0.0))
                    self.sanitizer.prepare(submission, self.refused.get(student))
                    for job in submission.jobs:
                        submission.pending += 1
                        self._submit(submission, job, done)
                    if submission.pending == 0:
                        done.put((submission, None, None))
                if not in_flight:
                    break
                submission, job, future = done.get()
                if job is not None:
                    if not self._collect(submission, job, future, done):
                        continue      # it runs again
                    submission.pending -= 1
                if submission.pending == 0 and submission.student in in_flight:
                    del in_flight[submission.student]
                    self.saver.finish(submission, self.finder.identical.get(submission.student, []))
                    graded.append(submission.student)
                    if bar is not None:
                        bar.update(1)
        finally:
            if bar is not None:
                bar.close()
        return graded

    # --- stage 3 and 4: run in a sandbox, somewhere; judge here -----------------------

    def _submit(self, submission, job, done):
        job.attempts += 1
        try:
            future = self.engine.submit(self.blob, self._task(job), avoid=job.avoid)
        except RuntimeError:
            raise GradingError("every worker refused to run sandboxes: " + "; ".join(
                f"{worker}: {why}" for worker, why in sorted(self.refusals.items()))) from None
        future.add_done_callback(lambda f: done.put((submission, job, f)))

    def _collect(self, submission, job, future, done):
        """Judge what came back for `job`; False if it was sent to run again instead."""
        source = self.source_notebooks[job.notebook]
        try:
            answer = future.result()
        except Exception as error:    # the engine lost it (say, a worker that died too often)
            job.result = failed_result(source, f"{type(error).__name__}: {str(error)[:400]}")
            return True
        if not isinstance(answer, dict):
            job.result = failed_result(source, f"the executing machine sent back a {type(answer).__name__}")
            return True
        if "refused" in answer:
            worker = str(answer.get("worker"))
            if worker not in self.refusals:
                self.refusals[worker] = str(answer["refused"])[:1000]
                self.log(f"worker {worker} refused to grade: its sandbox cannot start: {self.refusals[worker]}")
            job.avoid.add(worker)
            self._submit(submission, job, done)
            return False
        job.worker = answer.get("worker")
        try:
            run = RunResult(**answer["run"])
            problem = infrastructure_problem(run)
            if problem and job.attempts == 1:     # not the learner's doing, it seems: once more
                job.first_problem = problem
                self._submit(submission, job, done)
                return False
            if job.first_problem:
                if problem is None:
                    problem = f"{job.first_problem}; graded on a second run"
                elif problem == job.first_problem:
                    problem = None   # the same cell went quiet the same way twice: the notebook's own doing
                else:
                    problem = f"{job.first_problem}, and on a second run {problem}"
            job.result = judge_run(run, job, source, self.limits, self.checks, problem)
        except Exception as error:   # a fault of the grader itself: nothing from this notebook counts
            job.result = failed_result(source, f"{type(error).__name__}: {str(error)[:400]}")
        job.files = {}
        return True


# --- command line -----------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m miniflow_grader.grade",
        description="Autograde an assignment's submissions in sandboxes, in parallel, "
                    "into the nbgrader gradebook (instead of `nbgrader autograde`).")
    parser.add_argument("assignment")
    parser.add_argument("--jobs", type=int, default=os.cpu_count(), help="notebooks run at once (default: all cores)")
    parser.add_argument("--scheduler", help="run the sandboxes on the workers of the Dask cluster whose scheduler "
                                            "is at this address (e.g. tcp://10.0.0.5:8786) instead of here")
    parser.add_argument("--db", help="gradebook URL (default: the course's, SQLite); "
                                     "e.g. postgresql+psycopg2://user@host/gradebook")
    parser.add_argument("--course-dir", default=".", help="the course directory (default: here)")
    parser.add_argument("--allow-unsandboxed", action="store_true",
                        help="run learners' code without a sandbox when bubblewrap cannot start here (unsafe; "
                             "never on Dask workers)")
    parser.add_argument("--force", action="store_true", help="grade again submissions already graded unchanged")
    parser.add_argument("--id-map", help="a CSV file with the columns lms_user_id and id: the folders of "
                                         "submitted/ named by an LMS id are graded as that nbgrader id")
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
                        python_paths=args.python_path, scheduler=args.scheduler, budget=budget,
                        id_map=args.id_map)
        summary = grader.run()
    except (GradingError, SandboxUnavailable, IdMapProblem) as error:
        print(f"error: {visible(error)}", file=sys.stderr)
        return 2
    refused = summary["refused"]
    print(f"graded {len(summary['graded'])} of {summary['submissions']} submissions of {args.assignment}"
          + (f" ({len(refused)} refused)" if refused else "")
          + ("" if summary["sandboxed"] else " WITHOUT A SANDBOX"), file=sys.stderr)
    for worker, why in sorted(summary["refusals"].items()):
        print(f"worker {one_line(worker)} refused every job: {one_line(why)}", file=sys.stderr)
    if summary["stale_feedback"]:
        print(f"the feedback of {len(summary['stale_feedback'])} learners was out of date and is removed: "
              f"run `nbgrader generate_feedback {args.assignment}` (and release_feedback) again", file=sys.stderr)
    if not args.no_report:
        from .report import write_report
        path = write_report(args.assignment, args.course_dir, db_url=args.db)
        print(f"report: {path}", file=sys.stderr)
    if refused:
        print(refused_summary(refused, grader), file=sys.stderr)
        return 1
    return 0


def refused_summary(refused, grader):
    """Every learner whose submission was refused, why, and what to do: the last thing the run prints."""
    lines = [f"NOT GRADED: {len(refused)} learners got 0 (each has a gradebook row, a feedback page and a line in "
             "`nbgrader export`):"]
    for student, entry in sorted(refused.items()):
        fix = ("" if student in grader.finder.id_refused else
               "; correct their files in submitted/ (or ask for a new submission) and grade again")
        lines.append(f"  {grader.shown(student)}: {one_line(entry['why'])}{fix}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
