"""Benchmark: the judge's time per notebook, with inputs shared by every student and with
hidden inputs per submission (a secret each, so the reference cache misses every time).

    python benchmarks/judge_per_submission.py [--students 4] [--assignment A ...]

For each assignment, every hidden check's record is made once per student with the reference
functions standing in for the student's (kernel-side work, not timed); then the judge's
:func:`graders.judge.judge_record` is timed over the class, in one process, as plain
nbgrader runs it, student after student: once with the public inputs (shared by every
student: the reference computed once, then cached) and once with the student's own secret,
alternating. Seconds per notebook, median of the students after the first (the first pays
the imports and data loading).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graders import hidden_inputs, judge  # noqa: E402
from graders.cases import all_checks, assignment_of, inputs_id  # noqa: E402
from graders.compare import compare  # noqa: E402
from graders.probe import collect  # noqa: E402


def _same(a: list, b: list) -> bool:
    try:
        return len(a) == len(b) and all(
            compare(x, y, rtol=0, atol=0) == [] for x, y in zip(a, b, strict=True)
        )
    except Exception:  # noqa: BLE001 - cases that do not compare are taken as different
        return False


def records(assignment: str, secrets: list[int | None]) -> dict[int | None, dict[str, dict]]:
    """Every check's record for each secret, made with the reference's functions; a check
    whose inputs do not depend on the secret (model structures, trained models) is run once
    and its record relabelled."""
    reference = judge.load_reference(assignment, ROOT / "solutions")
    out: dict[int | None, dict[str, dict]] = {s: {} for s in secrets}
    for name, check in all_checks().items():
        if assignment_of(name) != assignment:
            continue
        functions = [getattr(reference, f) for f in check.functions]
        public = collect(name, *functions)
        for secret in secrets:
            if _same(check.cases(secret), check.cases()):
                out[secret][name] = {**public, "inputs": inputs_id(secret)}
            else:
                out[secret][name] = collect(name, *functions, secret=secret)
    return out


def judge_seconds(assignment: str, made: dict[str, dict], secret: int | None) -> float:
    """The judge's time for one notebook: every check's record of ``secret``."""
    reference = judge.load_reference(assignment, ROOT / "solutions")
    checks = all_checks()
    start = time.perf_counter()
    for name, record in made.items():
        result = judge.judge_record(checks[name], record, reference, secret)
        assert result.passed, (name, result.problems[:2])
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=4)
    parser.add_argument(
        "--assignment", action="append", help="default: w3_conv_pool, w5_resnet, w6"
    )
    args = parser.parse_args(argv)
    assignments = args.assignment or ["w3_conv_pool", "w5_resnet", "w6_transfer_learning"]
    print(f"{'assignment':24} {'shared inputs (s/nb)':>21} {'per submission (s/nb)':>22}")
    for assignment in assignments:
        secrets = [hidden_inputs.draw() for _ in range(args.students)]
        made = records(assignment, [None, *secrets])
        shared, own = [], []
        for secret in secrets:  # alternating, so that machine noise hits both alike
            shared.append(judge_seconds(assignment, made[None], None))
            own.append(judge_seconds(assignment, made[secret], secret))
        a, b = statistics.median(shared[1:] or shared), statistics.median(own[1:] or own)
        print(f"{assignment:24} {a:21.3f} {b:22.3f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
