r"""Problem set 2: `sort_nodes` (Kahn's algorithm), and its cycle error."""
import re

import numpy as np

from miniflow import Add, Input, Linear, MSE, MiniflowError, Mul, Sigmoid

from .common import (CheckFailed, OutOfSteps, ReferenceUsed, attempt, describe, error_hint, hint_text, learner,
                    other_inputs, recorded, register, step_budget, targets, visible_and_hidden)

targets("ps2_topological_sort", ["sort_nodes"])


def _lesson_graph_specs():
    """The lesson's graphs as (name, kind, input indices) lists, and one with the task's two details."""
    add = [("x", "Input", ()), ("y", "Input", ()), ("z", "Input", ()), ("f", "Add", (0, 1, 2))]
    network = [("X", "Input", ()), ("y", "Input", ()), ("W1", "Input", ()), ("b1", "Input", ()),
               ("W2", "Input", ()), ("b2", "Input", ()), ("l1", "Linear", (0, 2, 3)), ("s1", "Sigmoid", (6,)),
               ("l2", "Linear", (7, 4, 5)), ("cost", "MSE", (1, 8))]
    twice = [("x", "Input", ()), ("y", "Input", ()), ("s", "Add", (0, 0)), ("p", "Mul", (2, 1)),
             ("f", "Add", (3, 2))]    # s takes x twice; s has two consumers, p and f
    return [add, network, twice, _named_apart(), _named_alike()]


def _named_apart():
    """h1 = Add(x, y), h2 = Mul(h1), out = Add(h2, y): nodes with different numbers of inputs."""
    return [("x", "Input", ()), ("y", "Input", ()), ("h1", "Add", (0, 1)), ("h2", "Mul", (2,)),
            ("out", "Add", (3, 1))]


def _named_alike():
    """The same graph, with h1 and h2 both named "h": two different nodes may share a name."""
    return [(name[0] if name in ("h1", "h2") else name, kind, picks) for name, kind, picks in _named_apart()]


#: Index of the graph whose twin differs only in its names, judged right after that twin.
NAMED_ALIKE = 4
NAMED_ALIKE_GRAPH = ("x, y = Input(), Input(); h = Add(x, y); a second node also named h = Mul(first h); "
                     "out = Add(second h, y)")


#: What sorting may run of the learner's own code, in lines: a right sort of these graphs needs a few hundred.
SORT_STEPS = 200_000


def _random_graph_spec(rng):
    """A random graph of Inputs, Adds and Muls in which some node has two consumers and one takes an input twice."""
    n_inputs = int(rng.integers(2, 5))
    spec = [(f"in{i}", "Input", ()) for i in range(n_inputs)]
    for i in range(int(rng.integers(3, 9))):
        k = len(spec)
        arity = int(rng.integers(1, 4))
        picks = tuple(int(j) for j in rng.integers(0, k, size=arity))
        spec.append((f"op{i}", ("Add", "Mul")[int(rng.integers(0, 2))], picks))
    k = len(spec)
    spec.append(("twice", "Add", (k - 1, k - 1)))                      # the same input twice
    spec.append(("shared", "Mul", (n_inputs, k - 1)))               # op0 and the last op: two consumers
    spec.append(("out", "Add", (len(spec) - 1, len(spec) - 2, n_inputs)))
    return spec


def _small_graph_spec(rng):
    """A visible check's extra graph: a few Inputs, then a few Adds and Muls, each on distinct earlier nodes."""
    n_inputs = int(rng.integers(2, 4))
    spec = [(f"in{i}", "Input", ()) for i in range(n_inputs)]
    for i in range(int(rng.integers(2, 5))):
        k = len(spec)
        arity = min(int(rng.integers(1, 4)), k)
        picks = tuple(sorted(int(j) for j in rng.choice(k, size=arity, replace=False)))
        spec.append((f"op{i}", ("Add", "Mul")[int(rng.integers(0, 2))], picks))
    return spec


