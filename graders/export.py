"""Grade export for the instructor: a CSV of the class, per-student feedback texts and
Gradescope results files, read straight from nbgrader's gradebook after ``autograde``.

Instructor side only; nothing here runs student code. Scores come from the gradebook
(``Grade.score``, which already prefers a manual override to the autograder's score, plus
extra credit); feedback texts come from the autograded notebooks, whose graded test cells
the trusted judge rewrote (an ``error`` output when the cell failed, a
``Hidden checks passed: ...`` stdout stream when it passed).

Students without a submission of an assignment get no rows for it: nbgrader keeps no
grades for them, and an export must not invent zeros the instructor did not give.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbgrader.api import (
    Assignment,
    BaseCell,
    Gradebook,
    Notebook,
    Student,
    SubmittedAssignment,
    SubmittedNotebook,
)
from nbgrader.api import Grade as _Grade
from sqlalchemy import literal_column

from graders.feedback import FAILED as JUDGE_ERROR
from graders.feedback import redact_output

__all__ = [
    "CellGrade",
    "collect_grades",
    "export_csv",
    "export_gradescope",
    "feedback_messages",
    "format_number",
    "open_gradebook",
]

#: Limits on one feedback message (a traceback can be thousands of lines long).
MAX_FEEDBACK_LINES = 40
MAX_FEEDBACK_LINE_CHARS = 300
MAX_FEEDBACK_CHARS = 4000

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
_SEPARATOR = re.compile(r"^-{5,}$")


@dataclass(frozen=True)
class CellGrade:
    """One graded cell of one student's submission, as the gradebook holds it.

    ``score`` is nbgrader's ``Grade.score``: the manual score when a grader set one, else
    the autograder's score, plus any extra credit; 0 when neither is set.
    """

    student_id: str
    assignment: str
    notebook: str
    grade_id: str
    score: float
    max_score: float

    @property
    def passed(self) -> bool:
        """Whether the cell earned its full marks (a cell passes when score == max_score)."""
        return self.score >= self.max_score - 1e-9


def open_gradebook(db_url: str) -> Gradebook:
    """Open an existing gradebook; a ``sqlite:///`` URL to a missing file is an error.

    nbgrader's ``Gradebook`` silently creates an empty database for any path, which would
    turn a typo into an empty export; this refuses instead.
    """
    prefix = "sqlite:///"
    if db_url.startswith(prefix):
        path = Path(db_url[len(prefix) :])
        if str(path) not in ("", ":memory:") and not path.is_file():
            raise FileNotFoundError(f"No gradebook at {path} (from the URL {db_url!r}).")
    return Gradebook(db_url)


def collect_grades(db_url: str, assignments: list[str] | None = None) -> list[CellGrade]:
    """Every grade in the gradebook, one row per (student, assignment, notebook, cell).

    Only submissions the gradebook knows of give rows: a student who did not submit an
    assignment has no grades for it and so no rows (not zeros). ``assignments`` restricts
    the result to those assignment names. Rows are ordered by student id, assignment name,
    notebook name, then the cell's order in the gradebook (the order nbgrader recorded the
    cells in, which is their order in the source notebook; on a non-SQLite database, where
    that order is not available, by grade id).
    """
    with open_gradebook(db_url) as gb:
        db = gb.db
        cell_order: Any
        if gb.engine.dialect.name == "sqlite":
            cell_order = literal_column(f"{BaseCell.__tablename__}.rowid")
        else:
            cell_order = BaseCell.name
        query = (
            db.query(
                Student.id,
                Assignment.name,
                Notebook.name,
                BaseCell.name,
                _Grade.score,
                _Grade.max_score,
            )
            .select_from(_Grade)
            .join(BaseCell, BaseCell.id == _Grade.cell_id)
            .join(SubmittedNotebook, SubmittedNotebook.id == _Grade.notebook_id)
            .join(Notebook, Notebook.id == SubmittedNotebook.notebook_id)
            .join(SubmittedAssignment, SubmittedAssignment.id == SubmittedNotebook.assignment_id)
            .join(Assignment, Assignment.id == SubmittedAssignment.assignment_id)
            .join(Student, Student.id == SubmittedAssignment.student_id)
        )
        if assignments is not None:
            query = query.filter(Assignment.name.in_(list(assignments)))
        query = query.order_by(Student.id, Assignment.name, Notebook.name, cell_order)
        return [
            CellGrade(
                student_id=str(student),
                assignment=str(assignment),
                notebook=str(notebook),
                grade_id=str(cell),
                score=float(score or 0.0),
                max_score=float(max_score or 0.0),
            )
            for student, assignment, notebook, cell, score, max_score in query.all()
        ]


def format_number(value: float) -> str:
    """A score as short text: ``2.0`` -> ``"2"``, ``0.5`` -> ``"0.5"`` (6 decimals at most)."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _cell_columns(grades: Iterable[CellGrade]) -> list[str]:
    """``<notebook>:<grade_id>`` column names in first-seen order, without duplicates.

    Walks the rows assignment by assignment so the columns of one assignment stay together
    and in the gradebook's cell order.
    """
    per_assignment: dict[str, list[str]] = {}
    for g in grades:
        names = per_assignment.setdefault(g.assignment, [])
        name = f"{g.notebook}:{g.grade_id}"
        if name not in names:
            names.append(name)
    columns: list[str] = []
    for assignment in sorted(per_assignment):
        columns += [n for n in per_assignment[assignment] if n not in columns]
    return columns


