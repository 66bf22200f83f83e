"""Hidden inputs per submission, end to end (slow): a class of ``w1_broadcasting`` graded by
nbgrader's own autograde (the course's pipeline, cold sandboxed kernels), graded again, and
graded a third time by ``dlgrade``'s parallel workers (warm kernels).

A *table* submission answers ``softmax`` by looking its input up in a table of the outputs a
correct notebook produced when it was graded (its stdout, in its feedback): the public and
hidden inputs of that run with the expected outputs. With inputs shared by every student it
would earn full marks; here it must earn nothing on the cells that probe ``softmax``.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from graders import course, golden, hidden_inputs, parallel, submissions
from graders.cases import get_check
from graders.judge import judge_record, load_reference
from graders.probe import collect

ROOT = Path(__file__).resolve().parents[1]
A = "w1_broadcasting"
NB = f"{A}.ipynb"
SOFTMAX_CELLS = {"softmax_values", "softmax_large_inputs"}

pytestmark = pytest.mark.slow

#: Appended to a correct softmax: every call prints its input and output.
RECORDER = """
import json as _json
_softmax_answer = softmax
def softmax(x):
    s = _softmax_answer(x)
    print("TABLE-ENTRY " + _json.dumps([np.asarray(x).tolist(), np.asarray(s).tolist()]))
    return s
"""

#: Right on the public test's example only: its hidden checks fail and show values.
TUNED = """
def normalize_rows(x):
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / norms if x.shape == (2, 3) else x / norms.sum()
"""

#: A softmax that only looks its input up in a table (any other input: KeyError).
TABLE = '''
import json as _json
_TABLE = _json.loads(r"""{table}""")
def softmax(x):
    return np.array(_TABLE[_json.dumps(np.asarray(x).tolist())])
'''


def _db(copy: Path) -> str:
    return course.gradebook_url(copy)


def _scores(copy: Path, student: str) -> dict[str, float]:
    return {g: s for g, (s, _) in course.cell_scores(copy, A, student).items()}


def _feedback(copy: Path, student: str) -> dict[str, str]:
    """What the feedback says under each graded cell: its text and error outputs, joined
    (how text is split into stream outputs depends on timing)."""
    nb = nbformat.read(copy / "autograded" / student / A / NB, as_version=4)
    out = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            parts = []
            for o in cell.outputs:
                if o.output_type == "stream":
                    parts.append(o.text)
                elif o.output_type == "error":
                    parts.append(f"[{o.ename}]{o.evalue}\n" + "\n".join(o.traceback))
            out[meta["grade_id"]] = "".join(parts)
    return out


def _table_from_feedback(copy: Path, student: str) -> dict[str, list]:
    """The input -> output table a correct notebook printed while it was graded."""
    nb = nbformat.read(copy / "autograded" / student / A / NB, as_version=4)
    table = {}
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            for line in o.get("text", "").splitlines() if o.output_type == "stream" else []:
                if line.startswith("TABLE-ENTRY "):
                    x, s = json.loads(line.removeprefix("TABLE-ENTRY "))
                    table[json.dumps(x)] = s
    return table


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The class graded once by nbgrader: a correct notebook that records its softmax
    calls, an honest correct one, the same wrong answer from two students; then a table
    submission built from the recorder's feedback, graded as another student."""
    copy = course.copy_course(
        ROOT, tmp_path_factory.mktemp("secrets") / "course", include=("source", "solutions")
    )
    course.release(copy, [A])
    correct = nbformat.reads(golden.build("correct", copy, A, NB), as_version=4)
    recorder = submissions.append_to_answer(correct, "softmax_code", RECORDER)
    course.submit(copy, "recorder", A, {NB: submissions.to_json(recorder)})
    course.submit(copy, "honest", A, {NB: golden.build("correct", copy, A, NB)})
    wrong = submissions.set_answer(correct, "normalize_rows_code", TUNED)
    for student in ("wrong_a", "wrong_b"):
        course.submit(copy, student, A, {NB: submissions.to_json(wrong)})
    first = course.autograde(copy, A, progress=False)
    assert all(r.ok for r in first), [r.error for r in first]
    table = _table_from_feedback(copy, "recorder")
    source = TABLE.format(table=json.dumps(table))
    course.submit(copy, "copier", A, {NB: submissions.to_json(
        submissions.set_answer(correct, "softmax_code", source))})  # fmt: skip
    second = course.autograde(copy, A, ["copier"], progress=False)
    assert all(r.ok for r in second), [r.error for r in second]
    return copy, table, source