def _describe_graph(spec):
    names = [name for name, _, _ in spec]
    return ", ".join(f"{name} = {kind}({', '.join(names[j] for j in picks)})"
                     for name, kind, picks in spec if kind != "Input")


def _build(spec):
    kinds = {"Input": Input, "Add": Add, "Mul": Mul, "Linear": Linear, "Sigmoid": Sigmoid, "MSE": MSE}
    nodes = []
    for name, kind, picks in spec:
        if kind == "Input":
            nodes.append(Input(name=name))
        else:
            nodes.append(kinds[kind](*(nodes[j] for j in picks), name=name))
    return nodes


def _sort_cases(rng, hidden):
    specs = ([_random_graph_spec(rng) for _ in range(3)] if hidden
             else _lesson_graph_specs() + [_small_graph_spec(rng)])
    starts = []
    for spec in specs:
        inputs = [i for i, (_, kind, _) in enumerate(spec) if kind == "Input"]
        starts.append([inputs[j] for j in rng.permutation(len(inputs))] if hidden else inputs)
    return list(zip(specs, starts))


def _probe_sort(hidden):
    def probe_fn(namespace, rng):
        sort = learner(namespace, "sort_nodes", "function")
        outputs = {}
        for i, (spec, start) in enumerate(_sort_cases(rng, hidden)):
            def run(spec=spec, start=start, i=i):
                nodes = _build(spec)
                before = _structure(nodes)
                with step_budget(SORT_STEPS):
                    order = sort([nodes[j] for j in start])
                outputs[f"graph{i}_changed"] = np.array(_changes(spec, nodes, before))
                if order is None:
                    return None
                index = {id(node): j for j, node in enumerate(nodes)}
                return np.array([index.get(id(node), -1) for node in list(order)], dtype=int)
            attempt(outputs, f"graph{i}", run)
        return outputs
    return probe_fn


def _structure(nodes):
    """Each node's inputs and consumers (as indices), and whether it has a value."""
    index = {id(node): j for j, node in enumerate(nodes)}
    return [(tuple(index.get(id(n), -1) for n in node.inbound_nodes),
             tuple(index.get(id(n), -1) for n in node.outbound_nodes), node.value is None) for node in nodes]


def _changes(spec, nodes, before):
    """What sorting changed in the graph, in words ("" if nothing)."""
    try:
        after = _structure(nodes)
    except Exception:   # the learner replaced a list by something else
        return "the nodes' inbound_nodes or outbound_nodes are no longer lists of nodes"
    names = [name for name, _, _ in spec]
    for j, ((ins, outs, empty), (ins2, outs2, empty2)) in enumerate(zip(before, after)):
        if ins != ins2:
            got = "[" + ", ".join(names[k] if k >= 0 else "?" for k in ins2) + "]"
            return f"{names[j]}.inbound_nodes was [{', '.join(names[k] for k in ins)}] and is now {got}"
        if outs != outs2:
            got = "[" + ", ".join(names[k] if k >= 0 else "?" for k in outs2) + "]"
            return f"{names[j]}.outbound_nodes was [{', '.join(names[k] for k in outs)}] and is now {got}"
        if empty and not empty2:
            return f"{names[j]} has a value now: sorting fed or computed values"
    return ""


def _display_names(spec):
    """Each node's name, with its kind added where two nodes share the name ("h (Add)", "h (Mul)")."""
    names = [name for name, _, _ in spec]
    return [f"{name} ({kind})" if names.count(name) > 1 else name for name, kind, _ in spec]


def _placed_by_variant(spec, subtract_once):
    """The nodes Kahn's algorithm places when it subtracts one per consumer (`subtract_once`) or per input."""
    waiting = [len(picks) for _, _, picks in spec]
    consumers = [[m for m, (_, _, picks) in enumerate(spec) if j in picks] for j in range(len(spec))]
    ready = [j for j, w in enumerate(waiting) if w == 0]
    placed = []
    while ready:
        j = ready.pop(0)
        placed.append(j)
        for m in consumers[j]:
            waiting[m] -= 1 if subtract_once else spec[m][2].count(j)
            if waiting[m] == 0:
                ready.append(m)
    return set(placed)


