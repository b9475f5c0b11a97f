# subtracts 1 per consumer, so a node that takes the same input twice (Add(x, x)) never becomes ready
# expect: {"assignment": "ps2_topological_sort", "score": 1, "visible": true, "message": "subtract m.inbound_nodes.count(n)"}
# %% sort_solution
def sort_nodes(start_nodes):
    nodes = connected_nodes(start_nodes)
    waiting = {n: len(n.inbound_nodes) for n in nodes}
    ready = deque(n for n in nodes if waiting[n] == 0)
    order = []
    while ready:
        n = ready.popleft()
        order.append(n)
        for m in n.outbound_nodes:
            waiting[m] -= 1
            if waiting[m] == 0:
                ready.append(m)
    if len(order) < len(nodes):
        raise MiniflowError("cycle: " + ", ".join(n.name for n in nodes if waiting[n] > 0))
    return order
