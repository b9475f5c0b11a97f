"""Make the built book self-contained and tidy: a reader's browser asks nothing of any other machine.

- Pages with saved ipywidgets state load require.js and the widgets' html-manager from the site
  (`_static/jupyter-widgets/`), copied from `node_modules/` (installed by `npm ci`) after the build.
  They are copied after the build, not kept in a `_static` folder of the source, because jupyter-book
  adds every .js and .css file under such a folder to every page.
- Each chapter can be downloaded as the notebook executed at build time (.ipynb), with or without
  launch buttons.
- Animations made with matplotlib's `to_jshtml` use the Font Awesome icons the theme already
  serves, instead of fetching Font Awesome 4 from a CDN.
- Every inline script is written once per page (see `_write_each_script_once`).
"""
import re
import shutil
from pathlib import Path

from docutils import nodes
from sphinx.util import logging

logger = logging.getLogger(__name__)

WIDGETS = "jupyter-widgets"          # under _static in the built site
HTML_MANAGER = "@jupyter-widgets/html-manager/dist"
NPM_FILES = {                        # node_modules/<file> -> _static/jupyter-widgets/<name>
    "requirejs/require.js": "require.js",
    f"{HTML_MANAGER}/embed-amd.js": "html-manager/embed-amd.js",
}
FONT_SUFFIXES = {".woff2", ".woff", ".ttf", ".eot", ".svg"}   # the html-manager's icon fonts


def _node_modules(app):
    return Path(app.srcdir) / "node_modules"


MATHJAX2_QUEUE = """document.addEventListener("DOMContentLoaded", () => {
  const mj = window.MathJax;
  if (!mj || mj.Hub) return;
  const typeset = (element) => mj.typesetPromise ? mj.typesetPromise([element]) : null;
  mj.Hub = {Queue: ([, , element]) => (mj.startup && mj.startup.promise
                                       ? mj.startup.promise.then(() => typeset(element)) : typeset(element))};
});"""


def check_npm_assets(app):
    missing = [f for f in NPM_FILES if not (_node_modules(app) / f).is_file()]
    if missing:
        logger.warning(f"offline_site: {', '.join(missing)} not found in {_node_modules(app)}; "
                       "run `npm ci` (or `make`) so that pages with widgets can show them")


def add_widget_scripts(app, pagename, templatename, context, doctree):
    """On a page with saved widget state, load the widget scripts served by the site."""
    from myst_nb.sphinx_ import NbMetadataCollector

    if "ipywidgets_state" not in NbMetadataCollector.get_js_files(app.env, pagename):
        return
    here = context["pathto"](f"_static/{WIDGETS}", 1)
    app.add_js_file(f"{WIDGETS}/require.js", priority=600)
    # The html-manager finds its own files (icon fonts) through require.js's path for it.
    # Any widget module it does not bundle would be fetched from "data-jupyter-widgets-cdn":
    # point that at the site too, so a missing module is a local 404, never a request elsewhere.
    app.add_js_file(None, priority=601,
                    body=f'require.config({{paths: {{"{HTML_MANAGER}": "{here}/html-manager"}}}});')
    # The widgets typeset their labels with MathJax 2's `MathJax.Hub.Queue`; the book runs MathJax 3.
    app.add_js_file(None, priority=601, body=MATHJAX2_QUEUE)
    app.add_js_file(f"{WIDGETS}/html-manager/embed-amd.js", priority=602,
                    **{"data-jupyter-widgets-cdn": f"{here}/npm/"})


# The stylesheet link at the top of every matplotlib `to_jshtml()` animation.
CDN_FONT_AWESOME = re.compile(r'<link[^>]*href="https://maxcdn\.bootstrapcdn\.com/font-awesome/[^"]*"[^>]*>\s*')


def drop_cdn_font_awesome(app, doctree, docname):
    """Remove the CDN Font Awesome stylesheet from animation outputs: the theme's own copy draws the buttons."""
    for raw in doctree.findall(nodes.raw):
        if "html" in raw.get("format", "").split() and CDN_FONT_AWESOME.search(raw.astext()):
            text = CDN_FONT_AWESOME.sub("", raw.astext())
            raw.replace(raw.children[0], nodes.Text(text))


def offer_notebook_download(app, pagename, templatename, context, doctree):
    """Put the executed notebook next to the page's source so the download menu offers it."""
    if context.get("ipynb_source") or not context.get("page_source_suffix"):
        return
    executed = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    if not executed.is_file():
        return
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(executed, target)
    context["ipynb_source"] = f"{pagename}.ipynb"


def _write_each_script_once(app, pagename, templatename, context, doctree):
    """Drop the second copy of inline scripts that Sphinx 7 writes twice.

    An inline script added once the builder exists (sphinx-thebe adds
    `const THEBE_JS_URL = ...` when the docs are read) is stored with filename None, and the
    HTML builder adds it again from its registry with filename '' before writing: the page gets
    two `const` declarations and the browser stops at "Identifier 'THEBE_JS_URL' has already been
    declared". Sphinx 8.2 fixed this (sphinx-doc/sphinx#13402); jupyter-book 1.x runs Sphinx 7.
    """
    scripts = app.builder._js_files
    seen, unique = set(), []
    for js in scripts:
        key = (js.filename or "", js.priority, tuple(sorted(js.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    scripts[:] = unique


def copy_widget_scripts(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / WIDGETS
    for source, name in NPM_FILES.items():
        path = _node_modules(app) / source
        if path.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target / name)
    fonts = _node_modules(app) / HTML_MANAGER
    if fonts.is_dir():
        for path in fonts.iterdir():
            if path.suffix in FONT_SUFFIXES:
                shutil.copyfile(path, target / "html-manager" / path.name)


def setup(app):
    app.connect("builder-inited", check_npm_assets)
    app.connect("html-page-context", add_widget_scripts)
    app.connect("html-page-context", offer_notebook_download, priority=450)   # before the theme's buttons
    app.connect("html-page-context", _write_each_script_once, priority=900)
    app.connect("doctree-resolved", drop_cdn_font_awesome)
    app.connect("build-finished", copy_widget_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
