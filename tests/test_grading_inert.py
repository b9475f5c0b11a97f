"""A learner's notebook that shows hostile HTML, SVG, JavaScript and markdown, graded for real, runs no
script where it is read: not in the feedback page, not in formgrader's grading view.

The submission is graded by the real CLI (`python -m miniflow_grader.grade`, learner
code in bubblewrap), its feedback made by the real `nbgrader generate_feedback`, and
the autograded notebook shown by formgrader in a real `jupyter server` with
nbgrader's extension, started here on 127.0.0.1. Both pages are opened in headless
Chromium (hostile/browser.py): no console line, request, dialog, window.__pwned or
title set by the corpus's script (hostile/inert_corpus.py), and nothing left in the
learner's part of the page that could run script or load things.
"""
import copy
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import nbformat
import pytest

from hostile import course as C
from hostile import inert_corpus as corpus
from hostile.browser import PWNED_REQUEST, chromium, learner_script_ran, open_page, require_chromium, serve_directory
from hostile.support import leftover_processes, require
from miniflow_grader.inert import make_notebook_inert

STUDENT = "mallory"
GRADING_SECONDS = 900
SERVER_SECONDS = 120


def hostile_submission(root):
    """The correct submission, then cells that display the whole corpus, hostile markdown and raw cells."""
    nb = C.correct_submission(root)
    nb.cells += [nbformat.v4.new_code_cell(source) for source in corpus.hostile_cell_code()]
    nb.cells += [nbformat.v4.new_markdown_cell(text) for _, text in corpus.MARKDOWN_CORPUS]
    nb.cells += corpus.hostile_notebook_cells()
    nb.metadata["widgets"] = corpus.widget_state(4)
    nb.metadata["title"] = f"</title><script>{corpus.js(7)}</script>"
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    require("bwrap", "grading in a sandbox")
    require_chromium()
    root = C.make_course(tmp_path_factory.mktemp("course"), timeout=20)
    scratch = tmp_path_factory.mktemp("scratch")
    C.submit(root, STUDENT, hostile_submission(root))
    env = dict(C.env(), TMPDIR=str(scratch))
    grading = subprocess.run([sys.executable, "-m", "miniflow_grader.grade", C.ASSIGNMENT], cwd=root, env=env,
                             capture_output=True, text=True, timeout=GRADING_SECONDS)
    assert grading.returncode == 0, grading.stdout[-3000:] + grading.stderr[-3000:]
    feedback = subprocess.run([str(C.BIN / "nbgrader"), "generate_feedback", C.ASSIGNMENT, "--force"], cwd=root,
                              env=env, capture_output=True, text=True, timeout=300)
    assert feedback.returncode == 0, feedback.stdout[-3000:] + feedback.stderr[-3000:]
    yield root
    assert leftover_processes(scratch) == []


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def autograded_notebook(root):
    return nbformat.read(root / "autograded" / STUDENT / C.ASSIGNMENT / f"{C.ASSIGNMENT}.ipynb", as_version=4)


def test_the_learner_cells_ran_and_their_outputs_were_kept(graded):
    """Otherwise the page tests below would prove nothing: the corpus reached the autograded notebook."""
    nb = autograded_notebook(graded)
    shown = [c for c in nb.cells if c.cell_type == "code" and "display(" in c.source]
    assert len(shown) == 4
    assert sum(len(c.outputs) for c in shown) >= len(corpus.HTML_CORPUS) + len(corpus.MARKDOWN_CORPUS)


def test_the_autograded_notebook_is_inert(graded):
    """It is saved inert (making it inert again changes nothing), so every viewer of it is safe."""
    nb = autograded_notebook(graded)
    assert make_notebook_inert(copy.deepcopy(nb)) == nb
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            assert not {"application/javascript", "text/javascript", "image/svg+xml",
                        "application/vnd.jupyter.widget-view+json"} & set(output.get("data", {}))
    assert "widgets" not in nb.metadata


def assert_no_learner_script(seen, page_text_marker="PWNED"):
    assert learner_script_ran(seen) == []
    regions = sum(a["regions"] for a in seen["audit"])
    assert regions > 0                                          # the learner's outputs are on the page...
    assert page_text_marker in seen["page"].content()           # ...as text
    assert [f for a in seen["audit"] for f in a["found"]] == []


def test_the_feedback_page_runs_no_learner_script(graded, browser):
    folder = graded / "feedback" / STUDENT / C.ASSIGNMENT
    assert (folder / f"{C.ASSIGNMENT}.html").is_file()
    with serve_directory(folder) as (base, requests):
        seen = open_page(browser, f"{base}/{C.ASSIGNMENT}.html")
        try:
            assert_no_learner_script(seen)
        finally:
            seen["context"].close()
    assert not [r for r in requests if PWNED_REQUEST.search(r)]