def test_a_table_built_from_one_graded_run_fails_on_the_next_submission(graded):
    copy, table, source = graded
    assert len(table) >= 12  # the public and hidden inputs of both softmax cells
    full = golden.expected_scores("correct", copy, A, NB)
    assert _scores(copy, "recorder") == full
    assert _scores(copy, "honest") == full
    copier = _scores(copy, "copier")
    assert copier == {g: 0.0 if g in SOFTMAX_CELLS else p for g, p in full.items()}
    assert "KeyError" in _feedback(copy, "copier")["softmax_values"]
    # The table is right on the inputs it was built from: with inputs shared by every
    # submission it would pass (judged here at the function level on the recorder's).
    namespace: dict = {}
    exec("import numpy as np\n" + source, namespace)  # noqa: S102
    recorder_secret = hidden_inputs.lookup(_db(copy), A, "recorder")
    ref = load_reference(A, copy / "solutions")
    for name in sorted(SOFTMAX_CELLS):
        record = collect(name, namespace["softmax"], secret=recorder_secret)
        assert judge_record(get_check(name), record, ref, recorder_secret).passed


def test_every_student_gets_other_inputs(graded):
    copy, _, _ = graded
    students = ("recorder", "honest", "wrong_a", "wrong_b", "copier")
    secrets = {s: hidden_inputs.lookup(_db(copy), A, s) for s in students}
    assert None not in secrets.values() and len(set(secrets.values())) == len(students)
    # The same wrong answer: the same scores, the values shown are each student's own.
    assert _scores(copy, "wrong_a") == _scores(copy, "wrong_b")
    a, b = _feedback(copy, "wrong_a"), _feedback(copy, "wrong_b")
    assert [g for g, s in _scores(copy, "wrong_a").items() if s == 0] == ["normalize_rows_values"]
    assert "Hidden check 'normalize_rows_values' failed" in a["normalize_rows_values"]
    assert a["normalize_rows_values"] != b["normalize_rows_values"]


def test_a_regrade_and_the_parallel_workers_give_the_same_scores_and_feedback(graded):
    copy, _, _ = graded
    students = course.submitted_students(copy, A)
    before = {s: (_scores(copy, s), _feedback(copy, s)) for s in students}
    secrets = {s: hidden_inputs.lookup(_db(copy), A, s) for s in students}
    regraded = course.autograde(copy, A, force=True, progress=False)
    assert all(r.ok for r in regraded)
    assert {s: (_scores(copy, s), _feedback(copy, s)) for s in students} == before
    with parallel.dask_client(workers=2) as client:
        results = parallel.autograde_parallel(copy, A, client=client, force=True, progress=False)
    assert all(r.ok for r in results), [r.error for r in results]
    assert all(r.server_mb > 100 for r in results)  # warm kernels
    assert {s: (_scores(copy, s), _feedback(copy, s)) for s in students} == before
    assert {s: hidden_inputs.lookup(_db(copy), A, s) for s in students} == secrets


def test_a_resubmission_gets_new_inputs_so_a_table_of_ones_own_feedback_fails(graded):
    # A student records their own hidden inputs and outputs while graded, then resubmits a
    # table of them. Through the exchange a resubmission has a new timestamp.txt.
    copy, _, _ = graded
    correct = nbformat.reads(golden.build("correct", copy, A, NB), as_version=4)
    recorder = submissions.append_to_answer(correct, "softmax_code", RECORDER)
    stamp = "timestamp.txt"
    course.submit(copy, "self", A, {NB: submissions.to_json(recorder), stamp: "2026-11-20 10:00"})
    assert all(r.ok for r in course.autograde(copy, A, ["self"], progress=False))
    first = hidden_inputs.lookup(_db(copy), A, "self")
    table = TABLE.format(table=json.dumps(_table_from_feedback(copy, "self")))
    own_table = submissions.to_json(submissions.set_answer(correct, "softmax_code", table))

    # Handed in again without a new time stamp (not through the exchange): same inputs, and
    # the table passes; this is what a new version prevents.
    course.submit(copy, "self", A, {NB: own_table, stamp: "2026-11-20 10:00"})
    assert all(r.ok for r in course.autograde(copy, A, ["self"], force=True, progress=False))
    assert hidden_inputs.lookup(_db(copy), A, "self") == first
    assert all(_scores(copy, "self")[g] > 0 for g in SOFTMAX_CELLS)

    course.submit(copy, "self", A, {NB: own_table, stamp: "2026-11-21 09:30"})
    assert all(r.ok for r in course.autograde(copy, A, ["self"], force=True, progress=False))
    assert hidden_inputs.lookup(_db(copy), A, "self") != first
    assert {g: _scores(copy, "self")[g] for g in SOFTMAX_CELLS} == dict.fromkeys(SOFTMAX_CELLS, 0)
