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
    const images = [...document.images];
    images.forEach(img => { img.loading = 'eager'; });
    return images.map(img => ({src: (img.getAttribute('src') || '').slice(0, 80), alt: img.getAttribute('alt')}));
}"""
FILE_NAME = re.compile(r"(\.(png|jpe?g|gif|svg|webp)\b|_images/|[0-9a-f]{16,})", re.IGNORECASE)


def test_every_image_says_what_it_shows(browser, site):
    reader = Reader(browser, site, "light")
    problems, seen = [], 0
    try:
        for page in PAGES:
            reader.open(f"{page}.html")
            for image in reader.page.evaluate(IMAGES):
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
