# ps2_topological_sort: not Kahn's algorithm but a depth-first search, which also gives a valid order
# %% sort_solution
def sort_nodes(start_nodes):
    nodes = connected_nodes(start_nodes)
    order, state = [], {}

    def visit(n):
        if state.get(n) == "done":
            return
        if state.get(n) == "active":
            raise MiniflowError(f"the graph has a cycle through {n.name}")
        state[n] = "active"
        for m in n.inbound_nodes:
            visit(m)
        state[n] = "done"
        order.append(n)

    for n in nodes:
        visit(n)
    return order
