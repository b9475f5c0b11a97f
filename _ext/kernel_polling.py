"""Wait for each chapter's kernel a second at a time, as the tests and the grader's runner do.

Now and then a reply from a chapter's kernel is queued but not seen by a client
waiting in one long poll, until that poll's whole timeout runs out (the client
and the kernel both idle). Short polls see such a reply within a second, so a
chapter never stalls for a cell's full timeout. Chapters are executed in the
build's own process (jupyter-cache runs nbclient there), so patching the
client's channels here is enough.
"""


def setup(app):
    from jupyter_client.channels import AsyncZMQSocketChannel

    from miniflow_grader.machine.sandboxed.runner import sliced_get_msg
    if not getattr(AsyncZMQSocketChannel.get_msg, "_miniflow_sliced", False):
        AsyncZMQSocketChannel.get_msg = sliced_get_msg(AsyncZMQSocketChannel.get_msg)
        AsyncZMQSocketChannel.get_msg._miniflow_sliced = True
    return {"parallel_read_safe": True, "parallel_write_safe": True}
