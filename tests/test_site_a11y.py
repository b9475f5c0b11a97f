"""The built site as a reader with assistive technology meets it, in headless Chromium, light and dark.

- axe-core (installed by `npm ci`, injected by the test, never served by the site) on every page: no
  critical or serious violation that the book's own content or configuration causes. Violations inside
  the theme's own parts of the page (header buttons, sidebars, its extensions' toggle buttons) are
  listed by rule and counted in the test's output, not failed; the parts of those the book draws itself
  (_templates/, _ext/folded_cells.py) are the book's.
- Every image says in words what it shows: alt text that is not a file name, and a few words long.
- Math is typeset with MathJax's accessibility extensions: hidden MathML a screen reader reads.
- The controls the book draws itself (colour mode, search, folded cells) are reached by Tab, named by what
  they show, and worked with Enter and Space.

`python tests/test_site_a11y.py DIR` runs the same audit on a site already built in DIR (for example
_build/html) and prints axe-core's counts per rule, impact and scheme (`pytest -s` prints them too).
"""
import collections
import re
import sys

import pytest
import yaml

from book_site import ROOT, pages
from test_site import Reader, browser, site  # noqa: F401  (the site's fixtures: one build, one browser)

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
PAGES = [*pages(), "genindex", "search"]
SCHEMES = ["light", "dark"]

# The parts of a page that sphinx-book-theme / pydata-sphinx-theme and the extensions they bring draw:
# a violation inside one of these is the theme's, and is listed, not failed. Anything else is the book's.
THEME_PARTS = [
    ".bd-header", ".bd-sidebar-primary", ".bd-sidebar-secondary", ".bd-header-article", ".bd-footer",
    ".bd-footer-article", ".prev-next-area", "#pst-skip-link", ".skip-link",
    "button.toggle-button",                            # sphinx-togglebutton
]
# ... except the components the book draws itself in those places (each marked with a class of its own, so
# an earlier build, drawn wholly by the theme, is counted as it was): a violation there is the book's.
OWN_PARTS = [
    ".miniflow-theme-switch",                          # _templates/theme-switcher.html
    ".miniflow-search",                                # _templates/search-button-field.html
    ".miniflow-book-title",                            # _templates/navbar-logo.html
    ".miniflow-fold",                                  # myst-nb's folded cells, drawn by _ext/folded_cells.py
]
IMPACTS = ["critical", "serious", "moderate", "minor"]
SERIOUS = {"critical", "serious"}


AXE_RUN = """async ([themeParts, ownParts]) => {
    const result = await axe.run(document, {resultTypes: ['violations']});
    return result.violations.flatMap(v => v.nodes.map(node => {
        const element = document.querySelector(node.target[0]);
        const inside = parts => !!element && parts.some(part => element.closest(part));
        return {rule: v.id, impact: node.impact || v.impact, theme: inside(themeParts) && !inside(ownParts),
                target: node.target.join(' '), html: node.html.slice(0, 200), summary: node.failureSummary};
    }));
}"""


def axe_violations(reader, page):
    reader.open(f"{page}.html")
    reader.page.wait_for_timeout(500)          # MathJax's explorer and late scripts settle
    assert AXE.is_file(), f"{AXE} is missing: run `make web-assets` (npm ci)"
    reader.page.add_script_tag(path=str(AXE))
    return [{**v, "page": page} for v in reader.page.evaluate(AXE_RUN, [THEME_PARTS, OWN_PARTS])]


def audit(browser, site, scheme):
    """Every violation axe-core finds on every page of the site in one colour scheme, one per element."""
    reader = Reader(browser, site, scheme)
    try:
        return [v for page in PAGES for v in axe_violations(reader, page)]
    finally:
        reader.close()


