"""The book builds strictly, every chapter runs in a fresh kernel in that build, and the site needs no other machine."""
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
import yaml
from jupyter_client import KernelManager

from book_site import ROOT, build_book, install_web_assets, jupyter_book_build, pages, tool_env

CHAPTERS = pages()[1:]


@pytest.fixture(scope="module")
def book():
    return build_book()


def test_book_builds_strictly(book):
    assert book.returncode == 0, f"jupyter-book build -W -n failed:\n{book.log[-6000:]}"
    for page in pages():
        assert (book.html / f"{page}.html").is_file(), f"{page} was not built"
    assert (book.html / "index.html").is_file()


CELL_SECONDS = 60      # the slowest cell takes a few seconds; a kernel that stops answering fails in a minute


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_ran_in_a_fresh_kernel_without_an_error(book, chapter):
    """The build runs each chapter in a kernel of its own (myst-nb, from an empty cache), each cell for at most
    _config.yml's execute.timeout: a cell that fails or never answers fails the build, and its log names the
    chapter, the error or timeout, and the cell's source. Here: what the build found for this chapter."""
    said = [line for line in book.log.splitlines() if f"{chapter}.md" in line]
    failed = [line for line in book.log.splitlines() if "Executing notebook failed" in line and f"{chapter}.md" in line]
    assert not failed, "\n".join(failed) + "\n" + book.log[-4000:]
    assert any("Executed notebook in" in line for line in said), f"{chapter}.md was not executed:\n" + "\n".join(said)
    executed = nbformat.read(book.html.parent / "jupyter_execute" / f"{chapter}.ipynb", as_version=4)
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert code and all(c.get("execution_count") for c in code), f"{chapter}.md: a code cell did not run"
    errors = [(i, o.get("ename"), o.get("evalue")) for i, c in enumerate(executed.cells) for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors, f"{chapter}.md: cells (counting from 0) that raised: {errors}"


def test_the_build_gives_each_cell_a_short_time(book):
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["timeout"] == CELL_SECONDS and config["execute"]["allow_errors"] is False
    assert f"execution_timeout={CELL_SECONDS}" in book.log


def test_a_kernel_starts_and_stops_without_a_word(tmp_path, monkeypatch):
    """Nothing on the kernel's own stderr: no warning about its transport, nothing a learner must ignore."""
    monkeypatch.setenv("PATH", tool_env()["PATH"])
    log = tmp_path / "kernel.stderr"
    with log.open("w") as stderr:
        manager = KernelManager(kernel_name="python3")
        manager.start_kernel(stderr=stderr)
        try:
            client = manager.client()
            client.start_channels()
            client.wait_for_ready(timeout=CELL_SECONDS)
            assert client.execute_interactive("6 * 7", timeout=CELL_SECONDS)["content"]["status"] == "ok"
            client.stop_channels()
        finally:
            manager.shutdown_kernel()
    assert log.read_text() == ""


class _Assets(HTMLParser):
    """Every address a page makes the browser load: scripts, stylesheets, images, frames."""

    def __init__(self):
        super().__init__()
        self.loaded = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "img", "iframe", "source", "video", "audio") and attrs.get("src"):
            self.loaded.append(attrs["src"])
        if tag == "link" and attrs.get("href") and attrs.get("rel") not in ("canonical", "next", "prev"):
            self.loaded.append(attrs["href"])


def _remote(address):
    return re.match(r"(https?:)?//", address.strip()) is not None


def test_pages_load_nothing_from_other_machines(book):
    for page in [*pages(), "index", "search", "genindex"]:
        parser = _Assets()
        parser.feed((book.html / f"{page}.html").read_text())
        remote = [address for address in parser.loaded if _remote(address)]
        assert not remote, f"{page}.html loads {remote}"
    for css in book.html.glob("_static/**/*.css"):
        imports = re.findall(r"""(?:@import\s+|url\()\s*['"]?((?:https?:)?//[^'")\s]+)""", css.read_text())
        assert not imports, f"{css.relative_to(book.html)} fetches {imports}"


def test_mathjax_and_widget_scripts_are_served_by_the_site(book):
    assert (book.html / "_static/mathjax/tex-chtml.js").is_file()
    assert (book.html / "_static/jupyter-widgets/require.js").is_file()
    assert (book.html / "_static/jupyter-widgets/html-manager/embed-amd.js").is_file()
    for page in pages():
        scripts = _Assets()
        scripts.feed((book.html / f"{page}.html").read_text())
        # Only the entry point of each vendored tree is a tag; the rest loads on demand.
        assert sum("_static/mathjax/" in s for s in scripts.loaded) == 1, page
        assert sum("html-manager/" in s for s in scripts.loaded) <= 1, page


def test_inline_scripts_are_written_once(book):
    for page in pages():
        html = (book.html / f"{page}.html").read_text()
        assert html.count("const THEBE_JS_URL") == 1, page


def test_each_chapter_offers_its_notebook_for_download(book):
    for chapter in CHAPTERS:
        assert (book.html / "_sources" / f"{chapter}.ipynb").is_file(), chapter
        assert f"{Path(chapter).name}.ipynb" in (book.html / f"{chapter}.html").read_text(), chapter


# --- the build settings themselves, on a one-page book ------------------------------

PAGE = """\
---
jupytext:
  text_representation: {{extension: .md, format_name: myst}}
kernelspec: {{display_name: Python 3, language: python, name: python3}}
---
# A page

$$x^2$$

```{{code-cell}} ipython3
{code}
```
"""


@pytest.fixture
def small_book(tmp_path):
    """A book with this repository's settings and one page, book/index.md; write the page, then build."""
    install_web_assets()
    (tmp_path / "book").mkdir()
    for name in ("_config.yml", "_ext", "book/favicon.svg"):
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy)(ROOT / name, tmp_path / name)
    os.symlink(ROOT / "node_modules", tmp_path / "node_modules")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/index\n")

    def build(code):
        (tmp_path / "book" / "index.md").write_text(PAGE.format(code=code))
        return jupyter_book_build(tmp_path, tmp_path)
    return build


def test_a_failing_cell_fails_the_build(small_book):
    build = small_book("1 / 0")
    assert build.returncode != 0
    assert "Executing notebook failed" in build.log


def test_a_rebuild_with_nothing_changed_uses_the_execution_cache(small_book):
    first = small_book("print(6 * 7)")
    assert first.returncode == 0, first.log[-3000:]
    assert "Executed notebook" in first.log
    again = small_book("print(6 * 7)")
    assert again.returncode == 0, again.log[-3000:]
    assert "Executing notebook" not in again.log


def test_a_change_in_the_library_runs_the_chapters_again(small_book, tmp_path):
    library = tmp_path / "miniflow" / "nodes.py"
    library.parent.mkdir()
    library.write_text("ANSWER = 42\n")
    assert small_book("print(6 * 7)").returncode == 0
    library.write_text("ANSWER = 43\n")
    again = small_book("print(6 * 7)")
    assert again.returncode == 0, again.log[-3000:]
    assert "Executing notebook" in again.log
