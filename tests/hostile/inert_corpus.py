"""Hostile things a learner's notebook can show, each of which runs `js(n)` if a viewer lets it.

`js(n)` logs PWNED<n> to the console, fetches pwned<n> (relative to the page) and sets
top.__pwned = n: a browser test that sees any of these knows which entry ran.
It has no quotes, spaces, '<', '>' or '&', so it fits unquoted attributes and
entity encodings. An entry is (name, text); HTML_CORPUS is for text/html outputs,
MARKDOWN_CORPUS for markdown (cells and text/markdown outputs), and
hostile_outputs() / hostile_notebook_cells() use every other kind of output and cell.
"""
import json

import nbformat


def js(n):
    return f"console.log(/PWNED{n}/.source);fetch(/pwned{n}/.source);top.__pwned={n}"


def entities(text, hexadecimal=False):
    return "".join(f"&#x{ord(c):x};" if hexadecimal else f"&#{ord(c)};" for c in text)


def _html(n):
    j = js(n)
    return [
        ("script", f"<script>{j}</script>"),
        ("script_upper", f"<SCRIPT>{j}</SCRIPT>"),
        ("script_module", f"<script type=module>{j}</script>"),
        ("script_split", f"<scr<script>ipt>{j}</script>"),
        ("script_unclosed", f"<script>{j}"),
        ("script_src", "<script src=pwned_src></script>"),
        ("img_onerror", f"<img src=x onerror={j}>"),
        ("img_onerror_case", f"<IMG SRC=x OnErRoR={j}>"),
        ("img_onerror_entities", f'<img src=x onerror="{entities(j)}">'),
        ("img_onerror_hex_entities", f'<img src=x onerror="{entities(j, True)}">'),
        ("img_onerror_slash", f"<img/src=x/onerror={j}>"),
        ("img_double_bracket", f"<<img src=x onerror={j}>"),
        ("img_quote_breakout", f'<img """><script>{j}</script>">'),
        ("svg_onload", f"<svg onload={j}></svg>"),
        ("svg_script", f"<svg><script>{j}</script></svg>"),
        ("svg_animate", f"<svg><animate onbegin={j} attributeName=x dur=1s></animate></svg>"),
        ("svg_set_href", f"<svg><a><set attributeName=href to=javascript:{j} /><text y=20>x</text></a></svg>"),
        ("a_javascript", f"<a class=pwnlink href=javascript:{j}>click</a>"),
        ("a_javascript_case", f"<a class=pwnlink href=JaVaScRiPt:{j}>click</a>"),
        ("a_javascript_tab", f'<a class=pwnlink href="jav&#x09;ascript:{j}">click</a>'),
        ("a_javascript_entities", f'<a class=pwnlink href="{entities("javascript:" + j)}">click</a>'),
        ("a_data_html", f'<a class=pwnlink href="data:text/html,<script>{j}</script>">click</a>'),
        ("iframe_srcdoc", f'<iframe srcdoc="&lt;script&gt;{j}&lt;/script&gt;"></iframe>'),
        ("iframe_javascript", f"<iframe src=javascript:{j}></iframe>"),
        ("iframe_data", f'<iframe src="data:text/html,<script>{j}</script>"></iframe>'),
        ("object_data", f'<object data="data:text/html,<script>{j}</script>"></object>'),
        ("embed_src", f"<embed src=javascript:{j}>"),
        ("meta_refresh", f'<meta http-equiv=refresh content="0;url=javascript:{j}">'),
        ("base_href", "<base href=http://127.0.0.1:9/pwned_base/>"),
        ("link_stylesheet", "<link rel=stylesheet href=pwned_css>"),
        ("form_action", f"<form action=javascript:{j}><button class=pwnlink>go</button></form>"),
        ("button_formaction", f"<button class=pwnlink formaction=javascript:{j}>go</button>"),
        ("css_url", '<div style="background-image:url(pwned_css_url)">x</div>'),
        ("css_shorthand_url", '<div style="background:url(pwned_css_bg)">x</div>'),
        ("css_expression", f'<div style="width:expression({j})">x</div>'),
        ("css_escaped_url", r'<div style="background-image:\75rl(pwned_css_esc)">x</div>'),
        ("style_import", "<style>@import url(pwned_import);</style>"),
        ("style_attr_selector", '<style>*{background:url(pwned_style)}</style>'),
        ("body_onload", f"<body onload={j}>"),
        ("details_ontoggle", f"<details open ontoggle={j}><summary>s</summary></details>"),
        ("input_onfocus", f"<input autofocus onfocus={j}>"),
        ("video_source_onerror", f"<video><source onerror={j}></video>"),
        ("audio_onerror", f"<audio src=x onerror={j}></audio>"),
        ("marquee_onstart", f"<marquee onstart={j}>x</marquee>"),
        ("noscript_mxss", f'<noscript><p title="</noscript><img src=x onerror={j}>"></noscript>'),
        ("math_mxss", f"<math><mtext><table><mglyph><style><img src=x onerror={j}>"),
        ("svg_style_mxss", f'<svg></p><style><a id="</style><img src=1 onerror={j}>">'),
        ("template_script", f"<template><script>{j}</script></template>"),
        ("comment_breakout", f"<!--><img src=x onerror={j}>-->"),
        ("cdata", f"<![CDATA[><img src=x onerror={j}>]]>"),
        ("img_srcset", "<img srcset=pwned_srcset>"),
        ("img_data_svg_plain", f'<img src="data:image/svg+xml,<svg onload={j}>">'),
        ("xml_namespace", f'<html xmlns:x="http://www.w3.org/1999/xhtml"><x:script>{j}</x:script></html>'),
        ("nested_table", f"<table><tr><td><img src=x onerror={j}></td></tr></table>"),
        ("textarea_breakout", f"<textarea></textarea><img src=x onerror={j}>"),
    ]


