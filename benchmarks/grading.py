"""Grading throughput: stock sequential `nbgrader autograde` against miniflow_grader, in one run.

    python benchmarks/grading.py [--notebooks 40] [--jobs N]

Builds a course with one assignment (ps1_nodes) and N submissions (correct ones
and typical wrong ones), grades them all with `nbgrader autograde` (one notebook
after another, the learner's code unsandboxed) and with `python -m
miniflow_grader.grade` (sandboxed, --jobs N), and prints:

* the throughput ratio, stock time / our time (target: at least 1.8 on 2 cores);
* our time per notebook (the sandbox's wall time for one notebook, on a loaded
  machine) against executing that notebook once with nbclient in this process,
  on an idle machine (target: within 1.3x);
* the same grading with --scheduler on a local Dask cluster of N one-thread
  workers (started here on 127.0.0.1), against --jobs N.
Scores must agree between the two graders; the benchmark stops if they do not.
"""
import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from hostile import course as C                       # noqa: E402
from hostile.catalogue import CORRECT, add_class     # noqa: E402


def wrong(body):
    from hostile.catalogue import Entry
    return Entry("wrong", "", set(), add=add_class(body))


VARIANTS = CORRECT + [wrong("self.value = self.inbound_nodes[0].value"),
                      wrong("self.value = 0"),
                      wrong("raise NotImplementedError()")]


def make(root, count):
    C.make_course(root, timeout=30)
    for i in range(count):
        entry = VARIANTS[i % len(VARIANTS)]
        C.submit(root, f"learner{i:03d}", entry.build(root, 0))


def scores_from_export(root):
    subprocess.run([str(C.BIN / "nbgrader"), "export", "--to", str(root / "grades.csv")], cwd=root, env=C.env(),
                   check=True, capture_output=True)
    with open(root / "grades.csv") as f:
        return {row["student_id"]: float(row["score"]) for row in csv.DictReader(f)}


def nbclient_once(root, students):
    """Seconds to execute each submitted notebook once with nbclient, here, nothing else running."""
    import nbformat
    from nbclient import NotebookClient
    times = []
    for student in students:
        path = root / "submitted" / student / C.ASSIGNMENT / f"{C.ASSIGNMENT}.ipynb"
        nb = nbformat.read(path, as_version=4)
        started = time.perf_counter()
        NotebookClient(nb, timeout=30, allow_errors=True, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        times.append(time.perf_counter() - started)
    return times


def local_cluster(folder, workers):
    """A `dask scheduler` and `workers` one-thread `dask worker` processes on 127.0.0.1; returns (address, stop)."""
    import signal
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    folder.mkdir(parents=True)
    quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, cwd=folder)
    processes = [subprocess.Popen([str(C.BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                   "--no-dashboard"], env=C.env(), **quiet)]
    for i in range(workers):
        processes.append(subprocess.Popen([str(C.BIN / "dask"), "worker", address, "--nthreads", "1", "--no-nanny",
                                           "--host", "127.0.0.1", "--no-dashboard",
                                           "--local-directory", str(folder / f"w{i}")], env=C.env(), **quiet))
    from distributed import Client
    deadline = time.monotonic() + 120
    while True:
        try:
            with Client(address, timeout=10) as client:
                client.wait_for_workers(workers, timeout=60)
            break
        except (OSError, TimeoutError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)

    def stop():
        for proc in processes:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return address, stop


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--notebooks", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    args = parser.parse_args()
    os.environ["PATH"] = f"{C.BIN}:{os.environ['PATH']}"
    work = Path(tempfile.mkdtemp(prefix="miniflow-bench-"))
    try:
        stock_root, ours_root = work / "stock", work / "ours"
        make(stock_root, args.notebooks)
        shutil.copytree(stock_root, ours_root)
        dask_root = work / "dask"
        shutil.copytree(stock_root, dask_root)
        students = sorted(p.name for p in (stock_root / "submitted").iterdir())

        baseline = nbclient_once(stock_root, students[:len(VARIANTS)])

        started = time.perf_counter()
        subprocess.run([str(C.BIN / "nbgrader"), "autograde", C.ASSIGNMENT], cwd=stock_root, env=C.env(),
                       check=True, capture_output=True)
        stock = time.perf_counter() - started

        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "miniflow_grader.grade", C.ASSIGNMENT, "--jobs", str(args.jobs),
                        "--no-progress", "--no-report"], cwd=ours_root, env=C.env(), check=True, capture_output=True)
        ours = time.perf_counter() - started

        address, stop = local_cluster(work / "cluster", args.jobs)
        try:
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "miniflow_grader.grade", C.ASSIGNMENT, "--scheduler", address,
                            "--no-progress", "--no-report"], cwd=dask_root, env=C.env(), check=True,
                           capture_output=True)
            on_dask = time.perf_counter() - started
        finally:
            stop()

        stock_scores, our_scores = scores_from_export(stock_root), scores_from_export(ours_root)
        if stock_scores != our_scores:
            raise SystemExit(f"the graders disagree: {stock_scores} vs {our_scores}")
        if scores_from_export(dask_root) != our_scores:
            raise SystemExit("grading on the Dask cluster disagrees with grading here")

        import json
        from miniflow_grader.records import Records
        records = Records(f"sqlite:///{ours_root}/gradebook.db")
        per_notebook = [json.loads(r["info"])["seconds"] for r in records.rows(C.ASSIGNMENT)]
        records.close()
        n = len(students)
        print(f"{n} notebooks, {args.jobs} jobs, {os.cpu_count()} cores")
        print(f"stock nbgrader autograde (sequential): {stock:7.1f} s  {n / stock:5.2f} notebooks/s")
        print(f"miniflow_grader --jobs {args.jobs}:             {ours:7.1f} s  {n / ours:5.2f} notebooks/s")
        print(f"throughput ratio (ours / stock):        {stock / ours:5.2f}x   (target >= 3x on 2 cores)")
        print(f"--scheduler, {args.jobs} local Dask workers:   {on_dask:7.1f} s  {n / on_dask:5.2f} notebooks/s"
              f"  = {ours / on_dask:4.2f}x the throughput of --jobs {args.jobs}")
        base = statistics.median(baseline)
        mine = statistics.median(per_notebook)
        print(f"one notebook, nbclient in-process (median of {len(baseline)}): {base:5.2f} s")
        print(f"one notebook, sandboxed, under --jobs {args.jobs} (median):      {mine:5.2f} s")
        print(f"per-notebook ratio (ours / nbclient):   {mine / base:5.2f}x   (target <= 1.3x)")
        print(f"grader time per notebook slot (wall x jobs / notebooks): {ours * args.jobs / n:5.2f} s "
              f"= {ours * args.jobs / n / base:5.2f}x nbclient")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
