# takes the ready nodes but never goes through their consumers: returns the Inputs alone
# expect: {"assignment": "ps2_topological_sort", "score": 0, "visible": true, "message": "only the Inputs you started from are there"}
# %% sort_solution
def sort_nodes(start_nodes):
    nodes = connected_nodes(start_nodes)
    waiting = {n: len(n.inbound_nodes) for n in nodes}
    ready = deque(n for n in nodes if waiting[n] == 0)
    order = []
    while ready:
        order.append(ready.popleft())
    return order
