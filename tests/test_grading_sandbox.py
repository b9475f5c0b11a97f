"""The grader's parts: the stubbed library, what the sandbox hides and forbids, the refusal to run unsandboxed."""
import ast
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest

from hostile import course as C
from hostile.support import leftover_processes, require, serving
from miniflow_grader import checks
from miniflow_grader.grade import Grader
from miniflow_grader.judge import load_probe_file
from miniflow_grader.machine.sandbox import Limits, Sandbox
from miniflow_grader.stubs import StubError, stub_source, write_stubbed_package

LIBRARY = Path(__file__).resolve().parents[1] / "miniflow"


def _function(tree, dotted):
    owner, _, name = dotted.rpartition(".")
    scope = tree.body
    if owner:
        owners = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == owner]
        if not owners:
            return None
        scope = owners[0].body
    return next((n for n in scope if isinstance(n, ast.FunctionDef) and n.name == name), None)


@pytest.mark.parametrize("assignment", sorted(checks.TARGETS))
def test_every_target_is_a_stub_and_nothing_else_changes(tmp_path, assignment):
    targets = checks.TARGETS[assignment]
    package = write_stubbed_package(LIBRARY, targets, tmp_path)
    seen = set()
    for original in sorted(LIBRARY.glob("*.py")):
        stubbed_tree = ast.parse((package / original.name).read_text())
        original_tree = ast.parse(original.read_text())
        for dotted in targets:
            node = _function(stubbed_tree, dotted)
            if node is None:
                continue
            seen.add(dotted)
            body = [n for n in node.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
            assert len(body) == 1 and isinstance(body[0], ast.Raise), dotted
            assert ast.get_docstring(node) == ast.get_docstring(_function(original_tree, dotted))
        untouched = [n for n in ast.walk(original_tree) if isinstance(n, ast.FunctionDef)]
        kept = {ast.dump(n) for n in ast.walk(stubbed_tree) if isinstance(n, ast.FunctionDef)}
        for node in untouched:
            owner = next((c.name for c in original_tree.body if isinstance(c, ast.ClassDef) and node in c.body), "")
            if f"{owner}.{node.name}".lstrip(".") not in targets:
                assert ast.dump(node) in kept, node.name
    assert seen == set(targets)
    assert not list(package.rglob("*.pyc"))


def test_a_target_that_does_not_exist_is_an_error(tmp_path):
    with pytest.raises(StubError):
        write_stubbed_package(LIBRARY, ["Sigmoid.no_such_method"], tmp_path)
    source, found = stub_source("def f(x):\n    '''Doc.'''\n    return x + 1\n", ["f"])
    assert found == {"f"} and "x + 1" not in source and '"""Doc."""' in source


def test_probe_files_must_be_plain_arrays():
    buffer = io.BytesIO()
    np.savez(buffer, ok=np.arange(3.0), text=np.array("a message"))
    assert set(load_probe_file(buffer.getvalue())) == {"ok", "text"}
    pickled = io.BytesIO()
    np.savez(pickled, value=np.array([object()], dtype=object))
    with pytest.raises(ValueError):
        load_probe_file(pickled.getvalue())
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.npy", b"\0" * (300 * 1024 ** 2))
    with pytest.raises(ValueError, match="bytes"):
        load_probe_file(bomb.getvalue())


PEEK = r"""
import glob, inspect, json, os, socket
import miniflow
found = {}
def attempt(name, action):
    try:
        found[name] = repr(action())[:300]
    except BaseException as error:
        found[name] = "denied: " + type(error).__name__
attempt("library_source", lambda: open("{repo}/miniflow/nodes.py").read())
attempt("git", lambda: os.listdir("{repo}/.git"))
attempt("solutions", lambda: os.listdir("{repo}/solutions"))
attempt("book", lambda: os.listdir("{repo}/book"))
attempt("course", lambda: os.listdir("{course}"))
attempt("course_solutions", lambda: os.listdir("{course}/solutions"))
attempt("gradebook", lambda: open("{course}/gradebook.db", "rb").read(16))
attempt("decoy_checkout", lambda: open("{decoy}/miniflow/nodes.py").read())
attempt("scratch", lambda: os.listdir("{scratch}"))
attempt("shadow", lambda: open("/etc/shadow").read())
attempt("root_only", lambda: open("{root_only}").read())
attempt("passwd", lambda: open("/etc/passwd").read())
attempt("home", lambda: os.listdir("{home}"))
attempt("srv", lambda: os.listdir("/srv"))
attempt("var", lambda: os.listdir("/var"))
attempt("usr_local_src", lambda: os.listdir("/usr/src"))
attempt("write_root", lambda: open("/miniflow-owned", "w"))
attempt("write_dev", lambda: open("/dev/miniflow-owned", "w"))
attempt("write_venv", lambda: open(os.path.join(os.path.dirname(inspect.__file__), "owned.py"), "w"))
attempt("network", lambda: socket.create_connection(("127.0.0.1", {port}), timeout=3).recv(10))
attempt("run_socket", lambda: os.listdir("/run"))
attempt("write_here", lambda: open("scratch.txt", "w").write("mine"))
attempt("write_job", lambda: open("/tmp/grade/src/owned.txt", "w"))
attempt("init_environ", lambda: open("/proc/1/environ").read())
def fill(folder):
    def run():
        with open(f"{folder}/fill", "wb") as f:
            for _ in range(600):
                f.write(b"\0" * (1 << 20))
    return run
attempt("fill_tmp", fill("/tmp"))
attempt("fill_shm", fill("/dev/shm"))
found["top"] = sorted(os.listdir("/"))
found["uid"] = os.getuid()
found["caps"] = [l.split()[1] for l in open("/proc/self/status") if l.startswith("CapEff")][0]
found["reference_add"] = inspect.getsource(miniflow.Add.forward)
found["untouched_input"] = inspect.getsource(miniflow.Input.forward)
found["miniflow_file"] = miniflow.__file__
found["pids"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
print(json.dumps(found))
"""


def _sandbox_for(grader, tmp_path, **limits):
    from miniflow_grader.machine.mounts import write_etc
    grader.scratch = tmp_path / "scratch"
    grader.scratch.mkdir()
    lib = grader.write_lib(grader.scratch / "lib")
    sandbox = Sandbox(Limits(**limits), sandboxed=True, etc=write_etc(grader.scratch / "etc"))
    sandbox.check_available(grader.scratch / "check", lib)
    return sandbox, lib


def _run_code(sandbox, lib, job, code):
    (job / "work").mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)]), job / "work" / "peek.ipynb")
    return sandbox.run(job, lib, "peek.ipynb", seed=1)