def table(found):
    """axe-core's counts, one line per rule: {scheme: violations} -> the lines of a table (elements, and
    in brackets the pages they are on, per scheme)."""
    counts = collections.defaultdict(collections.Counter)
    on = collections.defaultdict(set)
    for scheme, violations in found.items():
        for v in violations:
            key = (v["rule"], v["impact"], "theme" if v["theme"] else "book")
            counts[key][scheme] += 1
            on[key, scheme].add(v["page"])
    schemes = list(found)
    lines = [f"{'rule':32} {'impact':9} {'whose':6} " + " ".join(f"{s:>12}" for s in schemes)]
    for key in sorted(counts, key=lambda k: (IMPACTS.index(k[1]), k)):
        cells = [f"{counts[key][s]} ({len(on[key, s])}p)" for s in schemes]
        lines.append(f"{key[0]:32} {key[1]:9} {key[2]:6} " + " ".join(f"{c:>12}" for c in cells))
    totals = [f"{len(found[s])}" for s in schemes]
    lines.append(f"{'all':32} {'':9} {'':6} " + " ".join(f"{c:>12}" for c in totals))
    return lines


@pytest.mark.parametrize("scheme", SCHEMES)
def test_axe_finds_nothing_serious_of_the_books_own(browser, site, scheme, capsys):
    violations = audit(browser, site, scheme)
    with capsys.disabled():
        print(f"\naxe-core, {scheme}, {len(PAGES)} pages: elements (pages) with a violation, by rule:")
        print("\n".join("  " + line for line in table({scheme: violations})))
    own = [f"{v['page']}: {v['impact']} {v['rule']} at {v['target']}: {v['html']}\n    {v['summary']}"
           for v in violations if not v["theme"] and v["impact"] in SERIOUS]
    assert not own, f"{len(own)} critical or serious violations of the book's own ({scheme}):\n" + "\n".join(own)


IMAGES = """async () => {
    const images = [...document.images].map(img => ({src: (img.getAttribute('src') || '').slice(0, 80),
                                                     alt: img.getAttribute('alt')}));
    // An exploration shows one of its frames at a time: the others, and their alt text, wait in its data.
    const frames = [...document.querySelectorAll('.miniflow-explore')].flatMap((player, number) => {
        const data = JSON.parse(player.querySelector('script[type="application/json"]').textContent);
        return Object.entries(data.frames).map(([key, [, alt]]) => ({src: `exploration ${number}, frame ${key}`, alt}));
    });
    return {images: [...images, ...frames], frames: frames.length};
}"""

# Each figure of a page: its caption's own words (without the "Fig. N" that numfig puts before them and the
# "#" link after), how many images it holds, and whether the caption is shown, and shown under the image.
CAPTIONS = """async () => {
    const images = [...document.images];
    images.forEach(img => { img.loading = 'eager'; });
    await Promise.all(images.map(img => img.complete ? null :
        new Promise(done => { img.onload = img.onerror = done; })));
    return [...document.querySelectorAll('figure')].map(figure => {
        const caption = figure.querySelector('figcaption');
        const pictures = [...figure.querySelectorAll('img')];
        if (!caption) return {caption: null, images: pictures.length};
        const words = caption.querySelector('.caption-text') || caption;
        const box = caption.getBoundingClientRect();
        const style = getComputedStyle(caption);
        return {caption: words.textContent, images: pictures.length,
                shown: box.height > 0 && box.width > 0 && style.visibility !== 'hidden' && style.display !== 'none',
                under: pictures.length === 1 && pictures[0].getBoundingClientRect().bottom <= box.top + 1
                       && pictures[0].getBoundingClientRect().height > 0};
    });
}"""
FILE_NAME = re.compile(r"(\.(png|jpe?g|gif|svg|webp)\b|_images/|[0-9a-f]{16,})", re.IGNORECASE)


def test_every_image_says_what_it_shows(browser, site):
    """Every image of every page, and every frame of every exploration (shown or not), has alt text that
    is not a file name and is at least five words long."""
    reader = Reader(browser, site, "light")
    problems, seen, frames = [], 0, 0
    try:
        for page in PAGES:
            reader.open(f"{page}.html")
            found = reader.page.evaluate(IMAGES)
            frames += found["frames"]
            for image in found["images"]:
                seen += 1
                alt = image["alt"]
                if alt is None or not alt.strip():
                    problems.append(f"{page}: {image['src']}: no alt text")
                elif FILE_NAME.search(alt):
                    problems.append(f"{page}: {image['src']}: alt text is a file name: {alt!r}")
                elif len(alt.split()) < 5:
                    problems.append(f"{page}: {image['src']}: alt text of {len(alt.split())} words: {alt!r}")
    finally:
        reader.close()
    assert seen >= 40, f"only {seen} images on the site: is the book built with its figures?"
    assert frames >= 4 * 4, f"only {frames} exploration frames on the site"
    assert not problems, "\n".join(problems)


