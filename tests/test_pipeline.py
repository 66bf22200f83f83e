"""The grading pipeline end to end, through real `nbgrader autograde` runs (slow).

A golden matrix of submissions per assignment is graded in one batch with plain
`nbgrader autograde` (the judge wired in through nbgrader_config.py) and every graded cell
must get exactly the expected score.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from graders import course, golden, submissions

ROOT = Path(__file__).resolve().parents[1]
MATRIX = golden.KINDS[: golden.KINDS.index("half_done")]
ASSIGNMENTS = course.assignments_in(ROOT)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A copy of the course with the golden matrix handed in and autograded once."""
    copy = course.copy_course(
        ROOT, tmp_path_factory.mktemp("golden") / "course", include=("source", "solutions")
    )
    runs = {}
    for assignment in ASSIGNMENTS:
        assert (
            course.run_nbgrader(copy, "generate_assignment", assignment, "--force").returncode == 0
        )
        for kind in MATRIX:
            course.submit(
                copy,
                kind,
                assignment,
                golden.submission(kind, ROOT, assignment),
            )
        runs[assignment] = course.run_nbgrader(copy, "autograde", assignment, "--force")
    return copy, runs


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_plain_nbgrader_completes_the_whole_batch(graded, assignment):
    _, runs = graded
    run = runs[assignment]
    assert run.returncode == 0, run.stderr[-3000:]


@pytest.mark.parametrize("kind", MATRIX)
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_golden_submission_gets_exactly_the_expected_cell_scores(graded, assignment, kind):
    copy, _ = graded
    for nb in sorted((copy / "source" / assignment).glob("*.ipynb")):
        expected = golden.expected_scores(kind, ROOT, assignment, nb.name)
        got = {g: s for g, (s, _) in course.cell_scores(copy, assignment, kind).items()}
        assert got == expected


def test_unreadable_and_tampering_submissions_get_clear_feedback(graded):
    copy, _ = graded
    assignment = ASSIGNMENTS[0]
    broken = (copy / "autograded" / "not_json" / assignment / f"{assignment}.ipynb").read_text()
    assert "could not be read" in broken
    tamper = (copy / "autograded" / "tamper" / assignment / f"{assignment}.ipynb").read_text()
    assert "HiddenCheckFailed" in tamper
    submitted = (copy / "submitted" / "not_json" / assignment / f"{assignment}.ipynb").read_text()
    assert "merge conflict" in submitted  # the submission itself is kept as it was
    died = (copy / "autograded" / "kernel_dies" / assignment / f"{assignment}.ipynb").read_text()
    assert "The notebook stopped running (DeadKernelError" in died


def test_tensorflow_noise_reached_stderr_and_cost_nothing(graded):
    copy, _ = graded
    assignment = ASSIGNMENTS[0]
    nb = submissions.read(copy / "autograded" / "tf_noise" / assignment / f"{assignment}.ipynb")
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    texts = ["".join(o.get("text", "")) for c in tests for o in c.outputs]
    # The kernel wrote to stderr in graded cells; the judge set it aside and passed them.
    assert any("lines on stderr" in t for t in texts)
    assert all(o.get("name") != "stderr" for c in tests for o in c.outputs)
    assert all(
        any("Hidden checks passed" in "".join(o.get("text", "")) for o in c.outputs) for c in tests
    )


def test_regrading_is_idempotent_and_keeps_other_grades(graded):
    copy, _ = graded
    assignment = ASSIGNMENTS[0]
    before = {k: course.cell_scores(copy, assignment, k) for k in MATRIX}
    run = course.run_nbgrader(copy, "autograde", assignment, "--force", "--student", "partly_wrong")
    assert run.returncode == 0, run.stderr[-2000:]
    after = {k: course.cell_scores(copy, assignment, k) for k in MATRIX}
    assert after == before
