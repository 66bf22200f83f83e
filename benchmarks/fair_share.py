"""Fair share between kernels: an honest student's cell beside a hostile kernel.

The honest kernel runs a fixed amount of single-threaded numpy work (timed inside the cell,
so kernel start-up does not count). It runs alone, then beside a kernel that starts many busy
processes, each in a session of its own (the vector of one student slowing everyone), with a
control group per kernel and without (``c.Sandbox.cgroups = False``). Printed: the honest
cell's time in each case and its ratio to the time alone. Run as root, where control groups
can be used (docs/sandbox.md).

    python benchmarks/fair_share.py [--hog-processes 24] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from traitlets.config import Config

from graders import cgroups, sandbox

HONEST = """
import os, time
import numpy as np
a = np.random.default_rng(0).standard_normal((300, 300))
start = time.perf_counter()
for _ in range(ROUNDS):
    a = np.tanh(a @ a / 300.0)
print("seconds", time.perf_counter() - start)
"""

HOG = """
import os, time
for _ in range(COUNT):
    if os.fork() == 0:
        os.setsid()
        while True:
            pass
print("started", flush=True)
time.sleep(SECONDS)
"""


def run(code: str, config: Config, timeout: int = 600) -> str:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    folder = Path(tempfile.mkdtemp(prefix="fair-share-"))
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_manager_class=sandbox.SandboxedKernelManager,
        resources={"metadata": {"path": str(folder)}},
        config=config,
    )
    client.execute()
    return "".join(o.get("text", "") for o in nb.cells[0].outputs)


def honest_seconds(config: Config, rounds: int) -> float:
    text = run(HONEST.replace("ROUNDS", str(rounds)), config)
    return float(text.split("seconds", 1)[1].split()[0])


def beside_hog(config: Config, rounds: int, processes: int, seconds: int) -> float:
    hog = threading.Thread(
        target=run,
        args=(HOG.replace("COUNT", str(processes)).replace("SECONDS", str(seconds)), config),
        daemon=True,
    )
    hog.start()
    time.sleep(6)  # the hog's kernel has started and its processes are busy
    try:
        return honest_seconds(config, rounds)
    finally:
        hog.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hog-processes", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=1500)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    os.environ.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    base = {"disk_mb": 64, "memory_mb": 2048}
    with_groups = Config({"Sandbox": {**base, "cgroups": True}})
    without = Config({"Sandbox": {**base, "cgroups": False}})
    print(f"limits here: {sandbox.limits_in_force()}")
    if not cgroups.support().available:
        print("(no control groups here: both hostile runs below are without them)")
    rows = {"alone": [], "beside the hog, a group per kernel": [], "beside the hog, no groups": []}
    for _ in range(args.repeats):
        alone = honest_seconds(with_groups, args.rounds)
        rows["alone"].append(alone)
        hog_seconds = int(alone * 12) + 20
        rows["beside the hog, a group per kernel"].append(
            beside_hog(with_groups, args.rounds, args.hog_processes, hog_seconds)
        )
        rows["beside the hog, no groups"].append(
            beside_hog(without, args.rounds, args.hog_processes, hog_seconds)
        )
    alone = statistics.median(rows["alone"])
    print(f"\nhonest cell, median of {args.repeats} runs; the hog: {args.hog_processes} processes")
    print(f"{'case':<40} {'seconds':>8} {'ratio':>6}")
    for name, values in rows.items():
        median = statistics.median(values)
        print(f"{name:<40} {median:8.2f} {median / alone:6.2f}")


if __name__ == "__main__":
    main()
