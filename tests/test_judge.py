"""The trusted side's building blocks: plain-data records, comparison, and cell verdicts."""

from __future__ import annotations

import base64
import pickle
from pathlib import Path

import numpy as np
import pytest

from graders.cases import get_check
from graders.compare import compare
from graders.encoding import RECORD_MIME, EncodingError, decode, encode
from graders.judge import judge_cell, judge_record, load_reference, probe_calls, rewrite_outputs
from graders.probe import collect

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"


def record_output(record: dict) -> dict:
    return {"output_type": "display_data", "metadata": {}, "data": {RECORD_MIME: record}}


def reference_sigmoid():
    return load_reference("w1_broadcasting", SOLUTIONS).sigmoid


# ---------------------------------------------------------------- encoding


@pytest.mark.parametrize(
    "value",
    [
        np.arange(6, dtype=np.float32).reshape(2, 3),
        np.array(3.5),
        np.float64(2.0),
        np.array([True, False]),
        np.zeros((0, 3)),
        (np.ones((2, 1)), 0.25),
        {"dw": np.ones((3, 1)), "db": 0.5, "costs": [1.0, 0.5]},
        np.arange(12, dtype=">i4").reshape(3, 4),
    ],
)
def test_encoding_round_trips_plain_data(value):
    back = decode(encode(value))
    assert compare(back, value, rtol=0, atol=0) == []
    if isinstance(value, np.ndarray):
        assert back.shape == value.shape


def test_encoding_keeps_tuples_distinct_from_lists():
    assert isinstance(decode(encode((1, 2))), tuple)
    assert isinstance(decode(encode([1, 2])), list)


@pytest.mark.parametrize("value", [object(), np.array([object()]), {1: 2.0}, np.array(["a", "b"])])
def test_encoding_refuses_anything_but_numbers_and_containers(value):
    with pytest.raises(EncodingError):
        encode(value)


def test_decoding_refuses_object_dtype_and_pickles():
    payload = base64.b64encode(pickle.dumps([1, 2])).decode()
    with pytest.raises(EncodingError):
        decode({"__ndarray__": payload, "dtype": "|O", "shape": [2]})
    with pytest.raises(EncodingError):
        decode({"__ndarray__": payload, "dtype": "<f8", "shape": [2]})


def test_decoding_refuses_data_that_does_not_match_its_shape():
    data = encode(np.zeros(4))
    data["shape"] = [5]
    with pytest.raises(EncodingError, match="does not match"):
        decode(data)


def test_encoding_an_object_whose_array_lies_reports_what_it_reports():
    class Liar:
        def __eq__(self, other):
            return True

        def __array__(self, dtype=None, copy=None):
            return np.zeros(3)

    assert np.array_equal(decode(encode(Liar())), np.zeros(3))


# ---------------------------------------------------------------- comparison


def test_compare_reports_shape_before_values():
    problems = compare(np.zeros(3), np.zeros((3, 1)), rtol=1e-5, atol=1e-7)
    assert problems == ["output: shape (3,), expected (3, 1)"]


def test_compare_names_the_worst_index_and_the_tolerance():
    got = np.array([[1.0, 2.0], [3.0, 4.5]])
    (problem,) = compare(got, np.array([[1.0, 2.0], [3.0, 4.0]]), rtol=1e-5, atol=1e-7)
    assert "1 of 4 values differ at index (1, 1)" in problem
    assert "rtol=1e-05" in problem


def test_compare_accepts_float32_within_tolerance():
    x = np.linspace(0, 1, 7)
    assert compare(x.astype(np.float32), x, rtol=1e-5, atol=1e-7) == []


def test_compare_treats_nan_as_a_mismatch_unless_expected():
    assert compare(np.array([np.nan]), np.array([1.0]), rtol=1e-5, atol=1e-7)
    assert compare(np.array([np.nan]), np.array([np.nan]), rtol=1e-5, atol=1e-7) == []


def test_compare_walks_tuples_and_dicts():
    expected = ({"dw": np.ones((2, 1)), "db": 1.0}, 0.5)
    assert (
        compare(
            ({"dw": np.ones((2, 1)), "db": 1.0, "extra": 3}, 0.5), expected, rtol=1e-5, atol=1e-7
        )
        == []
    )
    assert compare(({"dw": np.ones((2, 1))}, 0.5), expected, rtol=1e-5, atol=1e-7) == [
        "output[0]: missing keys ['db']"
    ]
    assert compare([0.5], expected, rtol=1e-5, atol=1e-7) == ["output: expected 2 items, got 1"]


# ---------------------------------------------------------------- verdicts


def test_probe_calls_are_read_from_the_cell_source_only_as_string_literal_calls():
    source = (
        "%matplotlib inline\n"
        "check_value('x', f(1), 2)\n"
        "# probe('commented_out', f)\n"
        "probe('b_check', f)\n"
        "probe(name_in_variable, f)\n"
        "probe('a_check', f, g)\n"
    )
    assert probe_calls(source) == ["b_check", "a_check"]


def test_a_genuine_record_passes():
    record = collect("sigmoid_values", reference_sigmoid())
    verdict = judge_cell(
        "sigmoid_values",
        "probe('sigmoid_values', sigmoid)",
        [record_output(record)],
        "w1_broadcasting",
        SOLUTIONS,
    )
    assert verdict.passed, verdict.message()


