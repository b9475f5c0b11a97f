"""Run from any shell: nbgrader starts `alembic` and jupyter-book starts kernels as subprocesses,
so the interpreter's own bin/ (the virtual environment's) comes first on PATH, as `make test` sets it.

A run that skipped tests for want of a system tool ends with one line naming the tools and the
`apt-get install` command that would run those tests too."""
import os
import sys

import pytest

_bin = os.path.dirname(sys.executable)
if os.environ.get("PATH", "").split(os.pathsep)[0] != _bin:
    os.environ["PATH"] = _bin + os.pathsep + os.environ.get("PATH", "")

# NumPy's BLAS uses one thread, in the tests and in every kernel and command they start, as in the grading
# sandbox: on two cores running two test workers, a second BLAS thread per process only waits for a core
# (training a network on the whole data takes about twice as long). Set before NumPy is first imported.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

# Kernels the tests run in this process (nbclient, nbgrader's Validator) are polled a second at a time,
# as the grader's sandbox runner does: a queued reply is seen at once, not when the cell's time runs out.
try:
    from jupyter_client.channels import AsyncZMQSocketChannel
    from miniflow_grader.machine.sandboxed.runner import sliced_get_msg
    AsyncZMQSocketChannel.get_msg = sliced_get_msg(AsyncZMQSocketChannel.get_msg)
except ImportError:
    pass


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Under `pytest -n N --dist loadgroup`, the tests of a module that builds a module-scoped fixture
    (a graded course, a browser) run on one worker, so that fixture is built once, not once per worker."""
    for item in items:
        if item.get_closest_marker("xdist_group"):
            continue
        if any(fixture.scope == "module" and fixture.func.__module__ == item.module.__name__
               for fixtures in item._fixtureinfo.name2fixturedefs.values() for fixture in fixtures):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))
    result = yield
    if getattr(config.option, "loadgroup", False):    # a pytest-xdist worker, under --dist loadgroup
        _name_groups_in_ids(items)
    return result


def _name_groups_in_ids(items):
    """A group reaches xdist's scheduler only as the suffix "@group" of each test's id. pytest-xdist 3.8 adds it
    by setting the item's `_nodeid`, which pytest 9.2 no longer reads (its ids are structured, in `_id`), so
    every group would be ignored and every worker would build every module's fixtures
    (pytest-dev/pytest-xdist#1386). Add the suffix as xdist does, where xdist did not."""
    for item in items:
        names = sorted({str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
                        for mark in item.iter_markers("xdist_group")})
        if names and "@" not in item.nodeid.rpartition("]")[2]:
            from _pytest.nodeid import NodeId
            old = item._id   # the suffix goes after the parameters: "test_x[a]@group", as xdist writes it
            last = old.names[-1] + ("" if old.params is None else f"[{old.params}]")
            item._id = NodeId(path=old.path, names=(*old.names[:-1], f"{last}@{'_'.join(names)}"))


# What a skip message mentions -> (the tool's name, the Debian package that brings it).
MISSING_TOOLS = {
    "chromium": ("chromium", "chromium"),
    "bwrap": ("bwrap", "bubblewrap"),
    "bubblewrap": ("bwrap", "bubblewrap"),
    "pg_ctl": ("PostgreSQL", "postgresql"),
    "postgresql": ("PostgreSQL", "postgresql"),
}


def missing_tools(reasons):
    """{tool: Debian package} for every tool that the skip `reasons` say is missing, in a fixed order."""
    found = {}
    for reason in reasons:
        for word, (tool, package) in MISSING_TOOLS.items():
            if word in reason.lower():
                found[tool] = package
    return dict(sorted(found.items()))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter):
    """The line comes after the short test summary, just above the final count."""
    yield
    skipped = terminalreporter.stats.get("skipped", [])
    reasons = [str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
               for report in skipped]
    tools = missing_tools(reasons)
    if tools:
        count = sum(1 for reason in reasons if missing_tools([reason]))
        terminalreporter.write_line(
            f"SKIPPED {count} tests that need {', '.join(tools)}: "
            f"run them with `apt-get install {' '.join(dict.fromkeys(tools.values()))}`",
            yellow=True, bold=True)
