"""The similarity check on learners' solution cells: what a copy looks like, and what two own answers look like.

The notebooks are the course's released ps4_backprop with the solution cells
filled in, as learners hand them in (execution counts, outputs and metadata
differ from one learner to the next).
"""
import copy
import os
import re
import subprocess
import sys

import nbformat
import pytest

from hostile import course as C
from miniflow_grader.similarity import marked_lines, similar_pairs, solution_code

A = "ps4_backprop"

OWN = {   # another right answer to each part, written differently
    "sigmoid_solution": '''class Sigmoid(miniflow.Sigmoid):
    def backward(self):
        (x,) = self.inbound_nodes
        upstream = self.upstream_gradient()
        local = np.multiply(self.value, np.subtract(1.0, self.value))
        self.gradients = {x: local * upstream}
''',
    "linear_solution": '''class Linear(miniflow.Linear):
    def backward(self):
        g = self.upstream_gradient()
        inputs, weights, bias = self.inbound_nodes[0], self.inbound_nodes[1], self.inbound_nodes[2]
        self.gradients = {}
        self.gradients[bias] = np.sum(g, axis=0, keepdims=False)
        self.gradients[weights] = np.dot(np.transpose(inputs.value), g)
        self.gradients[inputs] = np.dot(g, np.transpose(weights.value))
''',
    "mse_solution": '''class MSE(miniflow.MSE):
    def backward(self):
        truth, guess = self.inbound_nodes
        count = np.size(self.diff)
        step = self.upstream_gradient()
        self.gradients = {truth: np.reshape(step * 2.0 * self.diff / count, np.shape(truth.value)),
                          guess: np.reshape(-2.0 * step * self.diff / count, np.shape(guess.value))}
''',
}


def handed_in(solutions, count=1, tag="learner"):
    """The released notebook as a learner hands it in: `solutions` in, their own counts, outputs and metadata."""
    nb = copy.deepcopy(C.released(C.REPO, A))
    for index, cell in enumerate(nb.cells):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in solutions:
            cell.source = solutions[grade_id]
        if cell.cell_type == "code":
            cell.execution_count = count + index
            cell.outputs = [nbformat.v4.new_output("stream", text=f"{tag} ran this\n")]
        cell.metadata["collapsed"] = bool(index % 2)
        cell.metadata["tags"] = [tag]
    nb.metadata["widgets"] = {"tag": tag}
    return nbformat.reads(nbformat.writes(nb), as_version=4)


def disguised(code):
    """The same code with its names changed, comments added and blank lines and spacing moved."""
    lines = []
    for line in code.splitlines():
        if '"""' not in line and not line.startswith(("class ", "    def ")):
            for old, new in (("grad_y", "dy_part"), ("grad", "upstream_g"), ("s", "sig"), ("X", "inp"),
                             ("W", "wts"), ("b", "bias"), ("y", "target"), ("a", "output")):
                line = re.sub(rf"\b{old}\b", new, line)
        lines.append(line.replace(" = ", "=").replace(" @ ", "@"))
        if line.strip().startswith("self.gradients"):
            lines.append("        # chain rule here")
            lines.append("")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def given():
    """The released solution cells (signature, docstring, stub): what every learner starts from."""
    released = C.released(C.REPO, A)
    ids = {c.metadata["nbgrader"]["grade_id"] for c in released.cells
           if c.metadata.get("nbgrader", {}).get("solution")}
    return ids, [c.source for c in released.cells if c.metadata.get("nbgrader", {}).get("grade_id") in ids]


def codes(given, notebooks):
    ids, _ = given
    return {learner: solution_code(nb, ids) for learner, nb in notebooks.items()}


def test_the_same_code_renamed_and_recommented_is_flagged_with_the_lines_it_shares(given):
    reference = C.solution_sources(C.REPO, A)
    notebooks = {"ada": handed_in(reference, 1, "ada"),
                 "bo": handed_in({k: disguised(v) for k, v in reference.items()}, 40, "bo"),
                 "cy": handed_in(OWN, 7, "cy")}
    assert notebooks["ada"] != notebooks["bo"]
    pairs = similar_pairs(codes(given, notebooks), given[1])
    assert [(p.first, p.second) for p in pairs] == [("ada", "bo")]
    pair = pairs[0]
    assert pair.similarity >= 0.8 and min(pair.shares) >= 0.8
    ada, bo = pair.lines
    assert ("        X, W, b = self.inbound_nodes", True) in ada
    assert ("        inp, wts, bias=self.inbound_nodes", True) in bo
    assert ("        # chain rule here", False) in bo                            # comments are not code
    assert ("    def backward(self):", False) in ada                            # what everyone was given
    given_lines = {line.strip() for source in given[1] for line in source.splitlines()}
    written = [shared for line, shared in ada if line.strip() and line.strip() not in given_lines]
    assert len(written) >= 10 and sum(written) >= 0.75 * len(written)      # what ada wrote: (nearly) all marked


def test_unrelated_right_answers_and_blank_notebooks_are_not_flagged(given):
    notebooks = {"ada": handed_in(C.solution_sources(C.REPO, A), 1, "ada"), "cy": handed_in(OWN, 7, "cy"),
                 "blank1": handed_in({}, 3, "blank1"), "blank2": handed_in({}, 9, "blank2")}
    assert similar_pairs(codes(given, notebooks), given[1]) == []


def test_two_blank_notebooks_would_be_alike_without_the_released_code_as_boilerplate(given):
    notebooks = {"blank1": handed_in({}, 3, "blank1"), "blank2": handed_in({}, 9, "blank2")}
    assert [(p.first, p.second) for p in similar_pairs(codes(given, notebooks), ())] == [("blank1", "blank2")]


def test_code_the_same_in_one_part_only_is_below_the_threshold(given):
    reference = C.solution_sources(C.REPO, A)
    mixed = dict(OWN, linear_solution=disguised(reference["linear_solution"]))
    notebooks = {"ada": handed_in(reference, 1, "ada"), "dee": handed_in(mixed, 2, "dee")}
    assert similar_pairs(codes(given, notebooks), given[1]) == []
    assert [(p.first, p.second) for p in similar_pairs(codes(given, notebooks), given[1], threshold=0.3)] \
        == [("ada", "dee")]


def test_marked_lines_cover_the_lines_a_slice_touches():
    code = "a = 1\n\nb = 2\nc = 3"
    assert marked_lines(code, ([7], [12])) == [("a = 1", False), ("", False), ("b = 2", True), ("c = 3", False)]
    assert marked_lines(code, ([], [])) == [(line, False) for line in code.split("\n")]


def test_the_pairs_are_the_same_in_every_process(tmp_path):
    """copydetect hashes k-grams with Python's salted hash(): ours must not depend on PYTHONHASHSEED."""
    script = ("from miniflow_grader.similarity import _fingerprint\n"
              "code = open(0).read()\n"
              "print(list(_fingerprint(code).hashes))\n")
    code = C.solution_sources(C.REPO, A)["linear_solution"]
    runs = {subprocess.run([sys.executable, "-c", script], input=code, capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout for seed in (1, 2, 3)}
    assert len(runs) == 1 and len(runs.pop()) > 10
