"""The instructor's class report: one self-contained HTML page of how the class did.

For each assignment: a histogram of the students' total scores (percent of the maximum),
a bar chart of per-question pass rates, and a table per question (grade id, points, pass
rate, mean score and, given the autograded notebooks, the most common failure reasons).
A class summary comes first. Plots are drawn with matplotlib's Agg backend and embedded as
base64 PNG, so the file opens offline and can be mailed around. The page is a Jinja2
template (``graders/templates/report.html.j2``) that escapes everything it is given, so
nothing from a gradebook or a student's notebook is read as HTML.
"""

from __future__ import annotations

import base64
import io
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from graders.export import (
    CellGrade,
    collect_grades,
    feedback_messages,
    format_number,
    open_gradebook,
)
from graders.pages import template

__all__ = ["AssignmentStats", "QuestionStats", "build_report"]

#: How many distinct failure reasons a question's row lists.
TOP_REASONS = 3
#: Longest failure reason shown (the first line of a feedback message).
MAX_REASON_CHARS = 160

_PASS_COLOUR = "#4c72b0"
_HIST_COLOUR = "#55a868"

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #222;
       max-width: 1100px; margin: 2em auto; padding: 0 1em; line-height: 1.4; }
h1 { font-size: 1.6em; border-bottom: 2px solid #ddd; padding-bottom: .3em; }
h2 { font-size: 1.3em; margin-top: 2em; border-bottom: 1px solid #eee; padding-bottom: .2em; }
table { border-collapse: collapse; margin: .8em 0; font-size: .92em; }
th, td { border: 1px solid #ccc; padding: .3em .6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.plots { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
.plots img { border: 1px solid #eee; max-width: 100%; }
ol.reasons { margin: 0; padding-left: 1.3em; }
ol.reasons code { white-space: pre-wrap; word-break: break-word; }
.muted { color: #777; }
"""


@dataclass
class QuestionStats:
    """Class statistics of one graded cell of one assignment."""

    notebook: str
    grade_id: str
    max_score: float
    scores: list[float] = field(default_factory=list)
    passes: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    @property
    def label(self) -> str:
        return f"{self.notebook}: {self.grade_id}"

    @property
    def pass_rate(self) -> float:
        """Fraction of submissions with full marks on this cell (0 when none)."""
        return self.passes / len(self.scores) if self.scores else 0.0

    @property
    def mean_score(self) -> float:
        return statistics.fmean(self.scores) if self.scores else 0.0


@dataclass
class AssignmentStats:
    """Class statistics of one assignment: per-student totals and per-question stats."""

    name: str
    totals: dict[str, float] = field(default_factory=dict)
    max_score: float = 0.0
    questions: dict[tuple[str, str], QuestionStats] = field(default_factory=dict)

    @property
    def percents(self) -> list[float]:
        """Each submitting student's total as a percent of the assignment's maximum."""
        if self.max_score <= 0:
            return [100.0 for _ in self.totals]
        return [100.0 * t / self.max_score for t in self.totals.values()]


def _assignment_stats(grades: list[CellGrade]) -> dict[str, AssignmentStats]:
    """Group the gradebook rows by assignment, then question, keeping gradebook order."""
    stats: dict[str, AssignmentStats] = {}
    maxima: dict[str, dict[tuple[str, str], float]] = {}
    for g in grades:
        a = stats.setdefault(g.assignment, AssignmentStats(g.assignment))
        key = (g.notebook, g.grade_id)
        q = a.questions.setdefault(key, QuestionStats(g.notebook, g.grade_id, g.max_score))
        q.scores.append(g.score)
        q.passes += g.passed
        a.totals[g.student_id] = a.totals.get(g.student_id, 0.0) + g.score
        maxima.setdefault(g.assignment, {})[key] = g.max_score
    for name, a in stats.items():
        a.max_score = sum(maxima[name].values())
    return dict(sorted(stats.items()))


def _add_failure_reasons(stats: AssignmentStats, autograded_dir: Path) -> None:
    """Count the first line of each failing cell's feedback across the class."""
    for student in sorted(stats.totals):
        messages = feedback_messages(autograded_dir, student, stats.name)
        for key, message in messages.items():
            q = stats.questions.get(key)
            if q is None or not message:
                continue
            reason = message.splitlines()[0].strip()
            if len(reason) > MAX_REASON_CHARS:
                reason = reason[: MAX_REASON_CHARS - 3] + "..."
            q.reasons[reason] += 1


# ---------------------------------------------------------------------------- plots


def _png(fig: Figure) -> str:
    """The figure as an ``<img>`` data URI (base64 PNG, rendered by Agg)."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _plain_label(text: str) -> str:
    """Text for a matplotlib label: ``$`` escaped so it is never read as mathtext."""
    return text.replace("$", r"\$")


def _histogram(stats: AssignmentStats) -> str:
    fig = Figure(figsize=(4.6, 3.0))
    ax = fig.add_subplot()
    ax.hist(
        [min(max(p, 0.0), 100.0) for p in stats.percents],  # extra credit can pass 100%
        bins=10,
        range=(0.0, 100.0),
        color=_HIST_COLOUR,
        edgecolor="white",
    )
    ax.set_xlim(0, 100)
    ax.set_xlabel("total score (% of maximum)")
    ax.set_ylabel("students")
    ax.set_title(_plain_label(f"{stats.name}: total scores"), fontsize=10)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return _png(fig)


def _pass_rate_chart(stats: AssignmentStats) -> str:
    questions = list(stats.questions.values())
    several_notebooks = len({q.notebook for q in questions}) > 1
    labels = [_plain_label(q.label if several_notebooks else q.grade_id) for q in questions]
    rates = [100.0 * q.pass_rate for q in questions]
    fig = Figure(figsize=(5.6, max(1.6, 0.32 * len(questions) + 1.0)))
    ax = fig.add_subplot()
    positions = list(range(len(questions)))
    ax.barh(positions, rates, color=_PASS_COLOUR)
    ax.set_yticks(positions, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("students with full marks (%)")
    ax.set_title(_plain_label(f"{stats.name}: pass rate per question"), fontsize=10)
    for y, rate in zip(positions, rates, strict=True):
        inside = rate > 85
        ax.text(
            rate - 1 if inside else rate + 1,
            y,
            f"{rate:.0f}%",
            va="center",
            ha="right" if inside else "left",
            fontsize=7,
            color="white" if inside else "#222",
        )
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return _png(fig)


# ---------------------------------------------------------------------------- HTML


def _percent(fraction: float) -> str:
    return f"{100.0 * fraction:.0f}%"


def _anchor(name: str) -> str:
    return "a-" + "".join(c if c.isalnum() or c in "-_" else "-" for c in name)


def _summary(all_stats: dict[str, AssignmentStats], n_students: int) -> list[tuple[str, str]]:
    percents = [p for a in all_stats.values() for p in a.percents]
    submitters = {s for a in all_stats.values() for s in a.totals}
    rows = [
        ("Students in the gradebook", str(n_students)),
        ("Students with at least one submission", str(len(submitters))),
        ("Assignments with submissions", str(len(all_stats))),
        ("Submissions graded", str(len(percents))),
    ]
    if percents:
        rows += [
            ("Mean score (all submissions)", f"{statistics.fmean(percents):.1f}%"),
            ("Median score (all submissions)", f"{statistics.median(percents):.1f}%"),
        ]
    return rows


def _assignment_view(stats: AssignmentStats) -> dict[str, Any]:
    """What the template shows of one assignment (numbers already formatted)."""
    p = stats.percents
    return {
        "name": stats.name,
        "anchor": _anchor(stats.name),
        "submissions": len(p),
        "max_points": format_number(stats.max_score),
        "mean": f"{statistics.fmean(p):.1f}%",
        "median": f"{statistics.median(p):.1f}%",
        "min": f"{min(p):.1f}%",
        "max": f"{max(p):.1f}%",
        "histogram": _histogram(stats),
        "pass_rates": _pass_rate_chart(stats),
        "questions": [
            {
                "notebook": q.notebook,
                "grade_id": q.grade_id,
                "max_points": format_number(q.max_score),
                "pass_rate": _percent(q.pass_rate),
                "passed": f"{q.passes} / {len(q.scores)}",
                "mean": f"{q.mean_score:.2f}",
                "reasons": q.reasons.most_common(TOP_REASONS),
            }
            for q in stats.questions.values()
        ],
    }


def build_report(
    db_url: str,
    out_path: Path,
    autograded_dir: Path | None = None,
    title: str = "Class report",
) -> Path:
    """Write the class report as one self-contained HTML file and return its path.

    Reads every grade in the gradebook at ``db_url`` (see
    :func:`graders.export.collect_grades`). A question (graded cell) counts as passed by a
    student when its score equals its maximum. With ``autograded_dir`` (nbgrader's
    ``autograded/`` folder) each question also lists its most common failure reasons: the
    first line of the failing cells' feedback, counted across students, top three.
    Assignments nobody submitted are left out. All text is HTML-escaped; the images are
    embedded PNGs, so the page needs no network.
    """
    grades = collect_grades(db_url)
    with open_gradebook(db_url) as gb:
        n_students = len(gb.students)
    all_stats = _assignment_stats(grades)
    if autograded_dir is not None:
        for stats in all_stats.values():
            _add_failure_reasons(stats, Path(autograded_dir))
    page = template("report.html.j2").render(
        title=title,
        css=_CSS,
        summary=_summary(all_stats, n_students),
        assignments=[_assignment_view(stats) for stats in all_stats.values()],
        with_reasons=autograded_dir is not None,
    )
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(page, encoding="utf-8")
    return out_path