HTML_CORPUS = _html(1)


def _markdown(n):
    j = js(n)
    return [
        ("md_script", f"Some text.\n\n<script>{j}</script>"),
        ("md_img_onerror", f"Inline <img src=x onerror={j}> here."),
        ("md_img_onerror_quoted", f'Inline <img src="x" onerror="{j}"> here.'),
        ("md_html_in_table", f'| a |\n|---|\n| <img src="x" onerror="{j}"> |'),
        ("md_link_javascript", f"[click](javascript:{j})"),
        ("md_link_javascript_entity", f"[click](javascript&#58;{j})"),
        ("md_reference_javascript", f"[click][r]\n\n[r]: javascript:{j}"),
        ("md_image_javascript", f"![x](javascript:{j})"),
        ("md_html_link", f'<a href="javascript:{j}">click</a>'),
        ("md_svg", f"<svg onload={j}></svg>"),
        ("md_iframe", f'<iframe srcdoc="&lt;script&gt;{j}&lt;/script&gt;"></iframe>'),
        ("md_in_table", f"| a |\n|---|\n| <img src=x onerror={j}> |"),
        ("md_code_span_across_lines", f"x ` y\n`<img src=x onerror={j}>`"),
        ("md_block_html", f"<div>\n<img src=x onerror={j}>\n</div>"),
        ("md_math_text_script", f"$\\text{{<script>{j}</script>}}$"),
        ("md_math_href", f"$\\href{{javascript:{j}}}{{x}}$"),
        ("md_mermaid", f"```mermaid\ngraph TD; A-->B; click A callback \"{j}\"\n```"),
        ("md_comment", f"<!-- --><img src=x onerror={j}> -->"),
    ]


MARKDOWN_CORPUS = _markdown(2)


def widget_state(n):
    """Widget state whose HTML widget would put an <img onerror> into the page, were a widget manager loaded."""
    return {"application/vnd.jupyter.widget-state+json": {
        "version_major": 2, "version_minor": 0,
        "state": {"pwned": {"model_name": "HTMLModel", "model_module": "@jupyter-widgets/controls",
                            "model_module_version": "2.0.0",
                            "state": {"value": f"<img src=x onerror={js(n)}>"}}}}}


