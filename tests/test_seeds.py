"""A mistake's score does not depend on the grading seed: every catalogued mistake of every assignment, graded by
the checks of its assignment at eight seeds, gets its catalogued score and the same verdict (which checks fail,
visible or hidden) at each.

Each entry's code is loaded once (its solution cells and the given cells they need), then probed and compared at
each seed in this process. A training check runs the learner's training function with the grader's own stand-ins
for every other exercise of the assignment (sgd_update, ReLU, SoftmaxCrossEntropy), so for an entry that leaves
the training function as the solution's, its verdict is the solution's: that one is shown to pass at the eight
seeds once, not again for every entry. A wrong training loop is stopped two epochs after it leaves the batch rule,
so the entries that change it cost a few epochs at each seed.
"""
import pytest

from miniflow_grader import checks
from miniflow_grader.checks import CHECKS, CheckFailed
from submissions.catalogue import ASSIGNMENTS, load_catalogue, namespace_of, points

SEEDS = range(8)
CATALOGUE = load_catalogue()
#: The solution cell each training check runs, by grade_id.
TRAINING = {"train": "train_solution", "train_hidden": "train_solution",
            "train_classifier": "classifier_solution", "train_classifier_hidden": "classifier_solution"}


def grade_ids(assignment):
    return sorted(g for g, info in CHECKS.items() if info.assignment == assignment)


def failing_checks(namespace, ids, seed):
    """{grade_id: message} of the checks in `ids` that fail on `namespace` at `seed`."""
    failed = {}
    for grade_id in ids:
        try:
            checks.compare(grade_id, checks._roundtrip(checks.probe(grade_id, namespace, seed)), seed)
        except CheckFailed as failure:
            failed[grade_id] = str(failure)
    return failed


def checks_for(wrong):
    """The checks to run on `wrong` at every seed: all but the training checks of a training function it keeps."""
    return [g for g in grade_ids(wrong.assignment) if g not in TRAINING or TRAINING[g] in wrong.replacements]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("assignment", [a for a in ASSIGNMENTS if any(CHECKS[g].assignment == a for g in TRAINING)])
def test_the_solutions_training_function_passes_the_training_checks_at_every_seed(assignment, seed):
    """One test per seed: each is a full training run, so the workers share them."""
    namespace = namespace_of(assignment, try_it=False)
    ids = [g for g in grade_ids(assignment) if g in TRAINING]
    assert failing_checks(namespace, ids, seed) == {}, seed


@pytest.mark.filterwarnings("ignore::RuntimeWarning")   # a diverging loop overflows
@pytest.mark.parametrize("wrong", CATALOGUE, ids=lambda w: w.name)
def test_a_mistake_gets_the_same_score_and_verdict_at_every_grading_seed(wrong):
    namespace = namespace_of(wrong.assignment, wrong.replacements, try_it=False)
    ids = checks_for(wrong)
    verdicts = {}
    for seed in SEEDS:
        verdicts.setdefault(tuple(failing_checks(namespace, ids, seed)), []).append(seed)
    assert len(verdicts) == 1, f"{wrong.name}: the checks that fail depend on the seed: {verdicts}"
    (failed,) = verdicts
    score = sum(p for grade_id, p in points(wrong.assignment).items() if grade_id not in failed)
    assert score == wrong.score, (wrong.name, failed)
    assert any(not CHECKS[g].hidden for g in failed) == wrong.visible, (wrong.name, failed)
