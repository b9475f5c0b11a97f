"""Make what a learner's notebook shows inert: no viewer of it can run the learner's script.

    make_notebook_inert(nb)       every cell, in place: code cells' outputs, markdown and raw sources
    inert_outputs(outputs)        a code cell's outputs (nbformat dicts) -> outputs that run nothing

The autograded notebook is opened in an instructor's browser (formgrader's grading
view, an iframe allowed to run scripts in the Jupyter server's origin) and the
feedback page is opened by the learner and the instructor. Everything there comes
from the learner's kernel or the learner's markdown, so it is untrusted.

Everything here is an allow-list, by kind, never a list of known attacks:

- outputs: only stream, error, display_data and execute_result, with only their
  own fields, of the right types;
- mime types: text/plain, text/latex and application/json are kept as data;
  PNG, JPEG, GIF and WebP only when they are base64; text/html is rebuilt by nh3
  (a maintained sanitizer) from an allow-list of formatting tags and attributes;
  image/svg+xml becomes an <img> of it (an SVG shown as an image runs no script
  and loads nothing); text/markdown is kept only if the HTML that nbconvert makes
  of it passes `allowed_markup`, else it becomes sanitized HTML. Every other type
  (application/javascript, widget views, vendor types, ...) is removed, and the
  output says so in text/plain;
- output metadata: only an image's width, height, unconfined and alt, of the
  right types ("isolated", "filenames" and the rest are dropped);
- markdown cells are kept only if nbconvert's rendering of them passes
  `allowed_markup` (the tags markdown itself makes, links and images to safe
  URLs); otherwise the learner's text is shown as a code block. Their attachments
  are kept only as base64 images;
- raw cells that an HTML exporter would paste into the page are sanitized;
- cell tags and ids that templates put into attributes are checked; the
  notebook's widget state is dropped (nbconvert would load a widget manager to
  render it) and its title must be text.

`allowed_markup` accepts markup only if every "<" in it starts a simple, lowercase,
double-quoted tag from the allow-list, so no browser can parse anything else out of it.
"""
import base64
import binascii
import html as html_module
import re

import nbformat
import nh3

# --- what is allowed ------------------------------------------------------------------

RASTER = ("image/png", "image/jpeg", "image/gif", "image/webp")
KEPT_AS_DATA = ("text/plain", "application/json")
TEXT_LIMIT = 256 * 1024     # characters of markdown checked by rendering it; longer markdown is shown as text

HTML_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd", "del",
    "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span",
    "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
    "var", "wbr",
}
HTML_ATTRIBUTES = {
    "*": {"title", "lang", "dir", "style"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "align", "valign"},
    "th": {"colspan", "rowspan", "align", "valign", "scope"},
    "table": {"border", "cellpadding", "cellspacing"},
    "ol": {"start", "type"},
    "col": {"span"},
    "colgroup": {"span"},
}
# Removed with everything inside them (the rest of a tag not allowed is removed, its text kept).
HTML_DROPPED_WITH_CONTENT = {
    "script", "style", "template", "iframe", "frame", "frameset", "object", "embed", "applet", "noscript",
    "noembed", "noframes", "xmp", "plaintext", "textarea", "title", "svg", "math", "select", "head",
}
CSS_PROPERTIES = {
    "color", "background-color", "text-align", "vertical-align", "font-weight", "font-style",
    "text-decoration", "white-space", "border", "border-collapse", "border-spacing", "padding",
    "padding-left", "padding-right", "padding-top", "padding-bottom", "margin-left", "margin-right",
    "width", "min-width", "max-width",
}
_CSS_LOADS = re.compile(r"url\s*\(|image|expression|\\|@|/\*|javascript", re.I)

_IMAGE_DATA_URL = re.compile(r"data:image/(png|jpeg|gif|webp|svg\+xml);base64,[A-Za-z0-9+/]*={0,2}", re.I)
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):", re.I)
_CONTROL = re.compile(r"[\x00-\x20\x7f]+")
# MathJax macros that make links, set attributes or styles, or load code.
_MATH_ACTIVE = re.compile(r"\\(?:href|url|class|cssId|style|require|html|data|unicode|mmlToken)(?![A-Za-z])")

_CODE = re.compile(r"<pre>.*?</pre>|<code>.*?</code>", re.S)
_TAG = re.compile(r'<(/?)([a-z][a-z0-9]*)((?:\s+[a-z][a-z0-9-]*(?:="[^"<>]*")?)*)\s*/?>')
_ATTRIBUTE = re.compile(r'\s+([a-z][a-z0-9-]*)(?:="([^"<>]*)")?')
_CELL_ID = re.compile(r"^[a-zA-Z0-9-_]{1,64}$")
_TAG_NAME = re.compile(r"^[\w.-]{1,100}$")


