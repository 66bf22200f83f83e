"""The judge fails closed in bounded time: whatever a record, a cell's outputs or a submitted
notebook hold, the affected checks fail with a message and grading goes on."""

from __future__ import annotations

import base64
import json
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from nbconvert.preprocessors import Preprocessor
from nbgrader.api import Gradebook
from traitlets.config import Configurable

from graders import hidden_inputs
from graders.cases import get_check, inputs_id
from graders.encoding import RECORD_MIME, EncodingError, check_bounds, decode
from graders.judge import judge_cell, judge_record, load_reference, nesting_exceeds
from graders.models import canonical_order, graph_structure_problems, structure_problems
from graders.nbgrader_plugins import (
    JudgeHiddenTests,
    TolerantNotebookExporter,
    notebook_shape_problem,
    read_submission,
)
from graders.probe import collect

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"
W1 = "w1_broadcasting"


def record_output(record: object) -> dict:
    return {"output_type": "display_data", "metadata": {}, "data": {RECORD_MIME: record}}


#: The hidden inputs' secret of the submission the notebook-level tests judge.
SECRET = 0x5EC12E7


def genuine_sigmoid_record(secret: int | None = None) -> dict:
    return collect("sigmoid_values", load_reference(W1, SOLUTIONS).sigmoid, secret=secret)


def judge_sigmoid(outputs: list, deadline: float | None = None):
    return judge_cell(
        "sigmoid_values",
        "probe('sigmoid_values', sigmoid)",
        outputs,
        W1,
        SOLUTIONS,
        deadline=deadline,
    )


def nested(depth: int, leaf: object = 0) -> object:
    """``[[[...leaf...]]]``, ``depth`` lists deep, built without recursion."""
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def sigmoid_record_with(out: object, secret: int | None = None) -> dict:
    """A sigmoid record, made on the inputs of ``secret``, whose every case's result is
    ``out``."""
    n = len(get_check("sigmoid_values").cases(secret))
    cases = [{"ok": True, "out": out}] * n
    return {"v": 1, "check": "sigmoid_values", "inputs": inputs_id(secret), "cases": cases}


def array_record(shape: object, dtype: object = "<f8", data: bytes = b"\0" * 8) -> dict:
    return {"__ndarray__": base64.b64encode(data).decode(), "dtype": dtype, "shape": shape}


# ---------------------------------------------------------------- records are bounded first


def test_an_array_with_more_dimensions_than_numpy_allows_is_refused():
    with pytest.raises(EncodingError, match="dimensions"):
        decode(array_record([1] * 100))


def test_an_array_with_more_dimensions_than_numpy_allows_fails_its_check_only():
    record = sigmoid_record_with(array_record([1] * 100))
    result = judge_record(get_check("sigmoid_values"), record, load_reference(W1, SOLUTIONS))
    assert not result.passed
    assert "case 0: unreadable result (array shape of 100 dimensions" in result.problems[0]


@pytest.mark.parametrize(
    "shape",
    [[True], [1.0], "8", [-1, -1], [10**30, 0], {"0": 1}, None],
)
def test_an_array_shape_must_be_a_short_list_of_small_non_negative_ints(shape):
    with pytest.raises(EncodingError, match="shape"):
        decode(array_record(shape))


@pytest.mark.parametrize("dtype", ["(100000,100000)f8", "<U2", "V8", "<M8", "O", "<f8" * 1000, 8])
def test_an_array_dtype_must_be_a_plain_number_type(dtype):
    with pytest.raises(EncodingError, match="dtype"):
        decode(array_record([1], dtype=dtype))


def test_array_data_of_the_wrong_length_is_refused_before_it_is_decoded():
    with pytest.raises(EncodingError, match="does not match"):
        decode({"__ndarray__": "A" * 10**6, "dtype": "<f8", "shape": [1]})
    with pytest.raises(EncodingError, match="keys"):
        decode({**array_record([1]), "extra": 1})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (nested(100_000), "nested too deeply"),
        ({"a": nested(9)}, "nested too deeply"),
        (list(range(250_001)), "more than 250000 values"),
        ([[0, 0]] * 100_000, "more than 250000 values"),
        ("x" * 10_001, "string of 10001 characters"),
        ({"k" * 10_001: 1}, "dict key"),
        ({"a": {1, 2}}, "unexpected set"),
    ],
)
def test_bounds_are_checked_without_recursion_before_any_work(value, message):
    with pytest.raises(EncodingError, match=message):
        check_bounds(value)


