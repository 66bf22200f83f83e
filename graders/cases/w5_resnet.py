"""Hidden-check inputs for w5_resnet (no answers here: references are in solutions/).

Design notes, by function:

- ``identity_block`` / ``convolutional_block`` (structure): each block is wrapped in a model,
  ``keras.Model(inp, block(inp, ...))``, for several input shapes, window sizes, filter counts
  (F1, F2 and F3 all different, so swapped counts show) and, for the convolutional block,
  strides 1, 2 and 4; the normalised structures (:func:`graders.models.describe_model`, which
  records every layer's output shape, padding, strides and batch-norm axis) are compared with
  the reference's by :func:`graders.models.graph_structure_problems`, whatever order the
  two branches of the residual graph were built in.
- ``identity_block`` / ``convolutional_block`` (values): the same wrapped blocks, built with
  ``keras.initializers.Constant(c)`` for every convolution and called on fixed inputs whose
  values are not all equal, once in inference mode and once in training mode (batch
  normalisation uses its running statistics in the first, the batch's in the second), so an
  initializer that is not passed on, a missing ReLU or a batch norm on the wrong axis shows.
- ``resnet_model`` (structure): built for input shapes and class counts other than the
  notebook's too (non-square, several channels, three classes).
- ``resnet_model`` (accuracy): the kernel reports the *trained* model's structure and its
  weights, grouped by layer, nothing else. The trusted side checks the structure, puts the
  weights into the reference architecture (layer by layer, in the canonical order) and
  measures the accuracy on the held-out digits, which never reach the kernel (new images
  redrawn from a seed kept in ``solutions/heldout_digits.py``). Given a
  model-building function instead of a trained model (as the test suite does for mutants and
  variants), the check trains it with the notebook's recipe.
"""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

import numpy as np

from graders.cases import Check, register
from graders.cases.trained import (
    heldout_digits,
    is_model,
    load_weights,
    reference_model,
    run_structure,
    threshold_verifier,
    trained_record,
)
from graders.models import describe_model, graph_structure_problems

ASSIGNMENT = "w5_resnet"

#: Held-out accuracy the trained ResNet must reach (see benchmarks/threshold_margin.py for the
#: reference's accuracies over ten seeds). The held-out digits are new, slightly deformed
#: images (``solutions/heldout_digits.py``), on which this small network on 8 x 8 inputs loses
#: some accuracy: 0.897 to 0.941 over ten seeds, median 0.923 (0.975 with seed 0 on the former
#: held-out part of the public digits, when the threshold was 0.90), so the threshold is 0.85.
RESNET_ACCURACY_THRESHOLD = 0.85

#: The notebook's training recipe (the training cell spells out the same numbers): Adam with a
#: learning rate that decays from ``learning_rate`` to 0 along a cosine over all the steps.
RESNET_TRAINING = {"epochs": 15, "batch_size": 32, "learning_rate": 0.01}
#: The digits as they are (8 x 8 pixels, one channel), scaled to [0, 1].
RESNET_INPUT_SHAPE = (8, 8, 1)
RESNET_CLASSES = 10

# ---------------------------------------------------------------------------- kernel side


def _block_model(block: Any, shape: tuple, kwargs: dict[str, Any], constant: float | None) -> Any:
    """``keras.Model(inp, block(inp, **kwargs))`` for inputs of shape ``(m, *shape)``, with
    ``Constant(constant)`` as the initializer when ``constant`` is given."""
    import keras

    inp = keras.Input(shape=shape)
    if constant is not None:
        kwargs = {**kwargs, "initializer": keras.initializers.Constant(constant)}
    return keras.Model(inp, block(inp, **kwargs))


def _run_block_structure(case: dict[str, Any], block: Any) -> dict[str, Any]:
    return describe_model(_block_model(block, case["shape"], case["kwargs"], None))


def _run_block_values(case: dict[str, Any], block: Any) -> dict[str, np.ndarray]:
    x = case["x"]
    model = _block_model(block, x.shape[1:], case["kwargs"], case["constant"])
    return {
        "inference": np.asarray(model(x, training=False)),
        "training": np.asarray(model(x, training=True)),
    }


