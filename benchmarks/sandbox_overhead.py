"""Benchmark: what the kernel sandbox costs, measured side by side with it switched off.

    python benchmarks/sandbox_overhead.py [--repeats 3] [--students 4] [--assignment A ...]

Figures, each alternating the two sides so that machine noise hits both alike (read the
ratio of medians):

- kernel start: start a kernel, run one empty cell, shut it down (nbclient, no grading);
- warm kernel start with a control group per kernel and without (``c.Sandbox.cgroups``);
- grading: `nbgrader autograde` of the same correct submissions in two copies of the
  course, one with the course's configuration and one with `c.Sandbox.enabled = False`,
  seconds per notebook.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402
from jupyter_client.manager import AsyncKernelManager  # noqa: E402
from nbclient import NotebookClient  # noqa: E402
from traitlets.config import Config  # noqa: E402

from graders import course, golden, sandbox  # noqa: E402


def kernel_start_seconds(manager: type, folder: Path, config: Config | None = None) -> float:
    """Start a kernel of ``manager``'s kind, run ``pass``, shut it down."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("pass")])
    start = time.perf_counter()
    NotebookClient(
        nb,
        kernel_manager_class=manager,
        resources={"metadata": {"path": str(folder)}},
        config=config or Config(),
    ).execute()
    return time.perf_counter() - start


def grading_seconds(course_dir: Path, assignment: str) -> float:
    start = time.perf_counter()
    run = subprocess.run(
        [str(Path(sys.executable).parent / "nbgrader"), "autograde", assignment, "--force"],
        cwd=course_dir,
        capture_output=True,
        text=True,
    )
    if run.returncode != 0:
        raise SystemExit(f"autograde failed in {course_dir}:\n{run.stderr[-2000:]}")
    return time.perf_counter() - start


def median_pair(first: list[float], second: list[float]) -> str:
    a, b = statistics.median(first), statistics.median(second)
    return f"{a:9.2f} {b:9.2f} {a / b:6.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--students", type=int, default=4, help="submissions per assignment")
    parser.add_argument(
        "--assignment", action="append", help="default: w1_broadcasting and w7_triplet_loss"
    )
    args = parser.parse_args()
    course.ensure_tools_on_path()
    reason = sandbox.problem()
    if reason:
        raise SystemExit(f"no sandbox on this machine: {reason}")
    assignments = course.choose_assignments(
        ROOT, args.assignment or ["w1_broadcasting", "w7_triplet_loss"]
    )
    print(f"{'':<28} {'sandbox':>9} {'none':>9} {'ratio':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        boxed_times, plain_times = [], []
        for _ in range(max(5, args.repeats)):
            boxed_times.append(kernel_start_seconds(sandbox.SandboxedKernelManager, Path(tmp)))
            plain_times.append(kernel_start_seconds(AsyncKernelManager, Path(tmp)))
        print(f"{'kernel start + empty cell (s)':<28} {median_pair(boxed_times, plain_times)}")
        # What a control group per kernel adds (docs/sandbox.md): warm kernels, groups on/off.
        with_groups, without = [], []
        warm = {"warm_kernels": True, "disk_mb": 64}
        grouped = Config({"Sandbox": {**warm, "cgroups": True}})
        ungrouped = Config({"Sandbox": {**warm, "cgroups": False}})
        kernel_start_seconds(sandbox.SandboxedKernelManager, Path(tmp), grouped)  # servers up
        kernel_start_seconds(sandbox.SandboxedKernelManager, Path(tmp), ungrouped)
        for _ in range(max(5, args.repeats)):
            with_groups.append(
                kernel_start_seconds(sandbox.SandboxedKernelManager, Path(tmp), grouped)
            )
            without.append(
                kernel_start_seconds(sandbox.SandboxedKernelManager, Path(tmp), ungrouped)
            )
        print(f"{'warm start, groups on/off (s)':<28} {median_pair(with_groups, without)}")
        print(f"  limits here: {sandbox.limits_in_force()}")

        boxed = course.copy_course(ROOT, Path(tmp) / "boxed", include=("source", "solutions"))
        plain = course.copy_course(ROOT, Path(tmp) / "plain", include=("source", "solutions"))
        with open(plain / "nbgrader_config.py", "a", encoding="utf-8") as f:
            f.write("\nc.Sandbox.enabled = False\n")
        for assignment in assignments:
            for copy in (boxed, plain):
                course.release(copy, [assignment])
                for i in range(args.students):
                    course.submit(
                        copy,
                        f"student{i:02d}",
                        assignment,
                        golden.submission("correct", ROOT, assignment),
                    )
            boxed_times, plain_times = [], []
            for _ in range(args.repeats):
                boxed_times.append(grading_seconds(boxed, assignment) / args.students)
                plain_times.append(grading_seconds(plain, assignment) / args.students)
            scores_equal = all(
                course.cell_scores(boxed, assignment, f"student{i:02d}")
                == course.cell_scores(plain, assignment, f"student{i:02d}")
                for i in range(args.students)
            )
            label = f"{assignment} (s per notebook)"
            print(
                f"{label:<28} {median_pair(boxed_times, plain_times)}"
                f"   scores equal: {scores_equal}"
            )


if __name__ == "__main__":
    main()
