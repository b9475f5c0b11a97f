# ps2_topological_sort: Kahn's algorithm with a plain list as the queue and a set of placed nodes
# %% sort_solution
def sort_nodes(start_nodes):
    nodes = connected_nodes(start_nodes)
    remaining = {n: list(n.inbound_nodes) for n in nodes}
    ready = [n for n in nodes if not remaining[n]]
    order = []
    while ready:
        n = ready.pop()
        order.append(n)
        for m in n.outbound_nodes:
            remaining[m] = [i for i in remaining[m] if i is not n]
            if not remaining[m]:
                ready.append(m)
    if len(order) != len(nodes):
        raise MiniflowError("cycle: " + ", ".join(n.name for n in nodes if n not in order))
    return order
