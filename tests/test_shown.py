"""Learner text shown as text: every character that could hide, reorder or run something is written as its escape."""
import csv
import io

import pytest

from miniflow_grader.shown import csv_cell, html_text, one_line, visible


@pytest.mark.parametrize("char, escape", [
    ("\x1b", "\\x1b"), ("\x07", "\\x07"), ("\x00", "\\x00"), ("\x7f", "\\x7f"), ("\x85", "\\x85"), ("\x9b", "\\x9b"),
    ("\u202e", "\\u202e"), ("\u2066", "\\u2066"), ("\u200b", "\\u200b"), ("\u2028", "\\u2028"), ("\ufeff", "\\ufeff"),
    ("\U000e0041", "\\U000e0041"), ("\r", "\\x0d"),
])
def test_invisible_and_reordering_characters_become_escapes(char, escape):
    assert visible(f"a{char}b") == f"a{escape}b"
    assert html_text(f"a{char}b") == f"a{escape}b"


def test_html_is_escaped_and_ordinary_text_kept():
    assert html_text('José <b>"x"</b> & \'y\'\n\tz') == "José &lt;b&gt;&quot;x&quot;&lt;/b&gt; &amp; &#x27;y&#x27;\n\tz"


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"])
def test_a_csv_cell_is_never_a_formula(text):
    cell = csv_cell(text)
    assert cell.startswith(("'", "\\x09", "\\x0d"))          # quoted, or its tab or CR written as an escape
    written = io.StringIO()
    csv.writer(written).writerow([cell])
    assert next(csv.reader(io.StringIO(written.getvalue()))) == [cell]


def test_a_csv_cell_is_one_line_and_plain_ids_are_untouched():
    assert csv_cell("ivan petrov") == "ivan petrov" and csv_cell("José Müller") == "José Müller"
    assert csv_cell("a\nb") == "a\\x0ab"
    assert one_line("x" * 10, limit=5) == "xxxx…"


def test_a_feedback_notebook_shows_sources_and_outputs_as_text_keeping_only_colours():
    import nbformat

    from miniflow_grader.feedback import shown_as_text

    hostile = "\x1b[2J\x07\x9b\x85\u2028\u202e\u2066\u200f"
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell(f"# {hostile}"),
        nbformat.v4.new_code_cell(f"x = 1  # {hostile}", outputs=[
            nbformat.v4.new_output("stream", name="stderr", text=f"\x1b[31mred\x1b[0m {hostile}"),
            nbformat.v4.new_output("display_data", data={"text/plain": hostile, "text/html": [hostile],
                                                         "image/png": "iVBORw0KGgo="}),
            nbformat.v4.new_output("error", ename=f"E{hostile}", evalue=hostile,
                                   traceback=[f"\x1b[0;31mValueError\x1b[0m: {hostile}"]),
        ])])
    shown_as_text(nb)
    nbformat.validate(nb)

    def strings(value):
        if isinstance(value, dict):
            return [s for v in value.values() for s in strings(v)]
        if isinstance(value, list):
            return [s for v in value for s in strings(v)]
        return [value] if isinstance(value, str) else []

    import re
    left = re.sub(r"\x1b\[[0-9;]*m", "", "".join(strings(nb)))   # colours stay: the page renders them as spans
    hidden = set(hostile) - set("[2J")
    assert not hidden & set(left), sorted(hidden & set(left))
    stream, display, error = nb.cells[1].outputs
    assert stream.text.startswith("\x1b[31mred\x1b[0m ") and "\\x1b[2J\\x07\\x9b\\x85\\u2028\\u202e" in stream.text
    assert error.traceback[0].startswith("\x1b[0;31mValueError\x1b[0m: \\x1b[2J")
    assert display.data["image/png"] == "iVBORw0KGgo=" and display.data["text/html"] == [visible(hostile)]
    assert nb.cells[0].source == "# " + visible(hostile)
