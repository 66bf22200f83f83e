"""``dlgrade feedback``: students' feedback from a really graded class, read as a student
would read it: no hidden test source, the hint of every failed hidden check, and only as much
of the judge's values as the course's setting shows; released to nbgrader's exchange."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from graders import cli, course, feedback, golden, submissions

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "w1_broadcasting"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """w1 released, a correct and a partly wrong submission autograded (real nbgrader, the
    judge and the sandbox); the exchange in a folder of the test's."""
    tmp = tmp_path_factory.mktemp("feedback")
    root = course.copy_course(ROOT, tmp / "course", include=("source", "solutions"))
    exchange = tmp / "exchange"
    exchange.mkdir()
    exchange.chmod(0o777)
    with open(root / "nbgrader_config.py", "a", encoding="utf-8") as f:
        f.write(f"\nc.Exchange.root = {str(exchange)!r}\n")
    course.release(root, [ASSIGNMENT])
    # Right on the public checks' small examples, wrong on the hidden checks' larger inputs.
    nb = nbformat.reads(golden.build("correct", root, ASSIGNMENT, NOTEBOOK), as_version=4)
    nb = submissions.set_answer(nb, "sigmoid_code", ONLY_SMALL_RIGHT)
    course.submit(root, "public_only", ASSIGNMENT, {NOTEBOOK: submissions.to_json(nb)})
    for kind in ("correct", "partly_wrong"):
        course.submit(
            root, kind, ASSIGNMENT, {NOTEBOOK: golden.build(kind, root, ASSIGNMENT, NOTEBOOK)}
        )
    for folder in (root / "submitted").glob(f"*/{ASSIGNMENT}"):  # as nbgrader's collect
        (folder / "timestamp.txt").write_text("2026-11-20 12:00:00.000000 UTC")
        (folder / "submission_secret.txt").write_text(f"secret-of-{folder.parent.name}")
    results = course.autograde(root, ASSIGNMENT, progress=False)
    assert all(r.ok for r in results), [r.error for r in results]
    return root, exchange


ONLY_SMALL_RIGHT = """def sigmoid(x):
    x = np.asarray(x, dtype=float)
    s = 1 / (1 + np.exp(-x))
    return s if x.size <= 4 else s + 0.1
"""


def _html(root: Path, student: str) -> str:
    return (root / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()


def _text(html: str) -> str:
    """The page's text as a student reads it (tags dropped, entities kept simple)."""
    return re.sub(r"<[^>]+>", "", html).replace("&#39;", "'").replace("&quot;", '"')


def test_the_graded_notebook_itself_holds_hidden_tests(graded):
    # What the redaction is for: nbgrader's feedback would show this.
    root, _ = graded
    text = (root / "autograded" / "partly_wrong" / ASSIGNMENT / NOTEBOOK).read_text()
    assert "BEGIN HIDDEN TESTS" in text and 'probe(\\"softmax_values\\"' in text


@pytest.mark.parametrize("show", ["values", "hints", "none"])
def test_feedback_shows_what_the_setting_allows_and_never_a_hidden_test(graded, show, capsys):
    root, _ = graded
    code = cli.main(["--course", str(root), "feedback", ASSIGNMENT, "--show", show])
    assert code == 0
    assert "feedback generated for 3 notebooks" in capsys.readouterr().out
    wrong, right = _text(_html(root, "public_only")), _text(_html(root, "correct"))
    for page in (wrong, right, _text(_html(root, "partly_wrong"))):
        assert "HIDDEN TESTS" not in page and "probe(" not in page
        assert feedback.HIDDEN_REMOVED in page
    assert "HiddenCheckFailed" in wrong and "HiddenCheckFailed" not in right
    hints = "Hint:" in wrong
    # The judge's detail lines ("- case 0: ... expected ..., got ..."); the public checks'
    # own messages (their fixed, visible examples) are the student's kernel output.
    values = bool(re.search(r"- case \d+: .*expected", wrong))
    names = "Hidden check 'sigmoid_values' failed" in wrong
    assert (names, hints, values) == {
        "values": (True, True, True),
        "hints": (True, True, False),
        "none": (False, False, False),
    }[show]


def test_feedback_of_a_submission_not_from_the_exchange_is_not_released_and_says_why(graded):
    root, _ = graded
    (root / "autograded" / "correct" / ASSIGNMENT / "submission_secret.txt").unlink()
    with pytest.raises(course.CourseError, match="not collected from nbgrader's exchange"):
        feedback.generate(root, ASSIGNMENT, ["correct"], release=True)


def test_released_feedback_reaches_the_exchange(graded):
    root, exchange = graded
    written = feedback.generate(root, ASSIGNMENT, ["partly_wrong"], show="hints", release=True)
    assert [p.parent.parent.name for p in written] == ["partly_wrong"]
    released = list(exchange.rglob("feedback/*.html"))
    assert len(released) == 1
    page = _text(released[0].read_text())
    assert "Hint:" in page and "HIDDEN TESTS" not in page


@pytest.mark.parametrize("show", ["values", "hints", "none"])
def test_gradescope_results_show_students_what_their_feedback_shows(graded, show, tmp_path):
    # Gradescope shows its results to the students, so the course's setting trims them too.
    root, _ = graded
    config = root / "nbgrader_config.py"
    kept = config.read_text()
    config.write_text(kept + f"\nc.RedactFeedback.show = {show!r}\n")
    try:
        out = tmp_path / "gradescope"
        args = ["--course", str(root), "export", "--csv", str(tmp_path / "grades.csv")]
        assert cli.main([*args, "--gradescope", str(out), "--assignment", ASSIGNMENT]) == 0
    finally:
        config.write_text(kept)
    results = json.loads((out / ASSIGNMENT / "public_only" / "results.json").read_text())
    failed = next(t["output"] for t in results["tests"] if t["name"].endswith("sigmoid_values"))
    shown = (
        "Hidden check 'sigmoid_values' failed" in failed,
        "Hint:" in failed,
        bool(re.search(r"- case \d+: .*expected", failed)),
    )
    assert (
        shown
        == {
            "values": (True, True, True),
            "hints": (True, True, False),
            "none": (False, False, False),
        }[show]
    ), failed
    assert "HiddenCheckFailed" in failed and "probe(" not in failed


def test_a_feedback_setting_that_is_not_a_choice_is_named(graded, tmp_path):
    root, _ = graded
    config = root / "nbgrader_config.py"
    kept = config.read_text()
    config.write_text(kept + "\nc.RedactFeedback.show = 'everything'\n")
    try:
        with pytest.raises(course.CourseError, match="c.RedactFeedback.show = 'everything'"):
            feedback.configured_show(root)
    finally:
        config.write_text(kept)
