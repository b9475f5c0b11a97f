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
