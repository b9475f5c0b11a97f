"""The instructor's report on one graded assignment: what to act on, learner by learner and part by part.

    python -m miniflow_grader.report ASSIGNMENT [--db URL] [--course-dir DIR] [--similarity 0.8]

Writes reports/ASSIGNMENT/ in the course directory:
- index.html: every learner's final score (raw score, late penalty and why,
  final, as `nbgrader export` computes it), a learner x part table, the most
  common failures by the first line of their message (hidden tests' failures
  grouped across their random inputs), the submissions that hit a limit or were
  refused, learners whose solution code is nearly the same (similarity.py) with
  the lines they share side by side, and the distribution plots;
- parts.csv: the same learner x part table with the three scores, for a spreadsheet;
- scores.png (the distribution of final scores) and parts.png (each part's pass rate).

Everything a learner wrote (ids, messages, code) is shown as text: escaped,
its control and bidirectional characters made visible (shown.py), and in
the CSV never read as a formula.
"""
import argparse
import csv
import json
import os
import re
import sys
from collections import Counter
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory

from . import similarity
from .nbgrader_steps import load_config
from .records import Records
from .shown import csv_cell, html_text

LIMIT_NAMES = {
    "timeout": "time limit", "memory": "memory limit", "processes": "process limit",
    "output": "output limit", "sandbox_violation": "sandbox violation", "kernel_died": "kernel died",
    "sandbox": "sandbox stopped", "unreadable": "unreadable notebook", "missing": "missing notebook",
    "grader_error": "grader error", "refused": "submission refused",
    "infrastructure": "infrastructure problem",
}
HIDDEN_PREFIX = "Hidden test failed: "
HEADLINE_LIMIT = 300
NOTEBOOK_LIMIT = 64 * 1024 ** 2      # bytes of an autograded notebook read for the similarity check


# --- failure messages ----------------------------------------------------------------------

NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?!\w)|\b(?:nan|inf)\b")
ARRAY = re.compile(r"\[(?:[\s,…]|\.\.\.)*\]")
TUPLE = re.compile(r"\((?:[\s,…])*…(?:[\s,…])*\)")
RUN = re.compile(r"…(?:\s*,\s*…)+")


def first_line(message):
    """The first line of `message` as written, before it was wrapped: its continuation lines joined back."""
    lines = str(message).strip().splitlines()
    if not lines:
        return ""
    indent = len(lines[0]) - len(lines[0].lstrip())
    joined = [lines[0].strip()]
    for line in lines[1:]:
        if not line.strip() or len(line) - len(line.lstrip()) < indent + 4:   # wrap() continues 4 deeper
            break
        joined.append(line.strip())
    return " ".join(joined)


def without_numbers(text):
    """`text` with every number, and every array or tuple of numbers, written as …: what stays is the failure."""
    text = NUMBER.sub("…", text)
    while True:
        shorter = RUN.sub("…", TUPLE.sub("(…)", ARRAY.sub("…", text)))
        if shorter == text:
            return text
        text = shorter


def headline(message):
    """(the failure's first line, what groups it): a hidden test's random inputs do not make a new failure."""
    line = first_line(message)
    if line.startswith(HIDDEN_PREFIX):
        line = line[len(HIDDEN_PREFIX):]
    key = without_numbers(line)
    shown = line if len(line) <= HEADLINE_LIMIT else key
    if len(shown) > HEADLINE_LIMIT:
        shown = shown[:HEADLINE_LIMIT - 1] + "…"
    return shown or "wrong result", key


def failure_groups(infos):
    """[{part, hidden, headline, learners, messages}] from each learner's recorded parts, most common first."""
    groups = {}
    for student, info in sorted(infos.items()):
        for grade_id, part in sorted(info.get("parts", {}).items()):
            if not isinstance(part, dict) or part.get("passed") or not part.get("message"):
                continue
            message = str(part["message"])
            shown, key = headline(message)
            hidden = message.startswith(HIDDEN_PREFIX)
            group = groups.setdefault((grade_id, key), {"part": grade_id, "hidden": hidden, "headline": shown,
                                                        "learners": [], "messages": Counter()})
            group["learners"].append(student)
            group["messages"][message] += 1
    return sorted(groups.values(), key=lambda g: (-len(g["learners"]), g["part"], g["headline"]))


