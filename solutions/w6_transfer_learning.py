"""Reference solutions for w6_transfer_learning, and the grader's held-out data.

The held-out images are generated from a seed that lives only here (instructor side); the
grader evaluates a student's fine-tuned weights in the reference architecture on them (see
``graders/cases/w6_transfer_learning.py``). Keras is imported inside the functions.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from graders.pretrain import MOBILENET_ALPHA, MOBILENET_WEIGHTS_PATH
from graders.shapes import IMAGE_SHAPE, generate_target

#: Seed and size of the held-out target images; never released. The seed is 128 random bits
#: (drawn once from the operating system's random source), so that it cannot be guessed:
#: ``graders.shapes`` is public.
HELDOUT_SEED = 0x9C37_ED0B_DE52_D0C1_2098_1180_D968_9201
HELDOUT_SIZE = 300


def data_augmenter() -> Any:
    """A Sequential model of two random augmentations, active in training only:
    RandomFlip("horizontal"), then RandomRotation(0.2). Input and output ``(m, h, w, c)``."""
    import keras

    return keras.Sequential(
        [keras.layers.RandomFlip("horizontal"), keras.layers.RandomRotation(0.2)]
    )


def transfer_model(
    image_shape: tuple[int, int, int] = IMAGE_SHAPE,
    data_augmentation: Any = None,
    weights: str | None = str(MOBILENET_WEIGHTS_PATH),
) -> Any:
    """A binary classifier on a frozen, pretrained MobileNetV2 base.

    Input ``(m, *image_shape)`` raw pixels 0..255; output ``(m, 1)`` logits (no sigmoid).
    Layers: ``data_augmentation`` (``data_augmenter()`` when None), MobileNetV2's
    ``preprocess_input`` (pixels to ``[-1, 1]``), the base ``MobileNetV2(input_shape,
    alpha=0.35, include_top=False, weights=weights)`` frozen and called with
    ``training=False``, GlobalAveragePooling2D, Dropout(0.2), Dense(1).
    """
    import keras

    if data_augmentation is None:
        data_augmentation = data_augmenter()
    base_model = keras.applications.MobileNetV2(
        input_shape=image_shape, alpha=MOBILENET_ALPHA, include_top=False, weights=weights
    )
    base_model.trainable = False
    inputs = keras.Input(shape=image_shape)
    x = data_augmentation(inputs)
    x = keras.applications.mobilenet_v2.preprocess_input(x)
    x = base_model(x, training=False)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.2)(x)
    outputs = keras.layers.Dense(1)(x)
    return keras.Model(inputs, outputs)


def fine_tune(model: Any, base_model: Any, fine_tune_at: int, learning_rate: float) -> Any:
    """Unfreeze the top of ``base_model`` (a layer of ``model``) from layer ``fine_tune_at``
    on, and recompile ``model`` with Adam(learning_rate), the binary cross-entropy on logits
    and the binary accuracy at logit 0. Returns ``model``."""
    import keras

    base_model.trainable = True
    for layer in base_model.layers[:fine_tune_at]:
        layer.trainable = False
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[keras.metrics.BinaryAccuracy(threshold=0.0)],
    )
    return model


@lru_cache(maxsize=1)
def heldout_images() -> tuple[np.ndarray, np.ndarray]:
    """The grader's held-out target images: x uint8 ``(300, 64, 64, 3)``, y int64 ``(300,)``."""
    x, y = generate_target(HELDOUT_SIZE, seed=HELDOUT_SEED)
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y
