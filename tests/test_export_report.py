"""Grade export (CSV, feedback texts, Gradescope results) and the HTML class report.

Built on a real nbgrader gradebook in a temporary folder, with known scores, and on tiny
autograded notebooks shaped like the trusted judge's output.

The class: w1_broadcasting has two notebooks (w1_broadcasting: sigmoid_values 2,
softmax_stable 3, l1_loss_values 1, created in that non-alphabetical order; w1_extra:
pairwise_sq_distances_values 2), w2_gradient_descent has one (propagate_grads 4,
predict_labels 1), w3_conv_pool has no submissions. Five students; eve submitted nothing,
dave only w1, and dave's softmax_stable has a manual override of 1.5 over an autograde of 0.
"""

from __future__ import annotations

import base64
import csv
import json
import os
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from nbgrader.api import Gradebook

from graders.export import (
    MAX_FEEDBACK_LINES,
    collect_grades,
    export_csv,
    export_gradescope,
    feedback_messages,
)
from graders.report import build_report

W1, W2, W3 = "w1_broadcasting", "w2_gradient_descent", "w3_conv_pool"
CELLS = {
    W1: {
        "w1_broadcasting": [("sigmoid_values", 2), ("softmax_stable", 3), ("l1_loss_values", 1)],
        "w1_extra": [("pairwise_sq_distances_values", 2)],
    },
    W2: {"w2_gradient_descent": [("propagate_grads", 4), ("predict_labels", 1)]},
    W3: {"w3_conv_pool": [("conv_forward_shapes", 2)]},
}
# (student, assignment) -> {(notebook, grade_id): auto_score}
SCORES = {
    ("alice", W1): {
        ("w1_broadcasting", "sigmoid_values"): 2,
        ("w1_broadcasting", "softmax_stable"): 3,
        ("w1_broadcasting", "l1_loss_values"): 1,
        ("w1_extra", "pairwise_sq_distances_values"): 2,
    },
    ("bob", W1): {
        ("w1_broadcasting", "sigmoid_values"): 2,
        ("w1_broadcasting", "softmax_stable"): 0,
        ("w1_broadcasting", "l1_loss_values"): 1,
        ("w1_extra", "pairwise_sq_distances_values"): 0,
    },
    ("carol", W1): {
        ("w1_broadcasting", "sigmoid_values"): 0,
        ("w1_broadcasting", "softmax_stable"): 3,
        ("w1_broadcasting", "l1_loss_values"): 0.5,
        ("w1_extra", "pairwise_sq_distances_values"): 0,
    },
    ("dave", W1): {
        ("w1_broadcasting", "sigmoid_values"): 2,
        ("w1_broadcasting", "softmax_stable"): 0,  # overridden by hand to 1.5 below
        ("w1_broadcasting", "l1_loss_values"): 1,
        ("w1_extra", "pairwise_sq_distances_values"): 2,
    },
    ("alice", W2): {
        ("w2_gradient_descent", "propagate_grads"): 4,
        ("w2_gradient_descent", "predict_labels"): 1,
    },
    ("bob", W2): {
        ("w2_gradient_descent", "propagate_grads"): 0,
        ("w2_gradient_descent", "predict_labels"): 1,
    },
    ("carol", W2): {
        ("w2_gradient_descent", "propagate_grads"): 4,
        ("w2_gradient_descent", "predict_labels"): 0,
    },
}
# nbgrader's own add_submission warns about session cascades; not this code's concern
pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")

STUDENTS = ["alice", "bob", "carol", "dave", "eve"]

