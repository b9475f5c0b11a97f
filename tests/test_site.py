"""Every page of the built site, opened in headless Chromium as a reader would, light and dark.

Checks: math typeset, images loaded, widgets (or their static pictures) shown, no JavaScript
errors, no request to any address but the local server. A failing page leaves a screenshot in
_build/screenshots/.
"""
import os
import re
from pathlib import Path

import pytest

from book_site import SCREENSHOTS, build_book, pages, serve

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]
IN_CI = os.environ.get("CI", "").lower() in ("true", "1", "yes")


def _chromium_or_skip():
    if Path(CHROMIUM).is_file():
        return
    message = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)"
    if IN_CI:
        pytest.fail(message)           # never skip the browser test silently in CI
    pytest.skip(message)


@pytest.fixture(scope="module")
def site():
    _chromium_or_skip()
    book = build_book()
    assert book.returncode == 0, f"the book did not build:\n{book.log[-4000:]}"
    with serve(book.html) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    _chromium_or_skip()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Reader:
    """A browser tab on the local site that refuses, and remembers, any request elsewhere."""

    def __init__(self, browser, site, scheme):
        self.site, self.scheme = site, scheme
        self.context = browser.new_context(color_scheme=scheme, viewport={"width": 1280, "height": 900})
        self.outside, self.errors = [], []
        self.context.route("**/*", self._only_local)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("requestfailed", lambda r: self.errors.append(f"failed: {r.url} {r.failure}"))

    def _only_local(self, route):
        url = route.request.url
        if url.startswith(self.site) or url.startswith(("data:", "blob:", "about:")):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def open(self, path):
        self.page.goto(self.site + path, wait_until="load")
        # MathJax typesets after the page loads; wait for it to finish.
        self.page.evaluate("""async () => {
            if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
        }""")

    def close(self):
        self.context.close()


@pytest.fixture(params=["light", "dark"])
def reader(request, browser, site):
    reader = Reader(browser, site, request.param)
    yield reader
    reader.close()


def _screenshot_on_failure(reader, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name.replace('/', '_')}-{reader.scheme}.png"
    reader.page.screenshot(path=str(path), full_page=True)
    return path


# JavaScript run in the page: what a reader would see.
MATH = """() => {
    const math = document.querySelectorAll('.math, span.math, div.math').length;
    const typeset = document.querySelectorAll('mjx-container').length;
    const body = document.querySelector('main') || document.body;
    const text = body.cloneNode(true);
    text.querySelectorAll('pre, code, script, style, textarea, mjx-container, .highlight')
        .forEach(e => e.remove());
    return {math, typeset, text: text.textContent};
}"""

IMAGES = """async () => {
    const images = [...document.images];
    images.forEach(img => { img.loading = 'eager'; });
    await Promise.all(images.map(img => img.complete ? null :
        new Promise(done => { img.onload = img.onerror = done; })));
    return images.filter(img => img.naturalWidth === 0).map(img => img.currentSrc || img.src || img.id);
}"""

WIDGETS = """() => {
    const views = [...document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')];
    const shown = views.filter(v => {
        const area = v.previousElementSibling;
        return area && area.classList.contains('widget-subarea') && area.querySelector('.jupyter-widgets')
            && area.getBoundingClientRect().height > 0;
    });
    const pictures = document.querySelectorAll('.cell_output img, .cell_output .animation, .cell_output svg');
    return {views: views.length, shown: shown.length, pictures: pictures.length};
}"""


def _check_page(reader, page):
    """Everything wrong with `page` as a reader sees it (an empty list when all is well)."""
    problems = []
    reader.open(f"{page}.html")
    dark = reader.page.evaluate("() => document.documentElement.dataset.theme")
    if dark != reader.scheme:
        problems.append(f"the page is in {dark} mode, not {reader.scheme}")

    math = reader.page.evaluate(MATH)
    if math["math"] and math["typeset"] < math["math"]:
        problems.append(f"{math['math']} math elements but {math['typeset']} typeset by MathJax")
    raw = sorted({m for m in re.findall(r"\$\$|\\\(|\\\)|\\\[|\\\]", math["text"])})
    if raw:
        problems.append(f"raw TeX delimiters left in the text: {raw}")

    broken = reader.page.evaluate(IMAGES)
    if broken:
        problems.append(f"images that did not load: {broken}")

    if reader.page.evaluate(WIDGETS)["views"]:
        try:     # the html-manager renders once the page has loaded
            reader.page.wait_for_function(f"() => ({WIDGETS})().shown === ({WIDGETS})().views", timeout=20000)
        except Exception:
            pass
    widgets = reader.page.evaluate(WIDGETS)
    if widgets["shown"] < widgets["views"]:
        problems.append(f"only {widgets['shown']} of {widgets['views']} saved widgets rendered")
    if widgets["views"] and not widgets["pictures"]:
        problems.append("widgets without a static picture of what they explore")

    reader.page.wait_for_timeout(300)      # late console errors (e.g. from deferred scripts)
    problems += reader.errors
    problems += [f"request outside the site: {url}" for url in reader.outside]
    return problems


@pytest.mark.parametrize("page", [*pages(), "genindex", "search"])
def test_page_reads_well(reader, page):
    problems = _check_page(reader, page)
    if problems:
        shot = _screenshot_on_failure(reader, page)
        pytest.fail(f"{page} ({reader.scheme}):\n  " + "\n  ".join(problems) + f"\nscreenshot: {shot}")


def test_root_address_leads_to_the_first_page(reader):
    reader.page.goto(reader.site)
    reader.page.wait_for_url(re.compile(r"book/index\.html$"), timeout=10000)
    reader.page.wait_for_load_state("load")
    assert not reader.outside and not reader.errors, reader.outside + reader.errors


def test_search_finds_pages(reader):
    reader.open("search.html?q=gradient")
    reader.page.wait_for_selector("#search-results ul.search li", timeout=20000)
    found = reader.page.locator("#search-results ul.search li").count()
    assert found > 0
    assert not reader.outside and not reader.errors, reader.outside + reader.errors


def test_theme_button_switches_to_dark_mode(browser, site):
    reader = Reader(browser, site, "light")
    try:
        reader.open(f"{pages()[1]}.html")
        background = "() => getComputedStyle(document.body).backgroundColor"
        light = reader.page.evaluate(background)
        for _ in range(3):                     # the button cycles through light, dark and automatic
            if reader.page.evaluate("() => document.documentElement.dataset.theme") == "dark":
                break
            reader.page.locator(".theme-switch-button").first.click()
        assert reader.page.evaluate("() => document.documentElement.dataset.theme") == "dark"
        assert reader.page.evaluate(background) != light
        assert not reader.outside and not reader.errors, reader.outside + reader.errors
    finally:
        reader.close()
