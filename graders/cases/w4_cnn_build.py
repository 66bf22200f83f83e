"""Hidden-check inputs for w4_cnn_build (no answers here: references are in solutions/).

Design notes, by function:

- ``happy_model`` / ``digits_model`` (structure): the models are built for input shapes and
  class counts other than the notebook's too (non-square, one channel, three classes), so
  hard-coded shapes show; the normalised structures (:func:`graders.models.describe_model`)
  are compared with the reference's, row by row.
- ``happy_model`` / ``digits_model`` (accuracy): the kernel reports the *trained* model's
  structure and weights, nothing else. The trusted side checks the structure, loads the
  weights into the reference architecture and measures the accuracy on held-out data that
  never reaches the kernel (faces generated from a seed kept in ``solutions/``; digits redrawn
  with small deformations from a seed kept there, ``solutions/heldout_digits.py``, so they
  are none of the public digits). Given a model-building function instead of a trained model
  (as the test suite does for mutants and variants), the check trains it with the notebook's
  recipe.
- ``upsample_digits``: stacks of several shapes (one non-square), factors 1 to 4, integer
  pixel values 0..16, so a tile instead of a repeat, a missing channel axis or a missing
  scaling show.
"""

from __future__ import annotations

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
from graders.models import graph_structure_problems

ASSIGNMENT = "w4_cnn_build"

#: Held-out accuracies the trained models must reach (see benchmarks/threshold_margin.py for
#: the reference's accuracies over ten seeds).
HAPPY_ACCURACY_THRESHOLD = 0.90
DIGITS_ACCURACY_THRESHOLD = 0.90

#: The notebook's training recipes (the training cells spell out the same numbers).
HAPPY_TRAINING = {"epochs": 10, "batch_size": 16, "learning_rate": 0.001}
DIGITS_TRAINING = {"epochs": 20, "batch_size": 32, "learning_rate": 0.01, "factor": 4}
HAPPY_INPUT_SHAPE = (64, 64, 3)
DIGITS_INPUT_SHAPE = (32, 32, 1)


# ---------------------------------------------------------------------------- training recipes


def train_happy_model(happy_model: Any, seed: int, verbose: int = 0) -> Any:
    """Build ``happy_model(HAPPY_INPUT_SHAPE)`` and train it as the notebook does."""
    import keras

    from graders.faces import load_happy_faces

    keras.utils.set_random_seed(seed)
    train_x, train_y, _, _, _ = load_happy_faces()
    model = happy_model(HAPPY_INPUT_SHAPE)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=HAPPY_TRAINING["learning_rate"]),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(
        train_x,
        train_y,
        epochs=HAPPY_TRAINING["epochs"],
        batch_size=HAPPY_TRAINING["batch_size"],
        verbose=verbose,
    )
    return model


def train_digits_model(digits_model: Any, upsample_digits: Any, seed: int, verbose: int = 0) -> Any:
    """Build ``digits_model(DIGITS_INPUT_SHAPE, 10)`` and train it as the notebook does."""
    import keras

    from graders.data import load_digits_multiclass

    keras.utils.set_random_seed(seed)
    train_x, train_y, _, _, _ = load_digits_multiclass()
    model = digits_model(DIGITS_INPUT_SHAPE, 10)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=DIGITS_TRAINING["learning_rate"]),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(
        upsample_digits(train_x, DIGITS_TRAINING["factor"]),
        train_y,
        epochs=DIGITS_TRAINING["epochs"],
        batch_size=DIGITS_TRAINING["batch_size"],
        verbose=verbose,
    )
    return model


def _run_happy_trained(case: dict[str, Any], model: Any) -> dict[str, Any]:
    if not is_model(model):
        model = train_happy_model(model, seed=case["seed"])
    return trained_record(model)


def _run_digits_trained(case: dict[str, Any], model: Any, upsample_digits: Any) -> dict[str, Any]:
    if not is_model(model):
        model = train_digits_model(model, upsample_digits, seed=case["seed"])
    return trained_record(model)


# ---------------------------------------------------------------------------- trusted side


def happy_heldout_accuracy(got: Any, reference: ModuleType) -> float:
    """Accuracy on the held-out faces of a trained-model record (structure and weights),
    evaluated in the reference architecture. Raises WeightsDoNotFit."""
    model = reference_model(reference, "happy_model", HAPPY_INPUT_SHAPE)
    load_weights(model, got)
    x, y = reference.heldout_faces()
    p = np.asarray(model.predict(x.astype(np.float32), batch_size=256, verbose=0))
    return float(np.mean((p.reshape(-1) > 0.5) == (y.reshape(-1) == 1)))


