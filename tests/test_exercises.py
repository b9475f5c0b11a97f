"""The exercises and their checks, run in this process (no kernel, no nbgrader): fast and exact.

The end-to-end grading with the real nbgrader commands is in test_nbgrader_course.py.
"""
import ast
import re

import numpy as np
import pytest

import miniflow
from miniflow_grader import checks
from miniflow_grader.checks import CHECKS, TARGETS, CheckFailed, common, ps3_forward, ps4_backprop
from submissions.catalogue import (ASSIGNMENTS, build_submission, grade_in_process, grading, load_catalogue,
                                   load_right, namespace_of, points, read, says,
                                   solution_sources, specific)

CATALOGUE = load_catalogue()
#: The checks of every assignment that has a notebook in solutions/.
GRADE_IDS = sorted(g for g, info in CHECKS.items() if info.assignment in ASSIGNMENTS)


@pytest.fixture(scope="module")
def solved():
    return {a: namespace_of(a) for a in ASSIGNMENTS}


@pytest.fixture(scope="module")
def untouched():
    return {a: namespace_of(a, fill=False) for a in ASSIGNMENTS}


def spaced(fragment):
    """A pattern for `fragment` in a message that may be wrapped at any space."""
    return r"\s+".join(re.escape(word) for word in fragment.split())


def run(grade_id, namespace, seed):
    outputs = checks._roundtrip(checks.probe(grade_id, namespace, seed))
    checks.compare(grade_id, outputs, seed)


# --- the lesson's numbers --------------------------------------------------------

def test_the_reference_gives_the_lessons_numbers():
    l_, a_, grad_a, grad_l = ps4_backprop._lesson_upstream()
    X, W, b, y = (miniflow.Input(name=n) for n in "XWby")
    cost = miniflow.MSE(y, miniflow.Sigmoid(miniflow.Linear(X, W, b)))
    graph = miniflow.topological_sort({X: ps4_backprop.LESSON_X, W: ps4_backprop.LESSON_W, b: ps4_backprop.LESSON_B, y: ps4_backprop.LESSON_Y})
    miniflow.forward_and_backward(graph)
    for name, node in zip("XyWb", [X, y, W, b]):
        np.testing.assert_allclose(node.gradients[node], ps4_backprop.LESSON_GRADIENTS[name], **common.PRINTED)
        assert node.gradients[node].shape == ps4_backprop.LESSON_GRADIENTS[name].shape
    np.testing.assert_allclose(grad_l, X.gradients[X] @ np.linalg.pinv(W.value.T), rtol=1e-6)
    lin = miniflow.Linear(X, W, b)
    X.value, W.value, b.value = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[5.0, 6.0], [7.0, 8.0]]), np.array([-1.0, -1.0])
    lin.forward()
    np.testing.assert_array_equal(lin.value, ps3_forward.LESSON_LINEAR)
    np.testing.assert_allclose(miniflow.nodes.expit(np.array([[-9.0, 4.0], [-9.0, 4.0]])), ps3_forward.LESSON_SIGMOID,
                               **common.PRINTED)
    assert round(ps3_forward._mse_value(np.array([1, 2, 3]), np.array([4.5, 5, 10])), 10) == ps3_forward.LESSON_MSE


# --- the registry and the notebooks agree ----------------------------------------------

def test_every_grade_cell_calls_its_own_check_and_nothing_else():
    seen = set()
    for assignment in ASSIGNMENTS:
        for cell in read("solutions", assignment).cells:
            info = grading(cell)
            if not info.get("grade"):
                continue
            grade_id = info["grade_id"]
            assert grade_id in CHECKS and CHECKS[grade_id].assignment == assignment
            hidden = "### BEGIN HIDDEN TESTS" in cell.source
            assert hidden == CHECKS[grade_id].hidden == grade_id.endswith("_hidden")
            tree = ast.parse(cell.source)
            assert isinstance(tree.body[0], ast.Expr) and isinstance(tree.body[0].value, ast.Constant), \
                f"{grade_id} opens with a docstring"
            assert tree.body[0].value.value.startswith(CHECKS[grade_id].description)
            calls = [line.strip() for line in cell.source.splitlines()[1:] if line.strip() and "###" not in line]
            assert calls == ["from miniflow_grader import check", f'check("{grade_id}", globals())']
            assert not re.fullmatch(r"cell-[0-9a-f]+", grade_id)
            seen.add(grade_id)
    assert seen == set(GRADE_IDS)


def test_targets_name_real_reference_objects():
    for assignment, targets in TARGETS.items():
        for dotted in targets:
            owners, attr = common.target_owners(dotted)
            assert owners and callable(vars(owners[0])[attr])


