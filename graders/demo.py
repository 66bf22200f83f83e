"""``dlgrade demo``: a simulated class released, autograded, exported and reported."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from graders import course, export, feedback, golden, parallel, report

#: The mix of submissions in the simulated class, cycled over the students.
CLASS_MIX = (
    "correct",
    "partly_wrong",
    "tamper",
    "correct",
    "blank",
    "tf_noise",
    "deleted_test_cell",
    "half_done",
    "not_json",
    "kernel_dies",
    "partly_wrong",
    "correct",
)
MARKER = ".dlgrade-demo"


@dataclass
class DemoResult:
    """Where the demo's outputs are, and what each student handed in and earned."""

    course: Path
    grades_csv: Path
    gradescope: Path
    report: Path
    kinds: dict[tuple[str, str], str]
    results: list[course.GradeResult]


def run_demo(
    root: Path,
    out: Path,
    n_students: int = 12,
    progress: bool = True,
    assignments: list[str] | None = None,
    workers: int | None = None,
) -> DemoResult:
    """Copy the course at ``root`` into ``out/course``, release it, hand in a simulated
    class of ``n_students`` for every assignment (or those in ``assignments``), autograde
    on ``workers`` local worker processes (default: one per core), export and report."""
    root, out = Path(root).resolve(), Path(out).resolve()
    if out.exists():
        if not (out / MARKER).exists():
            raise course.CourseError(f"{out} exists and is not a demo folder; choose another --out")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / MARKER).write_text("made by dlgrade demo\n")
    if n_students < 1:
        raise course.CourseError("--students must be at least 1")
    copy = course.copy_course(root, out / "course", include=("source", "solutions"))
    chosen = course.choose_assignments(root, assignments)
    print(f"[1/4] releasing {', '.join(chosen)}", flush=True)
    course.release(copy, chosen)

    kinds: dict[tuple[str, str], str] = {}
    for a_index, assignment in enumerate(chosen):
        for i in range(n_students):
            student = f"student{i + 1:02d}"
            kind = CLASS_MIX[(i + 3 * a_index) % len(CLASS_MIX)]
            kinds[(student, assignment)] = kind
            course.submit(copy, student, assignment, golden.submission(kind, root, assignment))
    print(
        f"[2/4] {n_students} students handed in: {', '.join(sorted(set(kinds.values())))}",
        flush=True,
    )

    print("[3/4] autograding with nbgrader and the trusted judge, in parallel", flush=True)
    results = []
    with parallel.dask_client(workers) as client:
        for assignment in chosen:
            results += parallel.autograde_parallel(
                copy, assignment, client=client, progress=progress
            )

    print("[4/4] exporting and reporting", flush=True)
    db_url = course.gradebook_url(copy)
    grades_csv = export.export_csv(db_url, out / "grades.csv")
    show = feedback.configured_show(copy)
    for assignment in chosen:
        export.export_gradescope(db_url, copy / "autograded", out / "gradescope", assignment, show)
    page = report.build_report(
        db_url, out / "report.html", copy / "autograded", title="dlgrade demo class"
    )

    print()
    print(f"{'student':<10} {'assignment':<22} {'submitted':<18} {'score':>12}  status")
    for r in results:
        got = sum(s for s, _ in r.scores.values())
        possible = sum(m for _, m in r.scores.values())
        status = "graded" if r.ok else f"FAILED: {r.error}"
        print(
            f"{r.student:<10} {r.assignment:<22} {kinds[(r.student, r.assignment)]:<18} "
            f"{got:5.1f} / {possible:4.1f}  {status}"
        )
    print()
    print(f"course folder:        {copy}")
    print(f"autograded notebooks: {copy / 'autograded'}")
    print(f"grades (CSV):         {grades_csv}")
    print(f"Gradescope results:   {out / 'gradescope'}")
    print(f"report (HTML):        {page}")
    return DemoResult(copy, grades_csv, out / "gradescope", page, kinds, results)
