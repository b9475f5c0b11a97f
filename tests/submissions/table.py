"""How well the checks do on the catalogue, per assignment: run `python tests/submissions/table.py [seed]`.

For each assignment: the entries; those caught (they lose points); those that fail a visible test; and those
explained (each visible failure's message is specific, see catalogue.specific, and one of them says what the entry
expects). Each entry's code is loaded once and graded by every check of its assignment in this process. The
entries that are not explained are listed after the table, with their messages.
"""
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from miniflow_grader import checks  # noqa: E402
from miniflow_grader.checks import CHECKS, CheckFailed  # noqa: E402
from submissions.catalogue import ASSIGNMENTS, load_catalogue, namespace_of, points, says, specific  # noqa: E402


def grade(wrong, seed):
    """{grade_id: message} of the checks that fail on `wrong` at `seed`."""
    namespace = namespace_of(wrong.assignment, wrong.replacements, try_it=False)
    failed = {}
    for grade_id in sorted(g for g, info in CHECKS.items() if info.assignment == wrong.assignment):
        try:
            checks.compare(grade_id, checks._roundtrip(checks.probe(grade_id, namespace, seed)), seed)
        except CheckFailed as failure:
            failed[grade_id] = str(failure)
    return failed


def measure(seed=5):
    """{assignment: (entries, caught, visible, explained)}, and the entries not explained with their messages."""
    table, unexplained = {}, []
    for assignment in ASSIGNMENTS:
        counts = [0, 0, 0, 0]
        total = sum(points(assignment).values())
        for wrong in load_catalogue(assignment):
            failed = grade(wrong, seed)
            visible = [m for g, m in failed.items() if not CHECKS[g].hidden]
            score = sum(p for g, p in points(assignment).items() if g not in failed)
            explained = bool(visible) and all(map(specific, visible)) and any(says(m, wrong.message) for m in visible)
            counts = [c + d for c, d in zip(counts, (1, score < total, bool(visible), explained))]
            if not explained:
                unexplained.append((wrong.name, failed))
        table[assignment] = tuple(counts)
    return table, unexplained


if __name__ == "__main__":
    warnings.simplefilter("ignore")
    table, unexplained = measure(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
    print(f"{'assignment':24} {'entries':>7} {'caught':>7} {'visible':>7} {'explained':>9}")
    for assignment, (n, caught, visible, explained) in table.items():
        print(f"{assignment:24} {n:7} {caught:7} {visible:7} {explained:9}")
    n, caught, visible, explained = (sum(column) for column in zip(*table.values()))
    print(f"{'all':24} {n:7} {caught:7} {visible:7} {explained:9}")
    for name, failed in unexplained:
        print(f"\nnot explained: {name}")
        for grade_id, message in failed.items():
            print(f"  {grade_id}: {' '.join(message.split())[:300]}")