def hostile_outputs(n=3):
    """Outputs of every kind but text/html, each running js(n) if a viewer lets it."""
    j = js(n)
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" onload="{j}"><script>{j}</script><circle r="5"/></svg>'
    outputs = [
        {"output_type": "display_data", "data": {"application/javascript": j, "text/plain": "<js>"}, "metadata": {}},
        {"output_type": "display_data", "data": {"text/javascript": j}, "metadata": {}},
        {"output_type": "display_data", "data": {"application/x-javascript": j}, "metadata": {}},
        {"output_type": "display_data", "data": {"application/vnd.jupyter.widget-view+json": {
            "version_major": 2, "version_minor": 0, "model_id": "pwned"}, "text/plain": "HTML(value=...)"},
         "metadata": {}},
        {"output_type": "display_data", "data": {"image/svg+xml": svg}, "metadata": {}},
        {"output_type": "display_data", "data": {"text/markdown": f"<img src=x onerror={j}>"}, "metadata": {}},
        {"output_type": "display_data", "data": {"text/markdown": f"[click](javascript:{j})"}, "metadata": {}},
        {"output_type": "display_data", "data": {"text/html": "<b>isolated</b>"},
         "metadata": {"text/html": {"isolated": True}}},
        {"output_type": "display_data", "data": {"image/png": f'"><script>{j}</script>'}, "metadata": {}},
        {"output_type": "display_data", "data": {"image/png": PNG},
         "metadata": {"image/png": {"width": f"1 onerror={j}", "height": 10},
                      "filenames": {"image/png": "pwned_file.png"}}},
        {"output_type": "display_data", "data": {"text/latex": f"$\\href{{javascript:{j}}}{{x}}$"}, "metadata": {}},
        {"output_type": "display_data", "data": {"application/vnd.vegalite.v5+json": {"$schema": "x"},
                                                 "application/pdf": "JVBERi0="}, "metadata": {}},
        {"output_type": "execute_result", "execution_count": f"1<img src=x onerror={j}>",
         "data": {"text/plain": "1"}, "metadata": {}},
        {"output_type": "update_display_data", "data": {"text/html": f"<script>{j}</script>"}, "metadata": {}},
        {"output_type": f"<script>{j}</script>", "text": "x"},
        {"output_type": "stream", "name": "stdout", "text": f"<script>{j}</script>\n"},
        {"output_type": "error", "ename": "E", "evalue": f"<img src=x onerror={j}>",
         "traceback": [f"<script>{j}</script>"]},
    ]
    return outputs


def hostile_notebook_cells(n=4):
    """Cells other than outputs: raw HTML cells, hostile tags and ids (templates put them into attributes)."""
    j = js(n)
    raw = nbformat.v4.new_raw_cell(f"<script>{j}</script><img src=x onerror={j}>")
    raw.metadata["raw_mimetype"] = "text/html"
    raw_untyped = nbformat.v4.new_raw_cell(f"<img src=x onerror={j}>")
    tagged = nbformat.v4.new_markdown_cell("Tagged cell.")
    tagged.metadata["tags"] = [f'x" onmouseover="{j}', "fine-tag"]
    attached = nbformat.v4.new_markdown_cell("![pic](attachment:pic.png) ![svg](attachment:bad.svg)")
    attached["attachments"] = {"pic.png": {"image/png": PNG},
                               "bad.svg": {"text/html": f"<script>{j}</script>"}}
    return [raw, raw_untyped, tagged, attached]


def hostile_notebook():
    """A notebook with every entry of the corpus: outputs of code cells, markdown cells, other cells."""
    cells = [nbformat.v4.new_markdown_cell(text) for _, text in MARKDOWN_CORPUS]
    html = [nbformat.from_dict({"output_type": "display_data", "data": {"text/html": text}, "metadata": {}})
            for _, text in HTML_CORPUS]
    cells.append(nbformat.v4.new_code_cell("show(html)", outputs=html))
    others = [nbformat.from_dict(o) for o in hostile_outputs()
              if o["output_type"] in ("display_data", "execute_result", "stream", "error")]
    for output in others:
        if output["output_type"] == "execute_result":
            output["execution_count"] = 3
    cells.append(nbformat.v4.new_code_cell("show(others)", outputs=others))
    cells += hostile_notebook_cells()
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["widgets"] = widget_state(4)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


# A 1x1 transparent PNG.
PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=")


def hostile_cell_code(port=None):
    """Source of learner code cells that display every hostile output through IPython.display.

    Returns a list of cell sources (each displays a few entries), to put after the tests
    of a submission: the grader runs them in its sandbox and keeps what they show.
    """
    html = json.dumps([text for _, text in HTML_CORPUS])
    markdown = json.dumps([text for _, text in MARKDOWN_CORPUS])
    outputs = json.dumps([o for o in hostile_outputs() if o["output_type"] == "display_data"])
    return [
        "from IPython.display import display, HTML\n"
        f"for text in {html}:\n    display(HTML(text))\n",
        "from IPython.display import display, Markdown\n"
        f"for text in {markdown}:\n    display(Markdown(text))\n",
        "from IPython.display import display\n"
        f"for output in {outputs}:\n    display(output['data'], raw=True, metadata=output['metadata'])\n",
        f"from IPython.display import Javascript, SVG, display\ndisplay(Javascript({js(5)!r}))\n"
        f"display(SVG('<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"{js(5)}\"><circle r=\"5\"/></svg>'))\n",
        f"from IPython.display import HTML\nHTML({('<img src=x onerror=' + js(6) + '>')!r})\n",
    ]
