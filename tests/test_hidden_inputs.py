"""Hidden inputs per submission (graders/hidden_inputs.py): a check's inputs are drawn from
its name and a secret the trusted side keeps in the gradebook, so that a table of answers
built from one submission's inputs is worth nothing for the next.

The fast tests here work at the function level and on the preprocessors; the end-to-end
proof through nbgrader and the parallel workers is in ``tests/test_hidden_inputs_e2e.py``.
"""

from __future__ import annotations

import json
import random
import zlib
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbgrader.api import Gradebook

from graders import course, hidden_inputs, parallel
from graders.cases import all_checks, assignment_of, get_check, inputs_id
from graders.compare import compare
from graders.encoding import RECORD_MIME
from graders.judge import (
    _PUBLIC_KEYS,
    _REFERENCE_CACHE,
    SECRET_ENTRIES_KEPT,
    judge_record,
    load_reference,
    reference_outputs,
)
from graders.nbgrader_plugins import JudgeHiddenTests
from graders.probe import collect

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"
A = "w1_broadcasting"


def _reference():
    return load_reference(A, SOLUTIONS)


def _same_cases(a: list, b: list) -> bool:
    return len(a) == len(b) and all(
        compare(x, y, rtol=0, atol=0) == [] for x, y in zip(a, b, strict=True)
    )


def table_function(name: str, secret: int | None):
    """A "table" answer: the reference's outputs on the inputs of ``secret``, looked up by
    the input (as a student who saw one run's inputs and expected values would store them);
    any other input raises KeyError."""
    check, ref = get_check(name), _reference()
    fn = getattr(ref, check.functions[0])
    table = {json.dumps(np.asarray(case[0]).tolist()): fn(*case) for case in check.cases(secret)}
    return lambda x: table[json.dumps(np.asarray(x).tolist())]


# ---------------------------------------------------------------------------- inputs


def test_without_a_secret_the_inputs_are_the_public_ones_of_the_name_alone():
    check = get_check("softmax_values")
    public = list(check.make_cases(np.random.default_rng(zlib.crc32(b"softmax_values"))))
    assert _same_cases(check.cases(), public)
    assert _same_cases(check.cases(None), public)


def test_each_secret_draws_other_inputs_and_the_same_secret_the_same():
    check = get_check("softmax_values")
    assert _same_cases(check.cases(7), check.cases(7))
    assert not _same_cases(check.cases(7), check.cases(8))
    assert not _same_cases(check.cases(7), check.cases())
    with pytest.raises(ValueError):
        check.cases(-1)


def test_a_table_of_one_secrets_answers_fails_on_another_secrets_inputs():
    check, ref = get_check("softmax_values"), _reference()
    table = table_function("softmax_values", 11)
    assert judge_record(check, collect(check.name, table, secret=11), ref, 11).passed
    result = judge_record(check, collect(check.name, table, secret=12), ref, 12)
    assert not result.passed
    assert "KeyError" in " ".join(result.problems)


def test_a_record_made_on_other_inputs_fails_even_with_right_values():
    check, ref = get_check("softmax_values"), _reference()
    genuine_public = collect(check.name, ref.softmax)
    genuine_other = collect(check.name, ref.softmax, secret=5)
    for record in (genuine_public, genuine_other, {**genuine_public, "inputs": None}):
        result = judge_record(check, record, ref, 6)
        assert not result.passed
        assert "other inputs" in result.problems[0]
    assert judge_record(check, collect(check.name, ref.softmax, secret=6), ref, 6).passed
    assert genuine_other["inputs"] == inputs_id(5) != inputs_id(6)


def test_the_reference_cache_is_kept_per_inputs_and_bounded():
    check, ref = get_check("softmax_values"), _reference()
    public = reference_outputs(check, ref)
    first, second = reference_outputs(check, ref, 101), reference_outputs(check, ref, 102)
    assert not _same_cases(first, second)
    assert not _same_cases(first, public)
    assert _same_cases(first, [ref.softmax(*case) for case in check.cases(101)])
    for secret in range(1000, 1000 + 2 * SECRET_ENTRIES_KEPT):
        reference_outputs(check, ref, secret)
    assert sum(1 for key in _REFERENCE_CACHE if key not in _PUBLIC_KEYS) <= SECRET_ENTRIES_KEPT
    assert reference_outputs(check, ref) is public  # the public inputs' stay


def test_a_check_whose_inputs_do_not_depend_on_the_secret_is_computed_once():
    check = get_check("initialize_with_zeros_values")
    ref = load_reference("w2_gradient_descent", SOLUTIONS)
    assert _same_cases(check.cases(1), check.cases(2))
    assert reference_outputs(check, ref, 1) is reference_outputs(check, ref, 2)


#: The numpy weeks, whose checks judge values: each check's reference must pass on the inputs
#: of every secret, not only on those of the name alone (a correct student gets a random one).
NUMPY_WEEKS = ("w1_broadcasting", "w2_gradient_descent", "w3_conv_pool", "w8_sequence_models")
#: The Keras checks of those weeks: their inputs do not depend on the secret (a model's input
#: shapes, a training seed), and the held-out error is measured on data the secret does not draw.
KERAS_CHECKS = ("forecaster_structure", "forecaster_mae")
SECRETS_PER_CHECK = 200
#: Checks that cost a training or many gradient steps per secret get fewer (seconds each).
FEWER_SECRETS = {
    "pool_backward_gradient_check": 100,
    "optimize_values": 50,
    "model_heldout_accuracy": 20,
    "conv_backward_gradient_check": 50,
}
NUMPY_CHECKS = sorted(
    n for n, c in all_checks().items() if assignment_of(n) in NUMPY_WEEKS and n not in KERAS_CHECKS
)


