# appends each consumer as soon as one of its inputs is placed, never counting the others
# expect: {"assignment": "ps2_topological_sort", "score": 0, "visible": true, "message": "comes before its input"}
# %% sort_solution
def sort_nodes(start_nodes):
    order = []
    ready = list(start_nodes)
    while ready:
        n = ready.pop()
        if n in order:
            continue
        order.append(n)
        for m in n.outbound_nodes:
            ready.append(m)
    return order
