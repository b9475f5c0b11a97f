r"""Problem set 2: `sort_nodes` (Kahn's algorithm), and its cycle error."""
import numpy as np

from miniflow import Add, Input, Linear, MSE, MiniflowError, Mul, Sigmoid

from .common import (CheckFailed, OutOfSteps, ReferenceUsed, attempt, describe, error_hint, learner,
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
    return [add, network, twice]


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


def _judge_order(order, spec, what):
    names = [name for name, _, _ in spec]
    order = order.astype(int).ravel()
    if np.any(order < 0):
        raise CheckFailed(f"{what}: the list you returned contains things that are not nodes of the graph."
                          "\nHint: return the node objects themselves, not their names or positions.")
    seen = [names[j] for j in order]
    repeated = sorted({n for n in seen if seen.count(n) > 1})
    if repeated:
        raise CheckFailed(f"{what}: {', '.join(repeated)} appear(s) more than once in your order {seen}."
                          "\nHint: put a node in the ready list once, at the moment its last waiting input is placed.")
    missing = [n for n in names if n not in seen]
    if missing:
        raise CheckFailed(
            f"{what}: your order {seen} leaves out {', '.join(missing)} ({len(seen)} of {len(names)} nodes)."
            "\nHint: a node is ready when all of its inputs are placed. Count each node's inputs with "
            "len(node.inbound_nodes) (a node may take the same input twice, as in Add(x, x)), subtract one for "
            "each placed input, and release the node when its count reaches 0.")
    position = {j: p for p, j in enumerate(order)}
    for j, (name, _, picks) in enumerate(spec):
        for p in picks:
            if position[p] > position[j]:
                raise CheckFailed(f"{what}: in your order {seen}, {name} comes before its input {names[p]}."
                                  "\nHint: a node can only be computed after all of its inputs.")


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
    twice = any(len(set(picks)) < len(picks) for _, _, picks in spec)
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
    visible="sort_nodes puts every node of the lesson's two graphs, and of one where s = Add(x, x) feeds two "
            "nodes, after its inputs, and leaves the graph as it was.",
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
    _judge_cycle(outputs, "", "sort_nodes on a graph with a cycle (p = Add(x, q), q = Add(p))")
    spec = _cyclic_graph_spec(rng)
    cycle = f"{_describe_graph(spec)}, and {spec[-2][0]} also takes back as an input"
    with other_inputs("sort_nodes", f"the graph {cycle}", lesson="finds the lesson's cycle",
                       fix="look for nodes left waiting in the graph it is given rather than for particular nodes"):
        _judge_cycle(outputs, "random_", "sort_nodes on this graph with a cycle")


def _judge_cycle(outputs, prefix, what):
    if prefix + "raised" in outputs:
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


register("sort_nodes_cycle", "ps2_topological_sort", "sort_nodes raises MiniflowError when the graph has a cycle.",
       _probe_cycle, _compare_cycle)


