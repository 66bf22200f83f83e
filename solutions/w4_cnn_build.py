"""Reference solutions for w4_cnn_build, and the grader's held-out data.

The held-out faces are generated from a seed that lives only here (instructor side): the
student's kernel never sees them, nor their labels. The grader evaluates a student's trained
weights in the reference architecture on them (see ``graders/cases/w4_cnn_build.py``).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

#: Seed of the held-out faces (128 random bits, drawn once from the operating system's random
#: source, so that it cannot be guessed: ``graders.faces`` is public); never released.
HELDOUT_FACES_SEED = 0x48DC_F6D9_7222_6D6C_BF17_9E5F_8F36_9422
#: Number of held-out faces.
HELDOUT_FACES = 300


def happy_model(input_shape: tuple[int, int, int] = (64, 64, 3)):
    """The Sequential binary classifier of facial expression.

    Input ``(m, n_H, n_W, n_C)`` raw pixels 0..255; output ``(m, 1)``, the probability of
    "happy". Layers: Rescaling(1/255), ZeroPadding2D(3), Conv2D(32, 7x7, stride 1),
    BatchNormalization(axis 3), ReLU, MaxPooling2D(2x2), Flatten, Dense(1, sigmoid).
    """
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            layers.Rescaling(1.0 / 255),
            layers.ZeroPadding2D(padding=3),
            layers.Conv2D(32, (7, 7), strides=(1, 1)),
            layers.BatchNormalization(axis=3),
            layers.ReLU(),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Flatten(),
            layers.Dense(1, activation="sigmoid"),
        ]
    )


def upsample_digits(images: np.ndarray, factor: int) -> np.ndarray:
    """Grey-scale digits (m, h, w), pixels 0..16, to (m, h * factor, w * factor, 1) in [0, 1].

    Nearest-neighbour upsampling: every pixel becomes a factor x factor block. float32.
    """
    big = np.repeat(np.repeat(images, factor, axis=1), factor, axis=2)
    return (big[..., np.newaxis] / 16.0).astype(np.float32)


def digits_model(input_shape: tuple[int, int, int] = (32, 32, 1), n_classes: int = 10):
    """The Functional multi-class classifier of digits.

    Input ``(m, n_H, n_W, n_C)``; output ``(m, n_classes)`` class probabilities. Layers:
    Conv2D(8, 4x4, same) + ReLU, MaxPooling2D(4x4, stride 4, same), Conv2D(16, 2x2, same) +
    ReLU, MaxPooling2D(2x2, stride 2, same), Flatten, Dense(n_classes, softmax).
    """
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape)
    Z1 = layers.Conv2D(8, (4, 4), strides=(1, 1), padding="same")(inputs)
    A1 = layers.ReLU()(Z1)
    P1 = layers.MaxPooling2D(pool_size=(4, 4), strides=(4, 4), padding="same")(A1)
    Z2 = layers.Conv2D(16, (2, 2), strides=(1, 1), padding="same")(P1)
    A2 = layers.ReLU()(Z2)
    P2 = layers.MaxPooling2D(pool_size=(2, 2), strides=(2, 2), padding="same")(A2)
    F = layers.Flatten()(P2)
    outputs = layers.Dense(n_classes, activation="softmax")(F)
    return keras.Model(inputs=inputs, outputs=outputs)


@lru_cache(maxsize=1)
def heldout_faces() -> tuple[np.ndarray, np.ndarray]:
    """The grader's held-out faces: x uint8 (300, 64, 64, 3), y int64 (300,) (1 = happy)."""
    from graders.faces import generate_faces

    x, y = generate_faces(HELDOUT_FACES, seed=HELDOUT_FACES_SEED)
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y
