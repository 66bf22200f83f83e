"""Benchmark: the time to autograde one submission with the trusted judge against plain
nbgrader without it, measured side by side, and what plain nbgrader gives the golden matrix.

    python benchmarks/grading_overhead.py [--repeats 3]

Both configurations grade the same submission in the same copy of the course, alternating,
so machine noise hits both alike; the figure to read is the ratio of medians.
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

from graders import course, golden  # noqa: E402

PLAIN_CONFIG = """
import os
c = get_config()
here = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.root = here
c.CourseDirectory.course_id = "dlgrade"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(here, "gradebook.db")
"""


def autograde_seconds(course_dir: Path, assignment: str, student: str) -> float:
    start = time.perf_counter()
    run = subprocess.run(
        [
            str(Path(sys.executable).parent / "nbgrader"),
            "autograde",
            assignment,
            "--force",
            "--student",
            student,
        ],
        cwd=course_dir,
        capture_output=True,
        text=True,
    )
    if run.returncode != 0:
        raise SystemExit(f"autograde failed in {course_dir}:\n{run.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    course.ensure_tools_on_path()
    kinds = golden.KINDS[: golden.KINDS.index("half_done")]
    with tempfile.TemporaryDirectory() as tmp:
        judged = course.copy_course(ROOT, Path(tmp) / "judged", include=("source", "solutions"))
        plain = course.copy_course(ROOT, Path(tmp) / "plain", include=("source", "solutions"))
        (plain / "nbgrader_config.py").write_text(PLAIN_CONFIG)
        print(f"{'assignment':<22} {'judge (s)':>10} {'plain (s)':>10} {'ratio':>6}")
        for assignment in course.assignments_in(ROOT):
            for c in (judged, plain):
                course.release(c, [assignment])
                for kind in kinds:
                    course.submit(
                        c,
                        kind,
                        assignment,
                        golden.submission(kind, ROOT, assignment),
                    )
            times: dict[str, list[float]] = {"judged": [], "plain": []}
            for _ in range(args.repeats):
                times["judged"].append(autograde_seconds(judged, assignment, "correct"))
                times["plain"].append(autograde_seconds(plain, assignment, "correct"))
            j, p = statistics.median(times["judged"]), statistics.median(times["plain"])
            print(f"{assignment:<22} {j:10.2f} {p:10.2f} {j / p:6.2f}")
            for kind in kinds[1:]:
                autograde_seconds(judged, assignment, kind)
                try:
                    autograde_seconds(plain, assignment, kind)
                except SystemExit:
                    pass  # plain nbgrader fails the whole submission (e.g. not JSON)
            print("  golden matrix, points per submission (ours | plain nbgrader):")
            for kind in kinds:
                ours = sum(s for s, _ in course.cell_scores(judged, assignment, kind).values())
                theirs = course.cell_scores(plain, assignment, kind)
                total = sum(m for _, m in course.cell_scores(judged, assignment, kind).values())
                plain_text = (
                    f"{sum(s for s, _ in theirs.values()):5.1f}" if theirs else "  not graded"
                )
                print(f"    {kind:<18} {ours:5.1f} | {plain_text}   (of {total:.0f})")


if __name__ == "__main__":
    main()
