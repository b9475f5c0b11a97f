"""The instructor's report on one graded assignment: plots, common failures, limits hit.

    python -m miniflow_grader.report ASSIGNMENT [--db URL] [--course-dir DIR]

Writes reports/ASSIGNMENT/ in the course directory: scores.png (the distribution
of total scores), parts.png (the pass rate of each graded part), and index.html
with both plots, the most common failure messages and every submission that hit
a limit (timeout, memory, processes, output, sandbox violation, kernel death,
unreadable or missing notebook) with what happened, and which machine graded
each submission.
"""
import argparse
import html
import json
import sys
from collections import Counter
from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.coursedir import CourseDirectory

from .records import Records
from .nbgrader_steps import load_config

LIMIT_NAMES = {
    "timeout": "time limit", "memory": "memory limit", "processes": "process limit",
    "output": "output limit", "sandbox_violation": "sandbox violation", "kernel_died": "kernel died",
    "sandbox": "sandbox stopped", "unreadable": "unreadable notebook", "missing": "missing notebook",
    "grader_error": "grader error", "refused": "submission refused",
    "infrastructure": "infrastructure problem",
}


def collect(assignment, course_dir=".", db_url=None):
    config = load_config(course_dir, db_url)
    coursedir = CourseDirectory(config=config)
    db_url = coursedir.db_url
    scores, parts = {}, {}
    with Gradebook(db_url, coursedir.course_id) as gb:
        max_score = gb.find_assignment(assignment).max_score
        for submission in gb.assignment_submissions(assignment):
            scores[submission.student.id] = submission.score
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    if grade.auto_score is None:
                        continue
                    parts.setdefault(grade.name, []).append(grade.score >= grade.max_score)
    records = Records(db_url)
    try:
        rows = records.rows(assignment)
        unnamed = records.refused_ids(assignment)
    finally:
        records.close()
    failures, limits, notes, workers = Counter(), [], [], {}
    for row in rows:
        workers[row["student"]] = row["worker"] or ""
        info = json.loads(row["info"]) if row["info"] else {}
        for grade_id, part in sorted(info.get("parts", {}).items()):
            if not part.get("passed") and part.get("message"):
                failures[(grade_id, part["message"].strip().splitlines()[0][:200])] += 1
        for hit in info.get("limits", []):
            limits.append((row["student"], hit.get("kind", ""), hit.get("detail", "")))
        for note in info.get("notes", []):
            notes.append((row["student"], note.get("detail", "")))
    for entry in unnamed:
        limits.append((str(entry.get("student", "")), "refused", str(entry.get("detail", ""))))
    return {"assignment": assignment, "max_score": max_score, "scores": scores,
            "pass_rates": {k: sum(v) / len(v) for k, v in sorted(parts.items())},
            "failures": failures.most_common(15), "limits": sorted(limits), "notes": sorted(notes),
            "workers": workers,
            "root": coursedir.root}


def _plots(data, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scores = sorted(data["scores"].values())
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=100)
    top = data["max_score"] or 1
    bins = [x - 0.5 for x in range(int(top) + 2)] if float(top).is_integer() and top <= 40 else 20
    ax.hist(scores, bins=bins, color="#4477aa", edgecolor="white")
    ax.set_xlabel(f"score (out of {top:g})")
    ax.set_ylabel("submissions")
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


def render(data):
    esc = html.escape
    scores = list(data["scores"].values())
    mean = sum(scores) / len(scores) if scores else 0
    failures = "".join(f"<tr><td>{count}</td><td><code>{esc(grade_id)}</code></td><td>{esc(message)}</td></tr>"
                       for (grade_id, message), count in data["failures"]) or "<tr><td colspan=3>none</td></tr>"
    limits = "".join(f"<tr><td>{esc(student)}</td><td>{esc(LIMIT_NAMES.get(kind, kind))}</td><td>{esc(detail)}</td></tr>"
                     for student, kind, detail in data["limits"]) or "<tr><td colspan=3>none</td></tr>"
    notes = "".join(f"<tr><td>{esc(student)}</td><td>{esc(detail)}</td></tr>"
                    for student, detail in data.get("notes", [])) or "<tr><td colspan=2>none</td></tr>"
    graded = "".join(f"<tr><td>{esc(student)}</td><td>{data['scores'].get(student, 0):g}</td><td>{esc(worker)}</td></tr>"
                     for student, worker in sorted(data.get("workers", {}).items())) \
        or "<tr><td colspan=3>none</td></tr>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(data['assignment'])}: grading report</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}}</style>
</head><body>
<h1>{esc(data['assignment'])}: grading report</h1>
<p>{len(scores)} submissions; mean score {mean:.2f} of {data['max_score']:g}.</p>
<h2>Scores</h2><img src="scores.png" alt="distribution of total scores">
<h2>Pass rate of each part</h2><img src="parts.png" alt="pass rate of each graded part">
<h2>Most common failures</h2>
<table><tr><th>submissions</th><th>part</th><th>message (first line)</th></tr>{failures}</table>
<h2>Submissions that hit a limit</h2>
<table><tr><th>student</th><th>limit</th><th>what happened</th></tr>{limits}</table>
<h2>Worth a look</h2>
<table><tr><th>student</th><th>note</th></tr>{notes}</table>
<h2>Every submission</h2>
<table><tr><th>student</th><th>score</th><th>graded on</th></tr>{graded}</table>
</body></html>
"""


def write_report(assignment, course_dir=".", db_url=None, out_dir=None):
    data = collect(assignment, course_dir, db_url)
    out = Path(out_dir) if out_dir else Path(data["root"]) / "reports" / assignment
    out.mkdir(parents=True, exist_ok=True)
    _plots(data, out)
    (out / "index.html").write_text(render(data), encoding="utf-8")
    return out / "index.html"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m miniflow_grader.report", description=__doc__.splitlines()[0])
    parser.add_argument("assignment")
    parser.add_argument("--db")
    parser.add_argument("--course-dir", default=".")
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    print(write_report(args.assignment, args.course_dir, args.db, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