def _judge_order(order, spec, what):
    names = _display_names(spec)
    order = order.astype(int).ravel()
    if np.any(order < 0):
        raise CheckFailed(f"{what}: the list you returned contains things that are not nodes of the graph."
                          "\nHint: return the node objects themselves, not their names or positions.")
    seen = [names[j] for j in order]
    repeated = [names[j] for j in dict.fromkeys(int(j) for j in order) if list(order).count(j) > 1]
    if repeated:
        raise CheckFailed(f"{what}: {', '.join(repeated)} appear(s) more than once in your order {seen}."
                          "\nHint: put a node in the ready list once, at the moment its last waiting input is placed.")
    missing = [j for j in range(len(spec)) if j not in set(int(j) for j in order)]
    if missing:
        listed = ", ".join(names[j] for j in missing)
        found = (f"{what}: your order {seen} has {len(seen)} of the graph's {len(names)} nodes; "
                 f"it leaves out {listed}.")
        raise CheckFailed(found + "\n" + _missing_hint(spec, names, set(int(j) for j in order), missing))
    position = {j: p for p, j in enumerate(order)}
    for j, (_, _, picks) in enumerate(spec):
        for p in picks:
            if position[p] > position[j]:
                raise CheckFailed(f"{what}: in your order {seen}, {names[j]} comes before its input {names[p]}."
                                  "\nHint: a node can only be computed after all of its inputs.")


def _missing_hint(spec, names, placed, missing):
    """Why nodes were left out, from what the learner's order has in common with the known wrong sorts."""
    inputs = {j for j, (_, kind, _) in enumerate(spec) if kind == "Input"}
    twice = [j for j, (_, _, picks) in enumerate(spec) if len(set(picks)) < len(picks)]
    causes = []
    if twice and placed == _placed_by_variant(spec, subtract_once=True):
        node = twice[0]
        source = names[spec[node][2][0]]
        causes.append(f"these are exactly the nodes a sort reaches when it counts one input less per consumer: "
                      f"{names[node]} takes {source} twice, so it waits for 2 inputs, but {source} is one consumer. "
                      f"Subtract m.inbound_nodes.count(n) for each consumer m of a placed node n.")
    if placed == inputs:
        causes.append("only the Inputs you started from are there: after placing a node, go through its consumers "
                      "(n.outbound_nodes) and make ready each one that waits for nothing more.")
    if len(missing) == 1 and all(p in placed for p in spec[missing[0]][2]):
        causes.append(f"only the last node, {names[missing[0]]}, is missing, and all of its inputs are in your "
                      "order: loop until the ready list is empty (off by one?).")
    if causes:
        return hint_text(causes)
    first = next(j for j in missing if all(p in placed for p in spec[j][2]))
    ins = ", ".join(names[p] for p in spec[first][2])
    return (f"Hint: {names[first]} is left out although every one of its inputs ({ins}) is in your order: "
            f"when a node n is placed, each consumer m waits for m.inbound_nodes.count(n) inputs less, and m is "
            "ready when it waits for none.")


