"""The w5_resnet reference solutions against independent oracles, and its hidden checks.

Oracles: a numpy forward pass of both blocks (convolutions with a constant kernel written as
window sums, batch normalisation in inference and in training mode from its formula), the
output-size formula for strides 1, 2 and 4, and the parameter counts of the small ResNet. The
structure comparison is shown to accept a graph built in another order and to reject a
different graph; the accuracy check is shown to evaluate weights reported in another layer
order correctly, and to fail closed on records that do not fit.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

import solutions.w5_resnet as ref
from graders.cases import get_check
from graders.cases import w5_resnet as cases
from graders.cases.trained import WeightsDoNotFit, load_weights, trained_record
from graders.checks import CheckFailed
from graders.encoding import encode
from graders.judge import judge_record
from graders.models import canonical_structure, describe_model, structure_problems
from tests.mutants import w5_resnet as catalogue

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "source" / "w5_resnet" / "w5_resnet.ipynb"
#: Keras's default epsilon of BatchNormalization.
EPSILON = 1e-3


# ---------------------------------------------------------------------------- numpy oracle


def _conv_constant(x: np.ndarray, c: float, n_filters: int, f: int, s: int, padding: str):
    """Convolution of x (m, n_H, n_W, n_C) with every kernel weight equal to c, zero bias."""
    m, n_H, n_W, _ = x.shape
    if padding == "same":
        out_H, out_W = math.ceil(n_H / s), math.ceil(n_W / s)
        pad_H = max((out_H - 1) * s + f - n_H, 0)
        pad_W = max((out_W - 1) * s + f - n_W, 0)
        x = np.pad(
            x, ((0, 0), (pad_H // 2, pad_H - pad_H // 2), (pad_W // 2, pad_W - pad_W // 2), (0, 0))
        )
    else:
        out_H, out_W = (n_H - f) // s + 1, (n_W - f) // s + 1
    out = np.zeros((m, out_H, out_W, n_filters))
    for i in range(out_H):
        for j in range(out_W):
            window = x[:, i * s : i * s + f, j * s : j * s + f, :]
            out[:, i, j, :] = c * window.sum(axis=(1, 2, 3))[:, np.newaxis]
    return out


def _batch_norm(z: np.ndarray, training: bool) -> np.ndarray:
    """Fresh batch normalisation over the channels (gamma 1, beta 0, running mean 0, var 1)."""
    if training:
        mean, var = z.mean(axis=(0, 1, 2)), z.var(axis=(0, 1, 2))
        return (z - mean) / np.sqrt(var + EPSILON)
    return z / np.sqrt(1.0 + EPSILON)


def _numpy_block(x, f, filters, c, training, s=None):
    """The identity block (s None) or the convolutional block (stride s), in float64."""
    relu = lambda z: np.maximum(z, 0.0)  # noqa: E731
    F1, F2, F3 = filters
    stride = 1 if s is None else s
    a = relu(_batch_norm(_conv_constant(x, c, F1, 1, stride, "valid"), training))
    a = relu(_batch_norm(_conv_constant(a, c, F2, f, 1, "same"), training))
    a = _batch_norm(_conv_constant(a, c, F3, 1, 1, "valid"), training)
    shortcut = x if s is None else _batch_norm(_conv_constant(x, c, F3, 1, s, "valid"), training)
    return relu(a + shortcut)


@pytest.mark.parametrize("check_name", ["identity_block_values", "convolutional_block_values"])
def test_blocks_match_a_numpy_forward_pass_in_both_modes(check_name):
    check = get_check(check_name)
    block = getattr(ref, check.functions[0])
    for case in check.cases():
        got = check.run_case(case, [block])
        x = case["x"].astype(np.float64)
        for mode in ("inference", "training"):
            expected = _numpy_block(x, **_oracle_args(case, mode == "training"))
            np.testing.assert_allclose(got[mode], expected, rtol=1e-4, atol=1e-5)


def _oracle_args(case: dict, training: bool) -> dict:
    kwargs = case["kwargs"]
    return {
        "f": kwargs["f"],
        "filters": kwargs["filters"],
        "c": case["constant"],
        "training": training,
        "s": kwargs.get("s"),
    }


@pytest.mark.parametrize("s", [1, 2, 4])
@pytest.mark.parametrize("shape", [(8, 8, 3), (9, 7, 2), (5, 11, 4)])
def test_convolutional_block_output_shape_is_ceil_of_size_over_stride(shape, s):
    import keras

    inputs = keras.Input(shape=shape)
    out = ref.convolutional_block(inputs, 3, [2, 3, 6], s=s)
    n_H, n_W, _ = shape
    assert tuple(out.shape) == (None, math.ceil(n_H / s), math.ceil(n_W / s), 6)


@pytest.mark.parametrize("shape, n_classes", [((8, 8, 1), 10), ((16, 12, 3), 4), ((9, 7, 2), 3)])
def test_resnet_model_shapes_and_parameters_follow_the_formulas(shape, n_classes):
    n_H, n_W, n_C = shape
    h, w = math.ceil(n_H / 2), math.ceil(n_W / 2)
    desc = describe_model(ref.resnet_model(shape, n_classes))
    conv = lambda f, c_in, c_out: (f * f * c_in + 1) * c_out  # noqa: E731
    bn = lambda c: 4 * c  # noqa: E731
    expected_params = (
        conv(3, n_C, 8)  # stem
        + conv(1, 8, 8) + bn(8) + conv(3, 8, 8) + bn(8) + conv(1, 8, 32) + bn(32)  # main path
        + conv(1, 8, 32) + bn(32)  # shortcut
        + conv(1, 32, 8) + bn(8) + conv(3, 8, 8) + bn(8) + conv(1, 8, 32) + bn(32)  # identity
        + (32 + 1) * n_classes  # head
    )  # fmt: skip
    assert sum(row["params"] for row in desc["layers"]) == expected_params
    assert desc["layers"][0]["output_shape"] == [None, n_H, n_W, 8]
    assert [r["output_shape"] for r in desc["layers"] if r["class"] == "Add"] == [
        [None, h, w, 32],
        [None, h, w, 32],
    ]
    assert desc["layers"][-1]["output_shape"] == [None, n_classes]


# ---------------------------------------------------------------------------- graph order


def _described_block(block, shape=(9, 7, 4), **kwargs):
    import keras

    inputs = keras.Input(shape=shape)
    return describe_model(keras.Model(inputs, block(inputs, **kwargs)))


def test_structure_comparison_accepts_the_branches_built_in_another_order():
    expected = _described_block(ref.convolutional_block, f=3, filters=[4, 2, 6], s=2)
    got = _described_block(catalogue.conv_shortcut_first.impl, f=3, filters=[4, 2, 6], s=2)
    assert structure_problems(got, expected) != []  # the plain row-by-row comparison differs
    assert cases.graph_structure_problems(got, expected) == []


def test_structure_comparison_tells_a_stride_on_another_convolution_apart():
    expected = _described_block(ref.convolutional_block, f=3, filters=[4, 2, 6], s=2)
    got = _described_block(catalogue.conv_stride_in_middle.impl, f=3, filters=[4, 2, 6], s=2)
    problems = cases.graph_structure_problems(got, expected)
    assert problems and "Conv2D" in problems[0]


def test_canonical_structure_leaves_a_malformed_description_to_the_comparison():
    malformed = {"layers": [{"class": "Conv2D", "inputs": [3]}]}
    assert canonical_structure(malformed) is malformed
    expected = _described_block(ref.identity_block, shape=(4, 4, 6), f=3, filters=[2, 3, 6])
    assert cases.graph_structure_problems(malformed, expected) != []
    assert cases.graph_structure_problems("not a model", expected) != []


# ---------------------------------------------------------------------------- trained models


def _resnet_shortcut_first(input_shape, n_classes):
    """The reference ResNet with its convolutional block's shortcut built first."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape)
    X = layers.Conv2D(8, (3, 3), padding="same", activation="relu")(inputs)
    X = catalogue.conv_shortcut_first.impl(X, 3, [8, 8, 32], s=2)
    X = ref.identity_block(X, 3, [8, 8, 32])
    X = layers.GlobalAveragePooling2D()(X)
    return keras.Model(inputs, layers.Dense(n_classes, activation="softmax")(X))


