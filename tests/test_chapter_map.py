"""Which exercise follows which chapter, said once (chapter 1's table) and linked both ways; every graded method
of solutions/ folded in its chapter; the chapter notebooks a reader downloads keep those folds collapsed."""
import inspect
import re
from textwrap import dedent

import jupytext
import nbformat
import pytest

from book_site import (ROOT, answer_folds, build_book, fold_title_names, graded_methods, pages, problem_sets,
                       squeeze)

CHAPTERS = pages()[1:]
INTRODUCTION = "book/01_introduction"


@pytest.fixture(scope="module")
def book():
    build = build_book()
    assert build.returncode == 0, f"the book did not build:\n{build.log[-4000:]}"
    return build


def exercise_table():
    """The rows of chapter 1's table of chapters and exercises, each a list of its cells' MyST text."""
    text = (ROOT / f"{INTRODUCTION}.md").read_text()
    assert "(exercise-table)=\n" in text, "chapter 1 has no table labelled exercise-table"
    lines = text.split("(exercise-table)=\n", 1)[1].splitlines()
    rows = []
    for line in lines:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    assert len(rows) > 2 and set(rows[1][0]) <= set("-:"), "the exercise table has no header"
    return rows[2:]


def test_chapter_1_lists_every_chapter_and_problem_set():
    """One row per chapter of _toc.yml, in order; chapter 1 has no exercise; chapter N is followed by ps(N-1),
    linked to the chapter's exercise block, with its folder in exercises/ (the chapter names the notebook)."""
    text = (ROOT / f"{INTRODUCTION}.md").read_text()
    assert "| chapter | you write | exercise | its folder in `exercises/` |" in text
    rows = exercise_table()
    documents = [re.fullmatch(r"\{doc\}`(\w+)`", row[0]) for row in rows]
    assert all(documents), f"a row does not start with a chapter link: {[row[0] for row in rows]}"
    assert [f"book/{d.group(1)}" for d in documents] == CHAPTERS
    assert rows[0][-2:] == ["none", ""]
    folders = problem_sets()
    assert len(folders) == len(CHAPTERS) - 1, (folders, CHAPTERS)
    for number, (row, folder) in enumerate(zip(rows[1:], folders), start=1):
        ps = f"ps{number}"
        assert folder.startswith(f"{ps}_"), folder
        assert row[-2:] == [f"{{ref}}`{ps} <{ps}-exercise>`", f"`{folder}/`"], row


def test_the_table_and_the_chapters_link_both_ways(book):
    introduction = (book.html / f"{INTRODUCTION}.html").read_text()
    assert 'id="exercise-table"' in introduction
    for number, (chapter, folder) in enumerate(zip(CHAPTERS[1:], problem_sets()), start=1):
        name, ps = chapter.split("/")[-1], f"ps{number}"
        assert re.search(rf'href="{name}\.html"', introduction), f"the table does not link {chapter}"
        assert f'href="{name}.html#{ps}-exercise"' in introduction, f"the table does not link {chapter}'s {ps}"
        html = (book.html / f"{chapter}.html").read_text()
        assert f'id="{ps}-exercise"' in html, f"{chapter} has no exercise block for {ps}"
        assert f"exercises/{folder}/{folder}.ipynb" in html, f"{chapter} does not name {ps}'s notebook"
        assert 'href="01_introduction.html#exercise-table"' in html, f"{chapter} does not link back to the table"
        end = html[html.rindex("<h2"):]
        assert f"{ps}-exercise" in end or f'id="{ps}-exercise"' in end, f"{chapter}'s last section does not send to {ps}"


def test_every_graded_method_is_folded_in_its_chapter():
    """A graded method added to solutions/ needs a fold in the book (and an entry in book_site.answer_folds)."""
    assert set(graded_methods()) == set(answer_folds())


def _fold_cells(notebook):
    return [cell for cell in notebook.cells
            if "open it after" in cell.metadata.get("mystnb", {}).get("code_prompt_show", "")]


def _text(cell):
    """A cell's source and the text of its outputs, as a reader of the notebook would see them."""
    parts = [cell.source]
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        for mime, data in output.get("data", {}).items():
            if mime.startswith("text/"):
                parts.append(data if isinstance(data, str) else "".join(data))
    return squeeze("\n".join(parts))


def _shown_lines(shown):
    return [squeeze(line) for line in dedent(inspect.getsource(shown)).splitlines() if line.strip()]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_downloaded_notebooks_keep_the_answers_folded(book, chapter):
    """The site offers each chapter as its MyST source and as the executed notebook; in both, each fold's cell is
    collapsed in the notebook's own metadata (JupyterLab opens it folded), and no other cell shows an answer."""
    executed = nbformat.read(book.html / "_sources" / f"{chapter}.ipynb", as_version=4)
    source = jupytext.read(book.html / "_sources" / f"{chapter}.md")
    expected = {key: shown for key, (page, shown) in answer_folds().items() if page == chapter}
    answers = [line for lines in graded_methods().values() for line in lines]
    for notebook, kind in [(executed, "executed .ipynb"), (source, ".md")]:
        folds = _fold_cells(notebook)
        for cell in folds:
            title = cell.metadata["mystnb"]["code_prompt_show"]
            assert "hide-cell" in cell.metadata.get("tags", []), f"{chapter} {kind}: {title!r} is not folded"
            assert cell.metadata.get("jupyter") == {"source_hidden": True, "outputs_hidden": True}, \
                f"{chapter} {kind}: {title!r} opens unfolded in JupyterLab"
        for (ps, name), shown in expected.items():
            matching = [c for c in folds if fold_title_names(c.metadata["mystnb"]["code_prompt_show"], ps, name)]
            assert len(matching) == 1, f"{chapter} {kind}: {len(matching)} folds for {ps}'s {name}"
            if notebook is executed and not isinstance(shown, str):
                text = _text(matching[0])
                missing = [line for line in _shown_lines(shown) if line not in text]
                assert not missing, f"{chapter}: the fold for {name} lacks MiniFlow's lines {missing}"
        assert len(folds) == len({c.metadata["mystnb"]["code_prompt_show"] for c in folds})
        shown_outside = {line for cell in notebook.cells if cell not in folds for line in answers
                         if line in _text(cell)}
        assert not shown_outside, f"{chapter} {kind}: answers outside the folds: {sorted(shown_outside)}"
