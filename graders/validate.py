"""The course's own checks (docs/architecture.md), as plain functions returning problems.

``dlgrade validate`` runs them all; the test suite calls them one by one.
"""

from __future__ import annotations

import importlib
import json
import sys
import tempfile
from pathlib import Path

from graders import course, submissions

SECRET_MARKERS = (
    "### BEGIN SOLUTION",
    "### END SOLUTION",
    "### BEGIN HIDDEN TESTS",
    "### END HIDDEN TESTS",
    "probe(",
    "import solutions",
    "from solutions",
)


def _notebook_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def stale_release_problems(root: Path) -> list[str]:
    """Problems when ``release/`` differs from what nbgrader generates from ``source/`` now."""
    root = Path(root).resolve()
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        copy = course.copy_course(root, Path(tmp) / "course", include=("source", "solutions"))
        course.release(copy)
        fresh = {
            p.relative_to(copy / "release") for p in (copy / "release").rglob("*") if p.is_file()
        }
        committed = (
            {p.relative_to(root / "release") for p in (root / "release").rglob("*") if p.is_file()}
            if (root / "release").is_dir()
            else set()
        )
        for rel in sorted(fresh - committed):
            problems.append(f"release/{rel} is missing: run `dlgrade release`")
        for rel in sorted(committed - fresh):
            problems.append(f"release/{rel} has no source any more: run `dlgrade release`")
        for rel in sorted(fresh & committed):
            a, b = copy / "release" / rel, root / "release" / rel
            same = (
                (_notebook_json(a) == _notebook_json(b))
                if rel.suffix == ".ipynb"
                else (a.read_bytes() == b.read_bytes())
            )
            if not same:
                problems.append(f"release/{rel} is stale: run `dlgrade release`")
    return problems


def leak_problems(root: Path) -> list[str]:
    """Problems when a released file holds solution code, hidden tests or outputs."""
    root = Path(root).resolve()
    problems = []
    for source_path in sorted((root / "source").glob("*/*.ipynb")):
        assignment = source_path.parent.name
        release_path = root / "release" / assignment / source_path.name
        if not release_path.exists():
            problems.append(f"{release_path} is missing")
            continue
        text = release_path.read_text(encoding="utf-8")
        for marker in SECRET_MARKERS:
            if marker in text:
                problems.append(f"{release_path.name}: contains {marker!r}")
        released = submissions.read(release_path)
        for cell in released.cells:
            if cell.cell_type == "code" and cell.get("outputs"):
                problems.append(
                    f"{release_path.name}: cell {submissions.grade_id(cell)} has outputs"
                )
        for line in secret_lines(source_path):
            if line in text:
                problems.append(f"{release_path.name}: solution line {line!r} is released")
    return problems


def secret_lines(source_path: Path) -> list[str]:
    """Substantive solution lines of a source notebook that its public parts do not show.

    A line that also appears outside the solution regions (in the teaching text, a hint,
    a public test) is public by the author's choice and is not counted.
    """
    nb = submissions.read(source_path)
    public = "\n".join(
        c.source if not submissions.is_solution_cell(c) else _outside_solution(c.source)
        for c in nb.cells
    )
    lines = [
        line
        for c in nb.cells
        if submissions.is_solution_cell(c)
        for line in _solution_lines(c.source)
        if line not in public
    ]
    return sorted(set(lines))


def _outside_solution(source: str) -> str:
    """The parts of a solution cell the student receives (outside the markers)."""
    kept, inside = [], False
    for line in source.splitlines():
        if line.strip() == "### BEGIN SOLUTION":
            inside = True
        elif line.strip() == "### END SOLUTION":
            inside = False
        elif not inside:
            kept.append(line)
    return "\n".join(kept)


def _solution_lines(source: str) -> list[str]:
    """The substantive lines between the solution markers of a source cell."""
    lines, inside = [], False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == "### BEGIN SOLUTION":
            inside = True
        elif stripped == "### END SOLUTION":
            inside = False
        elif inside and len(stripped) > 12 and not stripped.startswith("#"):
            lines.append(stripped)
    return lines


def mutant_problems(root: Path, assignments: list[str] | None = None) -> list[str]:
    """Problems when a mutant escapes the hidden checks or a valid variant is rejected (for
    every assignment, or those in ``assignments``)."""
    root = Path(root).resolve()
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from tests.mutants import judge_impl

    problems = []
    for path in sorted((root / "tests" / "mutants").glob("w*.py")):
        if assignments and path.stem not in assignments:
            continue
        module = importlib.import_module(f"tests.mutants.{path.stem}")
        for impl in module.IMPLEMENTATIONS:
            results = judge_impl(module.ASSIGNMENT, impl, stop_at_failure=not impl.valid)
            if not results:
                problems.append(f"{impl.function} ({impl.label}): no hidden check calls it")
            elif impl.valid and not all(r.passed for r in results):
                failed = [r for r in results if not r.passed]
                problems.append(
                    f"valid variant {impl.function} ({impl.label}) rejected: "
                    f"{failed[0].name}: {failed[0].problems[:1]}"
                )
            elif not impl.valid and all(r.passed for r in results):
                problems.append(f"mutant {impl.function} ({impl.label}) not caught")
    return problems


def pipeline_problems(
    root: Path, progress: bool = False, assignments: list[str] | None = None
) -> list[str]:
    """Problems when, through real nbgrader autograding, the reference does not earn full
    marks or the blank release does not earn zero on every graded cell (for every
    assignment, or those in ``assignments``)."""
    root = Path(root).resolve()
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        copy = course.copy_course(root, Path(tmp) / "course")
        chosen = course.choose_assignments(copy, assignments)
        course.release(copy, chosen)
        for assignment in chosen:
            for source_path in sorted((copy / "source" / assignment).glob("*.ipynb")):
                release_nb = submissions.read(copy / "release" / assignment / source_path.name)
                reference = submissions.with_reference_answers(
                    submissions.read(source_path), release_nb
                )
                course.submit(
                    copy,
                    "reference",
                    assignment,
                    {source_path.name: submissions.to_json(reference)},
                )
                course.submit(
                    copy, "blank", assignment, {source_path.name: submissions.to_json(release_nb)}
                )
            for result in course.autograde(copy, assignment, progress=progress):
                if not result.ok or not result.scores:
                    problems.append(f"{assignment}/{result.student}: not graded ({result.error})")
                    continue
                for grade_id, (score, max_score) in result.scores.items():
                    wanted = max_score if result.student == "reference" else 0.0
                    if score != wanted:
                        problems.append(
                            f"{assignment}/{result.student}: {grade_id} scored "
                            f"{score} of {max_score}, expected {wanted}"
                        )
    return problems


def validate(root: Path, assignments: list[str] | None = None) -> list[str]:
    """Every check: release up to date and secret-free, test power, the pipeline (the last
    two for every assignment, or those in ``assignments``)."""
    course.choose_assignments(root, assignments)  # a CourseError names an unknown one
    problems = []
    for name, check in [
        ("release", stale_release_problems),
        ("leaks", leak_problems),
        ("mutants", lambda r: mutant_problems(r, assignments)),
        ("pipeline", lambda r: pipeline_problems(r, assignments=assignments)),
    ]:
        print(f"validate: {name} ...", flush=True)
        problems += [f"[{name}] {p}" for p in check(root)]
    return problems
