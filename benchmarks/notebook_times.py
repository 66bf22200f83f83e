"""Benchmark: how long each source notebook takes to run top to bottom with the reference
solutions, in a fresh kernel (kernel start and imports included), against the 60 s budget.

    python benchmarks/notebook_times.py [ASSIGNMENT ...] [--repeats 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = 60.0


def run_seconds(path: Path) -> float:
    """Wall time of one top-to-bottom run of the notebook at ``path`` in a fresh kernel."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="default: every assignment in source/")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args(argv)
    paths = sorted((ROOT / "source").glob("*/*.ipynb"))
    if args.assignments:
        paths = [p for p in paths if p.parent.name in args.assignments]
    total = 0.0
    over = 0
    for path in paths:
        times = [run_seconds(path) for _ in range(args.repeats)]
        median = statistics.median(times)
        total += median
        over += median > BUDGET_S
        runs = ", ".join(f"{t:.1f}" for t in times)
        flag = "  OVER BUDGET" if median > BUDGET_S else ""
        print(f"{path.parent.name:<22} {median:6.1f} s  (runs: {runs}){flag}", flush=True)
    print(f"{'all notebooks':<22} {total:6.1f} s  (budget {BUDGET_S:.0f} s each, 300 s in all)")
    return 1 if over or total > 300 else 0


if __name__ == "__main__":
    sys.exit(main())