ANSI_NAME_ERROR = {
    "ename": "NameError",
    "evalue": "name 'np' is not defined",
    "traceback": [
        "\x1b[0;31m---------------------------------------------------------------------------\x1b[0m",
        "\x1b[0;31mNameError\x1b[0m" + " " * 33 + "Traceback (most recent call last)",
        "Cell \x1b[0;32mIn[4], line 1\x1b[0m\n\x1b[0;32m----> 1\x1b[0m softmax(x)",
        "\x1b[0;31mNameError\x1b[0m: name 'np' is not defined",
    ],
}
NAME_ERROR_TEXT = (
    "NameError: name 'np' is not defined\n"
    "NameError                                 Traceback (most recent call last)\n"
    "Cell In[4], line 1\n"
    "----> 1 softmax(x)"
)
NAME_ERROR_VERDICT = {
    "ename": "HiddenCheckFailed",
    "evalue": "The cell raised NameError: name 'np' is not defined",
    "traceback": [
        "HiddenCheckFailed: the trusted grader rejected this cell.",
        "The cell raised NameError: name 'np' is not defined",
        "Hidden check 'softmax_stable' failed:",
        "  - no result was recorded (the cell stopped before the check ran)",
        "  Hint: subtract the row maximum",
    ],
}
SOFTMAX_NAME_ERROR_TEXT = (
    "HiddenCheckFailed: The cell raised NameError: name 'np' is not defined\n"
    "Hidden check 'softmax_stable' failed:\n"
    "  - no result was recorded (the cell stopped before the check ran)\n"
    "  Hint: subtract the row maximum"
)
SIGMOID_VERDICT = {
    "ename": "HiddenCheckFailed",
    "evalue": "Hidden check 'sigmoid_values' failed:",
    "traceback": [
        "HiddenCheckFailed: the trusted grader rejected this cell.",
        "Hidden check 'sigmoid_values' failed:",
        "  - case 0: values differ at 3 of 4 positions",
    ],
}
HOSTILE_VERDICT = {
    "ename": "HiddenCheckFailed",
    "evalue": "The cell raised CheckFailed: <script>alert(1)</script>",
    "traceback": [
        "HiddenCheckFailed: the trusted grader rejected this cell.",
        "The cell raised CheckFailed: <script>alert(1)</script>",
    ],
}


def passed(check: str) -> dict:
    return new_output("stream", name="stdout", text=f"Hidden checks passed: {check}\n")


def error(spec: dict) -> dict:
    return new_output("error", **spec)


# (student, assignment, notebook) -> {grade_id: outputs}; None writes an unreadable file
AUTOGRADED: dict[tuple[str, str, str], dict[str, list] | None] = {
    ("alice", W1, "w1_broadcasting"): {
        "sigmoid_values": [passed("sigmoid_values")],
        "softmax_stable": [passed("softmax_stable")],
        "l1_loss_values": [passed("l1_loss_values")],
    },
    ("alice", W1, "w1_extra"): {"pairwise_sq_distances_values": [passed("pairwise")]},
    ("bob", W1, "w1_broadcasting"): {
        "sigmoid_values": [passed("sigmoid_values")],
        "softmax_stable": [error(ANSI_NAME_ERROR), error(NAME_ERROR_VERDICT)],
        "l1_loss_values": [passed("l1_loss_values")],
    },
    # bob's w1_extra notebook is missing altogether
    ("carol", W1, "w1_broadcasting"): {
        "sigmoid_values": [error(SIGMOID_VERDICT)],
        "softmax_stable": [passed("softmax_stable")],
        "l1_loss_values": [error(HOSTILE_VERDICT)],
    },
    ("carol", W1, "w1_extra"): None,
    ("dave", W1, "w1_broadcasting"): {
        "sigmoid_values": [passed("sigmoid_values")],
        "softmax_stable": [error(NAME_ERROR_VERDICT)],
        "l1_loss_values": [passed("l1_loss_values")],
    },
    ("dave", W1, "w1_extra"): {"pairwise_sq_distances_values": [passed("pairwise")]},
    ("bob", W2, "w2_gradient_descent"): {
        "propagate_grads": [error(ANSI_NAME_ERROR)],
        "predict_labels": [passed("predict_labels")],
    },
}