def test_each_assignment_has_a_task_solution_try_and_grade_cells_in_that_order():
    for assignment in ASSIGNMENTS:
        cells = read("solutions", assignment).cells
        kinds = []
        for cell in cells:
            info = grading(cell)
            kind = ("grade" if info.get("grade") else "solution" if info.get("solution")
                    else "try" if cell.cell_type == "code" and not info else "task"
                    if cell.cell_type == "markdown" and "point" in cell.source else "other")
            kinds.append(kind)
        for i, kind in enumerate(kinds):
            if kind == "solution":
                assert "task" in kinds[:i] and kinds[i + 1] == "try" and kinds[i + 2] == "grade", assignment
        for cell in cells:
            if grading(cell).get("solution"):
                tree = ast.parse(solution_sources(assignment)[grading(cell)["grade_id"]])
                documented = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
                assert documented and all(ast.get_docstring(n) for n in documented if not n.name.startswith("_"))


# --- solutions pass, untouched exercises fail, for any seed ---------------------------------

@pytest.mark.parametrize("grade_id", GRADE_IDS)
def test_the_solution_passes_every_check(solved, grade_id):
    for seed in range(4):
        run(grade_id, solved[CHECKS[grade_id].assignment], seed)


@pytest.mark.parametrize("grade_id, seed", [("train", 62), ("train_hidden", 43)])
def test_the_training_check_passes_the_solution_on_seeds_that_start_it_badly(solved, grade_id, seed):
    """Seeds whose random start and batches leave a right loop a little above a least-squares line (1.02 and
    1.07 times its MSE): the check allows for that (ps5_sgd.LINE_MARGIN), so a right answer never loses points
    to the grading seed."""
    run(grade_id, solved["ps5_sgd"], seed)


@pytest.mark.parametrize("grade_id", GRADE_IDS)
def test_the_untouched_exercise_fails_every_check_saying_it_is_not_written(untouched, grade_id):
    with pytest.raises(CheckFailed, match=spaced("not written yet")):
        run(grade_id, untouched[CHECKS[grade_id].assignment], 0)


# --- the protocol -----------------------------------------------------------------------------

@pytest.mark.parametrize("grade_id", GRADE_IDS)
def test_probe_outputs_are_plain_arrays_and_depend_only_on_the_seed(solved, grade_id):
    namespace = solved[CHECKS[grade_id].assignment]
    first, again = checks.probe(grade_id, namespace, 7), checks.probe(grade_id, namespace, 7)
    assert first.keys() == again.keys()
    for key, value in first.items():
        assert type(value) is np.ndarray and value.dtype.kind in "biufU", key
        np.testing.assert_array_equal(value, again[key])