def test_a_forged_record_with_wrong_values_fails():
    record = collect("sigmoid_values", lambda x: 0.5 * np.ones_like(x))
    verdict = judge_cell(
        "sigmoid_values",
        "probe('sigmoid_values', sigmoid)",
        [record_output(record)],
        "w1_broadcasting",
        SOLUTIONS,
    )
    assert not verdict.passed
    assert "Hidden check 'sigmoid_values' failed" in verdict.message()


def test_a_record_with_too_few_cases_fails():
    record = collect("sigmoid_values", reference_sigmoid())
    record["cases"] = record["cases"][:1]
    result = judge_record(
        get_check("sigmoid_values"), record, load_reference("w1_broadcasting", SOLUTIONS)
    )
    assert not result.passed


def test_a_missing_record_fails_with_a_reason():
    verdict = judge_cell(
        "sigmoid_values",
        "probe('sigmoid_values', sigmoid)",
        [{"output_type": "stream", "name": "stdout", "text": "All passed!"}],
        "w1_broadcasting",
        SOLUTIONS,
    )
    assert not verdict.passed
    assert "no result was recorded" in verdict.message()


def test_a_duplicated_record_fails():
    record = collect("sigmoid_values", reference_sigmoid())
    verdict = judge_cell(
        "sigmoid_values",
        "probe('sigmoid_values', sigmoid)",
        [record_output(record), record_output(record)],
        "w1_broadcasting",
        SOLUTIONS,
    )
    assert not verdict.passed


def test_a_kernel_error_fails_the_cell_even_with_a_genuine_record():
    record = collect("sigmoid_values", reference_sigmoid())
    error = {"output_type": "error", "ename": "CheckFailed", "evalue": "bad", "traceback": []}
    verdict = judge_cell(
        "sigmoid_values",
        "probe('sigmoid_values', sigmoid)",
        [record_output(record), error],
        "w1_broadcasting",
        SOLUTIONS,
    )
    assert not verdict.passed


@pytest.mark.parametrize(
    ("ename", "evalue", "message"),
    [
        ("NameError", "name 'np' is not defined", "The cell raised NameError: name 'np'"),
        ("NotImplementedError", "", "still has the release's `raise NotImplementedError()`"),
        ("KeyboardInterrupt", "", "The cell raised KeyboardInterrupt."),
    ],
)
def test_the_message_of_a_cell_that_raised_says_what_it_raised(ename, evalue, message):
    error = {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": []}
    verdict = judge_cell(
        "sigmoid_values", "probe('sigmoid_values', sigmoid)", [error], "w1_broadcasting", SOLUTIONS
    )
    assert not verdict.passed
    assert message in verdict.message()
    assert f"{ename}: \n" not in verdict.message() + "\n"


def test_a_cell_without_a_hidden_check_fails_closed():
    verdict = judge_cell("x", "assert True", [], "w1_broadcasting", SOLUTIONS)
    assert not verdict.passed
    assert "no hidden check" in verdict.message()


def test_a_check_of_another_assignment_is_refused():
    record = collect("sigmoid_values", reference_sigmoid())
    verdict = judge_cell(
        "x", "probe('sigmoid_values', f)", [record_output(record)], "w2_gradient_descent", SOLUTIONS
    )
    assert not verdict.passed


def test_rewritten_outputs_drop_stderr_partial_credit_and_records():
    record = collect("sigmoid_values", reference_sigmoid())
    outputs = [
        {"output_type": "stream", "name": "stderr", "text": "W tensorflow: noise\n"},
        {
            "output_type": "execute_result",
            "data": {"text/plain": "2"},
            "metadata": {},
            "execution_count": 1,
        },
        record_output(record),
        {"output_type": "stream", "name": "stdout", "text": "sigmoid: all public tests passed.\n"},
    ]
    verdict = judge_cell(
        "sigmoid_values", "probe('sigmoid_values', sigmoid)", outputs, "w1_broadcasting", SOLUTIONS
    )
    kinds = [(o["output_type"], o.get("name")) for o in rewrite_outputs(outputs, verdict)]
    assert kinds == [("stream", "stdout")] * 3
    assert "1 lines on stderr" in rewrite_outputs(outputs, verdict)[1]["text"]


def test_a_failing_cell_ends_in_an_error_output_even_if_the_kernel_claimed_points():
    outputs = [
        {
            "output_type": "execute_result",
            "data": {"text/plain": "2"},
            "metadata": {},
            "execution_count": 1,
        }
    ]
    verdict = judge_cell(
        "sigmoid_values", "probe('sigmoid_values', sigmoid)", outputs, "w1_broadcasting", SOLUTIONS
    )
    rewritten = rewrite_outputs(outputs, verdict)
    assert [o["output_type"] for o in rewritten] == ["error"]
    assert rewritten[0]["ename"] == "HiddenCheckFailed"


def test_a_float_layer_size_is_reported_with_a_hint_that_says_what_to_write():
    from graders.cases import get_check
    from graders.probe import collect

    def happy_model(input_shape=(64, 64, 3)):
        import keras

        return keras.Sequential(
            [keras.Input(input_shape), keras.layers.Conv2D(8.0, 3), keras.layers.Flatten()]
        )

    check = get_check("happy_model_structure")
    record = collect(check.name, happy_model)
    error = record["cases"][0]["error"]
    assert "ValueError" in error and "write 8, not 8.0" in error
    result = judge_record(check, record, load_reference("w4_cnn_build", SOLUTIONS))
    assert not result.passed and "write 8, not 8.0" in result.problems[0]
