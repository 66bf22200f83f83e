"""Benchmark: a simulated class graded by plain `nbgrader autograde` (one notebook at a time)
and by dlgrade's parallel grading on Dask workers, on the same machine, in one run.

    python benchmarks/class_throughput.py [--students 20] [--workers 2] [--assignment A ...]

For every assignment a class of ``--students`` submissions mixed like the demo's (correct,
partly wrong, blank, tampering, TensorFlow noise, deleted test cells, half done) is handed in
to two identical copies of the course. Plain ``nbgrader autograde A --force`` grades one copy
with the course's own nbgrader_config.py (the judge and the sandbox, one notebook at a time);
``graders.parallel.autograde_parallel`` grades the other on a LocalCluster of ``--workers``
processes (its start-up counted). The two alternate per assignment so that machine noise hits
both alike. Scores must be identical.

Then the fixed cost per notebook: a class of notebooks that only import numpy and TensorFlow,
graded the same two ways (the cluster already running: the steady cost per notebook).

The cost of a cluster: the instructor's machine handles every submission one after another
(reading and sending it, landing the judged notebooks in the gradebook with nbgrader's
pipeline). Its time per submission against a worker's gives the serial fraction, and with it
the projected time of a class of 1,000 on 10, 100 and 1,000 workers.

Last, the Dask path as on a cluster: a scheduler and workers started as separate processes
(``dask scheduler``, ``dask worker``), the class graded a third time through the scheduler's
address; scores identical again.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graders import course, demo, golden, parallel  # noqa: E402

IMPORTS_ONLY = "imports_only"
BIN = Path(sys.executable).parent


def make_class(root: Path, dest: Path, assignments: list[str], students: int) -> Path:
    """A course copy with ``assignments`` (and the imports-only one) released and a class
    handed in."""
    copy = course.copy_course(root, dest, include=("source", "solutions"))
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("A notebook that only imports."),
        nbformat.v4.new_code_cell("import numpy as np\nimport tensorflow as tf"),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    (copy / "source" / IMPORTS_ONLY).mkdir(parents=True)
    nbformat.write(nb, copy / "source" / IMPORTS_ONLY / f"{IMPORTS_ONLY}.ipynb")
    course.release(copy, [*assignments, IMPORTS_ONLY])
    release_nb = (copy / "release" / IMPORTS_ONLY / f"{IMPORTS_ONLY}.ipynb").read_text()
    for a_index, assignment in enumerate(assignments):
        for i in range(students):
            kind = demo.CLASS_MIX[(i + 3 * a_index) % len(demo.CLASS_MIX)]
            course.submit(
                copy, f"s{i + 1:03d}", assignment, golden.submission(kind, root, assignment)
            )
    for i in range(students):
        course.submit(copy, f"s{i + 1:03d}", IMPORTS_ONLY, {f"{IMPORTS_ONLY}.ipynb": release_nb})
    return copy


def plain(copy: Path, assignment: str) -> tuple[float, float]:
    """Seconds for plain `nbgrader autograde` on the whole class, and the peak resident
    memory (MiB) of its largest process (nbgrader or a kernel)."""
    probe = (
        "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], "
        "capture_output=True); sys.stderr.buffer.write(r.stderr[-3000:]); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)"
    )
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    start = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-c", probe, str(BIN / "nbgrader"), "autograde", assignment, "--force"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    if run.returncode != 0:
        raise SystemExit(f"plain nbgrader failed on {assignment}:\n{run.stderr[-3000:]}")
    return seconds, int(run.stdout.strip().splitlines()[-1]) / 1024


def ours(copy: Path, assignment: str, **kw) -> tuple[float, list[course.GradeResult]]:
    start = time.perf_counter()
    results = parallel.autograde_parallel(copy, assignment, force=True, progress=False, **kw)
    failed = [r for r in results if not r.ok]
    if failed:
        raise SystemExit(f"parallel grading failed: {[(r.student, r.error) for r in failed]}")
    return time.perf_counter() - start, results


def scores(copy: Path, assignment: str) -> dict[str, dict[str, tuple[float, float]]]:
    return {
        s: course.cell_scores(copy, assignment, s)
        for s in course.submitted_students(copy, assignment)
    }


def start_cluster(workers: int, folder: Path) -> tuple[str, list[subprocess.Popen]]:
    """A Dask scheduler and workers as separate processes, as on a cluster."""
    file = folder / "scheduler.json"
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    log = open(folder / "cluster.log", "w")  # noqa: SIM115 - closed with the processes

    def dask(*args: str) -> subprocess.Popen:
        command = [str(BIN / "dask"), *args, "--scheduler-file", str(file), "--no-dashboard"]
        return subprocess.Popen(command, stdout=log, stderr=log, env=env, cwd=folder)

    procs = [dask("scheduler", "--port", "0")]
    for _ in range(100):
        if file.exists():
            break
        time.sleep(0.2)
    procs.append(
        dask("worker", "--nworkers", str(workers), "--nthreads", "1", "--memory-limit", "0")
    )
    return json.loads(file.read_text())["address"], procs


def print_cluster_cost(results: list[course.GradeResult], class_size: int = 1000) -> None:
    """The client's serial time per submission, the serial fraction, and the time of a class
    of ``class_size`` projected on 10, 100 and 1,000 workers."""
    client = [r.client_seconds for r in results]
    worker = [r.seconds for r in results]
    c, w = statistics.fmean(client), statistics.fmean(worker)
    serial = c / (c + w)
    print(
        f"Client (the instructor's machine), per submission, one after another: mean {c:.3f} s, "
        f"median {statistics.median(client):.3f} s, max {max(client):.3f} s; a worker: "
        f"mean {w:.1f} s. Serial fraction {serial:.4f}."
    )
    print()
    print(
        f"| workers | class of {class_size}: Amdahl (client, then workers) | pipelined "
        "(client beside workers) | speed-up over one worker |"
    )
    print("|---|---|---|---|")
    for n in (10, 100, 1000):
        amdahl = class_size * c + class_size * w / n
        pipelined = max(class_size * c, class_size * w / n)
        one = class_size * (c + w)
        print(f"| {n} | {amdahl / 60:.1f} min | {pipelined / 60:.1f} min | {one / pipelined:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--assignment", action="append", help="only these (repeatable)")
    parser.add_argument("--no-cluster-run", action="store_true", help="skip the third run")
    args = parser.parse_args()
    course.ensure_tools_on_path()
    assignments = course.choose_assignments(ROOT, args.assignment)
    tmp = Path(tempfile.mkdtemp(prefix="dlgrade-throughput-"))
    print(
        f"# {args.students} submissions per assignment, {args.workers} workers, "
        f"{os.cpu_count()} cores; work in {tmp}",
        flush=True,
    )
    base = make_class(ROOT, tmp / "plain", assignments, args.students)
    copies = {"plain": base}
    for name in ("ours", "cluster"):
        copies[name] = tmp / name
        shutil.copytree(base, copies[name], symlinks=True)

    rows, total_plain, total_ours, peaks, graded = [], 0.0, 0.0, [], []
    start = time.perf_counter()
    with parallel.dask_client(args.workers) as client:
        startup = time.perf_counter() - start
        total_ours += startup
        for i, assignment in enumerate(assignments):
            if i % 2 == 0:
                p, p_peak = plain(copies["plain"], assignment)
                o, results = ours(copies["ours"], assignment, client=client)
            else:
                o, results = ours(copies["ours"], assignment, client=client)
                p, p_peak = plain(copies["plain"], assignment)
            same = scores(copies["plain"], assignment) == scores(copies["ours"], assignment)
            worker = max(r.worker_peak_mb for r in results)
            kernel = max(r.kernel_peak_mb for r in results)
            server = max(r.server_mb for r in results)
            peaks.append((worker, server, kernel, p_peak))
            graded += results
            total_plain, total_ours = total_plain + p, total_ours + o
            rows.append((assignment, p, o, same, worker, server, kernel, p_peak))
            print(
                f"  {assignment}: plain {p:.1f} s, ours {o:.1f} s, ratio {p / o:.2f}, "
                f"scores identical: {same}",
                flush=True,
            )
        fp, _ = plain(copies["plain"], IMPORTS_ONLY)
        fo, _ = ours(copies["ours"], IMPORTS_ONLY, client=client)
    n = args.students

    print()
    print(
        f"| assignment | plain nbgrader (s) | ours, {args.workers} workers (s) | speed-up "
        "| scores identical | MiB per worker (process peak / warm server / kernel peak) "
        "| plain peak MiB |"
    )
    print("|---|---|---|---|---|---|---|")
    for a, p, o, same, w, sv, k, pp in rows:
        print(
            f"| {a} | {p:.1f} | {o:.1f} | {p / o:.2f} | {same} | {w:.0f} / {sv:.0f} / {k:.0f} "
            f"| {pp:.0f} |"
        )
    top = [max(x[i] for x in peaks) for i in range(4)]
    print(
        f"| **all {n * len(assignments)} submissions** | {total_plain:.1f} | {total_ours:.1f} "
        f"(cluster start-up {startup:.1f} included) | **{total_plain / total_ours:.2f}** | "
        f"{all(r[3] for r in rows)} | {top[0]:.0f} / {top[1]:.0f} / {top[2]:.0f} | {top[3]:.0f} |"
    )
    print(
        "(A kernel's resident memory includes the pages it shares with the warm server it "
        "was forked from.)"
    )
    print()
    print(
        f"Fixed cost per notebook (a notebook that only imports numpy and TensorFlow, "
        f"{n} of them): plain {fp / n:.2f} s, ours {fo / n:.2f} s "
        f"(ratio {fo / fp:.2f})"
    )

    print()
    print_cluster_cost(graded)

    if args.no_cluster_run:
        return
    address, procs = start_cluster(args.workers, tmp)
    try:
        identical = []
        start = time.perf_counter()
        for assignment in assignments:
            ours(copies["cluster"], assignment, scheduler=address)
            identical.append(
                scores(copies["plain"], assignment) == scores(copies["cluster"], assignment)
            )
        seconds = time.perf_counter() - start
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=60)
    print(
        f"Through a separate `dask scheduler` at {address} with `dask worker --nworkers "
        f"{args.workers}`: {seconds:.1f} s, scores identical to plain nbgrader: "
        f"{all(identical)}"
    )


if __name__ == "__main__":
    main()