def test_nesting_is_measured_without_recursion():
    assert nesting_exceeds(nested(200_000), 100)
    assert not nesting_exceeds(nested(100), 100)
    assert nesting_exceeds(nested(101), 100)
    assert not nesting_exceeds({"text/plain": "x" * 1000}, 1)


# ---------------------------------------------------------------- no record aborts a notebook


def test_a_record_nested_deeply_as_json_text_fails_its_check():
    text = '{"check": "sigmoid_values", "cases": ' + "[" * 100_000 + "]" * 100_000 + "}"
    verdict = judge_sigmoid([record_output(text)])
    assert not verdict.passed
    assert "a record was refused: unreadable record (RecursionError" in verdict.message()


def test_a_record_nested_deeply_as_data_fails_its_check():
    verdict = judge_sigmoid([record_output(sigmoid_record_with(nested(100_000)))])
    assert not verdict.passed
    assert "refused: record is nested too deeply" in verdict.message()


def test_outputs_of_any_shape_fail_the_cell_with_a_message():
    outputs = [
        "not an output",
        3,
        {"output_type": "display_data", "data": ["not", "a", "bundle"]},
        {"output_type": "error", "ename": ["x"] * 10, "evalue": {"a": 1}},
        record_output(["not", "a", "record"]),
    ]
    verdict = judge_sigmoid(outputs)
    assert not verdict.passed
    assert verdict.message().startswith("The cell raised ['x', 'x'")


def test_a_comparison_that_raises_fails_its_case_only():
    # A dict with a key the comparison indexes by, but values of no comparable kind.
    record = sigmoid_record_with({"__tuple__": [{"__tuple__": []}] * 3})
    result = judge_record(get_check("sigmoid_values"), record, load_reference(W1, SOLUTIONS))
    assert not result.passed
    assert all(p.startswith("case ") for p in result.problems)


def test_checks_not_reached_before_the_deadline_fail_with_a_message():
    genuine = [record_output(genuine_sigmoid_record())]
    assert judge_sigmoid(genuine, deadline=time.monotonic() + 600).passed
    verdict = judge_sigmoid(genuine, deadline=time.monotonic() - 1)
    assert not verdict.passed
    assert "the grader's time for this notebook ran out" in verdict.message()


# ---------------------------------------------------------------- comparison costs are linear


def _description(n_rows: int) -> dict:
    return {
        "inputs": [[None, 8]],
        "layers": [
            {"class": "Dense", "output_shape": [None, 8], "params": 72, "inputs": [i - 1]}
            for i in range(n_rows)
        ],
    }


def test_ordering_a_graph_is_linear_in_its_connections():
    # 1000 rows each reading the model input 3000 times, then the row before: the old
    # ordering scanned every waiting row's inputs at every step (about 10^9 steps).
    rows = [{"class": "Add", "inputs": [-1] * 3000 + ([i - 1] if i else [])} for i in range(1000)]
    start = time.monotonic()
    order = canonical_order(rows)
    elapsed = time.monotonic() - start
    assert order == list(range(1000))
    assert elapsed < 10, f"ordering took {elapsed:.1f} s"


def test_ordering_places_the_smallest_ready_row_first():
    # Two branches from the input, joined: either writing gives the same order.
    a = [
        {"class": "Dense", "units": 1, "inputs": [-1]},
        {"class": "Dense", "units": 2, "inputs": [-1]},
        {"class": "Add", "inputs": [0, 1]},
    ]
    b = [a[1], a[0], {"class": "Add", "inputs": [1, 0]}]
    order_a, order_b = canonical_order(a), canonical_order(b)
    assert [a[i]["units"] for i in order_a[:2]] == [b[i]["units"] for i in order_b[:2]]
    assert graph_structure_problems({"inputs": [], "layers": b}, {"inputs": [], "layers": a}) == []


def test_a_model_far_longer_than_expected_is_reported_without_aligning_it():
    got = _description(300_000)
    for i, row in enumerate(got["layers"]):
        row["class"] = ("Dense", "ReLU", "Conv2D")[i % 3]
    start = time.monotonic()
    problems = graph_structure_problems(got, _description(8))
    elapsed = time.monotonic() - start
    assert problems[0].startswith("the model has 300000 layers, far more than the 8 expected")
    assert len(problems[0]) < 2000
    assert elapsed < 10, f"comparison took {elapsed:.1f} s"


