r"""What the training checks of ps5 and ps6 share: the batch rule, a recorder standing in for sgd_update, the
replay of the rule from the seed, and the judging of what the learner's loop did at every step.

The rule, the same in chapter 6, ps5 and ps6: one generator ``rng = np.random.default_rng(seed)``, created once
before anything random; the weights are drawn from it first (W1, then W2); then each epoch draws
``order = rng.permutation(n)``, and step i trains on the rows ``order[i*batch_size:(i+1)*batch_size]`` for i in
range(n // batch_size) (the few rows left over wait for the next epoch's shuffle).

A loop that follows it trains on exactly the rows, from exactly the starting weights, that :func:`replay`
computes from the seed. So the probe (:func:`run_training`) notes, at each step, which rows of the data the
network was fed (as row numbers), the learning rate passed, the trainables handed over, whether the weights are
the ones the previous step left, the gradients compared with a fresh backward pass on the same batch, and the
graph's structure; the compare (:func:`judge_run`) replays the rule and names the first thing that differs, with
a hint only where the record matches a known wrong variant that the check computes itself. A loop that leaves
the rule is stopped at the end of the epoch after the one it first left it in: two epochs show how it differs,
and a wrong loop costs a grading run two epochs, not all of them.
"""
from dataclasses import dataclass, field

import numpy as np

import miniflow
from miniflow import Input

from .common import CheckFailed, Problem, attempt, describe, fmt, inline, recorded

NAMES = ("W1", "b1", "W2", "b2")
#: The steps at which the recorder compares the gradients it is given with a fresh backward pass.
GRADIENT_STEPS = (0, 1, 2)


@dataclass(frozen=True)
class Loop:
    """What differs between the training loops of ps5 and ps6."""
    function: str              # the learner's function, e.g. "train"
    settings: dict             # n_hidden, epochs, batch_size, learning_rate
    n_out: int                 # outputs of the network
    hidden: str                # the nonlinearity between the Linear nodes
    cost: str                  # the cost node
    weights: object            # weights(rng, n_in, n_out): one weight matrix, drawn as the rule says
    draw_text: str             # how the task says the weights are drawn
    stand_ins: dict = field(default_factory=dict)   # namespace name -> class, while the loop is checked
    symmetric_cost: bool = False                     # cost(y, a) == cost(a, y), as for MSE

    def draw(self, rng, n_features, n_hidden, n_out):
        """W1, then W2, from `rng`."""
        return self.weights(rng, n_features, n_hidden), self.weights(rng, n_hidden, n_out)

    def shapes(self, n_features):
        h = self.settings["n_hidden"]
        return {"W1": (n_features, h), "b1": (h,), "W2": (h, self.n_out), "b2": (self.n_out,)}

    def structure(self):
        return f"Linear(X, W1, b1) -> {self.hidden} -> Linear(., W2, b2) -> {self.cost}(y, .)"


# --- the rule -----------------------------------------------------------------------------

def replay(loop, n_examples, n_features, seed, epochs=None, per_epoch=None):
    """The rule from `seed`: (W1, W2) as first drawn, and the rows of every step, shape (steps, batch_size).

    With `per_epoch`, each epoch takes that many steps of its shuffle instead of n_examples // batch_size."""
    settings = loop.settings
    epochs = settings["epochs"] if epochs is None else epochs
    batch_size, h = settings["batch_size"], settings["n_hidden"]
    rng = np.random.default_rng(seed)
    W1, W2 = loop.draw(rng, n_features, h, loop.n_out)
    per_epoch = n_examples // batch_size if per_epoch is None else per_epoch
    rows = [rng.permutation(n_examples)[:per_epoch * batch_size].reshape(per_epoch, batch_size)
            for _ in range(epochs)]
    return W1, W2, np.concatenate(rows) if rows else np.zeros((0, batch_size), dtype=int)


def _canonical(X_, index):
    """Each row's number in `index` (canonical_rows): the row numbers of a step, as the recorder notes them."""
    return np.array([index[np.ascontiguousarray(r, dtype=float).tobytes()] for r in np.asarray(X_, dtype=float)],
                    dtype=int)


def canonical_rows(X_):
    """{bytes of a row: the first row number with those values} (equal rows are one row to the check)."""
    index = {}
    for i, row in enumerate(np.ascontiguousarray(X_, dtype=float)):
        index.setdefault(row.tobytes(), i)
    return index


# --- the probe: stand-ins and the recorder ----------------------------------------------------------

class Stop(BaseException):
    """Ends a training run once the record shows enough (a BaseException, so `except Exception` does not stop it)."""


class EmptyBatch(BaseException):
    """A step fed the network no rows: stopped before a division by zero."""