CODE_CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
FIGURE_CELL = re.compile(r"^\s*alt:|\bdraw_graph\(|\bdraw_arrays\(|\bdescribed\(", re.MULTILINE)


def captions_of(page):
    """[(line, caption or None, text just before)] for each cell of a chapter that draws a figure (not an
    exploration, whose picture follows its sliders)."""
    text = (ROOT / f"{page}.md").read_text()
    found = []
    for cell in CODE_CELL.finditer(text):
        source = cell.group(1)
        metadata = yaml.safe_load(source.split("\n---\n", 1)[0][4:]) if source.startswith("---\n") else {}
        if not FIGURE_CELL.search(source) or re.search(r"^explore\(", source, re.MULTILINE):
            continue
        caption = ((metadata or {}).get("mystnb") or {}).get("figure", {}).get("caption")
        before = text[:cell.start()].rstrip().splitlines()[-1]
        found.append((text.count("\n", 0, cell.start()) + 1, caption, before))
    return found


CHAPTERS = [page for page in pages() if (ROOT / f"{page}.md").is_file()]


@pytest.mark.parametrize("page", CHAPTERS)
def test_a_figure_the_text_points_to_has_a_caption(page):
    """Where a sentence ends in a colon just before a figure ("The picture shows how it got there:",
    "Here are the first twenty:"), the figure carries a caption (myst-nb's `mystnb: figure: caption:`)."""
    missing = [f"{page}.md:{line}: after {before!r}" for line, caption, before in captions_of(page)
               if before.endswith(":") and not caption]
    assert not missing, "figures the text points to, with no caption:\n" + "\n".join(missing)


