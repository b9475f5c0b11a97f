# keeps looking for a ready node until every node is placed, so a cycle makes it loop forever
# expect: {"assignment": "ps2_topological_sort", "score": 5, "visible": true, "message": "sort_nodes did not finish"}
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
                    waiting[m] -= m.inbound_nodes.count(n)
    return order
