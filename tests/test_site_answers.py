"""On the website, no graded answer shows until the reader opens its fold, and the fold then shows MiniFlow's own
code, highlighted: every page of the built book, in headless Chromium, before and after the clicks."""
import inspect
from textwrap import dedent

import nbformat
import pytest

from book_site import (SCREENSHOTS, answer_folds, build_book, fold_title_names, graded_methods, pages, serve,
                       squeeze)
from test_site import CHROMIUM, CHROMIUM_ARGS, Reader, _chromium_or_skip


@pytest.fixture(scope="module")
def book():
    _chromium_or_skip()
    build = build_book()
    assert build.returncode == 0, f"the book did not build:\n{build.log[-4000:]}"
    return build


@pytest.fixture(scope="module")
def reader(book):
    from playwright.sync_api import sync_playwright
    with serve(book.html) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        reader = Reader(browser, url, "light")
        yield reader
        reader.close()
        browser.close()


# The text a reader sees: innerText leaves out what is not rendered, such as the inside of a closed <details>.
VISIBLE_TEXT = "() => (document.querySelector('main') || document.body).innerText"
FOLDS = "details.hide"


def _shown_lines(book, page, shown):
    """The lines a fold must show: MiniFlow's source of a library object, or the chapter's cell defining `shown`."""
    if isinstance(shown, str):
        executed = nbformat.read(book.html.parent / "jupyter_execute" / f"{page}.ipynb", as_version=4)
        cells = [c.source for c in executed.cells if c.cell_type == "code" and f"def {shown}(" in c.source]
        assert len(cells) == 1, f"{page}: {len(cells)} cells define {shown}"
        source = cells[0]
    else:
        source = dedent(inspect.getsource(shown))
    return [squeeze(line) for line in source.splitlines() if line.strip()]


def _screenshot(reader, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"answers-{name.replace('/', '_')}.png"
    reader.page.screenshot(path=str(path), full_page=True)
    return path


@pytest.mark.parametrize("page", pages())
def test_answers_stay_folded_until_opened(reader, book, page):
    reader.errors.clear()
    reader.outside.clear()
    reader.open(f"{page}.html")
    before = squeeze(reader.page.evaluate(VISIBLE_TEXT))
    shown = sorted({f"{ps} {name}: {line}" for (ps, name), lines in graded_methods().items()
                    for line in lines if line in before})
    if shown:
        pytest.fail(f"{page} shows answers before any click:\n  " + "\n  ".join(shown)
                    + f"\nscreenshot: {_screenshot(reader, page)}")

    folds = reader.page.locator(FOLDS)
    titles = [folds.nth(i).locator("summary p.collapsed").inner_text() for i in range(folds.count())]
    expected = {key: shown for key, (where, shown) in answer_folds().items() if where == page}
    assert all(not folds.nth(i).evaluate("e => e.open") for i in range(folds.count())), f"{page}: a fold is open"
    for (ps, name), shown in expected.items():
        matching = [i for i, title in enumerate(titles) if fold_title_names(title, ps, name)]
        assert len(matching) == 1, f"{page}: {len(matching)} folds titled for {ps}'s {name} among {titles}"
        fold = folds.nth(matching[0])
        lines = _shown_lines(book, page, shown)
        hidden = [line for line in lines if line not in before]
        assert hidden, f"{page}: nothing of {name}'s fold was hidden"

        if not fold.evaluate("e => e.open"):            # ReLU's fold holds both of its graded methods
            fold.locator("summary").click()
        assert fold.evaluate("e => e.open"), f"{page}: the fold for {name} did not open"
        inside = squeeze(fold.inner_text())
        missing = [line for line in lines if line not in inside]
        assert not missing, f"{page}: the opened fold for {name} lacks {missing}"
        after = squeeze(reader.page.evaluate(VISIBLE_TEXT))
        assert all(line in after for line in hidden), f"{page}: {name}'s code is not visible once opened"
        keywords = fold.locator(".highlight pre span.k, .highlight pre span.kn")
        assert keywords.count() > 0 and keywords.first.is_visible(), f"{page}: {name}'s code is not highlighted"
        assert keywords.first.evaluate("e => getComputedStyle(e).color") != \
            fold.locator(".highlight pre").last.evaluate("e => getComputedStyle(e).color"), \
            f"{page}: {name}'s keywords are not coloured"
    assert not reader.errors and not reader.outside, reader.errors + reader.outside