def test_the_sandbox_sees_only_its_allow_list_and_forbids_escapes(tmp_path, monkeypatch):
    require("bwrap", "grading in a sandbox")
    monkeypatch.setenv("MINIFLOW_GRADEBOOK_URL", "postgresql+psycopg2://grader:GRADER_SECRET@db/miniflow")
    from miniflow_grader.machine.mounts import python_roots
    root = C.make_course(tmp_path / "course")
    decoy = tmp_path / "elsewhere" / "miniflow-checkout"          # another checkout of the repository
    (decoy / "miniflow").mkdir(parents=True)
    (decoy / "miniflow" / "nodes.py").write_text((LIBRARY / "nodes.py").read_text())
    root_only = tmp_path / "root-only.txt"
    root_only.write_text("secret")
    root_only.chmod(0o600)
    grader = Grader(C.ASSIGNMENT, root, jobs=1, progress=False)
    sandbox, lib = _sandbox_for(grader, tmp_path, wall_seconds=120, tmp_bytes=64 * 1024 ** 2)
    with serving("secret") as port:
        code = (PEEK.replace("{repo}", str(C.REPO)).replace("{course}", str(root)).replace("{port}", str(port))
                .replace("{decoy}", str(decoy)).replace("{scratch}", str(grader.scratch))
                .replace("{root_only}", str(root_only)).replace("{home}", str(Path.home())))
        job = tmp_path / "job"
        run = _run_code(sandbox, lib, job, code)
    assert run.finished, run.stderr
    (output,) = run.cells[0]["outputs"]
    found = json.loads(output["text"])
    for name in ("library_source", "git", "solutions", "book", "course", "course_solutions", "gradebook",
                 "decoy_checkout", "scratch", "shadow", "root_only", "srv", "var", "usr_local_src", "write_root",
                 "write_dev", "write_venv", "network", "run_socket", "write_job", "fill_tmp", "fill_shm"):
        assert found[name].startswith("denied"), (name, found[name])
    # what the sandbox's first process (bwrap's) was started with holds nothing of the grader's environment
    assert "GRADER_SECRET" not in found["init_environ"] and str(tmp_path) not in found["init_environ"]
    assert "root:" not in found["passwd"] and "learner" in found["passwd"]     # the sandbox's own /etc
    # at the top: the system's folders, /tmp, /dev, /proc, /etc and where the interpreter lives; nothing else
    interpreter = {Path(r).parts[1] for r in python_roots()}
    assert set(found["top"]) <= {"bin", "lib", "lib64", "sbin", "usr", "etc", "tmp", "dev", "proc"} | interpreter
    home = Path.home()
    expected_home = {Path(r).relative_to(home).parts[0] for r in python_roots() if Path(r).is_relative_to(home)}
    if expected_home:
        assert set(ast.literal_eval(found["home"])) == expected_home, found["home"]     # only the interpreter
    else:
        assert found["home"].startswith("denied")
    assert found["uid"] == 1000 and int(found["caps"], 16) == 0
    assert "yours to write" in found["reference_add"] and "sum" not in found["reference_add"]
    assert "put it in the feed_dict" in found["untouched_input"]
    assert found["miniflow_file"].startswith("/tmp/grade/lib/")
    assert max(found["pids"]) < 100                    # its own pid namespace
    assert leftover_processes(tmp_path) == []
    assert found["write_here"] == "4"                  # the working directory is writable ...
    assert sorted(p.name for p in (job / "work").iterdir()) == ["peek.ipynb"]   # ... and is not the host's


