"""Run from any shell: nbgrader starts `alembic` and jupyter-book starts kernels as subprocesses,
so the interpreter's own bin/ (the virtual environment's) comes first on PATH, as `make test` sets it."""
import os
import sys

_bin = os.path.dirname(sys.executable)
if os.environ.get("PATH", "").split(os.pathsep)[0] != _bin:
    os.environ["PATH"] = _bin + os.pathsep + os.environ.get("PATH", "")