def test_a_long_student_value_is_quoted_short():
    got = _description(2)
    got["layers"][1]["output_shape"] = ["x" * 5000]
    (problem,) = structure_problems(got, _description(2))
    assert "output_shape is ['xxx" in problem
    assert len(problem) < 500


# ---------------------------------------------------------------- the nbgrader preprocessor


def _graded_cell(grade_id: str, source: str, outputs: list) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {
        "grade": True,
        "solution": False,
        "locked": True,
        "grade_id": grade_id,
        "points": 1,
    }
    cell.outputs = [nbformat.from_dict(o) for o in outputs]
    return cell


def _judge_notebook(cells: list, **config: float) -> nbformat.NotebookNode:
    """Judge ``cells`` as the notebook of a submission whose secret is :data:`SECRET`."""
    nb = nbformat.v4.new_notebook(cells=cells)
    judge = JudgeHiddenTests(solutions_dir=str(SOLUTIONS), **config)
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite:///{tmp}/gradebook.db"
        hidden_inputs.store(db_url, W1, "alice", SECRET)
        info = {"assignment": W1, "student": "alice", "db_url": db_url}
        nb, _ = judge.preprocess(nb, {"nbgrader": info})
    return nb


def _verdict_of(cell: nbformat.NotebookNode) -> str:
    last = cell.outputs[-1]
    return last.get("text", "") if last.output_type == "stream" else "\n".join(last.traceback)


def test_an_output_nested_too_deeply_is_dropped_and_the_notebook_judged():
    too_many_dims = sigmoid_record_with(array_record([1] * 100), SECRET)
    deep = {"output_type": "display_data", "metadata": {}, "data": {"application/json": {}}}
    cells = [
        _graded_cell("a", "probe('sigmoid_values', sigmoid)", [deep]),
        _graded_cell("b", "probe('sigmoid_values', sigmoid)", [record_output(too_many_dims)]),
        _graded_cell("c", "probe('sigmoid_values', sigmoid)", []),
    ]
    # Nested well past the depth at which copying or writing JSON recurses too deeply.
    cells[0].outputs[0]["data"]["application/json"] = nested(50_000)
    cells[2].outputs = [nbformat.from_dict(record_output(genuine_sigmoid_record(SECRET)))]
    nb = _judge_notebook(cells)
    assert "nested more than 100 levels deep was dropped" in nb.cells[0].outputs[0]["text"]
    assert "HiddenCheckFailed" in _verdict_of(nb.cells[0])
    assert "array shape of 100 dimensions is not allowed" in _verdict_of(nb.cells[1])
    assert _verdict_of(nb.cells[2]) == "Hidden checks passed: sigmoid_values\n"
    nbformat.writes(nb)  # the graded notebook can be written


def test_the_judge_stops_at_its_time_limit_with_a_message():
    genuine = record_output(genuine_sigmoid_record(SECRET))
    cell = _graded_cell("a", "probe('sigmoid_values', sigmoid)", [genuine])
    nb = _judge_notebook([cell], timeout=1e-9)
    assert "the grader's time for this notebook ran out" in _verdict_of(nb.cells[0])
    cell = _graded_cell("a", "probe('sigmoid_values', sigmoid)", [genuine])
    passed = _judge_notebook([cell]).cells[0]
    assert _verdict_of(passed) == "Hidden checks passed: sigmoid_values\n"


def test_notebook_level_problems_of_any_shape_are_read_safely():
    cell = _graded_cell("a", "probe('sigmoid_values', sigmoid)", [])
    nb = nbformat.v4.new_notebook(cells=[cell])
    nb.metadata["dlgrade"] = {"problems": [["not text"], "The kernel died."]}
    judge = JudgeHiddenTests(solutions_dir=str(SOLUTIONS))
    nb, _ = judge.preprocess(nb, {"nbgrader": {"assignment": W1}, "dlgrade": "garbage"})
    assert "The kernel died." in _verdict_of(nb.cells[0])


# ---------------------------------------------------------------- submitted notebooks


def _valid_notebook() -> dict:
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.metadata["nbgrader"] = {"grade": False, "solution": True, "grade_id": "x", "points": 0}
    nb = nbformat.v4.new_notebook(cells=[cell, nbformat.v4.new_markdown_cell("# Title")])
    return json.loads(nbformat.writes(nb))


def _broken(change) -> dict:
    nb = _valid_notebook()
    change(nb)
    return nb


