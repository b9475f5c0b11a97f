"""Grading the MiniFlow exercises: the checks behind every autograded cell (see `checks`)."""
from .checks import CHECKS, TARGETS, CheckFailed, check, compare, probe

__all__ = ["CHECKS", "TARGETS", "CheckFailed", "check", "compare", "probe"]