# --- formgrader ---------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def formgrader(graded, tmp_path_factory):
    """A real `jupyter server` with nbgrader's formgrader, serving the course on 127.0.0.1; yields (URL, token)."""
    home = tmp_path_factory.mktemp("jupyter")
    port, token = free_port(), secrets.token_hex(16)
    env = dict(C.env(), JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTER_PLATFORM_DIRS="1")
    command = [str(C.BIN / "jupyter-server"), "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
               "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", "--ServerApp.open_browser=False",
               f"--ServerApp.root_dir={graded}", "--ServerApp.allow_root=True",
               "--ServerApp.jpserver_extensions={'nbgrader.server_extensions.formgrader': True}"]
    log = open(home / "server.log", "wb")
    server = subprocess.Popen(command, cwd=graded, env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_SECONDS
        while True:
            assert server.poll() is None, (home / "server.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, (home / "server.log").read_text()[-3000:]
            time.sleep(0.5)
        yield url, token
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=20)
        log.close()


def submission_notebook_id(root):
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{root}/gradebook.db") as gb:
        return gb.find_submission_notebook(C.ASSIGNMENT, C.ASSIGNMENT, STUDENT).id


def test_formgraders_grading_view_runs_no_learner_script(graded, formgrader, browser):
    """formgrader's view of the autograded notebook (what JupyterLab shows in an iframe allowed to run
    scripts as the Jupyter server's origin) runs formgrader's own script and none of the learner's."""
    url, token = formgrader
    page_url = f"{url}/formgrader/submissions/{submission_notebook_id(graded)}/?token={token}"
    seen = open_page(browser, page_url, wait_ms=3000)
    try:
        page = seen["page"]
        assert page.url.startswith(f"{url}/formgrader/submissions/"), page.url
        # formgrader's own script ran (its models and the submission it shows)
        assert page.evaluate("() => typeof submission_id === 'string' && typeof Backbone === 'object'")
        assert page.locator(".nbgrader_cell, .grade_cell, .cell").count() > 0
        assert_no_learner_script(seen)
    finally:
        seen["context"].close()


def test_formgrader_shows_learner_script_when_a_notebook_is_not_inert(graded, formgrader, browser):
    """The control: the same view of an autograded notebook with the raw corpus in it does run it,
    so the test above can see a learner script run."""
    url, token = formgrader
    path = graded / "autograded" / STUDENT / C.ASSIGNMENT / f"{C.ASSIGNMENT}.ipynb"
    saved = path.read_bytes()
    nb = autograded_notebook(graded)
    raw = [nbformat.from_dict({"output_type": "display_data", "data": {"text/html": text}, "metadata": {}})
           for _, text in corpus.HTML_CORPUS]
    nb.cells.append(nbformat.v4.new_code_cell("show(raw)", outputs=raw))
    try:
        nbformat.write(nb, path)
        seen = open_page(browser, f"{url}/formgrader/submissions/{submission_notebook_id(graded)}/?token={token}",
                         wait_ms=3000)
        seen["context"].close()
    finally:
        path.write_bytes(saved)
    assert any("PWNED1" in sign for sign in learner_script_ran(seen)), learner_script_ran(seen)


# --- the course's own configuration, on its own ---------------------------------------------

def course_exporters():
    """The repository's nbgrader_config.py: its feedback exporter with its preprocessors, and the plain
    HTMLExporter formgrader makes from the same configuration."""
    from nbconvert import HTMLExporter
    from traitlets.config.loader import PyFileConfigLoader
    config = PyFileConfigLoader("nbgrader_config.py", path=str(C.REPO)).load_config()
    feedback = config.GenerateFeedback.exporter_class(config=config)
    for preprocessor in config.GenerateFeedback.preprocessors:
        if preprocessor.__name__ != "GetGrades":                 # it needs a gradebook; it only adds scores
            feedback.register_preprocessor(preprocessor, enabled=True)
    return {"feedback": feedback, "formgrader": HTMLExporter(config=config, template_name="classic")}


@pytest.mark.parametrize("page", ["feedback", "formgrader"])
def test_the_course_configuration_makes_pages_inert_by_itself(tmp_path, browser, page):
    """Defence in depth: a notebook that was not made inert when graded is made inert when drawn,
    and learner math becomes MathML only from the allow-list ($\\text{<script>}$ stays text)."""
    exporter = course_exporters()[page]
    body, _ = exporter.from_notebook_node(corpus.hostile_notebook())
    (tmp_path / "page.html").write_text(body)
    with serve_directory(tmp_path) as (base, requests):
        seen = open_page(browser, f"{base}/page.html")
        try:
            assert_no_learner_script(seen)
        finally:
            seen["context"].close()
    assert not [r for r in requests if PWNED_REQUEST.search(r)]
