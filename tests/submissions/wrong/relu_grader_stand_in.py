# borrows the grader's own ReLU stand-in from the training check instead of writing ReLU
# expect: {"assignment": "ps6_classification", "score": 11, "visible": true, "message": "the grader's own ReLU.forward"}
# %% relu_solution
from miniflow_grader.checks.ps6_training import _ReLU as _GraderReLU


class ReLU(_GraderReLU):
    r"""$\max(0, x)$."""