def export_csv(db_url: str, out_path: Path, assignments: list[str] | None = None) -> Path:
    """Write the class's grades as CSV, one row per (student, assignment) submission.

    Columns: ``student_id, assignment, score, max_score``, then one column per graded cell
    named ``<notebook>:<grade_id>`` (assignment by assignment, cells in gradebook order);
    a cell column is empty in the rows of assignments that do not have that cell. Rows are
    ordered by student id then assignment. Students without a submission get no row.
    Returns ``out_path``.
    """
    grades = collect_grades(db_url, assignments)
    columns = _cell_columns(grades)
    rows: dict[tuple[str, str], dict[str, str]] = {}
    totals: dict[tuple[str, str], list[float]] = {}
    for g in grades:
        key = (g.student_id, g.assignment)
        rows.setdefault(key, {})[f"{g.notebook}:{g.grade_id}"] = format_number(g.score)
        total = totals.setdefault(key, [0.0, 0.0])
        total[0] += g.score
        total[1] += g.max_score
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with out_path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["student_id", "assignment", "score", "max_score", *columns])
        for key in sorted(rows):
            score, max_score = totals[key]
            cells = rows[key]
            writer.writerow(
                [
                    key[0],
                    key[1],
                    format_number(score),
                    format_number(max_score),
                    *(cells.get(c, "") for c in columns),
                ]
            )
    return out_path


# ---------------------------------------------------------------------------- feedback


def _safe_part(name: str) -> bool:
    """Whether ``name`` is usable as one path component (no separators, not . or ..)."""
    return bool(name) and name not in (".", "..") and "/" not in name and "\\" not in name


def _strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def _truncate(lines: list[str]) -> str:
    """Join message lines, keeping them within the line, width and size limits."""
    lines = [
        line
        if len(line) <= MAX_FEEDBACK_LINE_CHARS
        else line[: MAX_FEEDBACK_LINE_CHARS - 3] + "..."
        for line in lines
    ]
    if len(lines) > MAX_FEEDBACK_LINES:
        dropped = len(lines) - (MAX_FEEDBACK_LINES - 1)
        lines = lines[: MAX_FEEDBACK_LINES - 1] + [f"... ({dropped} more lines)"]
    text = "\n".join(lines)
    if len(text) > MAX_FEEDBACK_CHARS:
        text = text[: MAX_FEEDBACK_CHARS - 16].rstrip() + "\n... (truncated)"
    return text


def _error_message(error: dict[str, Any]) -> str:
    """The text of one error output: ``ename: evalue``, then the traceback lines.

    ANSI colour codes are removed, IPython's dashed separator lines and lines repeating the
    headline are dropped, and the result is truncated (see the ``MAX_FEEDBACK_*`` limits).
    """
    ename = _strip_ansi(str(error.get("ename") or "Error")).strip() or "Error"
    evalue = _strip_ansi(str(error.get("evalue") or "")).strip()
    first_value_line = evalue.splitlines()[0].strip() if evalue else ""
    headline = f"{ename}: {first_value_line}" if first_value_line else ename
    traceback = error.get("traceback")
    if not isinstance(traceback, list):
        traceback = []
    body: list[str] = []
    for entry in traceback:
        for line in _strip_ansi(str(entry)).splitlines():
            line = line.rstrip()
            stripped = line.strip()
            if stripped in (headline, first_value_line) or _SEPARATOR.match(stripped):
                continue
            if ename == JUDGE_ERROR and stripped.startswith(f"{JUDGE_ERROR}:"):
                continue  # the judge's boilerplate line; the headline already says it
            body.append(line)
    while body and not body[0].strip():
        body.pop(0)
    while body and not body[-1].strip():
        body.pop()
    return _truncate([headline, *body])


def _cell_feedback(outputs: Any, show: str = "values") -> str:
    """The failure text of a graded test cell from its outputs; '' when it shows no error.

    The trusted judge's verdict (``HiddenCheckFailed``) wins over the kernel's own error,
    which the judge's message already names; without a verdict the first error is used.
    The verdict is trimmed to ``show`` as the students' feedback is (``RedactFeedback``).
    """
    if not isinstance(outputs, list):
        return ""
    errors = [o for o in outputs if isinstance(o, dict) and o.get("output_type") == "error"]
    if not errors:
        return ""
    verdicts = [e for e in errors if e.get("ename") == JUDGE_ERROR]
    error = dict(verdicts[-1] if verdicts else errors[0])
    redact_output(error, show)
    return _error_message(error)


