"""Build the book once per test run, and serve a built site on 127.0.0.1 (for test_book.py and test_site.py)."""
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml
from filelock import FileLock

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# One test run (all its pytest-xdist workers share the id) builds the book once, next to `make`'s _build/html.
RUN = os.environ.get("PYTEST_XDIST_TESTRUNUID") or f"run{os.getpid()}"
TEST_BUILDS = ROOT / "_build" / "test-book"
TEST_BUILD = TEST_BUILDS / RUN
SCREENSHOTS = ROOT / "_build" / "screenshots"


def pages():
    """The book's pages in reading order, as in _toc.yml: ["book/index", "book/01_introduction", ...]."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [entry["file"] for entry in toc["chapters"]]


def tool_env():
    """The environment `make` gives tools: the venv's bin first on PATH (the kernel runs from there)."""
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


@dataclass
class Build:
    returncode: int
    log: str
    html: Path


def jupyter_book_build(source, output):
    """`jupyter-book build` as `make` runs it: strict, warnings are errors, notebooks executed."""
    result = subprocess.run(
        [str(BIN / "jupyter-book"), "build", str(source), "--path-output", str(output),
         "-W", "-n", "--keep-going"],
        cwd=source, env=tool_env(), capture_output=True, text=True)
    return Build(result.returncode, result.stdout + result.stderr, Path(output) / "_build" / "html")


def install_web_assets():
    """`npm ci` from the lockfile, through the same make target as the build (a no-op when up to date)."""
    (ROOT / "_build").mkdir(exist_ok=True)
    with FileLock(ROOT / "_build" / "web-assets.lock"):      # one `npm ci` at a time
        subprocess.run(["make", "--no-print-directory", "web-assets"], cwd=ROOT, env=tool_env(), check=True)


@functools.cache
def build_book():
    """One clean strict build of the whole book per test run, executing every chapter.

    The first worker to ask builds it; the others wait for that build and read its result."""
    TEST_BUILDS.mkdir(parents=True, exist_ok=True)
    result = TEST_BUILD / "build.json"
    with FileLock(TEST_BUILDS / f"{RUN}.lock"):
        if not result.is_file():
            _remove_old_builds()
            install_web_assets()
            shutil.rmtree(TEST_BUILD, ignore_errors=True)
            build = jupyter_book_build(ROOT, TEST_BUILD)
            result.write_text(json.dumps({"returncode": build.returncode, "log": build.log}))
        saved = json.loads(result.read_text())
    return Build(saved["returncode"], saved["log"], TEST_BUILD / "_build" / "html")


def _remove_old_builds(hours=2):
    """Earlier runs' builds (a run still going after two hours has long finished reading its own)."""
    for old in TEST_BUILDS.iterdir():
        if old != TEST_BUILD and time.time() - old.stat().st_mtime > hours * 3600:
            (shutil.rmtree if old.is_dir() else os.remove)(old)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextmanager
def serve(directory):
    """Serve `directory` on 127.0.0.1 (a free port) while the block runs; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _solution_notebooks():
    """solutions/<ps>/<ps>.ipynb for every problem set, in order: [("ps1", path), ...]."""
    return [(folder.name.split("_")[0], folder / f"{folder.name}.ipynb")
            for folder in sorted((ROOT / "solutions").glob("ps*")) if folder.is_dir()]


def problem_sets():
    """The problem sets' folder names under solutions/, in order: ["ps1_nodes", ...]."""
    return [path.parent.name for _, path in _solution_notebooks()]


def _squeeze(text):
    return " ".join(text.split())


