"""Which learners' solution cells are nearly the same code, with the lines they share.

Only the code learners write counts: the solution cells, as graded
(autograded/), never execution counts, outputs or metadata. copydetect
tokenises it (pygments), drops comments and whitespace, writes every variable,
function and class name as one letter (so renaming changes nothing), and
fingerprints what is left by winnowing k-grams (Schleimer, Wilkerson and
Aiken's algorithm, as in MOSS). What every learner was given (the released
solution cells: signatures, docstrings, the `raise NotImplementedError()` stub)
is boilerplate and never counts.

A pair is listed when the code they share is at least `threshold` of either
learner's own code and at least `min_shared` characters of normalised code
(short exercises have few ways to be written: two right answers of one line
are alike by nature). It is something to look at, not a verdict.
"""
import hashlib
import io
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import combinations

import copydetect.utils
import numpy as np
from copydetect import CodeFingerprint, compare_files

NOISE = 25            # copydetect's noise threshold: matches shorter than this (normalised characters) never count
GUARANTEE = 30        # ...and matches this long are always found (window = GUARANTEE - NOISE + 1)
THRESHOLD = 0.8
MIN_SHARED = 40
CODE_LIMIT = 200_000  # characters of one learner's solution code that are compared


@dataclass
class Pair:
    first: str
    second: str
    similarity: float                         # the larger of the two shares
    shares: tuple                             # (share of first's code, share of second's)
    shared: int                               # normalised characters in common
    lines: tuple = field(default_factory=tuple)   # ([(line, shared?)] of first, [...] of second)


def _stable_kgram_hashes(string, k):
    """copydetect's k-gram hashes, but the same in every process.

    copydetect uses Python's hash(), which is salted per process
    (PYTHONHASHSEED): winnowing would then keep different k-grams on every run,
    and a pair near the threshold would be listed on one run and not the next.
    """
    def stable(kgram):
        digest = hashlib.blake2b(kgram.encode("utf-8", "surrogatepass"), digest_size=8).digest()
        return int.from_bytes(digest, "little", signed=True)
    return np.array([stable(string[i:i + k]) for i in range(len(string) - k + 1)], dtype=np.int64)


@contextmanager
def _stable_hashes():
    original = copydetect.utils.hashed_kgrams
    copydetect.utils.hashed_kgrams = _stable_kgram_hashes
    try:
        yield
    finally:
        copydetect.utils.hashed_kgrams = original


def _fingerprint(code, boilerplate=None, window=GUARANTEE - NOISE + 1):
    with _stable_hashes():
        return CodeFingerprint("solution.py", NOISE, window, boilerplate, fp=io.StringIO(code), language="python")


def boilerplate_hashes(sources):
    """The k-gram hashes of everything learners were given (every k-gram, not a winnowed sample)."""
    hashes = set()
    for source in sources:
        if source.strip():
            hashes |= set(_fingerprint(source, window=1).hashes)
    return np.unique(np.array(sorted(hashes), dtype=np.int64)) if hashes else []


def marked_lines(code, slices, given=frozenset()):
    """[(line, shared?)] of `code`: a line is shared when a copied slice covers part of its text.

    A comment, or a line learners were given (its text, stripped, is in `given`), is never marked.
    """
    spans = list(zip(slices[0], slices[1])) if len(slices) == 2 and len(slices[0]) else []
    lines, start = [], 0
    for line in code.split("\n"):
        end = start + len(line)
        lead = start + len(line) - len(line.lstrip())
        text = line.strip()
        shared = bool(text) and not text.startswith("#") and text not in given and any(s < end and e > lead for s, e in spans)
        lines.append((line, shared))
        start = end + 1
    return lines


def similar_pairs(codes, given=(), threshold=THRESHOLD, min_shared=MIN_SHARED):
    """[Pair] of learners in {learner: solution code} whose code is alike, most alike first.

    `given` are the released solution cells, in notebook order: their code is boilerplate.
    """
    given = list(given)
    boilerplate = boilerplate_hashes(given + ["\n\n".join(given)])     # as solution_code joins cells, too
    given_lines = frozenset(line.strip() for source in given for line in source.splitlines() if line.strip())
    prints = {}
    for learner, code in sorted(codes.items()):
        code = code[:CODE_LIMIT]
        if code.strip():
            prints[learner] = _fingerprint(code, boilerplate)
    pairs = []
    for first, second in combinations(sorted(prints), 2):
        a, b = prints[first], prints[second]
        if not a.hashes or not b.hashes:
            continue
        shared, shares, slices = compare_files(a, b)
        shares = (float(shares[0]), float(shares[1]))
        if shared < min_shared or max(shares) < threshold:
            continue
        pairs.append(Pair(first, second, max(shares), shares, int(shared),
                          (marked_lines(a.raw_code, slices[0], given_lines),
                           marked_lines(b.raw_code, slices[1], given_lines))))
    return sorted(pairs, key=lambda p: (-p.similarity, -p.shared, p.first, p.second))


# --- the code of a notebook ------------------------------------------------------------

def solution_code(nb, solution_ids):
    """The learner's code in the solution cells `solution_ids` of notebook `nb`, in notebook order."""
    parts = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") == "code" and isinstance(meta, dict) and meta.get("grade_id") in solution_ids:
            source = cell.get("source", "")
            parts.append(source if isinstance(source, str) else "".join(source))
    return "\n\n".join(parts)
