"""``dlgrade similarity``: a planted copy (names changed, lines moved) is flagged, two honest
submissions that solved the same exercises differently are not, and the page shows the pair
side by side with the student's text escaped."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import nbformat
import pytest

from graders import cli, course, golden, similarity, submissions
from tests.mutants import w3_conv_pool as variants

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "w3_conv_pool"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"

#: Valid answers written differently from the reference (vectorised, windows, ...).
OTHER_WAYS = {
    "zero_pad": variants.zero_pad_copy,
    "conv_single_step": variants.single_step_vdot,
    "conv_forward": variants.conv_forward_einsum,
    "pool_forward": variants.pool_forward_windows,
    "conv_backward": variants.conv_backward_windows,
    "pool_backward": variants.pool_backward_vectorised,
}
#: How the copier disguises the reference answers: new names, and two lines swapped.
RENAMES = {
    "A_prev_pad": "padded",
    "a_slice_prev": "window",
    "vert_start": "r0",
    "vert_end": "r1",
    "horiz_start": "c0",
    "horiz_end": "c1",
    "n_H_prev": "H_in",
    "n_W_prev": "W_in",
}
SWAPPED = ('stride = hparameters["stride"]\n', 'pad = hparameters["pad"]\n')
INJECTED = "# </pre><script>alert('x')</script>\nprint('mine')\n"


def _as_answer(impl, name: str) -> str:
    source = inspect.getsource(impl.impl)
    lines = [line for line in source.splitlines() if not line.startswith("@")]
    return re.sub(r"^def \w+\(", f"def {name}(", "\n".join(lines), count=1) + "\n"


def _disguised(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    for cell in nb.cells:
        if submissions.is_solution_cell(cell):
            text = cell.source
            for old, new in RENAMES.items():
                text = text.replace(old, new)
            first, second = SWAPPED
            cell.source = text.replace(first + "    " + second, second + "    " + first)
    nb.cells.append(nbformat.v4.new_code_cell(INJECTED))
    return nb


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    root = course.copy_course(
        ROOT, tmp_path_factory.mktemp("sim") / "course", include=("source", "solutions", "release")
    )
    correct = nbformat.reads(golden.build("correct", root, ASSIGNMENT, NOTEBOOK), as_version=4)
    other = correct
    for function, impl in OTHER_WAYS.items():
        other = submissions.set_answer(other, f"{function}_code", _as_answer(impl, function))
    copier = _disguised(nbformat.reads(submissions.to_json(correct), as_version=4))
    assert copier.cells[-1].source == INJECTED and "padded" in submissions.to_json(copier)
    class_ = {
        "honest_reference": submissions.to_json(correct),
        "honest_other_ways": submissions.to_json(other),
        "copier": submissions.to_json(copier),
        "blank": golden.build("blank", root, ASSIGNMENT, NOTEBOOK),
        "not_a_notebook": b"\xff\xfe garbage",
    }
    for student, text in class_.items():
        course.submit(root, student, ASSIGNMENT, {NOTEBOOK: text})
    return root


def test_a_disguised_copy_is_flagged_and_honest_work_is_not(klass):
    pairs, _ = similarity.compare_class(klass, ASSIGNMENT)
    hits = similarity.flagged(pairs)
    assert [(p.first, p.second) for p in hits] == [("copier", "honest_reference")]
    honest = next(
        p for p in pairs if {p.first, p.second} == {"honest_other_ways", "honest_reference"}
    )
    assert honest.similarity < similarity.DEFAULT_THRESHOLD / 2


def test_code_the_release_gives_everyone_does_not_count(klass):
    subs = {s.student: s for s in similarity.read_class(klass, ASSIGNMENT)}
    assert subs["blank"].code.strip() == ""  # only the release's stubs: nothing of its own
    assert "raise NotImplementedError" not in subs["honest_reference"].code
    assert subs["not_a_notebook"].problem  # noted on the page, not compared
    assert subs["not_a_notebook"].code == ""


def test_the_command_prints_the_pair_and_writes_the_page_with_student_text_escaped(
    klass, tmp_path, capsys
):
    out = tmp_path / "similar.html"
    code = cli.main(["--course", str(klass), "similarity", ASSIGNMENT, "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "copier" in printed and "honest_reference" in printed and "1 pairs" in printed
    page = out.read_text()
    assert "<mark>" in page and "copier" in page and "not_a_notebook" in page
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