def _set(path: tuple, value: object):
    def change(nb: dict) -> None:
        target = nb
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set(("cells",), {"0": {}}), "no list of cells"),
        (_set(("cells", 0), "print(1)"), "cell 0 is malformed: it is a str"),
        (_set(("cells", 0, "metadata"), ["a"]), "metadata is not an object"),
        (_set(("cells", 0, "source"), 42), "source is neither text"),
        (_set(("cells", 0, "cell_type"), "heading"), "cell_type is 'heading'"),
        (_set(("cells", 0, "metadata", "nbgrader"), "grade"), "grading metadata (nbgrader)"),
        (_set(("cells", 0, "metadata", "nbgrader", "grade_id"), ["x"]), "grade id is not"),
        (_set(("cells", 0, "metadata", "nbgrader", "solution"), "yes"), "grading flags"),
        (_set(("cells", 0, "metadata", "nbgrader", "points"), [2]), "points are not"),
        (_set(("cells", 0, "metadata", "tags"), "t"), "tags are not"),
        (_set(("cells", 0, "outputs"), {"a": 1}), "outputs are not a list"),
        (_set(("cells", 0, "outputs"), ["text"]), "outputs are not a list"),
        (_set(("cells", 0, "execution_count"), "3"), "execution count"),
        (_set(("cells", 1, "attachments"), []), "attachments"),
        (_set(("metadata",), []), "its metadata is not an object"),
        (_set(("metadata", "kernelspec"), "python3"), "kernelspec metadata"),
        (_set(("nbformat_minor",), "5"), "nbformat version"),
        (_set(("metadata", "widgets"), nested(150)), "nested more than 100 levels"),
    ],
)
def test_a_submission_of_the_wrong_shape_is_refused_with_the_reason(tmp_path, change, message):
    path = tmp_path / "submitted.ipynb"
    path.write_text(json.dumps(_broken(change)), encoding="utf-8")
    with pytest.raises(ValueError) as info:
        read_submission(str(path))
    assert message in str(info.value)


def test_a_well_formed_submission_has_no_shape_problem():
    assert notebook_shape_problem(nbformat.from_dict(_valid_notebook())) is None


def test_a_notebook_with_a_byte_order_mark_and_windows_line_endings_is_read(tmp_path):
    text = json.dumps(_valid_notebook(), indent=1).replace("\n", "\r\n")
    path = tmp_path / "submitted.ipynb"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    nb = read_submission(str(path))
    assert nb.cells[0].source == "x = 1"


# ---------------------------------------------------------------- the exporter's stand-in


class _Converter(Configurable):
    """What the exporter reads of nbgrader's autograde converter: which pass is running."""

    _sanitizing = True


class _Breaks(Preprocessor):
    """A sanitizing step that fails, with the error ``error``, on the student's notebook (as
    nbgrader's do on shapes no check foresaw), and not on the stand-in."""

    error: type[Exception] = TypeError

    def preprocess(self, nb, resources):
        if any(c.metadata.get("nbgrader", {}).get("grade_id") == "x" for c in nb.cells):
            raise self.error("unhashable type: 'list'")
        return nb, resources


def _gradebook(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url) as gb:
        gb.add_assignment("a1")
        gb.add_notebook("nb", "a1")
        gb.add_grade_cell("t1", "nb", "a1", max_score=2, cell_type="code")
        gb.add_source_cell(
            "t1", "nb", "a1", cell_type="code", locked=True, source="probe('x', f)", checksum="c"
        )
    return url


def _export(tmp_path: Path, error: type[Exception]) -> dict:
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(_valid_notebook()), encoding="utf-8")
    exporter = TolerantNotebookExporter(parent=_Converter())
    _Breaks.error = error
    exporter.register_preprocessor(_Breaks(), enabled=True)
    info = {"db_url": _gradebook(tmp_path), "assignment": "a1", "notebook": "nb"}
    output, _ = exporter.from_filename(str(path), resources={"nbgrader": info})
    return json.loads(output)


def test_a_submission_that_breaks_a_sanitizing_step_is_graded_as_a_stand_in(tmp_path):
    nb = _export(tmp_path, TypeError)
    note = "".join(nb["cells"][0]["source"])
    assert "could not be read as a Jupyter notebook" in note
    assert "its cells could not be prepared for grading (TypeError: unhashable type" in note
    assert [c["metadata"]["nbgrader"]["grade_id"] for c in nb["cells"][1:]] == ["t1"]


def test_a_failure_of_the_graders_own_files_is_not_blamed_on_the_submission(tmp_path):
    with pytest.raises(OSError):
        _export(tmp_path, OSError)