def graded_methods():
    """Every graded method of solutions/: {(ps, "Class.method" or "function"): [its answer's lines]}.

    The lines are those between `### BEGIN SOLUTION` and `### END SOLUTION`, stripped and with runs of spaces
    squeezed. Left out are the lines that cannot give an answer away: under 12 characters (`return order`,
    `pass`, `)`), comments, and lines the problem set itself shows the learner outside its solution regions
    and hidden tests (in a docstring, the task's text or the code it gives)."""
    import nbformat
    found = {}
    for ps, path in _solution_notebooks():
        notebook = nbformat.read(path, as_version=4)
        given, regions = [], []
        for cell in notebook.cells:
            inside, names = None, []
            for line in cell.source.splitlines():
                stripped = line.strip()
                if "BEGIN SOLUTION" in stripped or "BEGIN HIDDEN TESTS" in stripped:
                    inside = [] if "SOLUTION" in stripped else "hidden"
                    if "SOLUTION" in stripped:
                        regions.append((_enclosing(names), inside))
                    continue
                if "END SOLUTION" in stripped or "END HIDDEN TESTS" in stripped:
                    inside = None
                    continue
                if inside is None:
                    given.append(line)
                    definition = re.match(r"(\s*)(?:class|def)\s+(\w+)", line)
                    if definition:
                        indent = len(definition.group(1))
                        names = [(i, n) for i, n in names if i < indent] + [(indent, definition.group(2))]
                elif inside != "hidden":
                    inside.append(line)
        given = _squeeze("\n".join(given))
        for name, lines in regions:
            kept = [_squeeze(line) for line in lines]
            kept = [line for line in kept if len(line) >= 12 and not line.startswith("#") and line not in given]
            found.setdefault((ps, name), []).extend(kept)
    return found


def _enclosing(names):
    """"Class.method" or "function" from the (indent, name) definitions that enclose a line."""
    return ".".join(name for _, name in names)


def answer_folds():
    """Where the book folds MiniFlow's own code for each graded method of solutions/, after the pointer to its
    exercise: {(ps, name): (page, what the fold shows)}. What it shows is a library object, whose source the fold
    prints, or the name of the function the chapter defines in the fold itself (its training loop)."""
    import miniflow
    return {
        ("ps1", "Add.forward"): ("book/02_nodes_and_graphs", miniflow.Add.forward),
        ("ps1", "Mul.forward"): ("book/02_nodes_and_graphs", miniflow.Mul.forward),
        ("ps2", "sort_nodes"): ("book/03_topological_sort", miniflow.sort_nodes),
        ("ps3", "Linear.forward"): ("book/04_forward", miniflow.Linear.forward),
        ("ps3", "Sigmoid.forward"): ("book/04_forward", miniflow.Sigmoid.forward),
        ("ps3", "MSE.forward"): ("book/04_forward", miniflow.MSE.forward),
        ("ps4", "Sigmoid.backward"): ("book/05_backpropagation", miniflow.Sigmoid.backward),
        ("ps4", "Linear.backward"): ("book/05_backpropagation", miniflow.Linear.backward),
        ("ps4", "MSE.backward"): ("book/05_backpropagation", miniflow.MSE.backward),
        ("ps5", "sgd_update"): ("book/06_sgd", miniflow.sgd_update),
        ("ps5", "train"): ("book/06_sgd", "train_network"),
        ("ps6", "ReLU.forward"): ("book/07_classification", miniflow.ReLU),
        ("ps6", "ReLU.backward"): ("book/07_classification", miniflow.ReLU),
        ("ps6", "SoftmaxCrossEntropy.forward"): ("book/07_classification", miniflow.SoftmaxCrossEntropy),
        ("ps6", "SoftmaxCrossEntropy.backward"): ("book/07_classification", miniflow.SoftmaxCrossEntropy),
        ("ps6", "train_classifier"): ("book/07_classification", "train_classifier"),
    }


def fold_title_names(title, ps, name):
    """Whether a fold's title ("MiniFlow's implementation of Sigmoid.backward: open it after ps4") is the fold
    of graded method `name` of problem set `ps`."""
    return title.endswith(f": open it after {ps}") and re.search(rf"(?<![\w.]){re.escape(name)}(?![\w])", title)


def squeeze(text):
    """`text` with every run of white space made one space: how lines are compared with a page's text."""
    return _squeeze(text)
