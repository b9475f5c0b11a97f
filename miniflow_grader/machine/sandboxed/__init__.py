"""The code that runs inside a sandbox, beside learner code: the one place learner code can reach.

runner.py is copied into each sandbox (as `_miniflow_runner.py`, next to the
stubbed `miniflow` and the probing half of the checks) and run there. It imports
nothing from the grader. Everything it reports is treated as untrusted by the
coordinator, since the learner's code shares its sandbox.
"""
