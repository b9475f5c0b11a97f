"""miniflow_grader.inert on a hostile corpus: what a learner's notebook shows runs no script anywhere.

Each cleaned text is audited here by a parser, and whole notebooks are drawn by
nbconvert's own templates (classic: feedback and formgrader; lab) and opened in
headless Chromium, where nothing of the learner's may run. The same notebook not
made inert is the control: there the corpus does run, so the page test can see it.
"""
import copy
import time
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
import pytest
from bs4 import BeautifulSoup

from hostile import inert_corpus as corpus
from hostile.browser import PWNED_REQUEST, chromium, learner_script_ran, open_page, serve_directory
from miniflow_grader import inert

REPO = Path(__file__).resolve().parents[1]
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "srcdoc", "srcset", "poster", "background"}


def audit(markup, tags=inert.HTML_TAGS):
    """What in `markup` is not plain formatting, as parsed by an HTML parser."""
    found = []
    for element in BeautifulSoup(markup, "html.parser").find_all(True):
        if element.name not in tags:
            found.append(f"element {element.name}")
        for name, value in element.attrs.items():
            value = " ".join(value) if isinstance(value, list) else value
            if name.startswith("on"):
                found.append(f"{element.name} {name}")
            if name in URL_ATTRIBUTES:
                scheme = urlsplit("".join(value.split()).lower()).scheme
                if scheme not in ("", "http", "https", "mailto") and not (
                        element.name == "img" and inert._IMAGE_DATA_URL.fullmatch(value)):
                    found.append(f"{element.name} {name}={value[:40]}")
            if name == "style" and any(word in value.lower() for word in ("url(", "expression", "image", "\\")):
                found.append(f"{element.name} style={value[:40]}")
            if name in ("id", "name", "class"):
                found.append(f"{element.name} {name}")      # could clobber the page's own names or styles
    return found


@pytest.mark.parametrize("name,text", corpus.HTML_CORPUS, ids=[n for n, _ in corpus.HTML_CORPUS])
def test_hostile_html_is_cleaned(name, text):
    cleaned = inert.clean_html(text)
    assert audit(cleaned) == [], cleaned
    assert inert.clean_html(cleaned) == cleaned          # cleaning again changes nothing


def test_formatting_tables_links_and_images_are_kept():
    table = ('<table border="1" class="dataframe"><thead><tr><th>a</th></tr></thead>'
             '<tbody><tr><td style="text-align:right">1</td></tr></tbody></table>')
    assert inert.clean_html(table) == ('<table border="1"><thead><tr><th>a</th></tr></thead>'
                                       '<tbody><tr><td style="text-align:right">1</td></tr></tbody></table>')
    assert inert.clean_html("<b>bold</b> <em>em</em> <code>x &lt; y</code>") == \
        "<b>bold</b> <em>em</em> <code>x &lt; y</code>"
    assert inert.clean_html('<a href="https://example.org/x">x</a>') == \
        '<a href="https://example.org/x" rel="noopener noreferrer nofollow">x</a>'
    png = f'<img src="data:image/png;base64,{corpus.PNG}" alt="dot" width="10">'
    assert inert.clean_html(png) == png
    assert inert.clean_html('<p style="color: red">red</p>') == '<p style="color:red">red</p>'


# Markdown that nbconvert's renderer itself shows as text (it escapes the would-be tags): kept as it is.
ESCAPED_BY_THE_RENDERER = {"md_img_onerror", "md_in_table", "md_code_span_across_lines", "md_math_text_script"}


@pytest.mark.parametrize("name,text", corpus.MARKDOWN_CORPUS, ids=[n for n, _ in corpus.MARKDOWN_CORPUS])
def test_hostile_markdown_is_shown_as_text(name, text):
    shown = inert.inert_markdown(text)
    if name in ESCAPED_BY_THE_RENDERER:
        assert shown == text
    else:
        assert shown.startswith(f"*{inert.MARKDOWN_NOTE}*") and text in shown
    rendered = inert._render_markdown(shown)
    assert inert.allowed_markup(rendered, inert.MARKDOWN_MARKUP), rendered
    markdown_markup = {"div class", "span class", "a class", "li class", "input class", *(f"h{n} id" for n in range(7))}
    assert [sign for sign in audit(rendered, tags=set(inert.MARKDOWN_MARKUP)) if sign not in markdown_markup] == []
    assert inert.inert_markdown(shown) == shown        # inert already: kept as it is


