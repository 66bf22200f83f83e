"""The w4_cnn_build reference solutions against independent oracles, and its hidden checks.

Oracles: the output-size and parameter-count formulas of the notebook's table (written out
here, not asked of Keras) and a per-pixel loop for the upsampling. The accuracy checks are
also shown to fail closed: a record whose structure or weights do not fit is rejected with a
message, and an untrained model fails with its measured accuracy.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

import solutions.w4_cnn_build as ref
from graders.cases import get_check
from graders.cases import w4_cnn_build as cases
from graders.cases.trained import trained_record
from graders.encoding import encode
from graders.judge import judge_record
from graders.models import describe_model

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "source" / "w4_cnn_build" / "w4_cnn_build.ipynb"


def _conv_size(n: int, f: int, s: int, padding: str) -> int:
    return math.ceil(n / s) if padding == "same" else (n - f) // s + 1


@pytest.mark.parametrize("shape", [(64, 64, 3), (48, 40, 3), (32, 32, 1), (21, 35, 2)])
def test_happy_model_shapes_and_parameters_follow_the_formulas(shape):
    n_H, n_W, n_C = shape
    rows = describe_model(ref.happy_model(shape))["layers"]
    conv_H, conv_W = n_H + 6 - 7 + 1, n_W + 6 - 7 + 1
    pool_H, pool_W = conv_H // 2, conv_W // 2
    assert [(r["class"], r["output_shape"], r["params"]) for r in rows] == [
        ("Rescaling", [None, n_H, n_W, n_C], 0),
        ("ZeroPadding2D", [None, n_H + 6, n_W + 6, n_C], 0),
        ("Conv2D", [None, conv_H, conv_W, 32], (7 * 7 * n_C + 1) * 32),
        ("BatchNormalization", [None, conv_H, conv_W, 32], 4 * 32),
        ("Activation", [None, conv_H, conv_W, 32], 0),
        ("MaxPooling2D", [None, pool_H, pool_W, 32], 0),
        ("Flatten", [None, pool_H * pool_W * 32], 0),
        ("Dense", [None, 1], pool_H * pool_W * 32 + 1),
    ]


@pytest.mark.parametrize(
    "shape, n_classes", [((32, 32, 1), 10), ((16, 24, 1), 3), ((64, 64, 3), 6), ((9, 13, 2), 4)]
)
def test_digits_model_shapes_and_parameters_follow_the_formulas(shape, n_classes):
    n_H, n_W, n_C = shape
    rows = describe_model(ref.digits_model(shape, n_classes))["layers"]
    h1, w1 = _conv_size(n_H, 4, 4, "same"), _conv_size(n_W, 4, 4, "same")
    h2, w2 = _conv_size(h1, 2, 2, "same"), _conv_size(w1, 2, 2, "same")
    assert [(r["class"], r["output_shape"], r["params"]) for r in rows] == [
        ("Conv2D", [None, n_H, n_W, 8], (4 * 4 * n_C + 1) * 8),
        ("MaxPooling2D", [None, h1, w1, 8], 0),
        ("Conv2D", [None, h1, w1, 16], (2 * 2 * 8 + 1) * 16),
        ("MaxPooling2D", [None, h2, w2, 16], 0),
        ("Flatten", [None, h2 * w2 * 16], 0),
        ("Dense", [None, n_classes], (h2 * w2 * 16 + 1) * n_classes),
    ]
    probabilities = ref.digits_model(shape, n_classes)(np.zeros((2, *shape), np.float32))
    np.testing.assert_allclose(np.sum(probabilities, axis=1), 1.0, rtol=1e-5)


def test_upsample_digits_matches_a_per_pixel_loop():
    rng = np.random.default_rng(4)
    for m, h, w, k in [(1, 8, 8, 4), (3, 2, 5, 3), (2, 7, 1, 2), (4, 3, 3, 1)]:
        images = rng.integers(0, 17, size=(m, h, w)).astype(np.float64)
        expected = np.zeros((m, h * k, w * k, 1))
        for i in range(m):
            for r in range(h * k):
                for c in range(w * k):
                    expected[i, r, c, 0] = images[i, r // k, c // k] / 16
        got = ref.upsample_digits(images, k)
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, expected, rtol=1e-7)


# ---------------------------------------------------------------------------- the notebook


def _notebook() -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOK, as_version=4)


def test_the_notebook_trains_with_the_recipes_the_checks_use():
    sources = "\n".join(c.source for c in _notebook().cells if c.cell_type == "code")
    happy = re.search(
        r"Adam\(learning_rate=([\d.]+)\).*?happy\.fit\(.*?epochs=(\d+), batch_size=(\d+)",
        sources,
        re.DOTALL,
    )
    digits = re.search(
        r"Adam\(learning_rate=([\d.]+)\).*?digits\.fit\(.*?epochs=(\d+), batch_size=(\d+)",
        sources.split("happy.fit", 1)[1],
        re.DOTALL,
    )
    assert happy and digits
    for match, recipe in [(happy, cases.HAPPY_TRAINING), (digits, cases.DIGITS_TRAINING)]:
        rate, epochs, batch = match.groups()
        assert (float(rate), int(epochs), int(batch)) == (
            recipe["learning_rate"],
            recipe["epochs"],
            recipe["batch_size"],
        )
    assert f"happy_model({cases.HAPPY_INPUT_SHAPE})" in sources
    assert f"digits_model({cases.DIGITS_INPUT_SHAPE}, 10)" in sources
    assert f"upsample_digits(digits_train_x, {cases.DIGITS_TRAINING['factor']})" in sources


# ---------------------------------------------------------------------------- failing closed


def _untrained_record(builder, *args) -> dict:
    model = builder(*args)
    return {
        "v": 1,
        "check": "happy_model_accuracy",
        "cases": [{"ok": True, "out": encode(trained_record(model))}],
    }


def test_an_untrained_model_fails_the_accuracy_check_with_the_measured_accuracy():
    check = get_check("happy_model_accuracy")
    result = judge_record(check, _untrained_record(ref.happy_model, (64, 64, 3)), ref)
    assert not result.passed
    assert "of the held-out faces correctly; at least 90% is required" in result.problems[0]


def test_weights_of_another_structure_are_not_evaluated():
    check = get_check("happy_model_accuracy")
    record = _untrained_record(ref.happy_model, (48, 48, 3))
    result = judge_record(check, record, ref)
    assert not result.passed
    assert "does not have the specified structure" in result.problems[0]


def test_weights_that_do_not_fit_the_structure_they_claim_are_rejected():
    check = get_check("digits_model_accuracy")
    model = ref.digits_model((32, 32, 1), 10)
    short = trained_record(model)
    short["weights"] = short["weights"][:-1]
    wrong_shape = trained_record(model)
    wrong_shape["weights"][0][0] = wrong_shape["weights"][0][0][:, :, :, :4]
    for out, message in [(short, "come in 2 groups"), (wrong_shape, "do not have the shapes")]:
        record = {"v": 1, "check": check.name, "cases": [{"ok": True, "out": encode(out)}]}
        result = judge_record(check, record, ref)
        assert not result.passed
        assert message in result.problems[0]


def test_the_held_out_faces_are_not_the_students_faces():
    from graders.faces import load_happy_faces

    train_x, _, test_x, _, _ = load_happy_faces()
    heldout_x, heldout_y = ref.heldout_faces()
    assert heldout_x.shape == (ref.HELDOUT_FACES, 64, 64, 3)
    assert 0.4 < heldout_y.mean() < 0.6
    seen = {x.tobytes() for x in np.concatenate([train_x, test_x])}
    assert not any(x.tobytes() in seen for x in heldout_x)
