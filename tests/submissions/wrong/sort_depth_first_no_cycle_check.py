# a depth-first sort with no mark for nodes in progress: on a cycle it recurses until Python gives up
# expect: {"assignment": "ps2_topological_sort", "score": 5, "visible": true, "message": "mark each node while its inputs are being visited"}
# %% sort_solution
def sort_nodes(start_nodes):
    order, done = [], set()

    def visit(n):
        if n in done:
            return
        for m in n.inbound_nodes:
            visit(m)
        done.add(n)
        order.append(n)

    for n in connected_nodes(start_nodes):
        visit(n)
    return order
