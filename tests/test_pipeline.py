"""The grading pipeline end to end, through real `nbgrader autograde` runs (slow).

A golden matrix of submissions per assignment is graded in one batch per assignment with
plain `nbgrader autograde` (the judge wired in through nbgrader_config.py) and every graded
cell must get exactly the expected score.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from graders import course, golden, submissions
from tests.scopes import class_for

ROOT = Path(__file__).resolve().parents[1]
MATRIX = golden.KINDS[: golden.KINDS.index("half_done")]
ASSIGNMENTS = course.assignments_in(ROOT)

pytestmark = pytest.mark.slow


class GoldenBatch:
    """The golden matrix of one assignment (``assignment``, set by each subclass below),
    handed in and autograded once per class in a copy of the course of its own. Each
    assignment is a test class of its own so that the test workers (pytest-xdist,
    ``--dist loadscope``) grade the assignments' batches side by side."""

    assignment: str

    @pytest.fixture(scope="class")
    def graded(self, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
        assignment = self.assignment
        copy = course.copy_course(
            ROOT, tmp_path_factory.mktemp("golden") / "course", include=("source", "solutions")
        )
        generated = course.run_nbgrader(copy, "generate_assignment", assignment, "--force")
        assert generated.returncode == 0, generated.stderr[-3000:]
        for kind in MATRIX:
            course.submit(copy, kind, assignment, golden.submission(kind, ROOT, assignment))
        return copy, course.run_nbgrader(copy, "autograde", assignment, "--force")

    def test_plain_nbgrader_completes_the_whole_batch(self, graded):
        _, run = graded
        assert run.returncode == 0, run.stderr[-3000:]

    @pytest.mark.parametrize("kind", MATRIX)
    def test_golden_submission_gets_exactly_the_expected_cell_scores(self, graded, kind):
        copy, _ = graded
        assignment = self.assignment
        for nb in sorted((copy / "source" / assignment).glob("*.ipynb")):
            expected = golden.expected_scores(kind, ROOT, assignment, nb.name)
            got = {g: s for g, (s, _) in course.cell_scores(copy, assignment, kind).items()}
            assert got == expected


class FirstAssignment(GoldenBatch):
    """What the first assignment's batch shows beyond its scores."""

    def test_unreadable_and_tampering_submissions_get_clear_feedback(self, graded):
        copy, _ = graded
        assignment = self.assignment
        broken = (copy / "autograded" / "not_json" / assignment / f"{assignment}.ipynb").read_text()
        assert "could not be read" in broken
        tamper = (copy / "autograded" / "tamper" / assignment / f"{assignment}.ipynb").read_text()
        assert "HiddenCheckFailed" in tamper
        submitted = (
            copy / "submitted" / "not_json" / assignment / f"{assignment}.ipynb"
        ).read_text()
        assert "merge conflict" in submitted  # the submission itself is kept as it was
        died = (
            copy / "autograded" / "kernel_dies" / assignment / f"{assignment}.ipynb"
        ).read_text()
        assert "The notebook stopped running (DeadKernelError" in died

    def test_tensorflow_noise_reached_stderr_and_cost_nothing(self, graded):
        copy, _ = graded
        assignment = self.assignment
        nb = submissions.read(copy / "autograded" / "tf_noise" / assignment / f"{assignment}.ipynb")
        tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
        texts = ["".join(o.get("text", "")) for c in tests for o in c.outputs]
        # The kernel wrote to stderr in graded cells; the judge set it aside and passed them.
        assert any("lines on stderr" in t for t in texts)
        assert all(o.get("name") != "stderr" for c in tests for o in c.outputs)
        assert all(
            any("Hidden checks passed" in "".join(o.get("text", "")) for o in c.outputs)
            for c in tests
        )

    def test_regrading_is_idempotent_and_keeps_other_grades(self, graded):
        copy, _ = graded
        assignment = self.assignment
        before = {k: course.cell_scores(copy, assignment, k) for k in MATRIX}
        run = course.run_nbgrader(
            copy, "autograde", assignment, "--force", "--student", "partly_wrong"
        )
        assert run.returncode == 0, run.stderr[-2000:]
        after = {k: course.cell_scores(copy, assignment, k) for k in MATRIX}
        assert after == before


for _i, _assignment in enumerate(ASSIGNMENTS):
    _class = class_for(
        _assignment, FirstAssignment if _i == 0 else GoldenBatch, assignment=_assignment
    )
    globals()[_class.__name__] = _class
