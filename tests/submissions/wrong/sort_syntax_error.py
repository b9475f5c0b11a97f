# a missing colon: Python cannot read the cell, so sort_nodes is never defined
# expect: {"assignment": "ps2_topological_sort", "score": 0, "visible": true, "message": "Python cannot read it"}
# %% sort_solution
def sort_nodes(start_nodes):
    nodes = connected_nodes(start_nodes)
    waiting = {n: len(n.inbound_nodes) for n in nodes}
    ready = deque(n for n in nodes if waiting[n] == 0)
    order = []
    while ready
        n = ready.popleft()
        order.append(n)
    return order
