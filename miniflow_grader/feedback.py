"""What the feedback page says besides the grades: why a late penalty was taken.

nbgrader's feedback page shows a late penalty as one line of its table of
contents ("Late submission penalty (Score: -1.3)"). `LateNote`, run by
`nbgrader generate_feedback` after GetGrades (nbgrader_config.py), puts the
reason above the notebook: when it was handed in, the due date (with the
learner's extension), how late that is, the course's late policy in words (the
first line of the late-submission plugin's description), the penalty and the
score before and after it.

It also makes the page show the learner's text as text (`shown_as_text`):
every control, format and separator character in a cell's source or an
output (BEL, C1 controls, NEL, U+2028, the bidirectional overrides and
isolates) is written as its escape, so the code a learner reads back is the
code that ran. Only a terminal colour sequence (ESC [ ... m) stays: the page
turns it into coloured text, as it does for a traceback.
"""
import html
import re

import nbformat
from nbconvert.preprocessors import Preprocessor
from nbgrader.api import Gradebook, MissingEntry
from traitlets import Bool

from .config import late_policy_text
from .shown import visible

COLOUR = re.compile(r"(\x1b\[[0-9;]*m)")       # what nbconvert's ansi2html renders as a coloured span


def _text(value, keep="\n\t"):
    """A string of the notebook, shown as text (its colour sequences kept for the page to render)."""
    if isinstance(value, list):
        return [_text(v, keep) for v in value]
    if not isinstance(value, str):
        return value
    return "".join(part if COLOUR.fullmatch(part) else visible(part, keep) for part in COLOUR.split(value))


def shown_as_text(nb):
    """`nb` with every cell's source and every output's text made visible (shown.visible), in place."""
    for cell in nb.cells:
        cell.source = _text(cell.get("source", ""))
        for output in cell.get("outputs", []):
            if "text" in output:
                output.text = _text(output.text)
            for key in ("ename", "evalue"):
                if key in output:
                    output[key] = _text(output[key], keep="")
            if "traceback" in output:
                output.traceback = _text(output.traceback)
            for mime, value in output.get("data", {}).items():
                if isinstance(value, (str, list)):          # text, HTML, SVG; base64 images are left as they are
                    output.data[mime] = _text(value)
    return nb


def how_long(seconds):
    """`seconds` in words: '1 day 2 hours 5 minutes', '40 seconds'."""
    seconds = int(round(seconds))
    parts = []
    for name, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {name}{'s' if count != 1 else ''}")
    if seconds or not parts:
        parts.append(f"{seconds} second{'s' if seconds != 1 else ''}")
    return " ".join(parts[:3])


def _when(moment):
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment is not None else "an unknown time"


def late_note(submission, penalty, score, max_score, policy):
    """The note's text (markdown) for a late submission, or None for one on time."""
    late = submission.total_seconds_late
    if not late or late <= 0:
        return None
    extension = submission.extension
    due = _when(submission.duedate) + (f", with an extension of {how_long(extension.total_seconds())}"
                                       if extension else "")
    text = (f"**Handed in late.** Submitted {_when(submission.timestamp)}, {how_long(late)} after the due date "
            f"({due}).")
    if policy:
        text += f" Late policy: {html.escape(policy)}."
    if penalty:
        text += (f" Penalty: {penalty:g} points, so this notebook scores {score:g} of {max_score:g} "
                 f"({score + penalty:g} before the penalty).")
    else:
        text += " No points were taken for it."
    return text


class LateNote(Preprocessor):
    """After GetGrades: a note at the top of a late submission's feedback page saying why points were taken."""

    enabled = Bool(True)     # a preprocessor that GenerateFeedback registers runs only if enabled

    def preprocess(self, nb, resources):
        shown_as_text(nb)
        info = resources.get("nbgrader", {})
        try:
            with Gradebook(info["db_url"]) as gb:
                submission = gb.find_submission(info["assignment"], info["student"])
                text = late_note(submission, float(info.get("late_penalty") or 0), float(info.get("score") or 0),
                                 float(info.get("max_score") or 0), late_policy_text(self.config))
        except (KeyError, MissingEntry):
            return nb, resources
        if text:
            nb.cells.insert(0, nbformat.v4.new_markdown_cell(text, metadata={"tags": ["late-submission"]}))
        return nb, resources