def _url(value, *, image):
    """Whether a URL (as an attribute value, entities decoded) is safe: http(s), mailto, relative, an image."""
    url = _CONTROL.sub("", html_module.unescape(value))
    scheme = _SCHEME.match(url)
    if scheme is None:
        return True                           # relative: this page's own server, nothing runs
    scheme = scheme.group(1).lower()
    if image:
        return scheme in ("http", "https") or _IMAGE_DATA_URL.fullmatch(url) is not None
    return scheme in ("http", "https", "mailto")


def _any(value):
    return True


def _text_align(value):
    return re.fullmatch(r"text-align:\s*(left|right|center)", value) is not None


def _class(*names):
    return lambda value: value in names


# What markdown rendered by nbconvert may contain: tag -> attribute -> check of its value.
MARKDOWN_MARKUP = {
    **{tag: {} for tag in ("p", "em", "strong", "code", "pre", "ul", "ol", "blockquote", "hr", "br", "del",
                           "table", "thead", "tbody", "tr", "dl", "dt", "dd", "sup", "sub")},
    **{f"h{n}": {"id": _any} for n in range(1, 7)},     # made by nbconvert from the heading's text
    "a": {"href": lambda v: _url(v, image=False), "title": _any, "class": _class("anchor-link")},
    "img": {"src": lambda v: _url(v, image=True), "alt": _any, "title": _any},
    "th": {"style": _text_align}, "td": {"style": _text_align},
    "ol": {"start": lambda v: v.isdigit()},
    "li": {"class": _class("task-list-item")},
    "input": {"class": _class("task-list-item-checkbox"), "type": _class("checkbox"), "disabled": _class(""),
              "checked": _class("")},
    "div": {"class": _class("highlight")},
    "span": {"class": lambda v: re.fullmatch(r"[a-z]{1,3}[0-9]?", v) is not None},
}

# What latex2mathml makes of math: MathML presentation elements, no links, no styles.
MATHML_MARKUP = {
    **{tag: {"mathvariant": _any, "stretchy": _any, "fence": _any, "separator": _any, "lspace": _any,
             "rspace": _any, "accent": _any, "accentunder": _any, "movablelimits": _any, "largeop": _any,
             "symmetric": _any, "minsize": _any, "maxsize": _any, "form": _any, "width": _any, "height": _any,
             "depth": _any, "linethickness": _any, "displaystyle": _any, "scriptlevel": _any,
             "columnalign": _any, "rowalign": _any, "columnspacing": _any, "rowspacing": _any,
             "columnlines": _any, "rowlines": _any, "frame": _any, "notation": _any, "align": _any,
             "numalign": _any, "denomalign": _any, "bevelled": _any, "voffset": _any, "open": _any,
             "close": _any, "separators": _any}
       for tag in ("mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msub", "msup", "msubsup", "mfrac",
                   "msqrt", "mroot", "mtable", "mtr", "mtd", "munder", "mover", "munderover", "mstyle",
                   "mpadded", "mphantom", "menclose", "mfenced", "mmultiscripts", "mprescripts", "none",
                   "semantics")},
    "math": {"xmlns": _class("http://www.w3.org/1998/Math/MathML"), "display": _class("inline", "block")},
}


# --- checks and cleaning --------------------------------------------------------------

def allowed_markup(markup, allowed):
    """True if every '<' in `markup` starts a simple tag that `allowed` (tag -> attribute -> check) accepts.

    Only lowercase tags with double-quoted values that hold no '<', '>' or '"' count:
    anything else, comments and declarations included, is refused, so a browser
    cannot find any other element in the markup than those checked here.
    """
    position = 0
    while True:
        start = markup.find("<", position)
        if start < 0:
            return True
        tag = _TAG.match(markup, start)
        if tag is None or tag.group(2) not in allowed:
            return False
        checks = allowed[tag.group(2)]
        for name, value in _ATTRIBUTE.findall(tag.group(3)):
            if tag.group(1) or name not in checks or not checks[name](value):
                return False
        position = tag.end()


def _filter_attribute(tag, attribute, value):
    if attribute == "style":
        return None if _CSS_LOADS.search(value) else value
    if attribute == "href":
        return value if _url(html_module.escape(value), image=False) else None
    if attribute == "src":
        return value if _url(html_module.escape(value), image=True) else None
    return value