# --- what the gradebook and the grader recorded -------------------------------------------------

def _late_reason(submission):
    seconds = submission.total_seconds_late or 0
    if seconds <= 0:
        return ""
    hours, rest = divmod(int(round(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    late = " ".join(f"{v} {u}" for v, u in ((hours, "h"), (minutes, "min"), (secs, "s")) if v) or "0 s"
    extension = f" (with an extension of {submission.extension})" if submission.extension else ""
    return f"handed in {late} after the due date{extension}"


def _source_order(coursedir, assignment):
    """[(notebook, [grade ids of its graded cells], [grade ids of its solution cells], {id: released source})]."""
    found = []
    folder = Path(coursedir.format_path(coursedir.source_directory, ".", assignment))
    for path in sorted(folder.glob("*.ipynb")) if folder.is_dir() else []:
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception:
            continue
        graded, solutions = [], []
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and meta.get("grade_id"):
                graded.append(meta["grade_id"])
            if meta.get("solution") and meta.get("grade_id"):
                solutions.append(meta["grade_id"])
        found.append((path.stem, graded, solutions))
    return found


def _gradebook(gb, assignment, order):
    max_score = gb.find_assignment(assignment).max_score
    notebooks = {nb.name: nb for nb in gb.find_assignment(assignment).notebooks}
    parts, points, solutions, given = [], {}, {}, {}
    known = {name for name, _, _ in order}
    for name, graded, solution_ids in order + [(n, [], []) for n in sorted(notebooks) if n not in known]:
        notebook = notebooks.get(name)
        cells = {c.name: c for c in notebook.grade_cells} if notebook is not None else {}
        names = graded + sorted(set(cells) - set(graded))
        for grade_id in names:
            if grade_id in cells:
                parts.append((name, grade_id))
                points[(name, grade_id)] = cells[grade_id].max_score
        source_cells = {c.name: c for c in notebook.source_cells} if notebook is not None else {}
        ids = solution_ids or (sorted(c.name for c in notebook.solution_cells) if notebook is not None else [])
        solutions[name] = set(ids)
        given[name] = [source_cells[i].source or "" for i in ids if i in source_cells]
    learners = {}
    for student in gb.students:
        row = {"name": ", ".join(x for x in (student.last_name, student.first_name) if x), "scores": {}}
        try:
            submission = gb.find_submission(assignment, student.id)
        except MissingEntry:
            row.update(status="not handed in", raw=0.0, penalty=0.0, final=0.0, reason="", submitted=False)
            learners[student.id] = row
            continue
        raw = submission.score or 0.0
        penalty = submission.late_submission_penalty or 0.0
        row.update(status="graded", raw=raw, penalty=penalty, final=max(0.0, raw - penalty),
                   reason=_late_reason(submission), submitted=True)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                row["scores"][(notebook.name, grade.name)] = grade.score
                if grade.needs_manual_grade:
                    row["status"] = "needs manual grading"
        learners[student.id] = row
    return max_score, parts, points, solutions, given, learners


def collect(assignment, course_dir=".", db_url=None):
    config = load_config(course_dir, db_url)
    coursedir = CourseDirectory(config=config)
    db_url = coursedir.db_url
    order = _source_order(coursedir, assignment)
    with Gradebook(db_url, coursedir.course_id) as gb:
        max_score, parts, points, solutions, given, learners = _gradebook(gb, assignment, order)
    records = Records(db_url)
    try:
        rows = records.rows(assignment)
        unnamed = records.refused_ids(assignment)
    finally:
        records.close()
    infos, limits, notes, workers = {}, [], [], {}
    for row in rows:
        workers[row["student"]] = row["worker"] or ""
        try:
            info = json.loads(row["info"]) if row["info"] else {}
        except ValueError:
            info = {}
        infos[row["student"]] = info if isinstance(info, dict) else {}
        for hit in infos[row["student"]].get("limits", []):
            limits.append((row["student"], str(hit.get("kind", "")), str(hit.get("detail", ""))))
        for note in infos[row["student"]].get("notes", []):
            notes.append((row["student"], str(note.get("detail", ""))))
    for entry in unnamed:
        student = str(entry.get("student", ""))
        limits.append((student, "refused", str(entry.get("detail", ""))))
        learners.setdefault(student, {"name": "", "scores": {}, "status": "refused", "raw": 0.0, "penalty": 0.0,
                                      "final": 0.0, "reason": str(entry.get("detail", "")),
                                      "submitted": False})
    for student, info in infos.items():
        if student in learners and any(hit.get("kind") == "refused" for hit in info.get("limits", [])):
            learners[student]["status"] = "refused"
    pass_rates = {}
    for part in parts:
        got = [row["scores"][part] >= points[part] for row in learners.values()
               if row["scores"].get(part) is not None]
        if got:
            pass_rates[part[1]] = sum(got) / len(got)
    codes = _solution_codes(coursedir, assignment, learners, solutions)
    given_code = [code for name in sorted(given) for code in given[name]]
    return {"assignment": assignment, "max_score": max_score or 0, "learners": learners, "parts": parts,
            "points": points, "pass_rates": pass_rates, "failures": failure_groups(infos),
            "limits": sorted(limits), "notes": sorted(notes), "workers": workers, "codes": codes,
            "given": given_code, "root": coursedir.root,
            "scores": {s: row["final"] for s, row in learners.items() if row["submitted"]}}


def _read_notebook(path):
    """An autograded notebook (the grader wrote it from checked input), read without following links."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        if os.fstat(f.fileno()).st_size > NOTEBOOK_LIMIT:
            return None
        data = f.read()
    try:
        return nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception:
        return None


def _solution_codes(coursedir, assignment, learners, solutions):
    codes = {}
    for student, row in sorted(learners.items()):
        if row["status"] in ("not handed in", "refused") or not student or "/" in student \
                or student in (".", "..") or "\0" in student:
            continue
        parts = []
        for notebook, ids in sorted(solutions.items()):
            path = Path(coursedir.format_path(coursedir.autograded_directory, student, assignment)) / f"{notebook}.ipynb"
            nb = _read_notebook(path)
            if nb is not None:
                parts.append(similarity.solution_code(nb, ids))
        if parts:
            codes[student] = "\n\n".join(parts)
    return codes


# --- drawing it --------------------------------------------------------------------------

def _plots(data, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scores = sorted(data["scores"].values())
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=100)
    top = data["max_score"] or 1
    bins = [x - 0.5 for x in range(int(top) + 2)] if float(top).is_integer() and top <= 40 else 20
    ax.hist(scores, bins=bins, color="#4477aa", edgecolor="white")
    ax.set_xlabel(f"final score (out of {top:g})")
    ax.set_ylabel("learners")
    ax.set_title(f"{data['assignment']}: {len(scores)} submissions")
    fig.tight_layout()
    fig.savefig(out / "scores.png")
    plt.close(fig)

    names = list(data["pass_rates"])
    fig, ax = plt.subplots(figsize=(6, 0.45 * len(names) + 1.2), dpi=100)
    rates = [100 * data["pass_rates"][n] for n in names]
    ax.barh(names, rates, color="#228833")
    ax.set_xlim(0, 100)
    ax.invert_yaxis()
    ax.set_xlabel("submissions passing (%)")
    for y, rate in enumerate(rates):
        ax.text(min(rate + 1, 90), y, f"{rate:.0f}%", va="center")
    ax.set_title("pass rate of each graded part")
    fig.tight_layout()
    fig.savefig(out / "parts.png")
    plt.close(fig)


def _n(value):
    return "" if value is None else f"{round(float(value), 4):g}"


def write_csv(data, path):
    """parts.csv: one row per learner, the three scores and every part's points."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["learner", "status", "raw score", "late penalty", "final score", "why the penalty"]
                        + [grade_id for _, grade_id in data["parts"]])
        writer.writerow(["(points)", "", _n(data["max_score"]), "", _n(data["max_score"]), ""]
                        + [_n(data["points"][p]) for p in data["parts"]])
        for student, row in sorted(data["learners"].items()):
            writer.writerow([csv_cell(student), row["status"], _n(row["raw"]), _n(row["penalty"]), _n(row["final"]),
                             csv_cell(row["reason"])] + [_n(row["scores"].get(p)) for p in data["parts"]])


def _rows(cells_list, width, empty="none"):
    return "".join(cells_list) or f"<tr><td colspan={width}>{empty}</td></tr>"


def render(data, threshold=similarity.THRESHOLD):
    t = html_text
    learners = data["learners"]
    handed_in = [row for row in learners.values() if row["submitted"]]
    mean = sum(row["final"] for row in handed_in) / len(handed_in) if handed_in else 0
    top = data["max_score"]

    scores = _rows([
        f"<tr><td>{t(student)}</td><td>{_n(row['raw'])}</td><td>{_n(row['penalty'])}</td><td>{_n(row['final'])}</td>"
        f"<td>{t(row['status'])}{': ' + t(row['reason']) if row['reason'] else ''}</td>"
        f"<td>{t(data['workers'].get(student, ''))}</td></tr>"
        for student, row in sorted(learners.items())], 6)

    head = "".join(f"<th>{t(grade_id)}<br><small>{_n(data['points'][p])}</small></th>"
                   for p in data["parts"] for grade_id in [p[1]])
    table = _rows([
        f"<tr><td>{t(student)}</td>" + "".join(
            '<td class="miss">–</td>' if row["scores"].get(p) is None else
            f'<td class="{"full" if row["scores"][p] >= data["points"][p] else "lost"}">{_n(row["scores"][p])}</td>'
            for p in data["parts"]) + f"<td>{_n(row['final'])}</td></tr>"
        for student, row in sorted(learners.items())], len(data["parts"]) + 2)

    def failure_rows(hidden):
        out = []
        for group in data["failures"]:
            if group["hidden"] != hidden:
                continue
            example, _ = group["messages"].most_common(1)[0]
            variants = len(group["messages"])
            shown_learners = ", ".join(t(s) for s in group["learners"][:20])
            if len(group["learners"]) > 20:
                shown_learners += f", and {len(group['learners']) - 20} more"
            other = f" <small>({variants} variants of the inputs)</small>" if variants > 1 else ""
            out.append(f"<tr><td>{len(group['learners'])}</td><td><code>{t(group['part'])}</code></td>"
                       f"<td>{t(group['headline'])}{other}<details><summary>the whole message</summary>"
                       f"<pre>{t(example)}</pre></details></td><td>{shown_learners}</td></tr>")
        return _rows(out[:30], 4)

    limits = _rows([f"<tr><td>{t(student)}</td><td>{t(LIMIT_NAMES.get(kind, kind))}</td><td>{t(detail)}</td></tr>"
                    for student, kind, detail in data["limits"]], 3)
    notes = _rows([f"<tr><td>{t(student)}</td><td>{t(detail)}</td></tr>" for student, detail in data["notes"]], 2)

    similar = []
    try:
        pairs = similarity.similar_pairs(data["codes"], data["given"], threshold=threshold)
    except Exception as error:          # the rest of the report stands without it
        pairs = []
        similar.append(f"<p>The similarity check could not run: {t(type(error).__name__)}: {t(error)}</p>")
    for pair in pairs[:50]:
        sides = []
        for lines in pair.lines:
            shown = lines[:400]
            body = "\n".join(f"<mark>{t(line)}</mark>" if shared else t(line) for line, shared in shown)
            if len(lines) > len(shown):
                body += f"\n… {len(lines) - len(shown)} more lines"
            sides.append(f"<td><pre>{body}</pre></td>")
        similar.append(
            f"<h3>{t(pair.first)} and {t(pair.second)}</h3>"
            f"<p>{100 * pair.shares[0]:.0f}% of {t(pair.first)}'s code and {100 * pair.shares[1]:.0f}% of "
            f"{t(pair.second)}'s is in common ({pair.shared} characters of normalised code); the shared lines "
            f"are marked.</p><table class=code><tr><th>{t(pair.first)}</th><th>{t(pair.second)}</th></tr>"
            f"<tr>{''.join(sides)}</tr></table>")
    if len(pairs) > 50:
        similar.append(f"<p>… and {len(pairs) - 50} more pairs.</p>")
    similar_html = "".join(similar) or "<p>none</p>"

    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{t(data['assignment'])}: grading report</title>
<style>body{{font-family:sans-serif;max-width:80em;margin:2em auto;padding:0 1em}}
table{{border-collapse:collapse;margin-bottom:1em}}td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}}
td.full{{background:#e6f4ea}}td.lost{{background:#fde8e8}}td.miss{{color:#888}}
table.code td{{width:50%}}pre{{white-space:pre-wrap;margin:0}}mark{{background:#fff3b0}}</style>
</head><body>
<h1>{t(data['assignment'])}: grading report</h1>
<p>{len(handed_in)} submissions; mean final score {mean:.2f} of {top:g}.
The learner &times; part table is also in <a href="parts.csv">parts.csv</a>.</p>
<h2>Every submission</h2>
<table><tr><th>learner</th><th>raw score</th><th>late penalty</th><th>final score</th><th>status</th><th>graded on</th></tr>{scores}</table>
<h2>Learner &times; part</h2>
<table><tr><th>learner</th>{head}<th>final</th></tr>{table}</table>
<h2>Most common failures</h2>
<p>Each failure by the first line of its message; the whole message of one learner is under it.</p>
<table><tr><th>learners</th><th>part</th><th>message (first line)</th><th>who</th></tr>{failure_rows(False)}</table>
<h2>Hidden tests: failures grouped across random inputs</h2>
<table><tr><th>learners</th><th>part</th><th>message (first line)</th><th>who</th></tr>{failure_rows(True)}</table>
<h2>Submissions that hit a limit</h2>
<table><tr><th>student</th><th>limit</th><th>what happened</th></tr>{limits}</table>
<h2>Worth a look</h2>
<table><tr><th>student</th><th>note</th></tr>{notes}</table>
<h2>Similar solutions</h2>
<p>Pairs whose solution cells share at least {100 * threshold:.0f}% of either learner's own code, with names,
comments and spacing ignored and the released code left out: something to look at, not a verdict.</p>
{similar_html}
<h2>Scores</h2><img src="scores.png" alt="distribution of final scores">
<h2>Pass rate of each part</h2><img src="parts.png" alt="pass rate of each graded part">
</body></html>
"""


def write_report(assignment, course_dir=".", db_url=None, out_dir=None, threshold=similarity.THRESHOLD):
    data = collect(assignment, course_dir, db_url)
    out = Path(out_dir) if out_dir else Path(data["root"]) / "reports" / assignment
    out.mkdir(parents=True, exist_ok=True)
    _plots(data, out)
    write_csv(data, out / "parts.csv")
    (out / "index.html").write_text(render(data, threshold), encoding="utf-8")
    return out / "index.html"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m miniflow_grader.report", description=__doc__.splitlines()[0])
    parser.add_argument("assignment")
    parser.add_argument("--db")
    parser.add_argument("--course-dir", default=".")
    parser.add_argument("--out")
    parser.add_argument("--similarity", type=float, default=similarity.THRESHOLD,
                        help="list pairs sharing at least this share of either learner's code (default %(default)s)")
    args = parser.parse_args(argv)
    print(write_report(args.assignment, args.course_dir, args.db, args.out, args.similarity))
    return 0


if __name__ == "__main__":
    sys.exit(main())
