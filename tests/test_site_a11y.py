"""The built site as a reader with assistive technology meets it, in headless Chromium, light and dark.

- axe-core (installed by `npm ci`, injected by the test, never served by the site) on every page: no
  critical or serious violation that the book's own content or configuration causes. Violations inside
  the theme's own parts of the page (header buttons, sidebars, its extensions' toggle buttons) are
  listed by rule and counted in the test's output, not failed.
- Every image says in words what it shows: alt text that is not a file name, and a few words long.
- Math is typeset with MathJax's accessibility extensions: hidden MathML a screen reader reads.
"""
import collections
import re

import pytest
import yaml

from book_site import ROOT, pages
from test_site import Reader, browser, site  # noqa: F401  (the site's fixtures: one build, one browser)

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
PAGES = [*pages(), "genindex", "search"]

# The parts of a page that sphinx-book-theme / pydata-sphinx-theme and the extensions they bring draw:
# a violation inside one of these is the theme's, and is listed, not failed. Anything else is the book's.
THEME_PARTS = [
    ".bd-header", ".bd-sidebar-primary", ".bd-sidebar-secondary", ".bd-header-article", ".bd-footer",
    ".bd-footer-article", ".prev-next-area", ".search-button-field", ".theme-switch-button",
    "#pst-skip-link", ".skip-link",
    'summary[aria-label="Toggle hidden content"]',     # myst-nb's folded cells
    "button.toggle-button",                            # sphinx-togglebutton
]
SERIOUS = {"critical", "serious"}


AXE_RUN = """async (themeParts) => {
    const result = await axe.run(document, {resultTypes: ['violations']});
    return result.violations.flatMap(v => v.nodes.map(node => {
        const element = document.querySelector(node.target[0]);
        const theme = !!element && themeParts.some(part => element.closest(part));
        return {rule: v.id, impact: node.impact || v.impact, theme, target: node.target.join(' '),
                html: node.html.slice(0, 200), summary: node.failureSummary};
    }));
}"""


def axe_violations(reader, page):
    reader.open(f"{page}.html")
    reader.page.wait_for_timeout(500)          # MathJax's explorer and late scripts settle
    assert AXE.is_file(), f"{AXE} is missing: run `make web-assets` (npm ci)"
    reader.page.add_script_tag(path=str(AXE))
    return reader.page.evaluate(AXE_RUN, THEME_PARTS)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_nothing_serious_of_the_books_own(browser, site, scheme, capsys):
    reader = Reader(browser, site, scheme)
    own, theme = [], collections.Counter()
    try:
        for page in PAGES:
            for v in axe_violations(reader, page):
                if v["theme"]:
                    theme[(v["impact"], v["rule"])] += 1
                elif v["impact"] in SERIOUS:
                    own.append(f"{page}: {v['impact']} {v['rule']} at {v['target']}: {v['html']}\n    {v['summary']}")
                else:
                    theme[(v["impact"], v["rule"] + " (the book's, minor)")] += 1
    finally:
        reader.close()
    with capsys.disabled():
        print(f"\naxe-core, {scheme}, {len(PAGES)} pages: violations in the theme's parts of the page, by rule:")
        for (impact, rule), count in sorted(theme.items()):
            print(f"  {impact:9} {rule}: {count}")
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
