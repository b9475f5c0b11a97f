"""Build the book once per test run, and serve a built site on 127.0.0.1 (for test_book.py and test_site.py)."""
import functools
import http.server
import json
import os
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
