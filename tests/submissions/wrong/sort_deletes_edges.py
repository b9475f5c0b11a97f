# textbook Kahn: removes each edge as it goes, so the sorted graph has no edges left for the passes
# expect: {"assignment": "ps2_topological_sort", "score": 1, "visible": true, "message": "sorting changed the graph"}
# %% sort_solution
def sort_nodes(start_nodes):
    nodes = connected_nodes(start_nodes)
    ready = deque(n for n in nodes if not n.inbound_nodes)
    order = []
    while ready:
        n = ready.popleft()
        order.append(n)
        for m in list(n.outbound_nodes):
            while n in m.inbound_nodes:
                m.inbound_nodes.remove(n)
            n.outbound_nodes.remove(m)
            if not m.inbound_nodes:
                ready.append(m)
    if any(n.inbound_nodes for n in nodes):
        raise MiniflowError("the graph has a cycle: " + ", ".join(n.name for n in nodes if n.inbound_nodes))
    return order
