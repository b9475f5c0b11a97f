# keys its counts of waiting inputs by node.name: two different nodes named alike share one count
# expect: {"assignment": "ps2_topological_sort", "score": 3, "visible": true, "message": "key your counts by the node itself"}
# %% sort_solution
def sort_nodes(start_nodes):
    nodes = connected_nodes(start_nodes)
    waiting = {n.name: len(n.inbound_nodes) for n in nodes}
    ready = deque(n for n in nodes if waiting[n.name] == 0)
    order = []
    while ready:
        n = ready.popleft()
        order.append(n)
        for m in n.outbound_nodes:
            waiting[m.name] -= m.inbound_nodes.count(n)
            if waiting[m.name] == 0:
                ready.append(m)
    if len(order) < len(nodes):
        raise MiniflowError("cycle: " + ", ".join(n.name for n in nodes if waiting[n.name] > 0))
    return order
