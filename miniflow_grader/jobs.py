"""The data passed between the grader's stages (see grade.py for the stages)."""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable


@dataclass(frozen=True)
class Course:
    """What the stages are told about the course and this run: each stage takes this, not the grader.

    A stage reads what it needs from here and returns data (jobs, results), as
    nbgrader's preprocessors take a notebook and its `resources`.
    """
    assignment: str
    config: object              # nbgrader's configuration, as its own commands read it (config.py)
    coursedir: object           # nbgrader's CourseDirectory for that configuration
    root: Path                  # the course directory
    source_dir: Path            # source/<assignment>
    submitted_dir: Path         # where learners' submissions are found
    source_notebooks: dict      # notebook name -> what grading needs of its source version
    checks_file: Path           # the checks module: part of every submission's fingerprint
    limits: object              # the sandbox's limits (machine.sandbox.Limits)
    budget: object              # what a submission may hold (intake.Budget)
    secret: bytes               # the gradebook's secret: seeds of hidden tests
    log: Callable = print       # where messages for the instructor go
    shown: Callable = str       # a learner's id as the terminal and the report show it


@dataclass
class JobResult:
    """What grading one notebook found: outputs for nbgrader to save, and each part's verdict."""
    known_ids: set
    grade_outputs: dict = field(default_factory=dict)      # grade_id -> outputs
    cell_outputs: dict = field(default_factory=dict)       # cell index -> outputs
    execution_counts: dict = field(default_factory=dict)
    parts: dict = field(default_factory=dict)              # grade_id -> {"passed", "message"}
    limits: list = field(default_factory=list)             # [{"kind", "detail"}]
    seconds: float = 0.0
    output_cap: int = 2 * 1024 ** 2


@dataclass
class NotebookJob:
    """One sanitized notebook to run in a sandbox: its folder's files travel as data."""
    student: str
    notebook: str
    sanitized: Path                     # the sanitized notebook, here, where nbgrader saves the grades
    seed: int
    files: dict                         # the sanitized notebook's folder: {relative name: bytes}
    attempts: int = 0
    first_problem: str = None           # an infrastructure problem on the first run
    avoid: set = field(default_factory=set)   # workers that refused it
    worker: str = None
    result: JobResult = None
    node: object = None                 # the sanitized notebook as read once (nbformat), until it is saved


@dataclass
class Submission:
    student: str
    fingerprint: str                    # what decides the raw grade: the seeds come from it
    key: str = None                     # the fingerprint and the lateness: what the records keep
    folder: str = None                  # the folder's name in submitted/, if it is not the id
    converter: object = None            # nbgrader_steps.SandboxAutograde, set up for this student
    jobs: list = field(default_factory=list)
    problems: list = field(default_factory=list)           # [{"kind", "detail"}]
    parts: dict = field(default_factory=dict)
    pending: int = 0
    delivery: dict = field(default_factory=dict)           # kept files of a refused submission
    seconds_late: float = 0.0
