"""The w6_transfer_learning data, shipped base, reference solutions and hidden checks.

The generated shapes are checked for determinism and balance; the committed MobileNetV2 base
loads through ``keras.applications.MobileNetV2(weights=path)``; the notebook's recipe is the
one the checks use; transfer clearly beats training from scratch with that recipe; and the
accuracy check fails closed (an untrained head, a base called in training mode, a record of
another structure).
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

import solutions.w6_transfer_learning as ref
from graders import pretrain, shapes
from graders.cases import get_check
from graders.cases import w6_transfer_learning as cases
from graders.cases.trained import trained_record
from graders.encoding import encode
from graders.judge import judge_record

NOTEBOOK = (
    Path(__file__).resolve().parents[1]
    / "source"
    / "w6_transfer_learning"
    / "w6_transfer_learning.ipynb"
)


# ---------------------------------------------------------------------------- the data


def test_the_same_seed_draws_the_same_shapes_and_another_seed_others():
    a, ya = shapes.generate_shapes(12, seed=5)
    b, yb = shapes.generate_shapes(12, seed=5)
    c, _ = shapes.generate_shapes(12, seed=6)
    assert a.shape == (12, 64, 64, 3) and a.dtype == np.uint8 and ya.dtype == np.int64
    assert np.array_equal(a, b) and np.array_equal(ya, yb)
    assert not np.array_equal(a, c)
    assert set(ya.tolist()) <= set(range(len(shapes.SOURCE_SHAPES)))


def test_the_target_shapes_are_never_in_the_source_task():
    assert not set(shapes.TARGET_SHAPES) & set(shapes.SOURCE_SHAPES)


@pytest.mark.parametrize("kind", shapes.SHAPES)
def test_every_shape_covers_a_sensible_part_of_its_unit_square(kind):
    g = np.linspace(-1.2, 1.2, 241)
    u, v = np.meshgrid(g, g)
    share = float(np.mean(shapes.inside(kind, u, v)))
    assert 0.05 < share < 0.6, share


def test_an_unknown_shape_is_refused_with_the_known_ones_listed():
    with pytest.raises(ValueError, match="circle"):
        shapes.inside("heart", np.zeros(1), np.zeros(1))


def test_the_target_set_is_balanced_and_its_parts_disjoint():
    train_x, train_y, test_x, test_y, classes = shapes.load_target()
    assert train_x.shape == (shapes.TARGET_TRAIN_SIZE, 64, 64, 3)
    assert test_x.shape == (shapes.TARGET_TEST_SIZE, 64, 64, 3)
    assert train_y.shape == (shapes.TARGET_TRAIN_SIZE, 1) and test_y.shape[1] == 1
    assert train_y.mean() == 0.5 and test_y.mean() == 0.5
    assert list(classes) == list(shapes.TARGET_SHAPES)
    heldout_x, heldout_y = ref.heldout_images()
    assert heldout_x.shape == (ref.HELDOUT_SIZE, 64, 64, 3) and heldout_y.mean() == 0.5
    seen = {x.tobytes() for x in np.concatenate([train_x, test_x])}
    assert not any(x.tobytes() in seen for x in heldout_x)


# ---------------------------------------------------------------------------- the base


def test_the_committed_base_is_small_and_loads_through_keras_applications():
    import keras

    assert pretrain.MOBILENET_WEIGHTS_PATH.is_file()
    assert pretrain.MOBILENET_WEIGHTS_PATH.stat().st_size < 3 * 1024 * 1024
    kwargs = {"alpha": pretrain.MOBILENET_ALPHA, "include_top": False}
    loaded = keras.applications.MobileNetV2(
        input_shape=shapes.IMAGE_SHAPE, weights=str(pretrain.MOBILENET_WEIGHTS_PATH), **kwargs
    )
    fresh = keras.applications.MobileNetV2(input_shape=shapes.IMAGE_SHAPE, weights=None, **kwargs)
    kernels = [
        (a, b)
        for layer_a, layer_b in zip(loaded.layers, fresh.layers, strict=True)
        for a, b in zip(layer_a.get_weights(), layer_b.get_weights(), strict=True)
        if "conv" in layer_a.name.lower() and a.ndim == 4
    ]
    assert kernels and all(not np.allclose(a, b) for a, b in kernels)
    # The same file fits other input sizes (convolutions do not depend on the image size).
    bigger = keras.applications.MobileNetV2(
        input_shape=(96, 96, 3), weights=str(pretrain.MOBILENET_WEIGHTS_PATH), **kwargs
    )
    assert bigger.output.shape == (None, 3, 3, 1280)


# ---------------------------------------------------------------------------- the notebook


def test_the_notebook_trains_with_the_recipe_the_checks_use():
    sources = "\n".join(c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells)
    recipe = cases.TRANSFER_TRAINING
    head = re.search(
        r"model = compile_for_training\(transfer_model\(IMAGE_SHAPE, data_augmenter\(\)\), "
        r"([\d.]+)\)\nhistory = model\.fit\(train_x, train_y, epochs=(\d+), batch_size=(\d+)",
        sources,
    )
    tune = re.search(
        r"fine_tune\(model, base, (\d+), ([\d.]+)\).*?epochs=(\d+), initial_epoch=(\d+), "
        r"batch_size=(\d+)",
        sources,
        re.DOTALL,
    )
    assert head and tune
    assert (float(head[1]), int(head[2]), int(head[3])) == (
        recipe["learning_rate"],
        recipe["epochs"],
        recipe["batch_size"],
    )
    assert (int(tune[1]), float(tune[2]), int(tune[3]), int(tune[4]), int(tune[5])) == (
        recipe["fine_tune_at"],
        recipe["fine_tune_learning_rate"],
        recipe["epochs"] + recipe["fine_tune_epochs"],
        recipe["epochs"],
        recipe["batch_size"],
    )


@pytest.mark.slow
def test_the_pretrained_base_beats_the_same_network_from_scratch(capsys):
    """The notebook's comparison, with the notebook's recipe: the frozen pretrained base is
    ahead of the same architecture trained from scratch by at least 20 points."""
    import keras

    train_x, train_y, test_x, test_y, _ = shapes.load_target()
    recipe = cases.TRANSFER_TRAINING

    def accuracy(model) -> float:
        keras.utils.set_random_seed(0)
        cases.compile_for_training(model, recipe["learning_rate"])
        model.fit(
            train_x, train_y, epochs=recipe["epochs"], batch_size=recipe["batch_size"], verbose=0
        )
        return float(model.evaluate(test_x, test_y, verbose=0)[1])

    scratch = ref.transfer_model(shapes.IMAGE_SHAPE, ref.data_augmenter(), weights=None)
    base = cases.find_base(scratch)
    base.trainable = True
    # From scratch the base trains as usual: rebuild the graph without training=False.
    inputs = keras.Input(shape=shapes.IMAGE_SHAPE)
    x = keras.applications.mobilenet_v2.preprocess_input(ref.data_augmenter()(inputs))
    x = keras.layers.GlobalAveragePooling2D()(base(x))
    scratch = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Dropout(0.2)(x)))
    from_scratch = accuracy(scratch)
    transfer = accuracy(ref.transfer_model(shapes.IMAGE_SHAPE, ref.data_augmenter()))
    print(f"from scratch {from_scratch:.3f}, frozen pretrained base {transfer:.3f}")
    assert transfer >= from_scratch + 0.2, (from_scratch, transfer)


# ---------------------------------------------------------------------------- failing closed


def _record(model) -> dict:
    return {
        "v": 1,
        "check": "transfer_model_accuracy",
        "cases": [{"ok": True, "out": encode(trained_record(model))}],
    }


def _fine_tuned(model):
    recipe = cases.TRANSFER_TRAINING
    return ref.fine_tune(
        model, cases.find_base(model), recipe["fine_tune_at"], recipe["fine_tune_learning_rate"]
    )


def test_an_untrained_head_fails_the_accuracy_check_with_the_measured_accuracy():
    check = get_check("transfer_model_accuracy")
    model = _fine_tuned(ref.transfer_model(shapes.IMAGE_SHAPE))
    head = model.layers[-1]
    head.set_weights([np.zeros_like(w) for w in head.get_weights()])
    result = judge_record(check, _record(model), ref)
    assert not result.passed
    assert "classifies 50.0% of the held-out images correctly; at least 85%" in result.problems[0]


def test_a_model_that_was_not_fine_tuned_is_not_evaluated():
    check = get_check("transfer_model_accuracy")
    result = judge_record(check, _record(ref.transfer_model(shapes.IMAGE_SHAPE)), ref)
    assert not result.passed
    assert "does not have the specified structure" in result.problems[0]
    assert "trainable" in result.problems[0]


def test_a_base_called_in_training_mode_is_not_evaluated():
    import keras

    base = keras.applications.MobileNetV2(
        input_shape=shapes.IMAGE_SHAPE, alpha=0.35, include_top=False, weights=None
    )
    inputs = keras.Input(shape=shapes.IMAGE_SHAPE)
    x = keras.applications.mobilenet_v2.preprocess_input(ref.data_augmenter()(inputs))
    x = keras.layers.Dropout(0.2)(keras.layers.GlobalAveragePooling2D()(base(x, training=True)))
    model = _fine_tuned(keras.Model(inputs, keras.layers.Dense(1)(x)))
    result = judge_record(get_check("transfer_model_accuracy"), _record(model), ref)
    assert not result.passed
    assert "training is True, expected False" in result.problems[0]
