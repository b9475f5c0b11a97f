"""Where sandboxes run: threads of this grader (--jobs N), or the workers of a Dask cluster (--scheduler).

Both take the same job, as data: the bundle's bytes (bundle.py) and a task dict
(the sanitized notebook's folder as {name: bytes}, the seed, the limits), and
both give back what bootstrap.run_bundle returns on the machine that ran it.
`submit` returns a future with `add_done_callback` and `result`.
"""
from concurrent.futures import ThreadPoolExecutor

from .machine import bootstrap


class LocalEngine:
    """Up to `jobs` sandboxes at once on this machine."""

    def __init__(self, jobs):
        self.jobs = jobs
        self.pool = ThreadPoolExecutor(max_workers=jobs)

    def submit(self, blob, task, avoid=()):
        return self.pool.submit(bootstrap.run_bundle, blob, task)

    def close(self):
        self.pool.shutdown(wait=True, cancel_futures=True)
        bootstrap.forget_bundles()


class DaskEngine:
    """Every sandbox on a worker of the Dask cluster whose scheduler is at `address`.

    The function sent to the workers travels by value and needs only the standard
    library there; a worker that refused (its sandbox cannot start) is avoided
    from then on. Dask itself runs again elsewhere the jobs of a worker that dies.
    """

    def __init__(self, address, connect_timeout=30):
        import cloudpickle
        from distributed import Client
        cloudpickle.register_pickle_by_value(bootstrap)
        self.client = Client(address, timeout=connect_timeout, set_as_default=False)
        self.jobs = max(1, sum(self.client.nthreads().values()))

    def workers(self):
        """The addresses of the workers the scheduler knows now."""
        return set(self.client.scheduler_info(n_workers=-1)["workers"])

    def submit(self, blob, task, avoid=()):
        allowed = None
        if avoid:
            allowed = sorted(self.workers() - set(avoid)) or None
            if allowed is None:
                raise RuntimeError("no worker is left that has not refused")
        return self.client.submit(bootstrap.run_bundle, blob, task, pure=False, workers=allowed,
                                  allow_other_workers=False)

    def close(self):
        self.client.close()
