"""Every command the README shows runs as the README says.

`make` and `make test` are what .ci/run runs; every other command runs here, through make, on this
checkout when it only reads it, and in a throwaway copy when it writes (mutants/, exercises/, the gradebook).
make is always given this interpreter's venv and told that the venv is up to date (-o), so no test
rebuilds it.
"""
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from book_site import build_book

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
VENV = Path(sys.prefix)

#: Where each command the README shows is run.
EXERCISED = {
    "make": ".ci/run", "make test": ".ci/run", "make test JOBS=4": ".ci/run (with JOBS=2)",
    "make serve": "test_make_serve_serves_the_built_book",
    "make mutation": "test_make_mutation_scores_the_mutants_it_runs",
    "make mutation MUTANTS='miniflow.optim.*'": "test_make_mutation_scores_the_mutants_it_runs",
    "make bench": "test_make_bench_runs_both_benchmarks (with QUICK=1)",
    "make bench QUICK=1": "test_make_bench_runs_both_benchmarks",
    "make exercises": "test_make_exercises_regenerates_every_exercise_in_a_copy",
    "make lock": "test_the_lock_is_what_make_lock_writes",
}


def make(*args, cwd=ROOT, timeout=600):
    env = {k: v for k, v in os.environ.items() if k not in ("MINIFLOW_GRADEBOOK_URL", "MAKEFLAGS", "MFLAGS")}
    done = subprocess.run(["make", "--no-print-directory", f"VENV={VENV}", "-o", f"{VENV}/.installed", *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"make {' '.join(args)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done.stdout


def test_every_command_the_readme_shows_is_exercised():
    text = README.read_text()
    shown = set(re.findall(r"`(make\b[^`]*)`", text))                                # in the text
    shown |= {m.strip() for m in re.findall(r"^(make\b[^#\n]*)", text, re.M)}          # in code blocks
    assert shown == set(EXERCISED), "a README command that no test runs (or a test for one it no longer shows)"
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make\s*(#|$)", ci, re.M) and re.search(r"^make test\b", ci, re.M), ci


def test_make_mutation_scores_the_mutants_it_runs(tmp_path):
    """A short run (the mutants of one module) in a copy holding only what mutmut reads: the core and its tests."""
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    copy = tmp_path / "repo"
    shutil.copytree(ROOT / "miniflow", copy / "miniflow", ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "tests").mkdir()
    for name in ["conftest.py", "strategies.py"] + [Path(t).name for t in settings["pytest_add_cli_args_test_selection"]]:
        shutil.copy(ROOT / "tests" / name, copy / "tests" / name)
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, copy / name)
    out = make("mutation", "MUTANTS=miniflow.optim.*", cwd=copy, timeout=1200)
    killed, run = map(int, re.search(r"mutation score: (\d+) of (\d+) mutants killed \(\d+\.\d%\)", out).groups())
    results = {path.name: json.loads(path.read_text())["exit_code_by_key"]
               for path in (copy / "mutants" / "miniflow").glob("*.py.meta")}
    assert results.keys() == {"graph.py.meta", "nodes.py.meta", "optim.py.meta", "check.py.meta"}
    assert run == len(results["optim.py.meta"]) > 0 and None not in results["optim.py.meta"].values()
    assert all(code is None for name in results if name != "optim.py.meta" for code in results[name].values())
    assert killed / run >= 0.9, f"{killed} of {run} mutants of optim.py killed"


def test_make_bench_runs_both_benchmarks():
    out = make("bench", "QUICK=1")
    for batch, hidden in ((11, 10), (442, 512)):        # train_step.py: one row per size
        assert re.search(rf"^\s*{batch}\s+{hidden}\s", out, re.M), out
    assert re.search(r"^one epoch \(\d+ steps of \d+\): miniflow [\d.]+ ms, numpy [\d.]+ ms, ratio [\d.]+", out, re.M), out
    for name in ("miniflow", "numpy"):
        assert re.search(rf"^\s*{name}: 95% held-out accuracy after \d+ epochs", out, re.M), out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The first test to ask for the book builds it, executing every chapter: on a loaded 2-core machine that
# alone can take longer than the suite's 600 s per test.
@pytest.mark.timeout(1800)
def test_make_serve_serves_the_built_book():
    site = build_book().html
    assert (site / "index.html").is_file(), "the book did not build"
    port = free_port()
    server = subprocess.Popen(["make", "--no-print-directory", f"VENV={VENV}", "serve", f"SITE={site}", f"PORT={port}"],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as page:
                    assert page.status == 200 and page.read() == (site / "index.html").read_bytes()
                    break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode()
                assert time.monotonic() < deadline, "make serve did not answer within 120 s"
                time.sleep(0.5)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/book/05_backpropagation.html", timeout=10) as page:
            assert page.status == 200 and b"Backpropagation" in page.read()
    finally:
        os.killpg(server.pid, signal.SIGTERM)     # make and the http.server it started
        server.wait(timeout=30)
    assert f"Serving the book at http://127.0.0.1:{port}/" in server.stdout.read().decode()


def test_make_exercises_regenerates_every_exercise_in_a_copy(tmp_path):
    course = tmp_path / "course"
    shutil.copytree(ROOT / "solutions", course / "solutions", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    for name in ("Makefile", "nbgrader_config.py"):
        shutil.copy(ROOT / name, course / name)
    make("exercises", cwd=course, timeout=900)
    assignments = sorted(p.name for p in (ROOT / "solutions").glob("ps*"))
    assert len(assignments) == 6
    for a in assignments:
        generated = json.loads((course / "exercises" / a / f"{a}.ipynb").read_text())
        sources = ["".join(cell["source"]) for cell in generated["cells"]]
        assert any("# YOUR CODE HERE" in s for s in sources), a
        assert not any("BEGIN SOLUTION" in s or "BEGIN HIDDEN TESTS" in s for s in sources), a
        committed = json.loads((ROOT / "exercises" / a / f"{a}.ipynb").read_text())
        assert sources == ["".join(cell["source"]) for cell in committed["cells"]], \
            f"exercises/{a} is not what `make exercises` generates from solutions/{a}"
    with sqlite3.connect(course / "gradebook.db") as db:
        assert sorted(name for (name,) in db.execute("select name from assignment")) == assignments


# --- make lock: checked without the network ---------------------------------------------------------

def lock_entries():
    """{package: [(version, marker, number of hashes)]} from requirements.txt."""
    entries = {}
    text = (ROOT / "requirements.txt").read_text()
    for block in re.split(r"\n(?=\S)", text):
        first = block.split("\\\n")[0].strip()
        if not first or first.startswith("#"):
            continue
        requirement = Requirement(first)
        (spec,) = requirement.specifier
        assert spec.operator == "==", first
        entries.setdefault(canonicalize_name(requirement.name), []).append(
            (spec.version, requirement.marker, block.count("--hash=sha256:")))
    return entries


def test_the_lock_is_what_make_lock_writes():
    """Every requirement of requirements.in is pinned at a version it allows, every pin has its hashes,
    the omitted packages stay out, and the lock's header names the command that wrote it."""
    entries = lock_entries()
    for line in (ROOT / "requirements.in").read_text().splitlines():
        line = line.partition("#")[0].strip()
        if not line:
            continue
        wanted = Requirement(line)
        pins = entries.get(canonicalize_name(wanted.name))
        assert pins, f"{wanted.name} is in requirements.in but not in the lock: run `make lock`"
        for version, _, _ in pins:
            assert wanted.specifier.contains(version, prereleases=True), \
                f"the lock pins {wanted.name}=={version}, which requirements.in ({line}) does not allow: run `make lock`"
    for name, pins in entries.items():
        for version, _, hashes in pins:
            assert hashes >= 1, f"{name}=={version} has no hash"
    makefile = (ROOT / "Makefile").read_text()
    omitted = re.findall(r"--no-emit-package (\S+)", makefile)
    assert omitted and not set(map(canonicalize_name, omitted)) & set(entries)
    recipe = make("-n", "lock").replace("\\\n", " ")
    assert re.search(r"uv pip compile requirements.in .*--generate-hashes.*--custom-compile-command \"make lock\"", recipe)
    header = (ROOT / "requirements.txt").read_text().splitlines()[:2]
    assert header == ["# This file was autogenerated by uv via the following command:", "#    make lock"]