def digits_heldout_accuracy(got: Any, reference: ModuleType) -> float:
    """Accuracy on the held-out digits of a trained-model record, evaluated in the reference
    architecture on the reference's upsampling. Raises WeightsDoNotFit."""
    model = reference_model(reference, "digits_model", DIGITS_INPUT_SHAPE, 10)
    load_weights(model, got)
    images, labels = heldout_digits(reference).heldout_digits_multiclass()
    x = reference.upsample_digits(images, DIGITS_TRAINING["factor"])
    p = np.asarray(model.predict(x, batch_size=256, verbose=0))
    return float(np.mean(np.argmax(p, axis=1) == labels))


# ---------------------------------------------------------------------------- cases


def _happy_structure_cases(rng: np.random.Generator) -> list[tuple]:
    return [((64, 64, 3),), ((48, 40, 3),), ((32, 32, 1),)]


def _digits_structure_cases(rng: np.random.Generator) -> list[tuple]:
    return [((32, 32, 1), 10), ((16, 24, 1), 3), ((64, 64, 3), 6)]


def _upsample_cases(rng: np.random.Generator) -> list[tuple]:
    """(images (m, h, w) with integer pixels 0..16, factor)."""
    shapes = [((3, 8, 8), 4), ((2, 3, 5), 2), ((4, 2, 2), 3), ((1, 8, 8), 1), ((5, 4, 6), 2)]
    return [(rng.integers(0, 17, size=shape).astype(np.float64), f) for shape, f in shapes]


def _trained_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    return [{"seed": 0}]


register(
    ASSIGNMENT,
    Check(
        name="happy_model_structure",
        functions=("happy_model",),
        make_cases=_happy_structure_cases,
        run=run_structure,
        comparator=graph_structure_problems,
        hint="Use input_shape for keras.Input (do not hard-code 64 x 64 x 3); then, in order: "
        "Rescaling(1/255), ZeroPadding2D(3), Conv2D(32, (7, 7), strides=(1, 1)) without "
        "padding, BatchNormalization(axis=3), ReLU, MaxPooling2D((2, 2)), Flatten, and "
        "Dense(1) with a sigmoid.",
    ),
    Check(
        name="happy_model_accuracy",
        functions=("happy_model",),
        make_cases=_trained_cases,
        run=_run_happy_trained,
        compare_values=False,
        verify=threshold_verifier(happy_heldout_accuracy, "faces", HAPPY_ACCURACY_THRESHOLD),
        hint="Train the model with the training cell as given (Adam, binary cross-entropy, "
        "10 epochs) after happy_model passes its own test, and run this cell on the trained "
        "model `happy`.",
    ),
    Check(
        name="upsample_digits_values",
        functions=("upsample_digits",),
        make_cases=_upsample_cases,
        hint="Repeat every pixel factor times along axis 1 and along axis 2 (np.repeat, not "
        "np.tile, which repeats the whole image), add a channel axis at the end to get "
        "(m, h * factor, w * factor, 1), and divide by 16.",
    ),
    Check(
        name="digits_model_structure",
        functions=("digits_model",),
        make_cases=_digits_structure_cases,
        run=run_structure,
        comparator=graph_structure_problems,
        hint="keras.Input(shape=input_shape); Conv2D(8, (4, 4), padding='same') and ReLU; "
        "MaxPooling2D((4, 4), strides=(4, 4), padding='same'); Conv2D(16, (2, 2), "
        "padding='same') and ReLU; MaxPooling2D((2, 2), strides=(2, 2), padding='same'); "
        "Flatten; Dense(n_classes) with a softmax; keras.Model(inputs, outputs).",
    ),
    Check(
        name="digits_model_accuracy",
        functions=("digits_model", "upsample_digits"),
        make_cases=_trained_cases,
        run=_run_digits_trained,
        compare_values=False,
        verify=threshold_verifier(digits_heldout_accuracy, "digits", DIGITS_ACCURACY_THRESHOLD),
        hint="Train the model with the training cell as given (Adam, sparse categorical "
        "cross-entropy, 20 epochs) on upsample_digits(train_x, 4), and run this cell on the "
        "trained model `digits`.",
    ),
)
