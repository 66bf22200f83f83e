"""Feedback for students: generated from the graded notebooks, redacted, and released.

nbgrader's ``generate_feedback`` renders a graded notebook as it is, and the graded notebook
holds each test cell's full source as restored from the gradebook, hidden tests included.
:class:`RedactFeedback` (registered in ``nbgrader_config.py`` before nbgrader's own
preprocessors, so ``nbgrader generate_feedback`` uses it too) removes them, and trims what
the judge wrote about a failed hidden check to what the course chooses to show
(``c.RedactFeedback.show``):

- ``"values"``: the failed property, the hint, and the values of the student's own inputs
  (expected and received) that the judge reported;
- ``"hints"``: the failed property and the hint, no values;
- ``"none"``: only that a hidden check failed.

Hidden test sources and reference code never appear. ``dlgrade feedback ASSIGNMENT``
generates the feedback (and, with ``--release``, releases it to nbgrader's exchange).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor
from traitlets import Enum

#: The ``ename`` of the error output the judge writes for a cell that failed.
FAILED = "HiddenCheckFailed"
HIDDEN_REMOVED = "# (hidden tests are not shown)"
#: How much a student's feedback shows of a failed hidden check, most first.
SHOW_CHOICES = ("values", "hints", "none")


def redact_message(lines: list[str], show: str) -> list[str]:
    """The judge's account of a failed cell (its error output's traceback lines), trimmed
    to ``show`` (``values``, ``hints`` or ``none``). ``hints`` drops the detail lines under
    each failed hidden check (the values of its cases) and keeps the rest (the check's name,
    its hint, and what the cell itself raised, which the student saw when running it)."""
    if show == "values":
        return list(lines)
    if show == "none":
        return [line for line in lines if line.startswith(f"{FAILED}:")] + [
            "A hidden check failed."
        ]
    out, in_check = [], False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("Hidden check '"):
            in_check = True
            out.append(line)
        elif in_check and stripped.startswith("- "):
            continue
        else:
            if not line.startswith("  "):
                in_check = False
            out.append(line)
    return out


def redact_cell(cell: NotebookNode, show: str) -> None:
    """Remove a cell's hidden tests from its source and trim the judge's messages."""
    if cell.get("cell_type") != "code":
        return
    source = cell.get("source", "")
    if "BEGIN HIDDEN TESTS" in source or "END HIDDEN TESTS" in source:
        clear = ClearHiddenTests(enforce_metadata=False)
        try:
            clear._remove_hidden_test_region(cell)  # noqa: SLF001 - nbgrader's own routine
            cell.source = cell.source.rstrip("\n") + "\n" + HIDDEN_REMOVED
        except RuntimeError:  # unbalanced markers: show none of the cell's source
            cell.source = HIDDEN_REMOVED
    for out in cell.get("outputs", []):
        redact_output(out, show)


def redact_output(out: dict[str, Any], show: str) -> None:
    """Trim one output in place to ``show`` when it is the judge's account of a failed cell
    (an error output named :data:`FAILED`); any other output is left as it is."""
    if out.get("output_type") != "error" or out.get("ename") != FAILED:
        return
    traceback = out.get("traceback")
    lines = [str(line) for line in traceback] if isinstance(traceback, list) else []
    out["traceback"] = redact_message(lines, show)
    if show != "values":
        names = [
            line.strip().split("'")[1]
            for line in lines
            if line.strip().startswith("Hidden check '") and line.count("'") >= 2
        ]
        out["evalue"] = (
            f"hidden check failed: {', '.join(names)}"
            if names and show == "hints"
            else "a hidden check failed"
        )


def configured_show(root: Path) -> str:
    """What the course at ``root`` shows students of a failed hidden check
    (``c.RedactFeedback.show`` in its ``nbgrader_config.py``; ``"values"`` when unset)."""
    from graders import course

    config = course.load_config(Path(root))
    show = config.RedactFeedback.get("show", "values") if "RedactFeedback" in config else "values"
    if show not in SHOW_CHOICES:
        raise course.CourseError(
            f"c.RedactFeedback.show = {show!r} in nbgrader_config.py; choose one of "
            f"{', '.join(SHOW_CHOICES)}"
        )
    return show


class RedactFeedback(NbGraderPreprocessor):
    """nbgrader preprocessor of ``generate_feedback``: no hidden test source, and only what
    ``show`` allows of the judge's messages."""

    show = Enum(
        list(SHOW_CHOICES),
        default_value="values",
        help="What a student's feedback shows of a failed hidden check: 'values' (the "
        "property, the hint and the student's own inputs' expected and received values), "
        "'hints' (the property and the hint), 'none' (only that it failed).",
    ).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]):
        for cell in nb.cells:
            redact_cell(cell, self.show)
        return nb, resources


def _require_timestamps(root: Path, assignment: str, student: str | None) -> None:
    """nbgrader's exchange releases feedback by the submission's time stamp and secret,
    which a submission collected from the exchange has; say so plainly when one has not."""
    folders = sorted((root / "feedback").glob(f"{student or '*'}/{assignment}"))
    needed = ("timestamp.txt", "submission_secret.txt")
    missing = [f.parent.name for f in folders if not all((f / n).is_file() for n in needed)]
    if missing:
        from graders import course

        raise course.CourseError(
            f"feedback of {', '.join(missing[:5])} cannot be released to the exchange: their "
            f"submissions of {assignment} have no timestamp.txt and submission_secret.txt (not "
            "collected from nbgrader's exchange); hand the feedback/ files out another way"
        )


def generate(
    root: Path,
    assignment: str,
    students: list[str] | None = None,
    show: str | None = None,
    release: bool = False,
) -> list[Path]:
    """Generate the redacted feedback of an autograded assignment (all students, or
    ``students``), and release it to the exchange when ``release``; returns the feedback
    files written."""
    from graders import course

    overrides: dict[str, Any] = {}
    if show is not None:
        overrides["RedactFeedback"] = {"show": show}
    api = course.api(Path(root), **overrides)
    for student in students or [None]:
        result = api.generate_feedback(assignment, student_id=student, force=True)
        if not result.get("success"):
            raise course.CourseError(
                f"feedback for {assignment} could not be generated: {result.get('error', '')}"
            )
        if release:
            _require_timestamps(Path(root), assignment, student)
            result = api.release_feedback(assignment, student_id=student)
            if not result.get("success"):
                raise course.CourseError(
                    f"feedback for {assignment} could not be released: {result.get('error', '')}"
                )
    folder = Path(root) / "feedback"
    return sorted(
        p
        for p in folder.glob(f"*/{assignment}/*.html")
        if students is None or p.parent.parent.name in students
    )
