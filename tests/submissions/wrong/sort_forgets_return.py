# prints the order instead of returning it
# expect: {"assignment": "ps2_topological_sort", "score": 1, "visible": true, "message": "gave None"}
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
            waiting[m] -= m.inbound_nodes.count(n)
            if waiting[m] == 0:
                ready.append(m)
    if len(order) < len(nodes):
        raise MiniflowError("the graph has a cycle: " + ", ".join(n.name for n in nodes if waiting[n] > 0))
    print(order)
