"""Headless Chromium for page tests: Debian's /usr/bin/chromium driven by playwright (never downloaded).

`serve_directory(root)` serves files on 127.0.0.1 and records every request;
`open_page(browser, url)` loads a page with everything but 127.0.0.1 blocked and
returns what learner script would leave behind (see corpus.js): console lines,
dialogs, requests for pwned*, window.__pwned, the title, and a DOM audit of the
learner's part of the page.
"""
import http.server
import os
import re
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
# What the corpus's script fetches, or a resource it must not load (pwned1, pwned_css, ...): the last part of a path.
PWNED_REQUEST = re.compile(r"/pwned\w*(?:[?#].*)?$", re.I)
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-quic", "--no-first-run"]


def require_chromium():
    """Fail in CI, skip elsewhere, when Chromium or playwright is missing."""
    missing = None
    if not Path(CHROMIUM).is_file() and shutil.which("chromium") is None:
        missing = "chromium (Debian's package)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "playwright (requirements.txt)"
    if missing:
        message = f"{missing} is needed for the page tests"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@contextmanager
def chromium():
    require_chromium()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM if Path(CHROMIUM).is_file() else shutil.which("chromium"),
                                    args=ARGS, headless=True, timeout=60_000)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def serve_directory(root):
    """An HTTP server on 127.0.0.1 for the files under `root`; yields (base URL, list of request paths)."""
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def do_GET(self):
            requests.append(self.path)
            super().do_GET()

        def do_POST(self):
            requests.append(self.path)
            self.send_error(404)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()


# Run in the page after it loaded: what of the learner's part could still run script or load things.
AUDIT = r"""(regions) => {
  const found = [];
  const roots = document.querySelectorAll(regions);
  const urlAttrs = ["href", "src", "action", "formaction", "data", "srcdoc", "xlink:href", "background", "poster",
                    "srcset", "content"];
  for (const root of roots) {
    for (const el of root.querySelectorAll("*")) {
      const name = el.localName;
      if (["script", "iframe", "frame", "object", "embed", "base", "meta", "link", "form", "style", "svg", "math",
           "template", "input", "button", "textarea", "video", "audio", "source", "marquee"].includes(name)) {
        found.push("element " + name);
      }
      for (const attr of el.attributes) {
        const value = attr.value.replace(/[\x00-\x20]/g, "").toLowerCase();
        if (attr.name.toLowerCase().startsWith("on")) found.push(name + " " + attr.name);
        if (urlAttrs.includes(attr.name.toLowerCase()) &&
            (value.startsWith("javascript:") || value.startsWith("vbscript:") ||
             (value.startsWith("data:") && !/^data:image\/(png|jpeg|gif|webp|svg\+xml);base64,/.test(value))))
          found.push(name + " " + attr.name + "=" + value.slice(0, 40));
        if (attr.name === "style" && /url\(|expression|image/i.test(attr.value))
          found.push(name + " style=" + attr.value.slice(0, 40));
      }
    }
  }
  return {regions: roots.length, found: found};
}"""

# The learner's parts of nbconvert's classic and lab pages and of formgrader's grading view.
LEARNER_REGIONS = ".output_area, .output_subarea, .text_cell_render, .jp-OutputArea, .jp-RenderedMarkdown, " \
                  ".jp-RenderedHTMLCommon, .jp-MarkdownOutput, .rendered_html"


def open_page(browser, url, *, allow=("http://127.0.0.1",), wait_ms=1500, before=None, cookies=None):
    """Load `url` in a fresh context and report what learner script did or could do there."""
    context = browser.new_context(java_script_enabled=True)
    if cookies:
        context.add_cookies(cookies)
    page = context.new_page()
    seen = {"console": [], "dialogs": [], "requests": [], "blocked": [], "errors": []}
    page.on("console", lambda message: seen["console"].append(message.text))
    page.on("pageerror", lambda error: seen["errors"].append(str(error)))

    def dialog(d):
        seen["dialogs"].append(d.message)
        d.dismiss()

    page.on("dialog", dialog)

    def route(r):
        request_url = r.request.url
        seen["requests"].append(request_url)
        if request_url.startswith(allow) or request_url.startswith(("data:", "blob:", "about:")):
            r.continue_()
        else:
            seen["blocked"].append(request_url)
            r.abort()

    page.route("**/*", route)
    if before:
        before(page)
    page.goto(url, wait_until="load", timeout=60_000)
    page.wait_for_timeout(wait_ms)
    frames = page.frames
    seen["pwned"] = [frame.evaluate("() => window.__pwned === undefined ? null : String(window.__pwned)")
                     for frame in frames if _evaluable(frame)]
    seen["title"] = page.title()
    seen["audit"] = [frame.evaluate(AUDIT, LEARNER_REGIONS) for frame in frames if _evaluable(frame)]
    seen["frames"] = [frame.url for frame in frames]
    seen["page"] = page
    seen["context"] = context
    return seen


def _evaluable(frame):
    try:
        frame.evaluate("() => 1")
        return True
    except Exception:
        return False


def learner_script_ran(seen):
    """Everything in `seen` (from open_page) that shows a learner script ran, as readable lines."""
    signs = [f"console: {line}" for line in seen["console"] if "PWNED" in line]
    signs += [f"dialog: {d}" for d in seen["dialogs"]]
    signs += [f"request: {u}" for u in seen["requests"] if PWNED_REQUEST.search(u)]
    signs += [f"window.__pwned = {p}" for p in seen["pwned"] if p is not None]
    if "pwned" in seen["title"].lower() or seen["title"].strip().isdigit():
        signs.append(f"title: {seen['title']}")
    return signs
