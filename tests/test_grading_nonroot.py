"""Grading as an ordinary user, end to end: the instructor's own account, no root anywhere.

The test makes a user, a virtual environment from Debian's /usr/bin/python3
(a pyenv interpreter under /root cannot be read by anyone else), and a course
owned by that user; then it grades right, wrong and hostile submissions with
the real CLI in real sandboxes, as that user.
"""
import hashlib
import json
import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from hostile import course as C
from hostile.catalogue import CATALOGUE, CORRECT
from hostile.support import require

# grading a whole course in sandboxes (its fixture) takes minutes on two busy cores
pytestmark = pytest.mark.timeout(2400)

REPO = C.REPO
USER = "miniflow-grader"
BASE = Path("/var/tmp/miniflow-nonroot")      # readable by the user, unlike pytest's folders under /tmp
ENTRIES = {e.name: e for e in CATALOGUE + CORRECT}
CHOSEN = ["correct_reference", "correct_builtin_sum", "edit_tests", "fork_and_allocate", "fill_shared_memory",
          "search_the_machine", "installed_reference", "root_only_files", "infinite_loop", "read_other_learner"]


def _requirements():
    return REPO / "requirements.txt"


def _venv():
    """A virtual environment from Debian's Python with what grading needs, made once per requirements."""
    requirements = _requirements()
    key = hashlib.sha256(requirements.read_bytes() + (REPO / "pyproject.toml").read_bytes()).hexdigest()[:12]
    venv = BASE / f"venv-{key}"
    if (venv / ".ready").is_file():
        _install_project(venv, key)
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    BASE.mkdir(parents=True, exist_ok=True)
    BASE.chmod(0o755)
    subprocess.run(["/usr/bin/python3", "-m", "venv", str(venv)], check=True, capture_output=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run(pip + ["--upgrade", "pip"], check=True, capture_output=True, timeout=600)   # Debian's is old
    lock = ["--no-deps", "--require-hashes"]   # as make setup
    subprocess.run(pip + lock + ["-r", str(requirements)], check=True, capture_output=True, timeout=1800)
    (venv / ".ready").write_text("ok")
    _install_project(venv, key)
    return venv


def _install_project(venv, key):
    """This checkout's miniflow and grader, installed (not editable) into the venv, every time."""
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    source = BASE / f"src-{key}"              # a copy: building in the repository would leave files there
    shutil.rmtree(source, ignore_errors=True)
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for name in ("miniflow", "miniflow_grader"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(pip + ["--no-deps", "--force-reinstall", str(source)], check=True, capture_output=True,
                   timeout=600, cwd=BASE)
    shutil.rmtree(source, ignore_errors=True)
    for path in [venv, *venv.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o444 | (0o111 if path.is_dir() else 0))


def _sbin(tool):
    return shutil.which(tool) or f"/usr/sbin/{tool}"


def _user():
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        subprocess.run([_sbin("useradd"), "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER],
                       check=True, capture_output=True)
        return pwd.getpwnam(USER)


@pytest.fixture(scope="module")
def graded():
    require("bwrap", "grading in a sandbox")
    if os.geteuid() != 0:
        pytest.skip("making a user needs root; as a user, the other grading tests already run unprivileged")
    if not Path("/usr/bin/python3").is_file():
        pytest.fail("Debian's python3 is needed to build a venv other users can read (apt-get install python3-venv)")
    venv = _venv()
    user = _user()
    root = BASE / f"course-{os.getpid()}"
    shutil.rmtree(root, ignore_errors=True)
    C.make_course(root, timeout=10)
    from hostile.support import serving
    from hostile.catalogue import CORRECT_ADD_FROM_SERVER
    with serving(CORRECT_ADD_FROM_SERVER) as port:
        for name in CHOSEN:
            C.submit(root, name, ENTRIES[name].build(root, port))
    for path in [root, *root.rglob("*")]:
        os.chown(path, user.pw_uid, user.pw_gid, follow_symlinks=False)
    env = {"PATH": f"{venv}/bin:/usr/bin:/bin", "HOME": str(root), "LANG": "C.UTF-8"}
    started = time.monotonic()
    done = subprocess.run([_sbin("runuser"), "-u", USER, "--", str(venv / "bin" / "python"), "-m", "miniflow_grader.grade",
                           C.ASSIGNMENT, "--no-progress", "--jobs", "2", "--timeout", "120"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=1200)
    seconds = time.monotonic() - started
    print(f"graded {len(CHOSEN)} submissions as {USER} in {seconds:.1f} s")
    yield root, done, venv, user
    shutil.rmtree(root, ignore_errors=True)


def _infos(root, venv):
    code = ("import json, sys; from miniflow_grader.records import Records; c = Records(sys.argv[1]); "
            "print(json.dumps({r['student']: json.loads(r['info']) for r in c.rows(sys.argv[2])}))")
    out = subprocess.run([str(venv / "bin" / "python"), "-c", code, f"sqlite:///{root}/gradebook.db", C.ASSIGNMENT],
                         check=True, capture_output=True, text=True, cwd=root)
    return json.loads(out.stdout)


def test_an_ordinary_user_grades_the_course_in_sandboxes(graded):
    root, done, venv, user = graded
    assert done.returncode == 0, done.stderr[-3000:]
    assert "WITHOUT A SANDBOX" not in done.stderr
    infos = _infos(root, venv)
    assert sorted(infos) == sorted(CHOSEN)
    points = C.points(root)
    for name in CHOSEN:
        entry = ENTRIES[name]
        passed = {g for g, part in infos[name]["parts"].items() if part["passed"]}
        assert passed == entry.passes, (name, infos[name]["parts"])
        assert infos[name]["score"] == sum(points[g] for g in entry.passes), name
    kinds = {hit["kind"] for hit in infos["fork_and_allocate"]["limits"]}
    assert kinds & {"processes", "memory"}, infos["fork_and_allocate"]["limits"]


def test_the_course_files_belong_to_the_user(graded):
    root, done, venv, user = graded
    for path in (root / "autograded").rglob("*"):
        assert path.stat().st_uid == user.pw_uid, path