def _compare_sort(hidden):
    def compare_fn(outputs, rng):
        for i, (spec, start) in enumerate(_sort_cases(rng, hidden)):
            if hidden:
                what = f"sort_nodes on a random graph of {len(spec)} nodes"
            elif i < 2:
                what = ("sort_nodes on the lesson's graph f = Add(x, y, z)" if i == 0 else
                        "sort_nodes on the lesson's network MSE(y, Linear(Sigmoid(Linear(X, W1, b1)), W2, b2))")
            elif i == 2:
                what = "sort_nodes on the graph s = Add(x, x), p = Mul(s, y), f = Add(p, s)"
            elif i == NAMED_ALIKE - 1:
                what = "sort_nodes on the graph h1 = Add(x, y), h2 = Mul(h1), out = Add(h2, y)"
            elif i == NAMED_ALIKE:
                what = f"sort_nodes on the graph {NAMED_ALIKE_GRAPH}"
                try:
                    _judge_sort(i, spec, what, outputs)
                except CheckFailed as failure:
                    found = str(failure).split("\nHint:")[0]
                    raise CheckFailed(
                        f"{found}\nHint: this is the graph before it (which your code sorts right) with h1 and h2 "
                        "both named h. Two different nodes may share a name: key your counts by the node itself "
                        "(waiting[m]), never by m.name.") from None
                continue
            else:
                what = "sort_nodes on this graph"
                with other_inputs("sort_nodes", f"the graph {_describe_graph(spec)}",
                                   lesson="sorts the lesson's graphs",
                                   fix="order the nodes of the graph it is given rather than writing an order in"):
                    _judge_sort(i, spec, what, outputs)
                continue
            _judge_sort(i, spec, what, outputs)
    return compare_fn


def _judge_sort(i, spec, what, outputs):
    error = str(outputs.get(f"graph{i}__error", ""))
    twice = (any(len(set(picks)) < len(picks) for _, _, picks in spec)   # and counting per consumer gets stuck
             and len(_placed_by_variant(spec, subtract_once=True)) < len(spec))
    same_input = ("\nHint: a node may take the same input twice, as in Add(x, x); it appears once in "
                  "x.outbound_nodes but twice in its inbound_nodes, so subtract m.inbound_nodes.count(n)."
                  if twice else "")
    if error.startswith("MiniflowError"):
        raise CheckFailed(
            f"{what}: your code raised\n    {error}\nbut this graph has no cycle: some node never became "
            "ready." + (same_input or "\nHint: a node is ready when every one of its inputs is placed."))
    if error.startswith("OutOfSteps"):
        raise CheckFailed(
            f"{what}: sort_nodes did not finish: it ran {SORT_STEPS:,} lines of your code without returning, "
            "so it was stopped. This graph has no cycle, so some loop never ends." + (same_input or
            "\nHint: loop while the ready list is not empty, taking one node out of it each time."))
    _judge_order(recorded(outputs, f"graph{i}", what), spec, what)
    changed = str(outputs.get(f"graph{i}_changed", ""))
    if changed:
        raise CheckFailed(
            f"{what}: the order is right, but sorting changed the graph: {changed}. The forward and backward "
            "passes need every edge afterwards.\nHint: sorting is only sorting: keep the count of waiting "
            "inputs in a dict of your own (waiting[m] -= ...) instead of removing edges, and feed no values.")


visible_and_hidden(
    "sort_nodes", "ps2_topological_sort", _probe_sort, _compare_sort,
    visible="sort_nodes puts every node of the lesson's two graphs, of one where s = Add(x, x) feeds two nodes, "
            "and of one where two nodes share a name, after its inputs, and leaves the graph as it was.",
    hidden="sort_nodes on random graphs, started from their Inputs in any order, with a node that has two consumers "
           "and a node that takes the same input twice.")


def _cyclic_graph_spec(rng):
    """A visible check's extra graph: a small random graph whose last node also waits on a node it feeds."""
    spec = _small_graph_spec(rng)
    spec.append(("back", "Add", (len(spec) - 1,)))
    return spec


def _probe_cycle(namespace, rng):
    sort = learner(namespace, "sort_nodes", "function")
    x = Input(name="x")
    p = Add(x, name="p")
    q = Add(p, name="q")
    p.inbound_nodes.append(q)          # p and q now wait on each other
    q.outbound_nodes.append(p)
    outputs = {}
    _try_sort(sort, [x], outputs, "")
    spec = _cyclic_graph_spec(rng)
    nodes = _build(spec)
    last, back = nodes[-2], nodes[-1]
    last.inbound_nodes.append(back)    # the last node and `back` now wait on each other
    back.outbound_nodes.append(last)
    _try_sort(sort, [n for n, (_, kind, _) in zip(nodes, spec) if kind == "Input"], outputs, "random_")
    return outputs