def nbgrader_meta(grade_id: str, *, grade: bool, solution: bool, points: float = 0) -> dict:
    meta = {"grade": grade, "solution": solution, "locked": not solution}
    meta.update({"grade_id": grade_id, "schema_version": 3})
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def write_autograded(root: Path) -> None:
    for (student, assignment, notebook), cells in AUTOGRADED.items():
        path = root / student / assignment / f"{notebook}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        if cells is None:
            path.write_text('{"cells": [', encoding="utf-8")  # truncated JSON
            continue
        nb = new_notebook()
        nb.cells.append(new_markdown_cell("# Exercise"))
        for grade_id, outputs in cells.items():
            answer = new_code_cell("def f():\n    return 1")
            answer.metadata = nbgrader_meta(f"{grade_id}_answer", grade=False, solution=True)
            test = new_code_cell(f'probe("{grade_id}", f)')
            test.metadata = nbgrader_meta(grade_id, grade=True, solution=False, points=1)
            test.outputs = outputs
            nb.cells += [answer, test]
        # a manually graded answer cell (grade and solution) is not an autograded test
        written = new_code_cell("raise ValueError('not a test')")
        written.metadata = nbgrader_meta("essay", grade=True, solution=True, points=1)
        written.outputs = [error({"ename": "ValueError", "evalue": "x", "traceback": []})]
        nb.cells.append(written)
        nbformat.write(nb, path)


def build_gradebook(db_path: Path) -> str:
    url = f"sqlite:///{db_path}"
    with Gradebook(url) as gb:
        for assignment, notebooks in CELLS.items():
            gb.add_assignment(assignment)
            for notebook, cells in notebooks.items():
                gb.add_notebook(notebook, assignment)
                for grade_id, points in cells:
                    gb.add_grade_cell(
                        grade_id, notebook, assignment, max_score=points, cell_type="code"
                    )
        for student in STUDENTS:
            gb.add_student(student, first_name=student.title(), last_name="Student")
        for (student, assignment), scores in SCORES.items():
            gb.add_submission(assignment, student)
            for (notebook, grade_id), score in scores.items():
                gb.find_grade(grade_id, notebook, assignment, student).auto_score = score
        gb.find_grade("softmax_stable", "w1_broadcasting", W1, "dave").manual_score = 1.5
        gb.db.commit()
    return url


def venv_on_path(mp: pytest.MonkeyPatch) -> None:
    """nbgrader runs the ``alembic`` command when it creates a gradebook; find the venv's."""
    bin_dir = str(Path(sys.executable).parent)
    mp.setenv("PATH", bin_dir + os.pathsep + os.environ.get("PATH", ""))


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """A graded class, built once for the module (no test changes it).

    Returns (gradebook URL, autograded folder).
    """
    root = tmp_path_factory.mktemp("course")
    with pytest.MonkeyPatch.context() as mp:
        venv_on_path(mp)
        url = build_gradebook(root / "gradebook.db")
    autograded = root / "autograded"
    write_autograded(autograded)
    return url, autograded


# ---------------------------------------------------------------------------- grades and CSV


def test_collect_grades_reads_scores_with_manual_overrides(course):
    url, _ = course
    grades = collect_grades(url)
    by_key = {(g.student_id, g.assignment, g.notebook, g.grade_id): g for g in grades}
    assert len(grades) == sum(len(s) for s in SCORES.values())
    assert by_key[("dave", W1, "w1_broadcasting", "softmax_stable")].score == 1.5
    assert by_key[("dave", W1, "w1_broadcasting", "softmax_stable")].max_score == 3
    assert by_key[("carol", W1, "w1_broadcasting", "l1_loss_values")].score == 0.5
    assert by_key[("alice", W2, "w2_gradient_descent", "propagate_grads")].max_score == 4


def test_collect_grades_gives_no_rows_without_a_submission(course):
    url, _ = course
    grades = collect_grades(url)
    assert {g.student_id for g in grades} == {"alice", "bob", "carol", "dave"}
    assert not [g for g in grades if g.student_id == "dave" and g.assignment == W2]
    assert not [g for g in grades if g.assignment == W3]


def test_collect_grades_orders_by_student_assignment_notebook_then_cell(course):
    url, _ = course
    alice = [
        (g.assignment, g.notebook, g.grade_id)
        for g in collect_grades(url)
        if g.student_id == "alice"
    ]
    assert alice == [
        (W1, "w1_broadcasting", "sigmoid_values"),
        (W1, "w1_broadcasting", "softmax_stable"),
        (W1, "w1_broadcasting", "l1_loss_values"),
        (W1, "w1_extra", "pairwise_sq_distances_values"),
        (W2, "w2_gradient_descent", "propagate_grads"),
        (W2, "w2_gradient_descent", "predict_labels"),
    ]