def test_an_interpreter_anywhere_is_mounted_where_it_lives(tmp_path):
    """Whatever folder the interpreter's prefix is in (here: under the test's own temporary folder)."""
    require("bwrap", "grading in a sandbox")
    from miniflow_grader.machine import mounts
    root = C.make_course(tmp_path / "course")
    grader = Grader(C.ASSIGNMENT, root, jobs=1, progress=False)
    sandbox, lib = _sandbox_for(grader, tmp_path, wall_seconds=120)
    plan = mounts.MountPlan(sandbox.etc, lib, tmp_path, tmp_path)
    inside = {b[1] for b in plan.binds}
    assert all(str(r) in inside for r in mounts.python_roots())
    assert str(C.REPO) not in inside and str(root) not in inside and "/" not in inside


def test_grading_refuses_to_run_unsandboxed_unless_told(tmp_path):
    root = C.make_course(tmp_path / "course")
    C.submit(root, "alice", C.correct_submission(root))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = dict(C.env(), PATH=str(C.BIN), TMPDIR=str(scratch))     # no bwrap on PATH
    command = [sys.executable, "-m", "miniflow_grader.grade", C.ASSIGNMENT, "--no-progress", "--jobs", "1"]
    refused = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2
    assert "refusing to run learners' code" in refused.stderr and "--allow-unsandboxed" in refused.stderr
    assert not (root / "autograded").exists()
    allowed = subprocess.run(command + ["--allow-unsandboxed"], cwd=root, env=env, capture_output=True, text=True,
                             timeout=300)
    assert allowed.returncode == 0, allowed.stderr[-2000:]
    assert "UNSANDBOXED" in allowed.stderr and "WITHOUT A SANDBOX" in allowed.stderr
    from hostile.support import gradebook_dump
    rows = gradebook_dump(f"sqlite:///{root}/gradebook.db", C.ASSIGNMENT)
    assert sum(r[3] for r in rows) == sum(C.points(root).values())
    assert (root / "reports" / C.ASSIGNMENT / "index.html").is_file()
    assert leftover_processes(scratch) == []


DIES_WITH_GRADER = r"""
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from hostile import course as C
from miniflow_grader.grade import Grader
from miniflow_grader.machine.mounts import write_etc
from miniflow_grader.machine.sandbox import Limits, Sandbox
import nbformat
tmp = Path(sys.argv[2])
grader = Grader(C.ASSIGNMENT, tmp / "course", jobs=1, progress=False)
grader.scratch = tmp / "scratch"
grader.scratch.mkdir()
lib = grader.write_lib(grader.scratch / "lib")
sandbox = Sandbox(Limits(wall_seconds=300, cell_timeout=300), sandboxed=True, etc=write_etc(grader.scratch / "etc"))
job = grader.scratch / "job"
(job / "work").mkdir(parents=True)
nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("while True:\n    pass")])
nbformat.write(nb, job / "work" / "loop.ipynb")
sandbox.run(job, lib, "loop.ipynb", seed=1)
"""


def test_a_sandbox_dies_with_its_grader(tmp_path):
    """A grader killed outright (SIGKILL: no clean-up runs) takes its sandboxes with it."""
    require("bwrap", "grading in a sandbox")
    import os
    import signal
    import time
    C.make_course(tmp_path / "course")
    grader = subprocess.Popen([sys.executable, "-c", DIES_WITH_GRADER, str(Path(__file__).parent), str(tmp_path)],
                              env=C.env())
    try:
        deadline = time.monotonic() + 180
        while not leftover_processes(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert leftover_processes(tmp_path), "the sandbox never started"
        time.sleep(2)
    finally:
        os.kill(grader.pid, signal.SIGKILL)
        grader.wait()
    deadline = time.monotonic() + 30
    while leftover_processes(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert leftover_processes(tmp_path) == []


def test_a_sandbox_that_cannot_start_names_the_real_cause():
    from miniflow_grader.machine.sandbox import _diagnose
    assert "could not be started inside the sandbox" in _diagnose(
        "bwrap: execvp /tmp/venv/bin/python: No such file or directory", 1)
    assert "user namespaces" in _diagnose("bwrap: No permissions to create new namespace", 1)
    assert "cannot import" not in _diagnose("ModuleNotFoundError: No module named 'nbclient'", 1) and \
        "nbclient" in _diagnose("ModuleNotFoundError: No module named 'nbclient'", 1)