def _plain(text):
    """A caption's words as a reader sees them: no Markdown marks, straight quotes (Sphinx curls them)."""
    text = re.sub(r"[$`*]", "", " ".join(text.split()))
    return text.translate(str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'}))


def test_every_caption_is_shown_under_its_figure(browser, site):
    """Each caption of the chapters' sources is on its page once, as the visible caption of a figure with one
    image, drawn under that image."""
    reader = Reader(browser, site, "light")
    problems, seen = [], 0
    try:
        for page in CHAPTERS:
            wanted = [_plain(caption) for _, caption, _ in captions_of(page) if caption]
            reader.open(f"{page}.html")
            figures = [figure for figure in reader.page.evaluate(CAPTIONS) if figure["caption"] is not None]
            shown = [_plain(figure["caption"]) for figure in figures]
            seen += len(shown)
            if len(shown) != len(wanted):
                problems.append(f"{page}: {len(shown)} captions shown, {len(wanted)} in its source")
            problems += [f"{page}: {caption!r} not shown" for caption in wanted if shown.count(caption) != 1]
            for figure, caption in zip(figures, shown):
                if figure["images"] != 1:
                    problems.append(f"{page}: {caption!r} is the caption of {figure['images']} images, not one")
                elif not figure["shown"]:
                    problems.append(f"{page}: {caption!r} is hidden")
                elif not figure["under"]:
                    problems.append(f"{page}: {caption!r} is not under its image")
    finally:
        reader.close()
    assert seen >= 20, f"only {seen} captions on the site: is the book built with its figures?"
    assert not problems, "\n".join(problems)


# Which of the controls the book draws itself holds the focus, and what it shows: the colour-mode button (the
# mode the page is in), the search field, a folded cell's summary (open or not, and its shown prompt).
FOCUSED = """() => {
    const focused = document.activeElement;
    const own = focused && focused.closest('.miniflow-theme-switch, .miniflow-search button, .miniflow-fold');
    if (!own) return null;
    const fold = own.closest('details');
    return {part: own.matches('.miniflow-theme-switch') ? 'theme' : own.closest('.miniflow-search') ? 'search' : 'fold',
            mode: document.documentElement.dataset.mode, theme: document.documentElement.dataset.theme,
            text: own.innerText.replace(/\\s+/g, ' ').trim(),
            open: fold ? fold.open : null, search: !!document.querySelector('#pst-search-dialog[open]')};
}"""
MODES = {"light": "Light", "dark": "Dark", "auto": "System Settings"}


@pytest.mark.parametrize("scheme", SCHEMES)
def test_the_books_own_controls_are_named_by_what_they_show_and_work_from_the_keyboard(browser, site, scheme):
    """Tab from the top of a chapter reaches the colour-mode button, the search field and a folded cell; each is
    named by the words or the icon's title it shows; Enter and Space switch the mode (the name follows it), open
    the search dialog (Escape closes it) and open and close the fold (its name follows its prompt)."""
    from playwright.sync_api import expect
    reader = Reader(browser, site, scheme)
    keys = reader.page.keyboard
    focused = reader.page.locator(":focus")
    now = lambda: reader.page.evaluate(FOCUSED)          # noqa: E731
    reached = {}
    try:
        reader.open("book/04_forward.html")
        for _ in range(400):
            keys.press("Tab")
            state = now()
            if state is None or state["part"] in reached:
                continue
            reached[state["part"]] = state
            if state["part"] == "theme":
                # sphinx-book-theme takes the focus off this button when it is pressed (a blur on click, meant
                # for the mouse): the test gives it back before each key, as a reader's Shift+Tab would.
                button = reader.page.locator(".miniflow-theme-switch")
                for key in ["Enter", " "]:
                    button.focus()
                    expect(focused).to_have_accessible_name(f"Color mode: {MODES[state['mode']]}")
                    keys.press(key)
                    button.focus()
                    after = now()
                    assert after["mode"] != state["mode"], f"{key!r} left the colour mode at {state['mode']}"
                    expect(focused).to_have_accessible_name(f"Color mode: {MODES[after['mode']]}")
                    state = after
            elif state["part"] == "search":
                expect(focused).to_have_accessible_name(state["text"])
                assert state["text"].startswith("Search"), state
                keys.press("Enter")
                assert reader.page.evaluate("() => !!document.querySelector('#pst-search-dialog[open]')")
                assert reader.page.evaluate("() => document.activeElement.matches('#pst-search-dialog input')")
                keys.press("Escape")
                assert not reader.page.evaluate("() => !!document.querySelector('#pst-search-dialog[open]')")
            else:
                assert state["open"] is False, "a fold is open before it is asked to"
                expect(focused).to_have_accessible_name(state["text"])
                assert state["text"].startswith("Show"), state
                for key, opened in [("Enter", True), ("Enter", False), (" ", True), (" ", False)]:
                    keys.press(key)
                    after = now()
                    assert after["open"] is opened, f"{key!r} left the fold {'closed' if opened else 'open'}"
                    assert after["text"].startswith("Hide" if opened else "Show"), after
                    expect(focused).to_have_accessible_name(after["text"])
            if len(reached) == 3:
                break
        assert set(reached) == {"theme", "search", "fold"}, f"Tab reached only {sorted(reached)}"
        assert not reader.outside and not reader.errors, reader.outside + reader.errors
    finally:
        reader.close()


ASSISTIVE_MATH = """() => {
    const containers = [...document.querySelectorAll('mjx-container')];
    return {typeset: containers.length,
            readable: containers.filter(c => c.querySelector('mjx-assistive-mml math')).length};
}"""


@pytest.mark.parametrize("page", ["book/05_backpropagation"])
def test_math_carries_mathml_for_screen_readers(browser, site, page):
    reader = Reader(browser, site, "light")
    try:
        reader.open(f"{page}.html")
        math = reader.page.evaluate(ASSISTIVE_MATH)
        assert math["typeset"] > 20, math
        assert math["readable"] == math["typeset"], (
            f"{math['typeset'] - math['readable']} of {math['typeset']} formulas have no assistive MathML")
        assert not reader.outside and not reader.errors, reader.outside + reader.errors
    finally:
        reader.close()


def main(html):
    """Audit the site built in `html` in both schemes and print the table."""
    from playwright.sync_api import sync_playwright

    from book_site import serve
    from test_site import CHROMIUM, CHROMIUM_ARGS
    with serve(html) as url, sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            found = {scheme: audit(chromium, url, scheme) for scheme in SCHEMES}
        finally:
            chromium.close()
    print(f"axe-core on {html}, {len(PAGES)} pages: elements (pages) with a violation, by rule")
    print("\n".join(table(found)))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/test_site_a11y.py BUILT_SITE (e.g. _build/html)")
    main(sys.argv[1])
