"""Run every visible test of an exercise notebook, as nbgrader's Validate button does.

    python -m miniflow_grader.validate exercises/ps4_backprop/ps4_backprop.ipynb [more.ipynb ...]

Prints each failing test with its message first (what is wrong, then a hint), wrapped to fit a
terminal, and exits with status 1 if any test fails (0 when all pass), so it also works in scripts.
"""
import argparse
import os
import re
import sys
from pathlib import Path

from miniflow_grader.checks.common import WIDTH, wrap


def _config():
    """The course's nbgrader_config.py (found from the repository root), for timeouts and paths."""
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    root = Path(__file__).resolve().parent.parent
    if (root / "nbgrader_config.py").is_file():
        return PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    return Config()


def validate(path):
    """{'failed': [...], 'changed': [...], 'type_changed': [...]} for one notebook, as nbgrader reports it."""
    from nbgrader.validator import Validator

    # nbgrader runs alembic and the kernel as subprocesses: the interpreter's bin/ must come first on PATH.
    bin_dir = os.path.dirname(sys.executable)
    os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    return Validator(config=_config()).validate(str(path))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    failures = 0
    for path in args.notebooks:
        if not path.is_file():
            print(f"{path}: no such notebook")
            failures += 1
            continue
        results = validate(path)
        failed = results.get("failed", [])
        changed = results.get("changed", []) + results.get("type_changed", [])
        if changed:
            print(f"{path}: {len(changed)} test cell(s) were changed; "
                  "get a fresh copy of the exercise and copy your solutions into it.")
            failures += len(changed)
        for cell in failed:
            first = cell["source"].splitlines()[0].strip('"') if cell["source"] else "(empty cell)"
            called = re.search(r'check\("(\w+)"', cell["source"])
            print(f"FAILED  {called.group(1) if called else 'a test'}\n"
                  f"{_indent(_message(cell['raw_error']))}\n"
                  f"{_indent(wrap('(This test checks: ' + first + ')', WIDTH - 4))}\n")
        if not failed and not changed:
            print(f"{path}: every visible test passed")
        else:
            print(f"{path}: {len(failed)} test(s) failed")
        failures += len(failed)
    return 1 if failures else 0


def _message(error):
    """A failed check's own message (what is wrong, then how to fix it), or the end of any other error's traceback.

    Wrapped to fit a terminal or a dialog; a traceback is cut to its last lines, which name the error and the
    line that raised it.
    """
    plain = re.sub(r"\x1b\[[0-9;]*m", "", error)
    start = plain.rfind("CheckFailed: ")
    if start >= 0:
        return plain[start + len("CheckFailed: "):]   # wrapped already, where it was raised
    lines = [line for line in plain.splitlines() if line.strip() and not line.startswith("[... skipping")]
    shown = lines[-TRACEBACK_LINES:]
    return wrap(("...\n" if len(lines) > len(shown) else "") + "\n".join(shown), WIDTH - 4)


TRACEBACK_LINES = 4   # of an error that is not a failed check: where it was raised, and what it is


def _indent(text):
    return "\n".join("    " + line for line in text.strip().splitlines())


if __name__ == "__main__":
    sys.exit(main())