def _is_graded_test_cell(cell: Any) -> str | None:
    """The grade id of an autograded test cell (graded, not a solution), else None."""
    if not isinstance(cell, dict):
        return None
    meta = cell.get("metadata")
    nbg = meta.get("nbgrader") if isinstance(meta, dict) else None
    if not isinstance(nbg, dict) or nbg.get("grade") is not True or nbg.get("solution"):
        return None
    grade_id = nbg.get("grade_id")
    return str(grade_id) if grade_id else None


def feedback_messages(
    autograded_dir: Path, student: str, assignment: str, show: str = "values"
) -> dict[tuple[str, str], str]:
    """Failure texts of one student's autograded test cells, keyed by (notebook, grade_id),
    with the judge's accounts trimmed to ``show`` (see ``graders.feedback``).

    Reads every ``<autograded_dir>/<student>/<assignment>/*.ipynb``; the notebook name is
    the file's stem. A failed cell's text is its error (ename, then the traceback with ANSI
    codes stripped, truncated); a passing cell gives ''. A missing directory, a missing or
    unreadable notebook, or a malformed cell gives no entries; this never raises on a bad
    file (the text is student-controlled: escape it before putting it in HTML).
    """
    messages: dict[tuple[str, str], str] = {}
    if not (_safe_part(student) and _safe_part(assignment)):
        return messages
    folder = Path(autograded_dir) / student / assignment
    try:
        paths = sorted(p for p in folder.glob("*.ipynb") if p.is_file())
    except OSError:
        return messages
    for path in paths:
        try:
            nb = json.loads(path.read_text(encoding="utf-8"))
            cells = nb.get("cells") if isinstance(nb, dict) else None
            if not isinstance(cells, list):
                continue
        except (OSError, ValueError):
            continue
        for cell in cells:
            try:
                grade_id = _is_graded_test_cell(cell)
                if grade_id is None:
                    continue
                messages[(path.stem, grade_id)] = _cell_feedback(cell.get("outputs"), show)
            except Exception:  # noqa: BLE001 - one odd cell must not lose the others
                continue
    return messages


# ---------------------------------------------------------------------------- Gradescope


def gradescope_results(
    grades: list[CellGrade],
    messages: dict[tuple[str, str], str],
    assignment: str,
    visibility: str = "visible",
) -> dict[str, Any]:
    """One student's results in Gradescope's autograder format (``results.json``).

    One test per graded cell, named ``<notebook>: <grade_id>``, numbered in gradebook order;
    its output is the feedback message of a failed cell, ``"Passed"`` for a cell with full
    marks. The top-level ``score`` is the sum of the cell scores (Gradescope uses it over
    the sum of the tests).
    """
    tests = []
    for number, g in enumerate(grades, start=1):
        if g.passed:
            output = "Passed"
        else:
            output = messages.get((g.notebook, g.grade_id)) or (
                "Failed: no error message was recorded for this cell."
            )
        tests.append(
            {
                "name": f"{g.notebook}: {g.grade_id}",
                "number": str(number),
                "score": g.score,
                "max_score": g.max_score,
                "status": "passed" if g.passed else "failed",
                "output": output,
                "visibility": "visible",
            }
        )
    score = sum(g.score for g in grades)
    max_score = sum(g.max_score for g in grades)
    passed = sum(g.passed for g in grades)
    return {
        "score": score,
        "output": (
            f"{assignment}: {format_number(score)} / {format_number(max_score)} points; "
            f"{passed} of {len(grades)} graded cells passed."
        ),
        "visibility": visibility,
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def export_gradescope(
    db_url: str, autograded_dir: Path, out_dir: Path, assignment: str, show: str = "values"
) -> list[Path]:
    """Write ``<out_dir>/<assignment>/<student>/results.json`` for each submitting student.

    Students read these, so a failed hidden check shows what their feedback shows:
    ``show`` is ``c.RedactFeedback.show`` of the course (``graders.feedback``).

    Scores come from the gradebook, failure texts from the student's autograded notebooks
    under ``autograded_dir`` (see :func:`feedback_messages`; a student whose notebook is
    missing or unreadable still gets their scores, with a generic failure text). Students
    without a submission get no file. Returns the written paths, ordered by student id.
    """
    if not _safe_part(assignment):
        raise ValueError(f"Assignment name {assignment!r} cannot be used as a folder name.")
    grades = collect_grades(db_url, [assignment])
    unsafe = sorted({g.student_id for g in grades if not _safe_part(g.student_id)})
    if unsafe:
        raise ValueError(f"Student ids that cannot be used as folder names: {unsafe}.")
    per_student: dict[str, list[CellGrade]] = {}
    for g in grades:
        per_student.setdefault(g.student_id, []).append(g)
    written = []
    for student in sorted(per_student):
        messages = feedback_messages(Path(autograded_dir), student, assignment, show)
        results = gradescope_results(per_student[student], messages, assignment)
        path = Path(out_dir) / assignment / student / "results.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written
