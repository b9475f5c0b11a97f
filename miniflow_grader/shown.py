"""Learner text (ids, names, messages, code) made safe to show: in HTML, in CSV, in a terminal.

Whatever a learner wrote is shown as the characters it is made of, never as
something else: `visible` writes every control, format and separator character
(ESC, BEL, NUL, C1 controls, NEL, U+2028, the bidirectional overrides and
isolates such as U+202E, zero-width characters) as its escape, `\\x1b` or
`\\u202e`, so it can neither move the cursor, colour a terminal, nor reorder
what follows it; `html_text` escapes that for HTML; `csv_cell` also stops a
spreadsheet from reading the cell as a formula.
"""
import html
import unicodedata

# categories written as escapes: controls, format characters (bidi marks, zero-width), surrogates,
# private use, unassigned, line and paragraph separators
HIDDEN = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _escape(char):
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def visible(text, keep="\n"):
    """`text` with every invisible or reordering character written as its escape (those in `keep` stay)."""
    text = str(text)
    return "".join(c if c in keep or unicodedata.category(c) not in HIDDEN else _escape(c) for c in text)


def html_text(text, keep="\n\t"):
    """`text` for an HTML page: control and bidi characters made visible, then escaped (quotes too)."""
    return html.escape(visible(text, keep), quote=True)


def csv_cell(text):
    """`text` for a CSV cell: on one line, its invisible characters made visible, never read as a formula."""
    text = visible(text, keep="")
    if text.startswith(FORMULA_STARTS):
        text = "'" + text
    return text


def one_line(text, limit=None):
    """`text` on one line (for a terminal or a log), invisible characters made visible, cut at `limit`."""
    text = visible(text, keep="")
    if limit is not None and len(text) > limit:
        text = text[:limit - 1] + "…"
    return text