def digits_as_images(images: np.ndarray) -> np.ndarray:
    """Digits ``(m, 8, 8)`` with pixels 0..16 as network inputs ``(m, 8, 8, 1)`` in [0, 1],
    float32 (the notebook prepares its data the same way)."""
    return (np.asarray(images)[..., np.newaxis] / 16.0).astype(np.float32)


def train_resnet_model(resnet_model: Any, seed: int, verbose: int = 0) -> Any:
    """Build ``resnet_model(RESNET_INPUT_SHAPE, 10)`` and train it as the notebook does."""
    import keras

    from graders.data import load_digits_multiclass

    keras.utils.set_random_seed(seed)
    train_x, train_y, _, _, _ = load_digits_multiclass()
    epochs, batch_size = RESNET_TRAINING["epochs"], RESNET_TRAINING["batch_size"]
    steps = epochs * math.ceil(len(train_y) / batch_size)
    model = resnet_model(RESNET_INPUT_SHAPE, RESNET_CLASSES)
    model.compile(
        optimizer=keras.optimizers.Adam(
            learning_rate=keras.optimizers.schedules.CosineDecay(
                RESNET_TRAINING["learning_rate"], decay_steps=steps
            )
        ),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(
        digits_as_images(train_x), train_y, epochs=epochs, batch_size=batch_size, verbose=verbose
    )
    return model


def _run_resnet_trained(case: dict[str, Any], model: Any) -> dict[str, Any]:
    if not is_model(model):
        model = train_resnet_model(model, seed=case["seed"])
    return trained_record(model)


# ---------------------------------------------------------------------------- trusted side


def resnet_heldout_accuracy(got: Any, reference: ModuleType) -> float:
    """Accuracy on the held-out digits of a trained-model record, evaluated in the reference
    architecture. Raises WeightsDoNotFit."""
    model = reference_model(reference, "resnet_model", RESNET_INPUT_SHAPE, RESNET_CLASSES)
    load_weights(model, got)
    images, labels = heldout_digits(reference).heldout_digits_multiclass()
    p = np.asarray(model.predict(digits_as_images(images), batch_size=256, verbose=0))
    return float(np.mean(np.argmax(p, axis=1) == labels))


# ---------------------------------------------------------------------------- cases


def _identity_structure_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    """Shapes (n_H, n_W, n_C) with n_C = F3; F1, F2, F3 all different."""
    return [
        {"shape": (6, 6, 8), "kwargs": {"f": 3, "filters": [2, 3, 8]}},
        {"shape": (7, 5, 6), "kwargs": {"f": 3, "filters": [4, 2, 6]}},
        {"shape": (4, 9, 5), "kwargs": {"f": 2, "filters": [3, 4, 5]}},
    ]


def _conv_structure_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    """Strides 1, 2 and 4, on sizes that strides do not divide."""
    return [
        {"shape": (8, 8, 3), "kwargs": {"f": 3, "filters": [2, 3, 5], "s": 1}},
        {"shape": (9, 7, 4), "kwargs": {"f": 3, "filters": [4, 2, 6], "s": 2}},
        {"shape": (11, 8, 2), "kwargs": {"f": 2, "filters": [3, 5, 4], "s": 4}},
    ]


def _identity_value_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    """Inputs (m, n_H, n_W, n_C) drawn from N(0, 1); a small constant per case."""
    setups = [((3, 4, 4, 6), 3, [2, 3, 6], 0.1), ((2, 5, 3, 4), 2, [3, 2, 4], -0.08)]
    return [
        {
            "x": rng.normal(size=shape).astype(np.float32),
            "kwargs": {"f": f, "filters": filters},
            "constant": c,
        }
        for shape, f, filters, c in setups
    ]


def _conv_value_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    """Inputs (m, n_H, n_W, n_C) drawn from N(0, 1); strides 1, 2 and 4."""
    setups = [
        ((3, 4, 4, 3), 3, [2, 3, 5], 1, 0.1),
        ((2, 5, 7, 2), 3, [3, 2, 4], 2, 0.05),
        ((3, 9, 6, 3), 2, [2, 4, 3], 4, -0.07),
    ]
    return [
        {
            "x": rng.normal(size=shape).astype(np.float32),
            "kwargs": {"f": f, "filters": filters, "s": s},
            "constant": c,
        }
        for shape, f, filters, s, c in setups
    ]


def _resnet_structure_cases(rng: np.random.Generator) -> list[tuple]:
    return [((8, 8, 1), 10), ((16, 12, 3), 4), ((9, 7, 2), 3)]


def _trained_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    return [{"seed": 0}]


#: What the value checks pass as ``initializer``, and how it must be used.
_INITIALIZER_PASSED = (
    "The check passes an initializer object, keras.initializers.Constant(c), as initializer: "
    "hand it to every Conv2D as it is, kernel_initializer=initializer, without calling it "
    "(initializer(seed=0) raises a TypeError on an object)."
)
_BLOCK_MAIN_PATH = (
    "main path Conv2D(F1, (1, 1), padding 'valid') -> BatchNormalization(axis=3) -> ReLU -> "
    "Conv2D(F2, (f, f), padding 'same') -> BatchNormalization(axis=3) -> ReLU -> "
    "Conv2D(F3, (1, 1), padding 'valid') -> BatchNormalization(axis=3)"
)

register(
    ASSIGNMENT,
    Check(
        name="identity_block_structure",
        functions=("identity_block",),
        make_cases=_identity_structure_cases,
        run=_run_block_structure,
        comparator=graph_structure_problems,
        hint=f"Stride 1 everywhere; {_BLOCK_MAIN_PATH}; then Add the block's input (after the "
        "last batch norm, not before it), then one ReLU.",
    ),
    Check(
        name="identity_block_values",
        functions=("identity_block",),
        make_cases=_identity_value_cases,
        run=_run_block_values,
        rtol=1e-4,
        atol=1e-5,
        hint=f"{_INITIALIZER_PASSED} Batch-normalise over the channels (axis=3); add the input "
        "X_shortcut to the main path, then apply the ReLU.",
    ),
    Check(
        name="convolutional_block_structure",
        functions=("convolutional_block",),
        make_cases=_conv_structure_cases,
        run=_run_block_structure,
        comparator=graph_structure_problems,
        hint=f"The stride s goes on the first main convolution; {_BLOCK_MAIN_PATH}; shortcut "
        "Conv2D(F3, (1, 1), strides (s, s), padding 'valid') -> BatchNormalization(axis=3); "
        "then Add the two, then one ReLU.",
    ),
    Check(
        name="convolutional_block_values",
        functions=("convolutional_block",),
        make_cases=_conv_value_cases,
        run=_run_block_values,
        rtol=1e-4,
        atol=1e-5,
        hint=f"{_INITIALIZER_PASSED} The shortcut's Conv2D too. Batch-normalise over the "
        "channels (axis=3); add the two paths, then apply the ReLU.",
    ),
    Check(
        name="resnet_model_structure",
        functions=("resnet_model",),
        make_cases=_resnet_structure_cases,
        run=run_structure,
        comparator=graph_structure_problems,
        hint="keras.Input(shape=input_shape); Conv2D(8, (3, 3), padding='same') and ReLU; "
        "convolutional_block(X, f=3, filters=[8, 8, 32], s=2); identity_block(X, f=3, "
        "filters=[8, 8, 32]); GlobalAveragePooling2D; Dense(n_classes) with a softmax.",
    ),
    Check(
        name="resnet_model_accuracy",
        functions=("resnet_model",),
        make_cases=_trained_cases,
        run=_run_resnet_trained,
        compare_values=False,
        verify=threshold_verifier(resnet_heldout_accuracy, "digits", RESNET_ACCURACY_THRESHOLD),
        hint="Train the model with the training cell as given (Adam with a cosine decay, "
        "sparse categorical cross-entropy, 15 epochs) after resnet_model passes its own test, "
        "and run this cell on the trained model `resnet`.",
    ),
)
