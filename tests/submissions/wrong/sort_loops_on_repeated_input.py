# counts one input less per consumer and loops until all are placed: Add(x, x) never becomes ready, so it never ends
# expect: {"assignment": "ps2_topological_sort", "score": 0, "visible": true, "message": "subtract m.inbound_nodes.count(n)"}
# %% sort_solution
def sort_nodes(start_nodes):
    nodes = connected_nodes(start_nodes)
    waiting = {n: len(n.inbound_nodes) for n in nodes}
    order = []
    while len(order) < len(nodes):
        for n in nodes:
            if waiting[n] == 0 and n not in order:
                order.append(n)
                for m in n.outbound_nodes:
                    waiting[m] -= 1
    return order