def test_collect_grades_filters_by_assignment(course):
    url, _ = course
    grades = collect_grades(url, [W2])
    assert {g.assignment for g in grades} == {W2}
    assert len(grades) == 6


def test_collect_grades_refuses_a_missing_gradebook(tmp_path):
    with pytest.raises(FileNotFoundError, match="No gradebook"):
        collect_grades(f"sqlite:///{tmp_path}/nope.db")
    assert not (tmp_path / "nope.db").exists()


def test_export_csv_writes_one_row_per_submission_with_cell_columns(course, tmp_path):
    url, _ = course
    out = export_csv(url, tmp_path / "out" / "grades.csv")
    assert out == tmp_path / "out" / "grades.csv"
    assert out.read_text(encoding="utf-8").splitlines() == [
        "student_id,assignment,score,max_score,"
        "w1_broadcasting:sigmoid_values,w1_broadcasting:softmax_stable,"
        "w1_broadcasting:l1_loss_values,w1_extra:pairwise_sq_distances_values,"
        "w2_gradient_descent:propagate_grads,w2_gradient_descent:predict_labels",
        "alice,w1_broadcasting,8,8,2,3,1,2,,",
        "alice,w2_gradient_descent,5,5,,,,,4,1",
        "bob,w1_broadcasting,3,8,2,0,1,0,,",
        "bob,w2_gradient_descent,1,5,,,,,0,1",
        "carol,w1_broadcasting,3.5,8,0,3,0.5,0,,",
        "carol,w2_gradient_descent,4,5,,,,,4,0",
        "dave,w1_broadcasting,6.5,8,2,1.5,1,2,,",
    ]