@pytest.mark.parametrize("name", NUMPY_CHECKS)
def test_the_reference_passes_a_check_on_the_inputs_of_any_secret(name):
    # A gradient check whose w.T X reached +/-20 for some secrets failed the reference on
    # about 2 % of them (log(1 - A) loses its digits there): a correct student lost points.
    check = get_check(name)
    ref = load_reference(assignment_of(name), SOLUTIONS)
    functions = [getattr(ref, f) for f in check.functions]
    draws = random.Random(name)
    failed = []
    for _ in range(FEWER_SECRETS.get(name, SECRETS_PER_CHECK)):
        secret = draws.getrandbits(64)
        result = judge_record(check, collect(name, *functions, secret=secret), ref, secret)
        if not result.passed:
            failed.append((secret, result.problems[:1]))
    assert not failed, f"{len(failed)} secrets fail the reference, e.g. {failed[:2]}"


# ---------------------------------------------------------------------------- gradebook


def test_secrets_are_kept_per_submission_in_the_gradebook(tmp_path):
    db = course.gradebook_url(tmp_path)
    with Gradebook(db) as gb:
        gb.add_student("ann")
    assert hidden_inputs.lookup(db, A, "ann") is None
    ann = hidden_inputs.secret_for(db, A, "ann")
    assert hidden_inputs.secret_for(db, A, "ann") == hidden_inputs.lookup(db, A, "ann") == ann
    others = {hidden_inputs.secret_for(db, A, s) for s in ("bob", "cy", "dee")}
    assert ann not in others and len(others) == 3
    assert hidden_inputs.secret_for(db, "w2_gradient_descent", "ann") != ann
    hidden_inputs.store(db, A, "ann", 2**64 - 1)  # the largest, beyond SQLite's signed ints
    assert hidden_inputs.lookup(db, A, "ann") == 2**64 - 1
    with Gradebook(db) as gb:  # nbgrader still opens its gradebook
        assert [s.id for s in gb.students] == ["ann"]
    hidden_inputs.forget_all(db)
    assert hidden_inputs.lookup(db, A, "ann") is None


def test_a_resubmission_gets_new_inputs_and_a_regrade_the_same(tmp_path):
    db = course.gradebook_url(tmp_path)
    folder = tmp_path / "submitted" / "ann" / A
    folder.mkdir(parents=True)
    assert hidden_inputs.submission_version(folder) == ""  # not from the exchange
    (folder / "timestamp.txt").write_text("2026-11-20 10:00:00.000000 UTC\n")
    first = hidden_inputs.submission_version(folder)
    assert first == "2026-11-20 10:00:00.000000 UTC"
    secret = hidden_inputs.secret_for(db, A, "ann", first)
    assert hidden_inputs.secret_for(db, A, "ann", first) == secret  # a regrade
    (folder / "timestamp.txt").write_text("2026-11-21 09:30:00.000000 UTC\n")  # resubmitted
    again = hidden_inputs.secret_for(db, A, "ann", hidden_inputs.submission_version(folder))
    assert again != secret and hidden_inputs.lookup(db, A, "ann") == again
    (folder / "timestamp.txt").unlink()
    (folder / "timestamp.txt").symlink_to("/etc/hostname")  # never followed
    assert hidden_inputs.submission_version(folder) == ""


def test_a_worker_refuses_a_task_without_its_secret():
    task = parallel.Task(A, "ann", {f"{A}.ipynb": b"{}"}, {}, "d")
    executed = parallel.execute_submission(b"", task)
    assert not executed.ok and "secret" in executed.error


# ---------------------------------------------------------------------------- the judge


def _graded_notebook(record: dict) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell('probe("softmax_values", softmax)')
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "softmax_values"}
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={RECORD_MIME: record, "text/plain": ""})
    ]
    return nbformat.v4.new_notebook(cells=[cell])


def _judge(db: str, record: dict) -> list[str]:
    """The outputs' error names and texts after the judge preprocessor."""
    resources = {"nbgrader": {"assignment": A, "student": "ann", "notebook": A, "db_url": db}}
    judge = JudgeHiddenTests(solutions_dir=str(SOLUTIONS))
    nb, _ = judge.preprocess(_graded_notebook(record), resources)
    return [o.get("ename", "") + "".join(o.get("traceback", o.get("text", ""))) for o in
            nb.cells[0].outputs]  # fmt: skip


def test_the_judge_fails_every_check_of_a_submission_without_a_kept_secret(tmp_path):
    db = course.gradebook_url(tmp_path)
    ref = _reference()
    outputs = _judge(db, collect("softmax_values", ref.softmax))
    assert outputs[-1].startswith("HiddenCheckFailed")
    assert "No hidden inputs were drawn" in outputs[-1]


def test_the_judge_judges_on_the_inputs_of_the_secret_kept_for_the_submission(tmp_path):
    db = course.gradebook_url(tmp_path)
    secret = hidden_inputs.secret_for(db, A, "ann")
    ref = _reference()
    assert (
        "Hidden checks passed"
        in _judge(db, collect("softmax_values", ref.softmax, secret=secret))[-1]
    )
    public = _judge(db, collect("softmax_values", ref.softmax))
    assert public[-1].startswith("HiddenCheckFailed") and "other inputs" in public[-1]