def _try_sort(sort, start, outputs, prefix):
    try:
        with step_budget(SORT_STEPS):
            order = sort(start)
        outputs[prefix + "returned"] = np.array(len(order) if order is not None else -1)
    except ReferenceUsed:
        pass
    except OutOfSteps:
        outputs[prefix + "endless"] = np.array(SORT_STEPS)
    except MiniflowError as error:
        outputs[prefix + "raised"] = np.array(describe(error))
    except Exception as error:
        outputs[prefix + "raised_other"] = np.array(describe(error))


def _compare_cycle(outputs, rng):
    _judge_cycle(outputs, "", "sort_nodes on a graph with a cycle (p = Add(x, q), q = Add(p))", ["p", "q"])
    spec = _cyclic_graph_spec(rng)
    cycle = f"{_describe_graph(spec)}, and {spec[-2][0]} also takes back as an input"
    with other_inputs("sort_nodes", f"the graph {cycle}", lesson="finds the lesson's cycle",
                       fix="look for nodes left waiting in the graph it is given rather than for particular nodes"):
        _judge_cycle(outputs, "random_", "sort_nodes on this graph with a cycle", [spec[-2][0], "back"])


def _judge_cycle(outputs, prefix, what, waiting):
    if prefix + "raised" in outputs:
        message = str(outputs[prefix + "raised"]).partition("\n    raised at: ")[0]   # its words, not its code
        if not any(re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", message) for name in waiting):
            raise CheckFailed(
                f"{what}: your code raised MiniflowError, as it should, but its message names none of the nodes "
                f"left waiting ({', '.join(waiting)}):\n    {message}\nHint: the task asks for "
                "their names, so that whoever sees the error can find the cycle: e.g. "
                "\", \".join(n.name for n in nodes if waiting[n] > 0) in the message.")
        return
    if prefix + "endless" in outputs:
        raise CheckFailed(
            f"{what} should raise MiniflowError, but sort_nodes did not finish: it ran {SORT_STEPS:,} lines of "
            "your code without returning, so it was stopped.\nHint: on a cycle no node ever becomes ready. "
            "Loop while the ready list is not empty; when it is empty and nodes are still waiting, raise "
            "MiniflowError naming them.")
    if prefix + "raised_other" in outputs:
        other = outputs[prefix + "raised_other"]
        hint = error_hint(str(other))
        if hint.startswith("It is not written yet"):
            raise CheckFailed(f"{what}: your code raised\n    {other}\nHint: {hint}")
        if str(other).startswith("RecursionError"):
            raise CheckFailed(f"{what} should raise MiniflowError, but your code raised\n    {other}"
                              "\nHint: a depth-first sort goes round a cycle for ever: mark each node while its "
                              "inputs are being visited, and raise MiniflowError when you reach a marked node again.")
        raise CheckFailed(f"{what} should raise MiniflowError, but your code raised\n    {other}"
                          "\nHint: when no node is ready but some are still waiting, there is a cycle: "
                          "raise MiniflowError naming the waiting nodes.")
    if prefix + "returned" in outputs:
        raise CheckFailed(f"{what} should raise MiniflowError, but your code returned an order of "
                          f"{int(outputs[prefix + 'returned'])} node(s).\nHint: if fewer nodes were placed than the "
                          "graph has, the rest wait on each other: raise MiniflowError naming them.")
    raise CheckFailed(f"{what}: no result was recorded.")


register("sort_nodes_cycle", "ps2_topological_sort",
         "sort_nodes raises MiniflowError naming the waiting nodes when the graph has a cycle.",
       _probe_cycle, _compare_cycle)