def test_export_csv_is_readable_by_the_csv_module(course, tmp_path):
    url, _ = course
    with export_csv(url, tmp_path / "grades.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [(r["student_id"], r["assignment"], r["score"]) for r in rows][-1] == ("dave", W1, "6.5")
    assert rows[0]["w1_extra:pairwise_sq_distances_values"] == "2"


# ---------------------------------------------------------------------------- feedback


def test_feedback_messages_prefers_the_judges_verdict_over_the_kernels_error(course):
    _, autograded = course
    messages = feedback_messages(autograded, "bob", W1)
    assert messages[("w1_broadcasting", "softmax_stable")] == SOFTMAX_NAME_ERROR_TEXT


def test_feedback_messages_are_empty_for_passing_cells(course):
    _, autograded = course
    messages = feedback_messages(autograded, "alice", W1)
    assert messages == {
        ("w1_broadcasting", "sigmoid_values"): "",
        ("w1_broadcasting", "softmax_stable"): "",
        ("w1_broadcasting", "l1_loss_values"): "",
        ("w1_extra", "pairwise_sq_distances_values"): "",
    }


def test_feedback_messages_strip_ansi_codes_from_a_kernel_error(course):
    _, autograded = course
    message = feedback_messages(autograded, "bob", W2)[("w2_gradient_descent", "propagate_grads")]
    assert message == NAME_ERROR_TEXT
    assert "\x1b" not in message


def test_feedback_messages_skip_solution_cells_and_unreadable_notebooks(course):
    _, autograded = course
    messages = feedback_messages(autograded, "carol", W1)
    assert set(messages) == {
        ("w1_broadcasting", "sigmoid_values"),
        ("w1_broadcasting", "softmax_stable"),
        ("w1_broadcasting", "l1_loss_values"),
    }
    assert messages[("w1_broadcasting", "sigmoid_values")] == (
        "HiddenCheckFailed: Hidden check 'sigmoid_values' failed:\n"
        "  - case 0: values differ at 3 of 4 positions"
    )


def test_feedback_messages_are_empty_for_a_missing_folder(course):
    _, autograded = course
    assert feedback_messages(autograded, "eve", W1) == {}
    assert feedback_messages(autograded / "nowhere", "alice", W1) == {}
    assert feedback_messages(autograded, "../alice", W1) == {}


def test_feedback_messages_survive_malformed_notebook_json(tmp_path):
    folder = tmp_path / "s" / "a"
    folder.mkdir(parents=True)
    (folder / "list.ipynb").write_text("[1, 2]", encoding="utf-8")
    (folder / "binary.ipynb").write_bytes(b"\xff\xfe\x00garbage")
    odd = {"cells": [7, {"metadata": {"nbgrader": {"grade": True, "grade_id": "x"}}, "outputs": 3}]}
    (folder / "odd.ipynb").write_text(json.dumps(odd), encoding="utf-8")
    assert feedback_messages(tmp_path, "s", "a") == {("odd", "x"): ""}


def test_feedback_messages_truncate_long_tracebacks(tmp_path):
    nb = new_notebook()
    cell = new_code_cell("probe('x', f)")
    cell.metadata = nbgrader_meta("long_values", grade=True, solution=False, points=1)
    frames = [f"  File line {i}: " + "x" * 1000 for i in range(500)]
    cell.outputs = [error({"ename": "RecursionError", "evalue": "too deep", "traceback": frames})]
    nb.cells.append(cell)
    path = tmp_path / "s" / "a" / "nb.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)
    message = feedback_messages(tmp_path, "s", "a")[("nb", "long_values")]
    lines = message.splitlines()
    assert lines[0] == "RecursionError: too deep"
    assert len(lines) <= MAX_FEEDBACK_LINES + 1
    assert len(message) <= 4000
    assert message.endswith("(truncated)") or message.endswith("more lines)")


# ---------------------------------------------------------------------------- Gradescope


def test_export_gradescope_writes_one_results_file_per_submitting_student(course, tmp_path):
    url, autograded = course
    paths = export_gradescope(url, autograded, tmp_path / "gs", W1)
    assert paths == [
        tmp_path / "gs" / W1 / s / "results.json" for s in ["alice", "bob", "carol", "dave"]
    ]
    assert all(p.is_file() for p in paths)
    assert not (tmp_path / "gs" / W1 / "eve").exists()


def test_export_gradescope_results_hold_scores_names_and_feedback(course, tmp_path):
    url, autograded = course
    export_gradescope(url, autograded, tmp_path / "gs", W1)
    bob = json.loads((tmp_path / "gs" / W1 / "bob" / "results.json").read_text(encoding="utf-8"))
    assert bob == {
        "score": 3.0,
        "output": "w1_broadcasting: 3 / 8 points; 2 of 4 graded cells passed.",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [
            {
                "name": "w1_broadcasting: sigmoid_values",
                "number": "1",
                "score": 2.0,
                "max_score": 2.0,
                "status": "passed",
                "output": "Passed",
                "visibility": "visible",
            },
            {
                "name": "w1_broadcasting: softmax_stable",
                "number": "2",
                "score": 0.0,
                "max_score": 3.0,
                "status": "failed",
                "output": SOFTMAX_NAME_ERROR_TEXT,
                "visibility": "visible",
            },
            {
                "name": "w1_broadcasting: l1_loss_values",
                "number": "3",
                "score": 1.0,
                "max_score": 1.0,
                "status": "passed",
                "output": "Passed",
                "visibility": "visible",
            },
            {
                "name": "w1_extra: pairwise_sq_distances_values",
                "number": "4",
                "score": 0.0,
                "max_score": 2.0,
                "status": "failed",
                "output": "Failed: no error message was recorded for this cell.",
                "visibility": "visible",
            },
        ],
    }


def test_export_gradescope_uses_manual_scores_and_partial_credit(course, tmp_path):
    url, autograded = course
    export_gradescope(url, autograded, tmp_path / "gs", W1)
    dave = json.loads((tmp_path / "gs" / W1 / "dave" / "results.json").read_text(encoding="utf-8"))
    carol = json.loads(
        (tmp_path / "gs" / W1 / "carol" / "results.json").read_text(encoding="utf-8")
    )
    assert dave["score"] == 6.5
    assert [(t["score"], t["status"]) for t in dave["tests"]][1] == (1.5, "failed")
    assert carol["score"] == 3.5
    assert [t["output"] for t in carol["tests"]] == [
        "HiddenCheckFailed: Hidden check 'sigmoid_values' failed:\n"
        "  - case 0: values differ at 3 of 4 positions",
        "Passed",
        "HiddenCheckFailed: The cell raised CheckFailed: <script>alert(1)</script>",
        "Failed: no error message was recorded for this cell.",
    ]


def test_export_gradescope_writes_nothing_for_an_assignment_without_submissions(course, tmp_path):
    url, autograded = course
    assert export_gradescope(url, autograded, tmp_path / "gs", W3) == []
    assert not (tmp_path / "gs" / W3).exists()


# ---------------------------------------------------------------------------- report


def question_row(page: str, notebook: str, grade_id: str) -> str:
    match = re.search(rf"<tr><td>{notebook}</td><td>{grade_id}</td>(.*?)</tr>", page, re.S)
    assert match, f"no row for {notebook}:{grade_id}"
    return match.group(1)


def test_build_report_shows_pass_rates_and_mean_scores(course, tmp_path):
    url, autograded = course
    page = build_report(url, tmp_path / "report.html", autograded).read_text(encoding="utf-8")
    sigmoid = question_row(page, "w1_broadcasting", "sigmoid_values")
    assert '<td class="num">75%</td>' in sigmoid and "3 / 4" in sigmoid and "1.50" in sigmoid
    softmax = question_row(page, "w1_broadcasting", "softmax_stable")
    assert '<td class="num">50%</td>' in softmax and "2 / 4" in softmax and "1.88" in softmax
    predict = question_row(page, "w2_gradient_descent", "predict_labels")
    assert '<td class="num">67%</td>' in predict and "2 / 3" in predict


def test_build_report_summarises_the_class(course, tmp_path):
    url, autograded = course
    page = build_report(url, tmp_path / "report.html", autograded, title="DL 2025").read_text(
        encoding="utf-8"
    )
    assert "<title>DL 2025</title>" in page
    assert re.search(r"Students in the gradebook</th><td[^>]*>5<", page)
    assert re.search(r"Students with at least one submission</th><td[^>]*>4<", page)
    assert re.search(r"Mean score \(all submissions\)</th><td[^>]*>66\.1%<", page)
    assert re.search(r"Median score \(all submissions\)</th><td[^>]*>80\.0%<", page)
    assert W3 not in page  # nobody submitted it


def test_build_report_lists_the_most_common_failure_reasons(course, tmp_path):
    url, autograded = course
    page = build_report(url, tmp_path / "report.html", autograded).read_text(encoding="utf-8")
    softmax = question_row(page, "w1_broadcasting", "softmax_stable")
    assert (
        "<code>HiddenCheckFailed: The cell raised NameError: name &#39;np&#39; is not defined"
        "</code> (2)" in softmax
    )
    assert "none recorded" in question_row(page, "w2_gradient_descent", "predict_labels")


def test_build_report_escapes_student_text(course, tmp_path):
    url, autograded = course
    page = build_report(url, tmp_path / "report.html", autograded).read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page
    assert 'font-family: -apple-system, "Segoe UI"' in page  # the page's own style, as written


def test_build_report_embeds_two_png_plots_per_assignment(course, tmp_path):
    url, autograded = course
    page = build_report(url, tmp_path / "report.html", autograded).read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 4
    for data in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page):
        assert base64.b64decode(data).startswith(b"\x89PNG\r\n\x1a\n")
    assert "http://" not in page and "https://" not in page


def test_build_report_without_autograded_folder_omits_failure_reasons(course, tmp_path):
    url, _ = course
    page = build_report(url, tmp_path / "report.html").read_text(encoding="utf-8")
    assert "most common failure reasons" not in page
    assert "no autograded folder was given" in page
    assert '<td class="num">75%</td>' in question_row(page, "w1_broadcasting", "sigmoid_values")


def test_build_report_handles_an_empty_gradebook(tmp_path, monkeypatch):
    venv_on_path(monkeypatch)
    url = f"sqlite:///{tmp_path}/gradebook.db"
    Gradebook(url).close()
    page = build_report(url, tmp_path / "report.html").read_text(encoding="utf-8")
    assert "No graded submissions in the gradebook yet." in page
    assert "data:image/png" not in page