def clean_html(markup):
    """Learner HTML rebuilt from the allow-list: formatting, tables, links and images to safe URLs."""
    return nh3.clean(markup, tags=HTML_TAGS, attributes=HTML_ATTRIBUTES,
                     clean_content_tags=HTML_DROPPED_WITH_CONTENT, attribute_filter=_filter_attribute,
                     url_schemes={"http", "https", "mailto", "data"}, strip_comments=True,
                     filter_style_properties=CSS_PROPERTIES, link_rel="noopener noreferrer nofollow")


def mathml(markup):
    """`markup` if it is MathML from the allow-list (no links, no styles, no other element), else None."""
    return markup if allowed_markup(markup, MATHML_MARKUP) else None


def _render_markdown(text, attachments=None):
    """The HTML nbconvert makes of markdown, as the feedback page and formgrader render it; None if it fails."""
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
    try:
        return MarkdownWithMath(renderer=IPythonRenderer(escape=False, attachments=attachments or {})).render(text)
    except Exception:
        return None


def markdown_is_inert(text, attachments=None):
    """Whether nbconvert renders this markdown to nothing but markdown's own markup, with safe URLs."""
    if len(text) > TEXT_LIMIT:
        return False
    rendered = _render_markdown(text, attachments)
    if rendered is None or not allowed_markup(rendered, MARKDOWN_MARKUP):
        return False
    # MathJax reads the page's text (entities decoded), and skips code.
    return not _MATH_ACTIVE.search(html_module.unescape(_CODE.sub("", rendered)))


def as_code_block(text, why):
    """Markdown that shows `text` verbatim (a fence longer than any run of backticks in it)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"*{why}*\n\n{fence}\n{text}\n{fence}\n"


def _text(value):
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(part, str) for part in value):
        return "".join(value)
    return None


def _base64(value):
    """The value without whitespace if it is base64 (what templates paste into data: URLs), else None."""
    text = _text(value)
    if text is None:
        return None
    compact = re.sub(r"[ \t\r\n]", "", text)
    try:
        base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None
    return compact


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 100_000


# --- outputs --------------------------------------------------------------------------

def removed_note(kinds):
    return f"[Removed from this output, as it could run script in a viewer: {', '.join(sorted(kinds))}]"


def inert_bundle(data):
    """A mime bundle (mime type -> value) -> (the bundle made inert, the mime types removed)."""
    if not isinstance(data, dict):
        return {"text/plain": removed_note(["malformed output data"])}, ["malformed output data"]
    kept, removed = {}, []
    for mime, value in data.items():
        text = _text(value)
        if mime == "text/plain" and text is not None:
            kept[mime] = text
        elif mime == "application/json" and isinstance(value, (dict, list)):
            kept[mime] = value
        elif mime == "text/latex" and text is not None and not _MATH_ACTIVE.search(text):
            kept[mime] = text
        elif mime in RASTER and _base64(value) is not None:
            kept[mime] = _base64(value)
        elif mime == "text/html" and text is not None:
            kept[mime] = clean_html(text)
        elif mime == "text/markdown" and text is not None and markdown_is_inert(text):
            kept[mime] = text
        elif mime == "text/markdown" and text is not None and len(text) <= TEXT_LIMIT:
            rendered = _render_markdown(text)
            if rendered is not None and "text/html" not in data:
                kept["text/html"] = clean_html(rendered)
            else:
                removed.append(mime)
        elif mime == "image/svg+xml" and text is not None:
            if "text/html" not in data:
                encoded = base64.b64encode(text.encode("utf-8", "replace")).decode("ascii")
                kept["text/html"] = f'<img src="data:image/svg+xml;base64,{encoded}" alt="SVG image">'
        else:
            removed.append(str(mime)[:100])
    if removed and "text/plain" not in kept:
        kept["text/plain"] = removed_note(removed)
    return kept, removed


def inert_metadata(metadata, kept):
    """Output metadata keeps only an image's size and alt text, for the image types kept."""
    clean = {}
    if not isinstance(metadata, dict):
        return clean
    if metadata.get("needs_background") in ("light", "dark"):
        clean["needs_background"] = metadata["needs_background"]
    for mime in RASTER:
        entry = metadata.get(mime)
        if mime not in kept or not isinstance(entry, dict):
            continue
        image = {key: entry[key] for key in ("width", "height") if _number(entry.get(key))}
        if isinstance(entry.get("unconfined"), bool):
            image["unconfined"] = entry["unconfined"]
        if isinstance(entry.get("alt"), str):
            image["alt"] = entry["alt"][:1000]
        if image:
            clean[mime] = image
    return clean


