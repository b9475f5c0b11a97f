# pops each node's outbound_nodes while counting, leaving the graph without consumers
# expect: {"assignment": "ps2_topological_sort", "score": 1, "visible": true, "message": "sorting changed the graph"}
# %% sort_solution
def sort_nodes(start_nodes):
    nodes = connected_nodes(start_nodes)
    waiting = {n: len(n.inbound_nodes) for n in nodes}
    ready = deque(n for n in nodes if waiting[n] == 0)
    order = []
    while ready:
        n = ready.popleft()
        order.append(n)
        while n.outbound_nodes:
            m = n.outbound_nodes.pop(0)
            waiting[m] -= m.inbound_nodes.count(n)
            if waiting[m] == 0:
                ready.append(m)
    if len(order) < len(nodes):
        raise MiniflowError("cycle: " + ", ".join(n.name for n in nodes if waiting[n] > 0))
    return order
