"""Hidden-check inputs for w6_transfer_learning (no answers here: references are in solutions/).

Design notes, by function:

- ``data_augmenter``: the augmenter is called on a symbolic input of several shapes and
  described layer by layer (:func:`graders.models.describe_model`: the flip's ``mode``, the
  rotation's ``factor``); it must also leave images unchanged in inference mode.
- ``transfer_model`` (structure): built for the notebook's input shape and for two others
  (one non-square), with the student's own ``data_augmenter()``; the description has one row
  for the nested MobileNetV2 base with its parameter count and output shape (which tell
  ``include_top`` and the width), whether it is trainable, how many of its layers and
  parameters are, and the ``training`` argument it was called with; preprocessing written as
  ``preprocess_input`` or as a ``Rescaling`` layer describes the same. The base is built
  without its weights file here (structure does not depend on it).
- ``fine_tune``: a small model around a frozen MobileNetV2 base (built by the check, so that a
  mistake in ``transfer_model`` does not cost these points) is fine-tuned from several layers
  with several learning rates; the record holds every base layer's trainable flag, the
  trainable parameter count, the optimizer's class and learning rate, and the loss's class and
  ``from_logits``.
- ``transfer_model`` (accuracy): the kernel reports the fine-tuned model's structure and
  weights; the trusted side loads them into the reference architecture and measures the
  accuracy on held-out images generated from a seed kept in ``solutions/``. Given the
  functions instead of a trained model (as the test suite does), the check trains with the
  notebook's recipe (:func:`train_transfer_model`).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from graders.cases import Check, register
from graders.cases.trained import (
    is_model,
    load_weights,
    reference_model,
    threshold_verifier,
    trained_record,
)
from graders.models import describe_model, graph_structure_problems

ASSIGNMENT = "w6_transfer_learning"

#: Held-out accuracy the fine-tuned model must reach (see benchmarks/threshold_margin.py).
TRANSFER_ACCURACY_THRESHOLD = 0.85

#: The notebook's recipe (its training cells spell out the same numbers): train the new head
#: on the frozen base, then fine-tune the base from layer ``fine_tune_at``.
TRANSFER_TRAINING = {
    "epochs": 10,
    "batch_size": 32,
    "learning_rate": 1e-3,
    "fine_tune_at": 100,
    "fine_tune_epochs": 5,
    "fine_tune_learning_rate": 1e-4,
}


# ---------------------------------------------------------------------------- kernel side


def find_base(model: Any) -> Any:
    """The MobileNetV2 base inside ``model``: its nested model with the most layers."""
    nested = [layer for layer in model.layers if hasattr(layer, "layers")]
    if not nested:
        raise ValueError("the model has no nested base model")
    return max(nested, key=lambda layer: len(layer.layers))


def compile_for_training(model: Any, learning_rate: float) -> Any:
    """Compile as the notebook does: Adam, binary cross-entropy on logits, accuracy at logit 0."""
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[keras.metrics.BinaryAccuracy(threshold=0.0)],
    )
    return model


def train_transfer_model(
    transfer_model: Any, fine_tune: Any, data_augmenter: Any, seed: int, verbose: int = 0
) -> Any:
    """Build ``transfer_model(IMAGE_SHAPE, data_augmenter())``, train its head on the frozen
    base, fine-tune it with ``fine_tune`` and train again, as the notebook does."""
    import keras

    from graders.shapes import IMAGE_SHAPE, load_target

    keras.utils.set_random_seed(seed)
    train_x, train_y, _, _, _ = load_target()
    recipe = TRANSFER_TRAINING
    model = compile_for_training(
        transfer_model(IMAGE_SHAPE, data_augmenter()), recipe["learning_rate"]
    )
    fit = {"batch_size": recipe["batch_size"], "verbose": verbose}
    model.fit(train_x, train_y, epochs=recipe["epochs"], **fit)
    model = fine_tune(
        model, find_base(model), recipe["fine_tune_at"], recipe["fine_tune_learning_rate"]
    )
    model.fit(
        train_x,
        train_y,
        epochs=recipe["epochs"] + recipe["fine_tune_epochs"],
        initial_epoch=recipe["epochs"],
        **fit,
    )
    return model


def _run_augmenter(case: tuple, data_augmenter: Any) -> dict[str, Any]:
    import keras

    (shape,) = case
    augmenter = data_augmenter()
    augmenter(keras.Input(shape=shape))
    x = np.random.default_rng(0).uniform(0, 255, size=(2, *shape)).astype(np.float32)
    return {
        "structure": describe_model(augmenter),
        "inference_change": float(np.max(np.abs(np.asarray(augmenter(x, training=False)) - x))),
    }


def _run_transfer_structure(case: tuple, transfer_model: Any, data_augmenter: Any) -> Any:
    (shape,) = case
    return describe_model(transfer_model(shape, data_augmenter(), weights=None))


def _metric_names(model: Any) -> list[str]:
    """The compiled metrics, normalised: ``"BinaryAccuracy(threshold=0)"`` for a metric
    object (its name left out), the string itself for a metric given by name."""
    try:
        metrics = (model.get_compile_config() or {}).get("metrics") or []
    except Exception:  # noqa: BLE001 - not compiled, or not a Keras model
        return []
    out: list[str] = []
    for metric in metrics if isinstance(metrics, list) else [metrics]:
        if isinstance(metric, str):
            out.append(metric)
        elif isinstance(metric, dict):
            config = metric.get("config") if isinstance(metric.get("config"), dict) else {}
            name = str(metric.get("class_name", "?"))
            threshold = config.get("threshold")
            out.append(f"{name}(threshold={float(threshold):g})" if threshold is not None else name)
        else:
            out.append(type(metric).__name__)
    return out


def _fine_tune_record(model: Any, base: Any) -> dict[str, Any]:
    optimizer, loss = getattr(model, "optimizer", None), getattr(model, "loss", None)
    rate = getattr(optimizer, "learning_rate", None)
    return {
        "base_trainable": bool(base.trainable),
        "layers_trainable": np.array([bool(layer.trainable) for layer in base.layers]),
        "trainable_params": int(sum(int(np.prod(w.shape)) for w in model.trainable_weights)),
        "optimizer": type(optimizer).__name__,
        "learning_rate": float(np.asarray(rate)) if rate is not None else None,
        "loss": loss if isinstance(loss, str) else type(loss).__name__,
        "from_logits": bool(getattr(loss, "from_logits", False)),
        "metrics": _metric_names(model),
    }


def _run_fine_tune(case: dict[str, Any], fine_tune: Any) -> dict[str, Any]:
    import keras

    shape = (32, 32, 3)
    base = keras.applications.MobileNetV2(
        input_shape=shape, alpha=0.35, include_top=False, weights=None
    )
    base.trainable = False
    inputs = keras.Input(shape=shape)
    x = base(inputs, training=False)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(1)(x))
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    returned = fine_tune(model, base, case["fine_tune_at"], case["learning_rate"])
    if returned is not model:
        raise ValueError("fine_tune must return the model it was given, recompiled")
    return _fine_tune_record(model, base)


def _run_transfer_trained(
    case: dict[str, Any], model: Any, fine_tune: Any = None, data_augmenter: Any = None
) -> dict[str, Any]:
    if not is_model(model):
        model = train_transfer_model(model, fine_tune, data_augmenter, seed=case["seed"])
    return trained_record(model)


# ---------------------------------------------------------------------------- trusted side


def transfer_heldout_accuracy(got: Any, reference: ModuleType) -> float:
    """Accuracy on the held-out target images of a fine-tuned model's record, evaluated in the
    reference architecture, fine-tuned as the notebook does (a logit above 0 means class 1).
    Raises WeightsDoNotFit."""
    from graders.shapes import IMAGE_SHAPE

    model = reference_model(reference, "transfer_model", IMAGE_SHAPE)
    # The record is of a fine-tuned model: the reference is fine-tuned the same way (which
    # only sets trainable flags, so doing it again on the cached model changes nothing).
    recipe = TRANSFER_TRAINING
    reference.fine_tune(
        model, find_base(model), recipe["fine_tune_at"], recipe["fine_tune_learning_rate"]
    )
    load_weights(model, got)
    x, y = reference.heldout_images()
    logits = np.asarray(model.predict(x.astype(np.float32), batch_size=128, verbose=0))
    return float(np.mean((logits.reshape(-1) > 0) == (y.reshape(-1) == 1)))


# ---------------------------------------------------------------------------- cases


def _augmenter_cases(rng: np.random.Generator) -> list[tuple]:
    return [((64, 64, 3),), ((40, 56, 3),)]


def _transfer_structure_cases(rng: np.random.Generator) -> list[tuple]:
    return [((64, 64, 3),), ((96, 96, 3),), ((64, 96, 3),)]


def _fine_tune_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    return [
        {"fine_tune_at": 100, "learning_rate": 1e-4},
        {"fine_tune_at": 120, "learning_rate": 3e-5},
        {"fine_tune_at": 37, "learning_rate": 2e-4},
    ]


def _trained_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    return [{"seed": 0}]


register(
    ASSIGNMENT,
    Check(
        name="data_augmenter_structure",
        functions=("data_augmenter",),
        make_cases=_augmenter_cases,
        run=_run_augmenter,
        hint="Return keras.Sequential([RandomFlip('horizontal'), RandomRotation(0.2)]), in "
        "that order; both layers only act in training mode.",
    ),
    Check(
        name="transfer_model_structure",
        functions=("transfer_model", "data_augmenter"),
        make_cases=_transfer_structure_cases,
        run=_run_transfer_structure,
        comparator=graph_structure_problems,
        hint="In order: keras.Input(shape=image_shape); data_augmentation(inputs); "
        "preprocess_input; the base MobileNetV2(input_shape=image_shape, alpha=0.35, "
        "include_top=False, weights=weights) with base_model.trainable = False, called as "
        "base_model(x, training=False); GlobalAveragePooling2D(); Dropout(0.2); Dense(1) "
        "without activation (the loss takes logits).",
    ),
    Check(
        name="fine_tune_settings",
        functions=("fine_tune",),
        make_cases=_fine_tune_cases,
        run=_run_fine_tune,
        hint="Set base_model.trainable = True, then trainable = False for every layer in "
        "base_model.layers[:fine_tune_at]; recompile the model with "
        "Adam(learning_rate=learning_rate), BinaryCrossentropy(from_logits=True) and "
        "BinaryAccuracy(threshold=0.0) (the model outputs logits: 'accuracy' would measure "
        "at 0.5, not at logit 0); return the model.",
    ),
    Check(
        name="transfer_model_accuracy",
        functions=("transfer_model", "fine_tune", "data_augmenter"),
        make_cases=_trained_cases,
        run=_run_transfer_trained,
        compare_values=False,
        verify=threshold_verifier(transfer_heldout_accuracy, "images", TRANSFER_ACCURACY_THRESHOLD),
        hint="Train with the training cells as given (the head on the frozen base, then "
        "fine-tuning), and run this cell on the fine-tuned model.",
    ),
)