def test_weights_reported_in_another_layer_order_are_evaluated_in_the_right_layers():
    import keras

    keras.utils.set_random_seed(3)
    model = _resnet_shortcut_first(cases.RESNET_INPUT_SHAPE, cases.RESNET_CLASSES)
    rng = np.random.default_rng(3)
    model.set_weights([rng.uniform(0.5, 1.5, size=w.shape) for w in model.get_weights()])
    reference = ref.resnet_model(cases.RESNET_INPUT_SHAPE, cases.RESNET_CLASSES)
    load_weights(reference, trained_record(model))
    x = rng.uniform(size=(5, *cases.RESNET_INPUT_SHAPE)).astype(np.float32)
    np.testing.assert_allclose(
        reference.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )


def _record(out: dict) -> dict:
    return {"v": 1, "check": "resnet_model_accuracy", "cases": [{"ok": True, "out": encode(out)}]}


def test_an_untrained_model_fails_the_accuracy_check_with_the_measured_accuracy():
    import keras

    keras.utils.set_random_seed(0)
    model = ref.resnet_model(cases.RESNET_INPUT_SHAPE, cases.RESNET_CLASSES)
    result = judge_record(get_check("resnet_model_accuracy"), _record(trained_record(model)), ref)
    assert not result.passed
    assert "of the held-out digits correctly; at least 85% is required" in result.problems[0]


