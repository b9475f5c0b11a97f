"""`make test` runs two workers; a module's expensive module-scoped fixture must still be built only once."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

MODULE = '''
import os
import pytest

@pytest.fixture(scope="module")
def course(tmp_path_factory):
    with open(os.environ["BUILDS"], "a") as builds:
        builds.write(os.environ.get("PYTEST_XDIST_WORKER", "none") + "\\n")

@pytest.mark.parametrize("i", range(6))
def test_uses_the_course(course, i):
    pass

@pytest.mark.parametrize("i", range(6))
def test_needs_nothing(i):
    pass
'''


def test_a_module_fixture_is_built_once_under_two_workers(tmp_path):
    shutil.copy(HERE / "conftest.py", tmp_path)
    (tmp_path / "test_course.py").write_text(MODULE)
    builds = tmp_path / "builds"
    done = subprocess.run([sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-p", "no:cacheprovider",
                           "-v", "test_course.py"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "BUILDS": str(builds)})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert len(builds.read_text().split()) == 1, (builds.read_text(), done.stdout[-3000:])
    workers = {line.split()[0] for line in done.stdout.splitlines()
               if line.startswith("[gw") and "PASSED" in line and "test_uses_the_course" in line}
    assert len(workers) == 1, done.stdout[-3000:]
