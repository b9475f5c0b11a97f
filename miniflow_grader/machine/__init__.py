"""What runs on the machine that executes a notebook, outside its sandbox.

That machine is a thread of the grader (--jobs N) or a Dask worker (--scheduler).
It is sent the job's bundle (../bundle.py) and one function (bootstrap.py), and
never sees a solution, a reference answer or the gradebook: what it returns is
judged back in the coordinator (the modules one folder up) as untrusted data.

- bootstrap.py: unpacks the bundle once per machine and runs each task with it;
- host.py: one notebook's sandbox on this machine (its folders, limits, kernel);
- sandbox.py: the bubblewrap command, the wall clock, the report it reads;
- mounts.py: the allow-list of what a sandbox can see.

`sandboxed/` is the only code that runs inside a sandbox, next to the learner's.
"""