class Recorder:
    """Stands in for sgd_update while the learner's loop runs: takes the same step, and notes what each step did."""

    def __init__(self, loop, X_, y_, seed, most_steps=None, epochs=None):
        self.loop, self.X_, self.y_ = loop, X_, y_
        self.batch_size = loop.settings["batch_size"]
        self.epochs = loop.settings["epochs"] if epochs is None else epochs
        self.per_epoch = len(y_) // self.batch_size
        self.steps = self.epochs * self.per_epoch
        self.most = 2 * self.steps if most_steps is None else most_steps
        self.shapes = {shape: name for name, shape in loop.shapes(X_.shape[1]).items()}
        self.index = canonical_rows(X_)
        self.calls = 0
        self.rates, self.sizes, self.complete, self.labels_ok, self.continuous = [], [], [], [], []
        self.rows = []
        self.labels_stored = -1   # at the first step whose y does not match X: where y_data[s:s + len(y)] is y
        self.signatures = []
        self.start, self.last, self.gradients = {}, {}, []
        self.previous, self.on_previous = None, []   # the step before's batch; the gradients against it
        self.structure = ""
        self.foreign = None
        self.graph_key, self.graph = None, None
        self.stopped = ""
        W1, W2, rows = replay(loop, len(y_), X_.shape[1], seed, self.epochs)
        self.expected = {"W1": W1, "W2": W2, "rows": _canonical(X_, self.index)[rows]}
        self.deviated = None   # the first step at which the record differs from the rule

    def __call__(self, trainables, learning_rate=1e-2):
        step = self.calls
        if self.deviated is not None and step >= (self.deviated // max(self.per_epoch, 1) + 2) * self.per_epoch:
            self.stopped = "deviated"   # the epoch that left the rule and the next one show how it differs
            raise Stop()
        self.calls += 1
        if self.calls > self.most:
            self.calls -= 1
            self.stopped = "too_many"
            raise Stop()
        trainables = list(trainables)
        named = {}
        for t in trainables:
            name = self.shapes.get(np.shape(getattr(t, "value", None)))
            if name and name not in named:
                named[name] = t
        self.rates.append(float(learning_rate))
        self.complete.append(len(trainables) == 4 and set(named) == set(NAMES))
        signature = ", ".join(str(np.shape(getattr(t, "value", None))) for t in trainables)
        if signature not in self.signatures:
            self.signatures.append(signature)
        key = tuple(id(t) for t in trainables)
        if key != self.graph_key:
            self.graph_key, self.graph = key, self._graph(trainables)
        X, y, graph = self.graph
        batch = None if X is None else np.asarray(X.value, dtype=float)
        size = -1 if batch is None else len(batch)
        self.sizes.append(size)
        rows = np.full(self.batch_size, -2, dtype=int)
        if batch is not None:
            found = [self.index.get(np.ascontiguousarray(r).tobytes(), -1) for r in batch[:self.batch_size]]
            rows[:len(found)] = found
            if -1 in found and self.foreign is None:
                self.foreign = np.array(batch[:self.batch_size], dtype=float, copy=True)
            labels = None if y is None else np.asarray(y.value, dtype=float).reshape(-1)
            self.labels_ok.append(labels is not None and len(labels) == len(batch) and all(
                i < 0 or self.y_[i] == v for i, v in zip(found, labels)))
            if not self.labels_ok[-1] and self.labels_ok.count(False) == 1 and labels is not None:
                self.labels_stored = next((s for s in range(0, len(self.y_) - len(labels) + 1, max(len(labels), 1))
                                           if np.array_equal(np.asarray(self.y_[s:s + len(labels)], dtype=float)
                                                             .reshape(-1), labels)), -1)
        else:
            self.labels_ok.append(True)
        self.rows.append(rows)
        self.continuous.append(all(name not in self.last or _same(t.value, self.last[name])
                                   for name, t in named.items()))
        if step == 0:
            self.start = {name: np.array(t.value, dtype=float, copy=True) for name, t in named.items()}
            weights = {}
            for n in graph:
                name = self.shapes.get(np.shape(n.value)) if not n.inbound_nodes else None
                if name and name not in weights and n is not X and n is not y:
                    weights[name] = n
            self.structure = structure_of(graph, weights, X, y)
        for t in trainables:
            if not isinstance(getattr(t, "gradients", None), dict) or t not in t.gradients:
                raise Problem(f"sgd_update was given {getattr(t, 'name', t)!r}, which has no gradient of its own "
                              "(t.gradients[t]): pass the trainable Input nodes [W1, b1, W2, b2], after "
                              "forward_and_backward(graph).")
        compared = step in GRADIENT_STEPS and size > 0 and len(named) == 4
        if compared:
            self.gradients.append(self._compare_gradients(graph, named))
            self.on_previous.append(np.full((4, 2), np.nan) if self.previous is None else
                                    self._compare_gradients(graph, named, (X, y) + self.previous))
        if step + 1 in GRADIENT_STEPS and batch is not None and y is not None:
            self.previous = (np.array(X.value, copy=True), np.array(y.value, copy=True))
        if size == 0:
            self.stopped = "empty"
            raise Stop()
        if size > self.batch_size:
            self.stopped = "too_big"
            raise Stop()
        if self.deviated is None and self._deviates(step, rows, compared):
            self.deviated = step
        for t in trainables:
            t.value = t.value - learning_rate * t.gradients[t]
        self.last = {name: np.array(t.value, dtype=float, copy=True) for name, t in named.items()}

    def _deviates(self, step, rows, compared):
        """Whether this step already differs from the rule in something judge_run rejects."""
        if not (self.complete[-1] and self.labels_ok[-1] and self.continuous[-1]):
            return True
        if not np.isclose(self.rates[-1], self.loop.settings["learning_rate"], rtol=1e-9, atol=0):
            return True
        if step >= len(self.expected["rows"]) or not np.array_equal(rows, self.expected["rows"][step]):
            return True
        if step == 0 and (not all(_same(self.start.get(name), self.expected[name]) for name in ("W1", "W2"))
                          or any(np.any(self.start[name] != 0) for name in ("b1", "b2"))
                          or self.structure and self.structure not in accepted_structures(self.loop)):
            return True
        if compared:
            scales, residuals = self.gradients[-1][:, 0], self.gradients[-1][:, 1]
            right = np.isclose(scales, 1.0, rtol=1e-6, atol=0) & (residuals < 1e-6)
            return bool(np.any(~np.isnan(scales) & ~right))
        return False

    def _graph(self, trainables):
        """The data Inputs X and y beside the trainables, and the whole graph in topological order."""
        nodes = miniflow.graph._connected_nodes([t for t in trainables if hasattr(t, "outbound_nodes")])
        inputs = [n for n in nodes if not n.inbound_nodes]
        others = [n for n in inputs if all(n is not t for t in trainables)]
        X = next((n for n in others if np.ndim(n.value) == 2 and np.shape(n.value)[1] == self.X_.shape[1]), None)
        ends = [n for n in nodes if n.inbound_nodes and not n.outbound_nodes]
        y = next((m for n in ends for m in n.inbound_nodes if not m.inbound_nodes and m is not X
                  and all(m is not t for t in trainables)), None)
        try:
            graph = miniflow.sort_nodes(inputs)
        except Exception:   # noqa: BLE001 -- a graph the learner built oddly: no structure, no fresh gradient
            graph = []
        return X, y, graph

    def _compare_gradients(self, graph, named, previous=None):
        """(scale, residual) of each trainable's gradient against a fresh backward pass on the same batch (or, with
        `previous` = (X, y, X's value, y's value) of the step before, on that batch)."""
        given = {name: np.array(t.gradients[t], dtype=float, copy=True) for name, t in named.items()}
        result = np.full((4, 2), np.nan)
        if previous is not None:
            X, y, X_value, y_value = previous
            kept = X.value, y.value
            X.value, y.value = X_value, y_value
        try:
            with np.errstate(all="ignore"):
                for n in graph:
                    n.forward()
                for n in reversed(graph):
                    n.backward()
                for j, name in enumerate(NAMES):
                    fresh = np.asarray(named[name].gradients[named[name]], dtype=float)
                    g = given[name]
                    if fresh.shape != g.shape:
                        continue
                    norm = float(np.sum(fresh * fresh))
                    scale = float(np.sum(g * fresh)) / norm if norm > 0 else (1.0 if not np.any(g) else np.inf)
                    residual = float(np.linalg.norm(g - scale * fresh) / (np.sqrt(norm) or 1.0))
                    result[j] = scale, residual
        except Exception:   # noqa: BLE001 -- the learner's own nodes may raise on a second pass; nothing to note
            pass
        finally:
            for name, t in named.items():
                t.gradients[t] = given[name]
            if previous is not None:
                X.value, y.value = kept
        return result


def _same(value, last):
    try:
        value = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return False
    return value.shape == last.shape and bool(np.array_equal(value, last))


def structure_of(graph, named, X, y):
    """The graph as text, e.g. "Linear(X, W1, b1) -> ReLU -> Linear(., W2, b2) -> SoftmaxCrossEntropy(y, .)"."""
    roles = {id(t): name for name, t in named.items()}
    if X is not None:
        roles[id(X)] = "X"
    if y is not None:
        roles[id(y)] = "y"
    parts, last = [], None
    for n in graph:
        if not n.inbound_nodes:
            continue
        kind = getattr(type(n), "role", type(n).__name__)
        args = [roles.get(id(m), "." if m is last else "?") for m in n.inbound_nodes]
        shown = kind if args == ["."] else f"{kind}({', '.join(args)})"
        parts.append(shown)
        last = n
    return " -> ".join(parts)


def run_training(namespace, loop, X_, y_, seed, outputs, prefix, epochs=None, first_step_only=False):
    """Run the learner's training function with the recorder and stand-ins; record what it did under `prefix`."""
    train = namespace[loop.function]
    settings = dict(loop.settings, epochs=loop.settings["epochs"] if epochs is None else epochs)
    recorder = Recorder(loop, X_, y_, seed, most_steps=1 if first_step_only else None, epochs=settings["epochs"])
    stand_ins = dict(loop.stand_ins, sgd_update=recorder)
    saved = {name: namespace[name] for name in stand_ins if name in namespace}
    namespace.update(stand_ins)
    holder = {}
    try:
        def run():
            with np.errstate(all="ignore"):
                try:
                    holder["params"] = train(X_.copy(), y_.copy(), seed=seed, **settings)
                except Stop:
                    pass
                except EmptyBatch:
                    recorder.stopped = "empty"
                    recorder.calls += 1
                    recorder.sizes.append(0)
            return np.array(0.0)
        attempt(outputs, prefix + "ran", run)
    finally:
        for name in stand_ins:
            if name in saved:
                namespace[name] = saved[name]
            else:
                namespace.pop(name, None)
    if first_step_only and recorder.stopped == "too_many":
        recorder.stopped = ""
    outputs[prefix + "calls"] = np.array(recorder.calls)
    outputs[prefix + "stopped"] = np.array(recorder.stopped)
    outputs[prefix + "rates"] = np.array(recorder.rates, dtype=float)
    outputs[prefix + "sizes"] = np.array(recorder.sizes, dtype=int)
    outputs[prefix + "complete"] = np.array(recorder.complete, dtype=bool)
    outputs[prefix + "labels_ok"] = np.array(recorder.labels_ok, dtype=bool)
    outputs[prefix + "labels_stored"] = np.array(recorder.labels_stored, dtype=int)
    outputs[prefix + "continuous"] = np.array(recorder.continuous, dtype=bool)
    outputs[prefix + "rows"] = np.array(recorder.rows, dtype=int).reshape(-1, recorder.batch_size)
    outputs[prefix + "signatures"] = np.array(recorder.signatures or [""], dtype=str)
    outputs[prefix + "structure"] = np.array(recorder.structure)
    outputs[prefix + "gradients"] = np.array(recorder.gradients, dtype=float).reshape(-1, 4, 2)
    outputs[prefix + "on_previous"] = np.array(recorder.on_previous, dtype=float).reshape(-1, 4, 2)
    for name, value in recorder.start.items():
        outputs[prefix + "start_" + name] = value
    for name, value in recorder.last.items():
        outputs[prefix + "last_" + name] = value
    if recorder.foreign is not None:
        outputs[prefix + "foreign"] = np.array(_foreign_source(namespace, recorder.foreign))
    if "params" not in holder:
        return
    try:
        params = list(holder["params"])
    except Exception as error:   # noqa: BLE001 -- learner code may return anything
        outputs[prefix + "params__error"] = np.array(describe(error))
        return
    outputs[prefix + "count"] = np.array(len(params))
    for name, value in zip(NAMES, params):
        attempt(outputs, prefix + name, lambda value=value: value)


def _foreign_source(namespace, batch):
    """The name of a notebook global whose rows include every row of `batch` (rows not in the data given)."""
    wanted = {np.ascontiguousarray(r, dtype=float).tobytes() for r in batch}
    found = []
    for name, value in namespace.items():
        if name.startswith("_") or not isinstance(value, np.ndarray) or value.ndim != 2:
            continue
        if value.shape[1] != batch.shape[1] or value.dtype.kind not in "biuf":
            continue
        rows = {np.ascontiguousarray(r, dtype=float).tobytes() for r in value}
        if wanted <= rows:
            found.append((len(value), name))
    return min(found)[1] if found else ""


# --- the compare: judging one run ---------------------------------------------------------------------------

def judge_run(outputs, prefix, what, loop, X_, y_, seed, extra=()):
    """Everything the loop did, against the rule replayed from `seed`; raise CheckFailed at the first difference.

    Returns the four returned arrays. `extra` are runs (prefix, seed) that stopped after their first step.
    """
    settings = loop.settings
    rate, batch_size, epochs = settings["learning_rate"], settings["batch_size"], settings["epochs"]
    n, n_features = len(y_), X_.shape[1]
    per_epoch, steps = n // batch_size, epochs * (n // batch_size)
    recorded(outputs, prefix + "ran", what)
    calls = int(outputs.get(prefix + "calls", 0))
    stopped = str(outputs.get(prefix + "stopped", ""))
    sizes = np.atleast_1d(outputs.get(prefix + "sizes", np.zeros(0, dtype=int))).astype(int)
    if calls == 0:
        raise CheckFailed(f"{what}: {loop.function} never called sgd_update.\nHint: after forward and backward, "
                          f"each step updates the weights with sgd_update([W1, b1, W2, b2], learning_rate).")
    if np.any(sizes < 0):
        raise CheckFailed(f"{what}: at step {int(np.argmax(sizes < 0)) + 1} no Input beside W1 held a batch of "
                          f"the data (rows of {n_features} columns): set X.value to the batch's rows of X_data "
                          "before the forward pass.")
    if stopped == "empty":
        full = int(np.sum(sizes == batch_size))
        raise CheckFailed(
            f"{what}: step {calls} fed X no rows at all (an empty batch), after {full} step(s) of {batch_size} rows, "
            f"so the training was stopped there.\nHint: step i of an epoch trains on order[i * batch_size:(i + 1) * "
            f"batch_size] for i in range(len(y_data) // batch_size) = range({per_epoch}); slices that start past "
            f"the end of order are empty.")
    if stopped == "too_big":
        raise CheckFailed(f"{what}: step {calls} fed X {int(sizes[-1])} rows, but batch_size is {batch_size}: "
                          f"each step trains on the batch_size rows order[i * batch_size:(i + 1) * batch_size], "
                          "not on the whole data.\nHint: set X.value = X_data[rows] and y.value = y_data[rows] for "
                          "that step's rows.")
    if stopped == "too_many":
        raise CheckFailed(f"{what}: {loop.function} was stopped after {calls} steps; with {n} examples, "
                          f"batch_size={batch_size} and epochs={epochs} it should take {epochs} * ({n} // "
                          f"{batch_size}) = {steps}.\nHint: each epoch takes len(y_data) // batch_size steps.")
    _judge_structure(outputs, prefix, what, loop)
    _judge_trainables(outputs, prefix, what, loop, n_features)
    _judge_rate(outputs, prefix, what, loop)
    _judge_continuity(outputs, prefix, what, per_epoch)
    _judge_start(outputs, prefix, what, loop, n, n_features, seed, extra)
    _judge_batches(outputs, prefix, what, loop, X_, y_, seed, stopped, extra)
    return _judge_returned(outputs, prefix, what, loop, n_features)


def accepted_structures(loop):
    """The graphs the task's network may be written as (the cost's arguments either way round if it is symmetric)."""
    wanted = loop.structure()
    accepted = {wanted}
    if loop.symmetric_cost:
        accepted.add(wanted.replace(f"{loop.cost}(y, .)", f"{loop.cost}(., y)"))
    return accepted


def _judge_structure(outputs, prefix, what, loop):
    got = str(outputs.get(prefix + "structure", ""))
    wanted = loop.structure()
    if not got or got in accepted_structures(loop):
        return
    parts = got.split(" -> ")
    kinds = [p.split("(")[0] for p in parts]
    if loop.hidden not in kinds and kinds.count("Linear") == 2 and len(parts) == 3:
        hint = (f"there is no {loop.hidden} between the two Linear nodes, so the network is one linear function "
                f"of its input: Linear(X, W1, b1), then {loop.hidden}, then Linear(., W2, b2).")
    elif len(parts) == 4 and kinds[1] != loop.hidden and kinds.count("Linear") == 2:
        hint = f"the hidden layer is {kinds[1]}; the task's is {loop.hidden}."
    elif parts and parts[-1].startswith(loop.cost) and parts[-1] != f"{loop.cost}(y, .)":
        hint = f"the cost takes the labels first and the network's output second: {loop.cost}(y, logits)."
    else:
        hint = "build the graph of the task, node by node."
    raise CheckFailed(f"{what}: the graph that sgd_update's trainables belong to is\n    {got}\nbut the task's "
                      f"network is\n    {wanted}\nHint: {hint}")


def _judge_trainables(outputs, prefix, what, loop, n_features):
    complete = np.atleast_1d(outputs.get(prefix + "complete", np.zeros(0, dtype=bool)))
    if np.all(complete):
        return
    step = int(np.argmin(complete))
    shapes = [str(s) for s in np.atleast_1d(outputs.get(prefix + "signatures", np.array([""])))]
    expected = ", ".join(str(s) for s in loop.shapes(n_features).values())
    raise CheckFailed(f"{what}: at step {step + 1} sgd_update was given trainables of the shapes {shapes[-1] or 'none'}"
                      f" ({len(shapes)} different set(s) in all); every step should update all four, [W1, b1, W2, b2] "
                      f"(shapes {expected}).\nHint: pass them all every step, sgd_update([W1, b1, W2, b2], "
                      "learning_rate).")


def _judge_rate(outputs, prefix, what, loop):
    rate, batch_size = loop.settings["learning_rate"], loop.settings["batch_size"]
    rates = np.atleast_1d(outputs.get(prefix + "rates", np.zeros(0)))
    if not np.allclose(rates, rate, rtol=1e-9, atol=0):
        used = sorted(set(np.round(rates, 9).tolist()))
        shown = ", ".join(f"{r:.6g}" for r in used[:4])
        if used == [1e-2]:
            hint = "sgd_update's default, 0.01: it was called without the rate; pass it on, sgd_update(trainables, " \
                   "learning_rate)."
        elif np.allclose(used, rate / batch_size):
            hint = (f"{rate:g} / batch_size: the cost is already a mean over the batch, so pass learning_rate "
                    "as it is.")
        elif np.allclose(used, rate ** 2):
            hint = "the rate squared: pass learning_rate as it is, once."
        elif len(used) > 1:
            first = int(np.argmax(~np.isclose(rates, rates[0], rtol=1e-9, atol=0)))
            raise CheckFailed(f"{what}: the learning rate changed during the training: sgd_update was given "
                              f"{rates[0]:.6g} up to step {first}, then {rates[first]:.6g} from step {first + 1} "
                              f"({len(used)} different rates in {len(rates)} steps), but it was given "
                              f"learning_rate={rate:g}.\n"
                              "Hint: the task keeps the rate the same at every step: sgd_update(trainables, "
                              "learning_rate).")
        else:
            hint = "pass it on as it is: sgd_update(trainables, learning_rate)."
        raise CheckFailed(f"{what}: {loop.function} called sgd_update with the learning rate {shown}, but it was "
                          f"given learning_rate={rate:g}.\nHint: that is {hint}")
    gradients = np.asarray(outputs.get(prefix + "gradients", np.zeros((0, 4, 2))), dtype=float).reshape(-1, 4, 2)
    for k, entry in enumerate(gradients):
        scales, residuals = entry[:, 0], entry[:, 1]
        if np.all(np.isnan(scales)):
            continue
        ok = np.isclose(scales, 1.0, rtol=1e-6, atol=0) & (residuals < 1e-6)
        if np.all(ok | np.isnan(scales)):
            continue
        bad = [NAMES[j] for j in range(4) if not ok[j] and not np.isnan(scales[j])]
        if np.all(residuals[~np.isnan(residuals)] < 1e-6) and np.allclose(scales[~np.isnan(scales)], rate, rtol=1e-6):
            raise CheckFailed(
                f"{what}: at step {k + 1} the gradients handed to sgd_update were {rate:g} (the learning rate) times "
                f"the gradients of the cost, and sgd_update was given the rate {rate:g} as well: every step moved "
                f"by learning_rate**2 * gradient = {rate * rate:.3g} * gradient, not {rate:g} * gradient.\nHint: "
                "leave t.gradients as the backward pass left them; sgd_update applies the learning rate, once.")
        previous = np.asarray(outputs.get(prefix + "on_previous", np.zeros((0, 4, 2))), dtype=float).reshape(-1, 4, 2)
        later = previous[k:][~np.all(np.isnan(previous[k:, :, 0]), axis=1)]
        if len(later) and np.all(np.isclose(later[:, :, 0], 1.0, rtol=1e-6, atol=0) & (later[:, :, 1] < 1e-6)):
            raise CheckFailed(
                f"{what}: from step {k + 1} on, the gradients handed to sgd_update were computed on the batch of the "
                "step before: forward_and_backward(graph) ran before X.value and y.value were set to the step's "
                "rows.\nHint: in each step, first X.value = X_data[rows] and y.value = y_data[rows], then "
                "forward_and_backward(graph), then sgd_update(trainables, learning_rate).")
        same_scale = np.allclose(scales[~np.isnan(scales)], scales[~np.isnan(scales)][0], rtol=1e-6)
        if same_scale and np.all(residuals[~np.isnan(residuals)] < 1e-6):
            observed = f"{scales[~np.isnan(scales)][0]:.6g} times the gradients of the cost"
        else:
            observed = "not the gradients of the cost for that batch and those weights (a fresh backward pass " \
                       f"differs for {', '.join(bad)})"
        raise CheckFailed(f"{what}: at step {k + 1} the gradients sgd_update was given were {observed}.\nHint: "
                          "each step runs forward_and_backward(graph) on its batch, then sgd_update(trainables, "
                          "learning_rate) with the gradients left as the backward pass made them.")


def _judge_start(outputs, prefix, what, loop, n, n_features, seed, extra):
    start = {name: outputs[prefix + "start_" + name] for name in NAMES if prefix + "start_" + name in outputs}
    if len(start) < 4:
        return
    h = loop.settings["n_hidden"]
    for name in ("b1", "b2"):
        if np.any(start[name] != 0):
            raise CheckFailed(f"{what}: {name} started at {fmt(start[name])}; the task starts b1 and b2 at zero "
                              "(np.zeros).")
    for name in ("W1", "W2"):
        units = start[name].T if name == "W1" else start[name]
        if h > 1 and np.allclose(units, units[:1]):
            raise CheckFailed(
                f"{what}: {name} started with every hidden unit the same ({fmt(start[name].ravel()[:3])}...). Then "
                "every hidden unit gets the same gradient and they stay identical: the network has in effect one "
                f"hidden unit.\nHint: draw the weights as the task says: {loop.draw_text}.")
    W1, W2, _ = replay(loop, n, n_features, seed, epochs=0)
    if np.array_equal(start["W1"], W1) and np.array_equal(start["W2"], W2):
        return
    for other_prefix, other_seed in extra:
        other = {name: outputs.get(other_prefix + "start_" + name) for name in ("W1", "W2")}
        if any(v is None for v in other.values()):
            continue
        same = all(np.array_equal(other[k], start[k]) for k in other)
        if other_seed == seed and not same:
            raise CheckFailed(f"{what}: two runs with the same seed ({seed}) started from different weights, so a "
                              "result cannot be reproduced.\nHint: make every random choice with one generator, rng "
                              "= np.random.default_rng(seed), not with np.random.normal, np.random.permutation or "
                              "np.random.default_rng() without the seed.")
        if other_seed != seed and same:
            raise CheckFailed(f"{what}: runs with the seeds {seed} and {other_seed} started from the same weights: "
                              "the seed argument is not used.\nHint: create the generator from it, rng = "
                              "np.random.default_rng(seed), and use that rng for every random choice.")
    variants = []
    fresh_W2 = loop.weights(np.random.default_rng(seed), h, loop.n_out)     # a new generator's first draw
    if np.array_equal(start["W1"], W1) and np.array_equal(start["W2"], fresh_W2):
        variants.append(f"W2 is the first draw of a new generator made from the seed, just as W1 is: draw both from "
                        f"the one rng, W1 first, then W2 ({loop.draw_text}), rather than making a generator (or "
                        "passing the seed) for each layer.")
    rng = np.random.default_rng(seed)
    loop.weights(rng, h, loop.n_out)
    if np.array_equal(start["W2"], fresh_W2) and np.array_equal(start["W1"], loop.weights(rng, n_features, h)):
        variants.append(f"W2 was drawn first: draw W1 first, then W2 ({loop.draw_text}).")
    shuffled_first = np.random.default_rng(seed)
    shuffled_first.permutation(n)
    try:
        early = loop.draw(shuffled_first, n_features, h, loop.n_out)
    except Exception:   # noqa: BLE001
        early = None
    if early is not None and np.array_equal(start["W1"], early[0]):
        variants.append("a shuffle was drawn before the weights: the weights come first, then each epoch's "
                        "rng.permutation.")
    normal = np.random.default_rng(seed).normal(size=(n_features, h))
    if not np.array_equal(normal, W1) and np.array_equal(start["W1"], normal):
        variants.append(f"W1 is rng.normal(size=...), a standard normal; the task draws {loop.draw_text}.")
    name = "W1" if not np.array_equal(start["W1"], W1) else "W2"
    expected = W1 if name == "W1" else W2
    observed = (f"{name} before the first step was {inline(start[name].ravel()[:3])}..., but the rule's draws give "
                f"{inline(expected.ravel()[:3])}...")
    hint = variants[0] if variants else (f"create rng = np.random.default_rng(seed) once, before anything random, and "
                                         f"draw the weights from it first: {loop.draw_text}.")
    raise CheckFailed(f"{what}: {observed} (with seed={seed}).\nHint: {hint}")


def _judge_continuity(outputs, prefix, what, per_epoch):
    continuous = np.atleast_1d(outputs.get(prefix + "continuous", np.zeros(0, dtype=bool)))
    if np.all(continuous):
        return
    steps = np.flatnonzero(~continuous)
    at_epochs = per_epoch > 0 and np.all(steps % per_epoch == 0)
    where = ", ".join(str(s + 1) for s in steps[:4]) + (", ..." if len(steps) > 4 else "")
    if at_epochs:
        raise CheckFailed(f"{what}: before the first step of each new epoch (steps {where}) the weights were not "
                          "the ones the step before left: they were set afresh every epoch, so each epoch starts "
                          "training again from scratch.\nHint: draw the weights once, before the loop over epochs; "
                          "inside it, only the batches change.")
    raise CheckFailed(f"{what}: before step(s) {where} the weights were not the ones the step before left: something "
                      "other than sgd_update changed them between steps.\nHint: after the weights are drawn, only "
                      "sgd_update changes them.")


def _judge_batches(outputs, prefix, what, loop, X_, y_, seed, stopped, extra=()):
    settings = loop.settings
    batch_size, epochs = settings["batch_size"], settings["epochs"]
    n = len(y_)
    per_epoch = n // batch_size
    sizes = np.atleast_1d(outputs[prefix + "sizes"]).astype(int)
    calls = len(sizes)
    if np.any(sizes != batch_size):
        shown = ", ".join(str(s) for s in sorted(set(sizes.tolist())))
        if per_epoch * batch_size < n and np.array_equal(
                sizes, np.tile(np.r_[np.full(per_epoch, batch_size), n - per_epoch * batch_size], epochs)[:calls]):
            raise CheckFailed(
                f"{what}: each epoch ended with a short step on the {n - per_epoch * batch_size} rows left over "
                f"({n} is not a multiple of {batch_size}); the rule takes len(y_data) // batch_size = {per_epoch} "
                "full steps per epoch, and the rows left over wait for the next epoch's shuffle.\nHint: for i in "
                f"range(len(y_data) // batch_size): rows = order[i * batch_size:(i + 1) * batch_size].")
        raise CheckFailed(f"{what}: the steps fed X batches of {shown} rows, but batch_size is {batch_size}.\nHint: "
                          "each step trains on rows = order[i * batch_size:(i + 1) * batch_size], X.value = "
                          "X_data[rows] and y.value = y_data[rows].")
    if not stopped and calls != epochs * per_epoch:
        raise CheckFailed(f"{what}: {loop.function} took {calls} steps; with {n} examples, batch_size={batch_size} "
                          f"and epochs={epochs} it should take {epochs} * ({n} // {batch_size}) = "
                          f"{epochs * per_epoch}.\nHint: each epoch takes len(y_data) // batch_size steps.")
    rows = np.asarray(outputs[prefix + "rows"], dtype=int).reshape(-1, batch_size)
    if np.any(rows == -1):
        step = int(np.argmax(np.any(rows == -1, axis=1)))
        source = str(outputs.get(prefix + "foreign", ""))
        where = (f"they are rows of the notebook's {source}, not of the X_data it was given" if source else
                 "they are not rows of the X_data it was given")
        raise CheckFailed(f"{what}: at step {step + 1} X held rows that are not in the data passed to "
                          f"{loop.function}: {where}.\nHint: train on the arguments, X_data and y_data, never on the "
                          "notebook's own variables.")
    labels_ok = np.atleast_1d(outputs[prefix + "labels_ok"])
    if not np.all(labels_ok):
        step = int(np.argmin(labels_ok))
        stored = int(outputs.get(prefix + "labels_stored", -1))
        if stored >= 0:
            raise CheckFailed(f"{what}: at step {step + 1} y held y_data[{stored}:{stored + batch_size}], the "
                              "entries in their stored order, but X held other rows: the rows were chosen for X_data "
                              "only, so each example is trained towards another one's y.\nHint: index both "
                              "with the same rows, X.value = X_data[rows] and y.value = y_data[rows].")
        raise CheckFailed(f"{what}: at step {step + 1} y did not hold y_data's entries for the rows X held: X_data and "
                          "y_data were indexed by different draws.\nHint: draw the rows once per step and feed both "
                          "from them, X.value = X_data[rows] and y.value = y_data[rows].")
    canon = _canonical(X_, canonical_rows(X_))
    expected = canon[replay(loop, n, X_.shape[1], seed, epochs)[2]]
    got = rows[:len(expected)]
    if np.array_equal(got, expected[:len(got)]):
        return
    step = int(np.argmax(np.any(got != expected[:len(got)], axis=1)))
    for other_prefix, other_seed in extra:
        other = np.asarray(outputs.get(other_prefix + "rows", np.zeros((0, batch_size))), dtype=int)
        if other_seed == seed and len(other) and len(got) and not np.array_equal(other[0], got[0]):
            raise CheckFailed(f"{what}: two runs with the same seed ({seed}) trained on different rows at their first "
                              "step, so a result cannot be reproduced.\nHint: draw every shuffle from the one "
                              "generator rng = np.random.default_rng(seed), with rng.permutation, not with "
                              "np.random.permutation or np.random.shuffle.")
    epoch, i = divmod(step, per_epoch)
    epochs_seen = [got[e * per_epoch:(e + 1) * per_epoch] for e in range(len(got) // per_epoch)]
    observed = (f"step {i + 1} of epoch {epoch + 1} trained on the rows {inline(got[step][:6])}..., but the rule "
                f"gives {inline(expected[step][:6])}...")
    rule = ("Hint: the rule: rng = np.random.default_rng(seed) once; the weights first; then each epoch order = "
            "rng.permutation(len(y_data)), and step i trains on order[i * batch_size:(i + 1) * batch_size].")
    if 0 < step < per_epoch:
        taken = canon[replay(loop, n, X_.shape[1], seed, -(-len(got) // step), per_epoch=step)[2]]
        if np.array_equal(got, taken[:len(got)]):
            raise CheckFailed(
                f"{what}: each epoch took {step} step(s) of its shuffle, then drew the next epoch's order; with {n} "
                f"examples and batch_size={batch_size} an epoch is {per_epoch} steps ({observed}).\nHint: each epoch "
                "takes len(y_data) // batch_size steps: for i in range(len(y_data) // batch_size).")
    if len(got) > 1 and all(np.array_equal(r, got[0]) for r in got[1:]):
        raise CheckFailed(f"{what}: every step fed X the same {batch_size} rows, {inline(got[0][:6])}..., so the "
                          f"network only ever learns from those examples.\n{rule}")
    plain = np.arange(per_epoch * batch_size).reshape(per_epoch, batch_size)
    if epochs_seen and all(np.array_equal(e, canon[plain]) for e in epochs_seen):
        raise CheckFailed(f"{what}: the data were never shuffled: every epoch walked through the rows in their "
                          f"stored order ({observed}).\nHint: start each epoch with order = "
                          "rng.permutation(len(y_data)), and take the step's rows from order.")
    if len(epochs_seen) > 1 and all(np.array_equal(e, epochs_seen[0]) for e in epochs_seen[1:]):
        fresh = np.random.default_rng(seed).permutation(n)[:per_epoch * batch_size].reshape(per_epoch, batch_size)
        if np.array_equal(epochs_seen[0], expected[:per_epoch]):
            raise CheckFailed(f"{what}: the data were shuffled once: epoch 1 followed the rule, but every later "
                              f"epoch trained on the same batches in the same order ({observed}).\nHint: draw a new "
                              "order = rng.permutation(len(y_data)) at the start of every epoch, inside the loop "
                              "over epochs.")
        if np.array_equal(epochs_seen[0], canon[fresh]):
            raise CheckFailed(f"{what}: every epoch trained on the same batches in the same order, the first "
                              "permutation of a generator made from the seed: the generator is created again "
                              f"(np.random.default_rng(seed)) inside the loop over epochs ({observed}).\nHint: create "
                              "it once, at the start of the function, before the weights are drawn.")
        raise CheckFailed(f"{what}: every epoch trained on the same batches in the same order ({observed}).\n{rule}")
    drawn = np.random.default_rng(seed)
    loop.draw(drawn, X_.shape[1], settings["n_hidden"], loop.n_out)
    if np.array_equal(got, canon[[drawn.choice(n, size=batch_size, replace=False) for _ in range(len(got))]]):
        raise CheckFailed(f"{what}: every step drew a batch of its own, rng.choice(len(y_data), batch_size, "
                          f"replace=False), so within an epoch some rows come again and others never ({observed})."
                          "\nHint: each epoch takes len(y_data) // batch_size steps through one order = "
                          "rng.permutation(len(y_data)): step i trains on order[i * batch_size:(i + 1) * batch_size].")
    each_step = np.random.default_rng(seed)
    loop.draw(each_step, X_.shape[1], settings["n_hidden"], loop.n_out)
    at = [(i % max(per_epoch, 1)) * batch_size for i in range(len(got))]
    if np.array_equal(got, canon[[each_step.permutation(n)[a:a + batch_size] for a in at]]):
        raise CheckFailed(f"{what}: a new order = rng.permutation(len(y_data)) was drawn at every step, not once per "
                          f"epoch, so an epoch's batches overlap and some rows are never seen ({observed}).\nHint: "
                          "draw the order at the start of each epoch, in the loop over epochs and before the loop over "
                          "steps; step i trains on order[i * batch_size:(i + 1) * batch_size].")
    first_epoch = got[:per_epoch].ravel()
    if len(np.unique(first_epoch)) < len(first_epoch):
        integers = np.random.default_rng(seed)
        loop.draw(integers, X_.shape[1], settings["n_hidden"], loop.n_out)
        sampled = canon[integers.integers(0, n, size=(per_epoch, batch_size))]
        if np.array_equal(got[:per_epoch], sampled):
            raise CheckFailed(f"{what}: the batches were sampled with replacement (rng.integers), so some rows come "
                              f"twice in an epoch and others not at all ({observed}).\nHint: each epoch walks "
                              "through a fresh order = rng.permutation(len(y_data)), order[i * batch_size:(i + 1) * "
                              "batch_size] at step i.")
        repeated = int(len(first_epoch) - len(np.unique(first_epoch)))
        raise CheckFailed(f"{what}: in epoch 1, {repeated} row(s) were trained on more than once: the batches were "
                          f"not drawn without replacement ({observed}).\n{rule}")
    raise CheckFailed(f"{what}: {observed} (seed={seed}).\n{rule}")


def _judge_returned(outputs, prefix, what, loop, n_features):
    if prefix + "params__error" in outputs:
        raise CheckFailed(f"{what}: the result is not a list of arrays: {outputs[prefix + 'params__error']}")
    if int(outputs.get(prefix + "count", -1)) != 4:
        raise CheckFailed(f"{what} should return the four trained values [W1, b1, W2, b2], "
                          f"got {int(outputs.get(prefix + 'count', 0))} item(s).")
    params = {}
    for name, shape in loop.shapes(n_features).items():
        params[name] = recorded(outputs, prefix + name, f"{what}: the returned {name}")
        if params[name].shape != shape:
            raise CheckFailed(f"{what}: the returned {name} has shape {params[name].shape}, expected {shape}.")
    start = {name: outputs.get(prefix + "start_" + name) for name in NAMES}
    last = {name: outputs.get(prefix + "last_" + name) for name in NAMES}
    for name in NAMES:
        if last[name] is None or np.array_equal(params[name], last[name]):
            continue
        if start[name] is not None and np.array_equal(params[name], start[name]):
            raise CheckFailed(f"{what}: the returned {name} is its value from before training, not after the last "
                              "step.\nHint: return the trained values, [W1.value, b1.value, W2.value, b2.value], "
                              "read after the loop (sgd_update gives each trainable a new array at every step).")
        raise CheckFailed(f"{what}: the returned {name} is not the value the last step left in {name}.value.\n"
                          "Hint: return [W1.value, b1.value, W2.value, b2.value] after the loop.")
    return params
