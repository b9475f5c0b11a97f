# takes one node too few: loops len(nodes) - 1 times
# expect: {"assignment": "ps2_topological_sort", "score": 0, "visible": true, "message": "loop until the ready list is empty (off by one?)"}
# %% sort_solution
def sort_nodes(start_nodes):
    nodes = connected_nodes(start_nodes)
    waiting = {n: len(n.inbound_nodes) for n in nodes}
    ready = deque(n for n in nodes if waiting[n] == 0)
    order = []
    for _ in range(len(nodes) - 1):
        n = ready.popleft()
        order.append(n)
        for m in n.outbound_nodes:
            waiting[m] -= m.inbound_nodes.count(n)
            if waiting[m] == 0:
                ready.append(m)
    return order