def test_weights_of_another_structure_are_not_evaluated():
    model = ref.resnet_model((16, 16, 1), cases.RESNET_CLASSES)
    result = judge_record(get_check("resnet_model_accuracy"), _record(trained_record(model)), ref)
    assert not result.passed
    assert "does not have the specified structure" in result.problems[0]


def test_weights_that_do_not_fit_the_structure_they_claim_are_rejected():
    model = ref.resnet_model(cases.RESNET_INPUT_SHAPE, cases.RESNET_CLASSES)
    short = trained_record(model)
    short["weights"] = short["weights"][:-1]
    wrong_shape = trained_record(model)
    wrong_shape["weights"][0] = [np.zeros((2, 2)), np.zeros(8)]
    for out, message in [(short, "weights come in"), (wrong_shape, "do not have the shapes")]:
        result = judge_record(get_check("resnet_model_accuracy"), _record(out), ref)
        assert not result.passed
        assert message in result.problems[0]
    with pytest.raises(WeightsDoNotFit):
        load_weights(model, [1, 2, 3])


# ---------------------------------------------------------------------------- the notebook


def _notebook() -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOK, as_version=4)


def test_the_notebook_trains_with_the_recipe_the_check_uses():
    sources = "\n".join(c.source for c in _notebook().cells if c.cell_type == "code")
    recipe = re.search(r"epochs, batch_size = (\d+), (\d+)", sources)
    rate = re.search(r"CosineDecay\(([\d.]+), decay_steps=steps\)", sources)
    assert recipe and rate
    assert (int(recipe[1]), int(recipe[2]), float(rate[1])) == (
        cases.RESNET_TRAINING["epochs"],
        cases.RESNET_TRAINING["batch_size"],
        cases.RESNET_TRAINING["learning_rate"],
    )
    assert f"resnet_model({cases.RESNET_INPUT_SHAPE}, {cases.RESNET_CLASSES})" in sources
    assert "X_train = (digits_train_x[..., np.newaxis] / 16.0).astype(np.float32)" in sources
    images = np.arange(128, dtype=np.float64).reshape(2, 8, 8) % 17
    np.testing.assert_array_equal(
        cases.digits_as_images(images), (images[..., np.newaxis] / 16.0).astype(np.float32)
    )


def _public_part(function: str) -> str:
    """The public part (before the hidden tests) of the first graded cell testing
    ``function``."""
    for cell in _notebook().cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and meta["grade_id"].startswith(function):
            return cell.source.split("### BEGIN HIDDEN TESTS", 1)[0]
    raise KeyError(function)


def _public_namespace() -> dict:
    import keras
    from keras import initializers, layers

    from graders import checks

    namespace = {"keras": keras, "np": np, "layers": layers, "initializers": initializers}
    public_checks = ("all_passed", "check_model", "check_shape", "check_type", "check_value")
    namespace.update({name: getattr(checks, name) for name in public_checks})
    for name in ("identity_block", "convolutional_block", "resnet_model"):
        namespace[name] = getattr(ref, name)
    return namespace


PUBLIC = [i for i in catalogue.IMPLEMENTATIONS if i.valid] + [
    next(i for i in catalogue.IMPLEMENTATIONS if i.function == f and not i.valid)
    for f in ("identity_block", "convolutional_block", "resnet_model")
]


@pytest.mark.parametrize("impl", PUBLIC, ids=[f"{i.function}:{i.label}" for i in PUBLIC])
def test_public_tests_accept_valid_variants_and_reject_mutants(impl, capsys):
    namespace = _public_namespace()
    namespace[impl.function] = impl.impl
    code = _public_part(impl.function)
    if impl.valid:
        exec(code, namespace)  # noqa: S102
        assert f"{impl.function}: all public tests passed." in capsys.readouterr().out
    else:
        with pytest.raises(CheckFailed):
            exec(code, namespace)  # noqa: S102