BENIGN_MARKDOWN = [
    "# Nodes\nWrite `Add.forward` and `Mul.forward`.",
    "## Part A (2 points)\n\nThe sigmoid $\\sigma(x) = 1/(1+e^{-x})$ and $$\\frac{\\partial C}{\\partial w_2}$$",
    "A list:\n\n- one\n- two\n\n1. first\n2. second\n\n> a quote with `a < b` and **bold**",
    "| a | b |\n|:--|--:|\n| 1 | 2 |",
    "```python\nif x < y:\n    print('<b>')\n```",
    "[the book](https://example.org/book) and ![dot](attachment:dot.png) and <https://example.org>",
    "- [x] done\n- [ ] to do\n\nterm\n: definition\n\n---\n\nline  \nbreak &amp; &copy;",
]


@pytest.mark.parametrize("text", BENIGN_MARKDOWN)
def test_ordinary_markdown_is_kept(text):
    assert inert.inert_markdown(text, {"dot.png": {"image/png": corpus.PNG}}) == text


def test_the_course_markdown_is_kept():
    """Every markdown cell of the course's own notebooks passes unchanged."""
    notebooks = sorted((REPO / "solutions").glob("*/*.ipynb")) + sorted((REPO / "exercises").glob("*/*.ipynb"))
    assert notebooks
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                assert inert.inert_markdown(cell.source, cell.get("attachments")) == cell.source, (path, cell.source)


def test_every_kind_of_output_is_made_inert():
    outputs = corpus.hostile_outputs()
    made = inert.inert_outputs(copy.deepcopy(outputs))
    assert len(made) == len(outputs)
    allowed = {"text/plain", "text/html", "text/latex", "text/markdown", "application/json", *inert.RASTER}
    for before, after in zip(outputs, made):
        assert after["output_type"] in ("stream", "error", "display_data", "execute_result")
        if after["output_type"] in ("display_data", "execute_result"):
            assert set(after["data"]) <= allowed, after
            assert "isolated" not in str(after["metadata"]) and "filenames" not in after["metadata"]
            if "text/html" in after["data"]:
                assert audit(after["data"]["text/html"]) == [], after
    by_kind = {tuple(sorted(o["data"])): m for o, m in zip(outputs, made) if o["output_type"] == "display_data"}
    javascript = by_kind[("application/javascript", "text/plain")]
    assert javascript["data"] == {"text/plain": "<js>"}
    (removed,) = [m for o, m in zip(outputs, made) if "text/javascript" in o.get("data", {})]
    assert removed["data"] == {"text/plain": inert.removed_note(["text/javascript"])}
    widget = by_kind[("application/vnd.jupyter.widget-view+json", "text/plain")]
    assert widget["data"] == {"text/plain": "HTML(value=...)"}
    svg = by_kind[("image/svg+xml",)]
    assert svg["data"]["text/html"].startswith('<img src="data:image/svg+xml;base64,')
    assert by_kind[("text/html",)]["metadata"] == {}
    (bad_png, sized_png) = [m for o, m in zip(outputs, made) if "image/png" in o.get("data", {})]
    assert bad_png["data"] == {"text/plain": inert.removed_note(["image/png"])}
    assert sized_png["data"] == {"image/png": corpus.PNG} and sized_png["metadata"] == {"image/png": {"height": 10}}
    latex = [m for o, m in zip(outputs, made) if "text/latex" in o.get("data", {})][0]
    assert "text/latex" not in latex["data"]
    result = [m for m in made if m["output_type"] == "execute_result"][0]
    assert result["execution_count"] is None
    notes = [m for m in made if m["output_type"] == "stream" and "Removed" in m["text"]]
    assert len(notes) == 2                              # update_display_data and an unknown kind
    stream = [m for m in made if m["output_type"] == "stream" and "Removed" not in m["text"]][0]
    assert stream["text"].startswith("<script>")         # text, escaped by every template
    error = [m for m in made if m["output_type"] == "error"][0]
    assert error["evalue"].startswith("<img") and error["traceback"][0].startswith("<script>")


