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
from miniflow_grader.grade import Grader, load_probe_file
from miniflow_grader.sandbox import Limits, Sandbox
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


PEEK = r'''
import glob, inspect, json, os, socket
import miniflow
found = {}
def attempt(name, action):
    try:
        found[name] = repr(action())[:200]
    except BaseException as error:
        found[name] = "denied: " + type(error).__name__
attempt("library_source", lambda: open("{repo}/miniflow/nodes.py").read())
attempt("git", lambda: os.listdir("{repo}/.git"))
attempt("solutions", lambda: os.listdir("{repo}/solutions"))
attempt("book", lambda: os.listdir("{repo}/book"))
attempt("course", lambda: os.listdir("{course}"))
attempt("course_solutions", lambda: os.listdir("{course}/solutions"))
attempt("gradebook", lambda: open("{course}/gradebook.db", "rb").read(16))
attempt("home", lambda: os.listdir(os.path.expanduser("~root")))
attempt("write_root", lambda: open("/miniflow-owned", "w"))
attempt("write_venv", lambda: open(os.path.join(os.path.dirname(inspect.__file__), "owned.py"), "w"))
attempt("network", lambda: socket.create_connection(("127.0.0.1", {port}), timeout=3).recv(10))
attempt("run_socket", lambda: os.listdir("/run"))
attempt("write_here", lambda: open("scratch.txt", "w").write("mine"))
attempt("write_job", lambda: open("/tmp/grade/src/owned.txt", "w"))
def fill():
    for i in range(8):
        with open(f"/tmp/fill{i}", "wb") as f:
            for _ in range(60):
                f.write(b"\0" * (1 << 20))
attempt("fill_disk", fill)
found["reference_add"] = inspect.getsource(miniflow.Add.forward)
found["untouched_input"] = inspect.getsource(miniflow.Input.forward)
found["miniflow_file"] = miniflow.__file__
found["pids"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
print(json.dumps(found))
'''


def test_the_sandbox_hides_the_reference_and_forbids_escapes(tmp_path):
    require("bwrap", "grading in a sandbox")
    root = C.make_course(tmp_path / "course")
    grader = Grader(C.ASSIGNMENT, root, jobs=1, progress=False)
    grader.scratch = tmp_path / "scratch"
    grader.scratch.mkdir()
    lib = grader._build_lib(sandboxed=True)
    sandbox = Sandbox(grader._hidden_paths(), Limits(wall_seconds=120), sandboxed=True)
    sandbox.check_available(tmp_path / "check")
    with serving("secret") as port:
        code = PEEK.replace("{repo}", str(C.REPO)).replace("{course}", str(root)).replace("{port}", str(port))
        job = tmp_path / "job"
        (job / "work").mkdir(parents=True)
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)]), job / "work" / "peek.ipynb")
        run = sandbox.run(job, lib, "peek.ipynb", seed=1)
    assert run.finished, run.stderr
    (output,) = run.cells[0]["outputs"]
    found = json.loads(output["text"])
    for name in ("library_source", "git", "solutions", "book", "gradebook", "write_root", "write_venv", "network",
                 "write_job", "fill_disk"):
        assert found[name].startswith("denied"), (name, found[name])
    for name in ("course_solutions", "run_socket"):     # hidden: empty, whatever is really there
        assert found[name] == "[]", (name, found[name])
    home = Path("~root").expanduser()
    python_dirs = [Path(p).relative_to(home).parts[0] for p in {sys.prefix, sys.base_prefix}
                   if Path(p).is_relative_to(home)]
    assert found["home"] == repr(sorted(set(python_dirs))), found["home"]     # only the interpreter
    assert "gradebook" not in found["course"] and "submitted" not in found["course"]   # at most empty mount points
    assert "yours to write" in found["reference_add"] and "sum" not in found["reference_add"]
    assert "put it in the feed_dict" in found["untouched_input"]
    assert found["miniflow_file"].startswith("/tmp/grade/lib/")
    assert max(found["pids"]) < 100                    # its own pid namespace
    assert leftover_processes(tmp_path) == []
    assert found["write_here"] == "4"                  # the working directory is writable ...
    assert sorted(p.name for p in (job / "work").iterdir()) == ["peek.ipynb"]   # ... and is not the host's


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