def _stream_note(text):
    return nbformat.from_dict({"output_type": "stream", "name": "stdout", "text": text + "\n"})


def inert_output(output):
    """One output (an nbformat dict) -> an output of the same kind that runs nothing in any viewer."""
    kind = output.get("output_type") if isinstance(output, dict) else None
    if kind == "stream":
        text = _text(output.get("text"))
        name = output.get("name") if output.get("name") in ("stdout", "stderr") else "stdout"
        return nbformat.from_dict({"output_type": "stream", "name": name, "text": text or ""})
    if kind == "error":
        traceback = output.get("traceback")
        lines = [line for line in traceback if isinstance(line, str)] if isinstance(traceback, list) else []
        return nbformat.from_dict({"output_type": "error", "ename": str(_text(output.get("ename")) or ""),
                                   "evalue": str(_text(output.get("evalue")) or ""), "traceback": lines})
    if kind in ("display_data", "execute_result"):
        data, _ = inert_bundle(output.get("data"))
        clean = {"output_type": kind, "data": data, "metadata": inert_metadata(output.get("metadata"), data)}
        if kind == "execute_result":
            count = output.get("execution_count")
            clean["execution_count"] = count if isinstance(count, int) and not isinstance(count, bool) else None
        return nbformat.from_dict(clean)
    return _stream_note(removed_note([f"an output of kind {str(kind)[:100]!r}"]))


def inert_outputs(outputs):
    """A code cell's outputs (untrusted nbformat dicts) -> new outputs that cannot run script in any viewer."""
    if not isinstance(outputs, list):
        return [_stream_note(removed_note(["malformed outputs"]))]
    return [inert_output(output) for output in outputs]


# --- cells and the notebook -----------------------------------------------------------

def inert_attachments(attachments):
    """A markdown cell's attachments: base64 images only (nbconvert pastes them into data: URLs)."""
    if not isinstance(attachments, dict):
        return {}
    kept = {}
    for name, bundle in attachments.items():
        if isinstance(name, str) and isinstance(bundle, dict):
            images = {mime: _base64(value) for mime, value in bundle.items()
                      if mime in RASTER + ("image/svg+xml",) and _base64(value) is not None}
            if images:
                kept[name] = images
    return kept


MARKDOWN_NOTE = "This cell held HTML, a link or math that could run script in a viewer, so it is shown as text."


def inert_markdown(source, attachments=None):
    """Markdown source -> itself if it renders inert, else the same text shown as a code block."""
    text = _text(source)
    if text is None:
        return as_code_block(str(source)[:TEXT_LIMIT], MARKDOWN_NOTE)
    return text if markdown_is_inert(text, attachments) else as_code_block(text, MARKDOWN_NOTE)


def _inert_cell_metadata(cell):
    metadata = cell.get("metadata")
    if not isinstance(metadata, dict):
        cell["metadata"] = metadata = nbformat.NotebookNode()
    tags = metadata.get("tags")
    if tags is not None:
        metadata["tags"] = [t for t in tags if isinstance(t, str) and _TAG_NAME.match(t)] \
            if isinstance(tags, list) else []
    for key in ("collapsed", "scrolled"):
        if key in metadata and not isinstance(metadata[key], (bool, str)):
            del metadata[key]
    if "id" in cell and not (isinstance(cell["id"], str) and _CELL_ID.match(cell["id"])):
        from nbformat.corpus.words import generate_corpus_id
        cell["id"] = generate_corpus_id()


def make_notebook_inert(nb):
    """Every cell of a notebook (nbformat v4), in place: outputs, markdown and raw sources, metadata.

    Returns `nb`. Code sources are left alone: every template shows them as
    highlighted, escaped text.
    """
    for cell in nb.get("cells", []):
        kind = cell.get("cell_type")
        _inert_cell_metadata(cell)
        if kind == "code":
            cell["outputs"] = inert_outputs(cell.get("outputs", []))
            count = cell.get("execution_count")
            if not (count is None or isinstance(count, int) and not isinstance(count, bool)):
                cell["execution_count"] = None
        elif kind == "markdown":
            if "attachments" in cell:
                cell["attachments"] = inert_attachments(cell["attachments"])
            cell["source"] = inert_markdown(cell.get("source", ""), cell.get("attachments"))
        elif kind == "raw":
            source = _text(cell.get("source")) or ""
            cell["source"] = clean_html(source) if "<" in source else source
            cell.pop("attachments", None)
    metadata = nb.get("metadata")
    if isinstance(metadata, dict):
        metadata.pop("widgets", None)
        if "title" in metadata and not isinstance(metadata["title"], str):
            del metadata["title"]
    return nb