def test_cells_and_notebook_metadata_are_made_inert():
    nb = nbformat.v4.new_notebook(cells=corpus.hostile_notebook_cells())
    nb.metadata["widgets"] = corpus.widget_state(4)
    nb.metadata["title"] = {"not": "text"}
    nb.cells[2]["id"] = 'x" onclick="y'
    inert.make_notebook_inert(nb)
    raw, raw_untyped, tagged, attached = nb.cells
    assert audit(raw.source) == [] and "script" not in raw.source
    assert audit(raw_untyped.source) == []
    assert tagged.metadata["tags"] == ["fine-tag"]
    assert inert._CELL_ID.match(tagged["id"])
    assert attached["attachments"] == {"pic.png": {"image/png": corpus.PNG}}
    assert "widgets" not in nb.metadata and "title" not in nb.metadata
    nbformat.validate(nb)


def test_making_inert_twice_changes_nothing():
    nb = corpus.hostile_notebook()
    once = inert.make_notebook_inert(copy.deepcopy(nb))
    twice = inert.make_notebook_inert(copy.deepcopy(once))
    assert twice == once


def test_large_outputs_take_little_time():
    big_html = "<div><img src=x onerror=alert(1)><b>row</b></div>\n" * 200_000         # about 10 MB
    big_markdown = "A *line* with <b onclick=alert(1)>html</b>\n" * 40_000            # about 1.7 MB
    start = time.monotonic()
    (html_output, markdown_output) = inert.inert_outputs([
        {"output_type": "display_data", "data": {"text/html": big_html}, "metadata": {}},
        {"output_type": "display_data", "data": {"text/markdown": big_markdown}, "metadata": {}}])
    shown = inert.inert_markdown(big_markdown)
    elapsed = time.monotonic() - start
    assert elapsed < 30, elapsed
    assert "onerror" not in html_output["data"]["text/html"] and "<b>row</b>" in html_output["data"]["text/html"]
    assert "text/markdown" not in markdown_output["data"]
    assert shown.startswith(f"*{inert.MARKDOWN_NOTE}*")


def test_math_becomes_mathml_only_from_the_allow_list():
    from latex2mathml.converter import convert
    lesson = convert(r"\frac{\partial C}{\partial w_2} = \sigma(x)(1-\sigma(x))", display="block")
    assert inert.mathml(lesson) == lesson
    assert inert.mathml(convert(r"\text{<script>alert(1)</script>}")) is None
    assert inert.mathml(convert(r"\href{javascript:alert(1)}{x}")) is None
    assert inert.mathml(convert(r"\style{color:red}{x}")) is None


# --- whole pages, in Chromium ---------------------------------------------------------

def export(nb, template):
    from nbconvert import HTMLExporter
    exporter = HTMLExporter(template_name=template)
    body, _ = exporter.from_notebook_node(copy.deepcopy(nb))
    return body


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


# nbconvert warns about the outputs the corpus carries on purpose (JavaScript, Vega-Lite) that it cannot show
@pytest.mark.filterwarnings("ignore:Your element with mimetype:UserWarning")
@pytest.mark.parametrize("template", ["classic", "lab"])
def test_inert_pages_run_no_learner_script_in_chromium(tmp_path, browser, template):
    nb = corpus.hostile_notebook()
    (tmp_path / "raw.html").write_text(export(nb, template))
    (tmp_path / "inert.html").write_text(export(inert.make_notebook_inert(copy.deepcopy(nb)), template))
    with serve_directory(tmp_path) as (base, requests):
        control = open_page(browser, f"{base}/raw.html")
        control["context"].close()
        del requests[:]
        seen = open_page(browser, f"{base}/inert.html")
        seen["context"].close()
    ran = learner_script_ran(control)
    assert any("PWNED1" in sign for sign in ran), ran     # the control: the corpus does run when left as it is
    assert [f for a in control["audit"] for f in a["found"]]
    assert learner_script_ran(seen) == []
    assert seen["audit"][0]["regions"] > 0
    assert [f for a in seen["audit"] for f in a["found"]] == []
    assert not [r for r in requests if PWNED_REQUEST.search(r)]
