"""Grading the MiniFlow exercises: the checks behind every autograded cell (see `checks`), and the grader.

Where each part runs is where it lives:

- the modules at this level are the coordinator (`python -m miniflow_grader.grade`): the trusted
  process that reads the course, the gradebook and the solutions, and never runs learner code;
- `machine/` runs on the machine that executes a notebook (a thread of the grader or a Dask worker),
  outside the sandbox: it is sent the job's bundle, never a solution;
- `machine/sandboxed/` is the only grader code inside a sandbox, next to the learner's code;
- `checks/` is split on the way: its probing half goes into the sandbox (probe_side.py), its judging
  half, which knows the answers, stays here (judge.py).
"""
from .checks import CHECKS, TARGETS, CheckFailed, check, compare, probe

__all__ = ["CHECKS", "TARGETS", "CheckFailed", "check", "compare", "probe"]