def test_probe_dir_mode_writes_the_outputs_prints_nothing_and_compares_later(solved, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MINIFLOW_PROBE_DIR", str(tmp_path))
    monkeypatch.setenv("MINIFLOW_SEED", "123")
    checks.check("sigmoid_backward_hidden", solved["ps4_backprop"])
    assert capsys.readouterr().out == ""
    with np.load(tmp_path / "sigmoid_backward_hidden.npz", allow_pickle=False) as saved:
        checks.compare("sigmoid_backward_hidden", {k: saved[k] for k in saved.files}, 123)
        outputs = {k: saved[k] for k in saved.files}
    with pytest.raises(CheckFailed):
        checks.compare("sigmoid_backward_hidden", outputs, 124)   # other seed, other inputs


def test_in_process_mode_reports_a_pass_and_raises_a_learner_message(solved, untouched, capsys, monkeypatch):
    monkeypatch.delenv("MINIFLOW_PROBE_DIR", raising=False)
    checks.check("add_forward", solved["ps1_nodes"])
    assert "add_forward: passed" in capsys.readouterr().out
    with pytest.raises(CheckFailed) as failure:
        checks.check("add_forward", untouched["ps1_nodes"])
    assert failure.value.__cause__ is None and says(str(failure.value), "Replace `raise NotImplementedError()`")


def test_compare_rejects_missing_malformed_and_non_finite_outputs(solved):
    good = checks.probe("linear_forward", solved["ps3_forward"], 0)
    with pytest.raises(CheckFailed, match=spaced("no result")):
        checks.compare("linear_forward", {k: v for k, v in good.items() if k != "case1"}, 0)
    with pytest.raises(CheckFailed, match=spaced("should be numbers")):
        checks.compare("linear_forward", {**good, "case0": np.array("18")}, 0)
    with pytest.raises(CheckFailed, match=spaced("NaN")):
        checks.compare("linear_forward", {**good, "case1": good["case1"] * np.nan}, 0)
    with pytest.raises(CheckFailed, match=spaced("shape")):
        checks.compare("linear_forward", {**good, "case0": good["case0"].ravel()}, 0)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_each_check_passes_with_every_target_of_its_assignment_stubbed_in_miniflow(solved, assignment, monkeypatch):
    """As in a sandbox whose miniflow raises for every target: a probe never needs another target."""
    def stub(*args, **kwargs):
        raise NotImplementedError("yours to write")

    for grade_id, info in CHECKS.items():
        if info.assignment != assignment:
            continue
        with monkeypatch.context() as patched:
            for dotted in TARGETS[assignment]:
                owners, attr = common.target_owners(dotted)
                for owner in owners:
                    patched.setattr(owner, attr, stub)
            outputs = checks._roundtrip(checks.probe(grade_id, solved[assignment], 3))
        checks.compare(grade_id, outputs, 3)


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_a_right_submission_runs_every_cell_without_an_error_while_the_targets_are_stubbed(assignment, tmp_path,
                                                                                       monkeypatch):
    """As in the grading sandbox, where miniflow's own version of every target raises and the grade cells only
    probe: a right answer's notebook, try-it cells included, shows no error, so its feedback is clean."""
    def stub(*args, **kwargs):
        raise NotImplementedError("yours to write: miniflow's own version is not available while grading")

    for dotted in TARGETS[assignment]:
        owners, attr = common.target_owners(dotted)
        for owner in owners:
            monkeypatch.setattr(owner, attr, stub)
    monkeypatch.setenv("MINIFLOW_SEED", "3")
    monkeypatch.setenv("MINIFLOW_PROBE_DIR", str(tmp_path))
    namespace = {"__name__": "__main__"}
    for cell in build_submission(assignment).cells:
        if cell.cell_type == "code":
            exec(compile(cell.source, f"<cell {grading(cell).get('grade_id', '')}>", "exec"), namespace)


def test_tripwires_are_removed_after_each_probe(solved):
    before = {d: vars(common.target_owners(d)[0][0])[common.target_owners(d)[1]] for ds in TARGETS.values() for d in ds}
    for grade_id in GRADE_IDS:
        checks.probe(grade_id, solved[CHECKS[grade_id].assignment], 0)
    after = {d: vars(common.target_owners(d)[0][0])[common.target_owners(d)[1]] for ds in TARGETS.values() for d in ds}
    assert before == after
    assert solved["ps5_sgd"]["sgd_update"].__module__ != checks.__name__


def test_using_the_reference_earns_nothing(solved):
    for grade_id in ("sigmoid_backward", "sigmoid_backward_hidden"):
        namespace = dict(solved["ps4_backprop"], Sigmoid=miniflow.Sigmoid)
        with pytest.raises(CheckFailed, match=spaced("miniflow's own Sigmoid.backward")):
            run(grade_id, namespace, 0)
    namespace = dict(solved["ps5_sgd"], sgd_update=miniflow.sgd_update)
    with pytest.raises(CheckFailed, match=spaced("miniflow's own sgd_update")):
        run("sgd_update", namespace, 0)
    namespace = dict(solved["ps2_topological_sort"], sort_nodes=lambda start: miniflow.topological_sort(
        {n: 1.0 for n in start}))
    with pytest.raises(CheckFailed, match=spaced("miniflow's own sort_nodes")):
        run("sort_nodes", namespace, 0)


def test_a_missing_definition_is_reported_as_such(solved):
    namespace = {k: v for k, v in solved["ps5_sgd"].items() if k != "train"}
    with pytest.raises(CheckFailed, match=spaced("`train` is not defined")):
        run("train", namespace, 0)


# --- the catalogue of wrong submissions ---------------------------------------------------------

def test_the_catalogue_is_large_and_every_entry_loses_points():
    assert len(CATALOGUE) >= 20
    for wrong in CATALOGUE:
        assert wrong.score < sum(points(wrong.assignment).values()), wrong.name
        assert set(wrong.replacements) <= set(solution_sources(wrong.assignment)), wrong.name


@pytest.mark.filterwarnings("ignore::RuntimeWarning")   # a diverging try-it cell overflows
@pytest.mark.parametrize("wrong", CATALOGUE, ids=lambda w: w.name)
def test_each_wrong_submission_gets_its_score_and_message(wrong, monkeypatch):
    """As the notebook runs, try-it cells included, under one grading seed (test_seeds.py grades each at eight)."""
    monkeypatch.setenv("MINIFLOW_SEED", "5")
    solutions = read("solutions", wrong.assignment)
    results = grade_in_process(build_submission(wrong.assignment, wrong.replacements), solutions)
    assert sum(score for score, _, _ in results.values()) == wrong.score, {g: r[2] for g, r in results.items()}
    failed_visible = [r[2] for g, r in results.items() if r[0] == 0 and not CHECKS[g].hidden]
    failed_hidden = [r[2] for g, r in results.items() if r[0] == 0 and CHECKS[g].hidden]
    assert bool(failed_visible) == wrong.visible
    messages = failed_visible if wrong.visible else failed_hidden
    assert any(says(m, wrong.message) for m in messages), messages
    for message in failed_visible + failed_hidden:
        assert message.startswith("CheckFailed: "), message


def test_solutions_score_full_marks_in_process(monkeypatch):
    monkeypatch.setenv("MINIFLOW_SEED", "9")
    for assignment in ASSIGNMENTS:
        results = grade_in_process(build_submission(assignment), read("solutions", assignment))
        assert all(score == total for score, total, _ in results.values()), assignment



# --- other right answers -------------------------------------------------------------------------

@pytest.mark.parametrize("right", load_right(), ids=lambda r: r.name)
def test_other_right_answers_score_full_marks(right, monkeypatch):
    """Accept every right answer: other algorithms, other NumPy calls, the lesson's loop over consumers."""
    assert right.assignment in ASSIGNMENTS, right.name
    for seed in ("5", "6"):
        monkeypatch.setenv("MINIFLOW_SEED", seed)
        results = grade_in_process(build_submission(right.assignment, right.replacements),
                                   read("solutions", right.assignment))
        assert all(score == total for score, total, _ in results.values()), {g: r[2] for g, r in results.items()}


# --- every mistake is explained ---------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("wrong", CATALOGUE, ids=lambda w: w.name)
def test_every_visible_failure_of_a_catalogued_mistake_names_its_cause(wrong, monkeypatch):
    monkeypatch.setenv("MINIFLOW_SEED", "11")
    results = grade_in_process(build_submission(wrong.assignment, wrong.replacements), read("solutions", wrong.assignment))
    visible = [output for grade_id, (score, _, output) in results.items() if score == 0 and not CHECKS[grade_id].hidden]
    assert visible, wrong.name
    for message in visible:
        assert specific(message), message


def test_the_last_try_it_of_ps4_meets_the_gradient_check_rule(solved):
    """The solved notebook's last cell prints gradient_check's relative errors: a right backward is below RIGHT_BELOW."""
    namespace = solved["ps4_backprop"]
    errors = miniflow.gradient_check(namespace["cost"], namespace["feed_dict"])
    assert errors and max(errors.values()) < miniflow.check.RIGHT_BELOW, errors


def test_ps4_messages_quote_the_librarys_gradient_check_rule():
    assert f"{miniflow.check.RIGHT_BELOW:.0e}".replace("e-0", "e-") in ps4_backprop.GRADIENT_CHECK_RULE
    assert f"{miniflow.check.WRONG_ABOVE:.0e}".replace("e-0", "e-") in ps4_backprop.GRADIENT_CHECK_RULE


@pytest.mark.parametrize("route", [
    "miniflow.check.numerical_gradient(lambda: (self.forward(), self.value)[1], x.value)",
    "_copy(self, x)",
    "__import__('miniflow').gradient_check(self, {x: x.value}) and 0 or s * (1 - s) * g",
])
def test_a_backward_that_differentiates_through_miniflow_earns_nothing_by_any_route(solved, route):
    """Inherited, copied into a default argument, or called through the library: every route is seen by its code."""
    namespace = dict(solved["ps4_backprop"])
    exec(compile(
        "def _copy(node, x, _forward=miniflow.Sigmoid.forward):\n"
        "    keep = x.value.copy(); x.value = x.value + 1e-6; _forward(node); up = node.value\n"
        "    x.value = keep - 1e-6; _forward(node); down = node.value; x.value = keep; _forward(node)\n"
        "    return (up - down) / 2e-6 * node.upstream_gradient()\n"
        "class Sigmoid(miniflow.Sigmoid):\n"
        "    def backward(self):\n"
        "        x = self.inbound_nodes[0]; s = self.value; g = self.upstream_gradient()\n"
        f"        self.gradients[x] = {route}\n", "<cell>", "exec"), namespace)
    for grade_id in ("sigmoid_backward", "sigmoid_backward_hidden"):
        with pytest.raises(CheckFailed, match=spaced("gets its gradients by finite differences")):
            run(grade_id, namespace, 0)
