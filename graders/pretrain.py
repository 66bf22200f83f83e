"""The course's shipped weights: the face encoder of w7_triplet_loss (architecture, pretraining,
loader) and the MobileNetV2 base of w6_transfer_learning (pretraining; the notebook loads it
with ``keras.applications.MobileNetV2(..., weights=MOBILENET_WEIGHTS_PATH)``).

Face encoder.

The encoder is a small convolutional network that maps a face, ``(m, 64, 64, 3)`` pixels
scaled to ``[0, 1]``, to an L2-normalised encoding ``(m, 64)``. It is pretrained by this
project, with the triplet loss, on synthetic identities drawn by :mod:`graders.faces` (seeds
below; nothing is downloaded), and the weights are committed as
``graders/weights/face_encoder.weights.h5``. Regenerate them with one command::

    python -m graders.pretrain face_encoder [--out PATH]
    python -m graders.pretrain mobilenet [--out PATH]

Training: batches of ``P`` identities times ``K`` views; every (anchor, positive, negative)
triplet of a batch counts, and the loss is the mean triplet loss over the triplets whose loss
is positive (batch-all mining, squared distances, margin ``alpha``); Adam. Deterministic where
TensorFlow allows (seeded, op determinism on).

:func:`load_face_encoder` builds the architecture and loads the committed weights through
``model.load_weights``.

MobileNetV2 base. The real ``keras.applications.MobileNetV2`` architecture, width
``alpha=0.35``, input ``(64, 64, 3)``, ``include_top=False``, pretrained as a 10-way
classifier of the shapes of :data:`graders.shapes.SOURCE_SHAPES` (20,000 generated images;
``Rescaling(1 / 127.5, offset=-1)``, the base, global average pooling and a dense layer of
logits; Adam, 8 epochs). Only the base's weights are saved
(``graders/weights/mobilenet_v2_shapes.weights.h5``). During pretraining the base's batch
normalisations use momentum 0.9 instead of Keras's 0.999, so that their moving statistics
follow the training (momentum is not part of the weights file).

TensorFlow and Keras are imported inside the functions.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

#: Where the committed weights live (inside the installed package).
WEIGHTS_PATH = Path(__file__).resolve().parent / "weights" / "face_encoder.weights.h5"
#: Image side in pixels and encoding size.
IMAGE_SIZE = 64
ENCODING_SIZE = 64
#: Seeds of the pretraining identities and of the pretraining's own validation identities.
#: The graded checks use other seeds (see graders/cases/w7_triplet_loss.py).
TRAIN_FACES_SEED = 7_001
VALIDATION_FACES_SEED = 7_002
#: Distance below which two encodings are taken to show the same person.
VERIFY_THRESHOLD = 0.7

#: Where the committed MobileNetV2 base lives, and its width.
MOBILENET_WEIGHTS_PATH = (
    Path(__file__).resolve().parent / "weights" / "mobilenet_v2_shapes.weights.h5"
)
MOBILENET_ALPHA = 0.35
#: Seeds of the base's pretraining images and of its validation images.
SHAPES_TRAIN_SEED = 6_101
SHAPES_VALIDATION_SEED = 6_102


def build_face_encoder(encoding_size: int = ENCODING_SIZE) -> Any:
    """The encoder's architecture, with fresh weights.

    Input ``(m, 64, 64, 3)`` float32 pixels in ``[0, 1]``; output ``(m, encoding_size)``
    encodings of unit L2 norm. Four 3x3 convolutions with ReLU (the first of stride 2, each
    other followed by 2x2 max pooling), flatten, a dense layer, batch normalisation (which
    centres the encodings, so that they do not all start out pointing the same way), L2
    normalisation.
    """
    import keras
    from keras import layers

    inputs = keras.Input(shape=(IMAGE_SIZE, IMAGE_SIZE, 3), name="face")
    x = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(inputs)
    for filters in (32, 64, 64):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(encoding_size)(x)
    x = layers.BatchNormalization()(x)
    outputs = layers.UnitNormalization(axis=-1)(x)
    return keras.Model(inputs, outputs, name="face_encoder")


def preprocess(images: np.ndarray) -> np.ndarray:
    """Pixels 0..255, ``(m, 64, 64, 3)`` (any numeric dtype), to float32 in ``[0, 1]``."""
    return np.asarray(images, dtype=np.float32) / np.float32(255.0)


def encode_batch(model: Any, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Encodings ``(m, d)`` float32 of faces ``(m, 64, 64, 3)`` with pixels 0..255."""
    x = preprocess(images)
    parts = [
        np.asarray(model(x[i : i + batch_size], training=False))
        for i in range(0, len(x), batch_size)
    ]
    return np.concatenate(parts, axis=0) if parts else np.zeros((0, ENCODING_SIZE), np.float32)


def verification_accuracy(
    encodings: np.ndarray, identity_ids: np.ndarray, threshold: float = VERIFY_THRESHOLD
) -> float:
    """Accuracy of "same person iff distance < threshold" over every pair of ``encodings``
    ``(m, d)``, positive and negative pairs weighted equally."""
    dist = np.sqrt(np.maximum(_pairwise_sq(encodings), 0.0))
    same = identity_ids[:, None] == identity_ids[None, :]
    upper = np.triu(np.ones_like(same), k=1)
    positives = dist[same & upper]
    negatives = dist[~same & upper]
    return float(0.5 * np.mean(positives < threshold) + 0.5 * np.mean(negatives >= threshold))


def _pairwise_sq(e: np.ndarray) -> np.ndarray:
    sq = np.sum(e * e, axis=1)
    return sq[:, None] - 2.0 * e @ e.T + sq[None, :]


def _batch_all_loss(tf: Any, emb: Any, labels: Any, alpha: float) -> Any:
    """Mean of max(||a - p||^2 - ||a - n||^2 + alpha, 0) over the batch's triplets whose loss
    is positive; ``emb`` (m, d), ``labels`` (m,)."""
    sq = tf.reduce_sum(emb * emb, axis=1)
    dist = sq[:, None] - 2.0 * tf.matmul(emb, emb, transpose_b=True) + sq[None, :]
    dist = tf.maximum(dist, 0.0)
    same = tf.equal(labels[:, None], labels[None, :])
    eye = tf.eye(tf.shape(labels)[0], dtype=tf.bool)
    pos_mask = tf.cast(tf.logical_and(same, tf.logical_not(eye)), tf.float32)
    neg_mask = tf.cast(tf.logical_not(same), tf.float32)
    valid = pos_mask[:, :, None] * neg_mask[:, None, :]
    losses = tf.maximum(dist[:, :, None] - dist[:, None, :] + alpha, 0.0) * valid
    active = tf.reduce_sum(tf.cast(losses > 1e-9, tf.float32))
    return tf.reduce_sum(losses) / tf.maximum(active, 1.0)


def _train(
    seed: int,
    *,
    n_identities: int,
    per_identity: int,
    steps: int,
    identities_per_batch: int,
    views_per_batch: int,
    learning_rate: float,
    alpha: float,
    verbose: bool,
) -> tuple[Any, list[float], float]:
    """The training loop of :func:`pretrain_face_encoder`: (model, losses, seconds)."""
    import keras
    import tensorflow as tf

    from graders.faces import generate_identity_faces

    keras.utils.set_random_seed(seed)
    start = time.perf_counter()
    train_x, train_ids = generate_identity_faces(n_identities, per_identity, TRAIN_FACES_SEED)
    train_x = preprocess(train_x)
    model = build_face_encoder()
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    rng = np.random.default_rng(seed)

    @tf.function
    def step(x: Any, labels: Any) -> Any:
        with tf.GradientTape() as tape:
            loss = _batch_all_loss(tf, model(x, training=True), labels, alpha)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply(grads, model.trainable_variables)
        return loss

    losses = []
    for i in range(steps):
        people = rng.choice(n_identities, size=identities_per_batch, replace=False)
        views = np.stack(
            [rng.choice(per_identity, size=views_per_batch, replace=False) for _ in people]
        )
        index = (people[:, None] * per_identity + views).reshape(-1)
        losses.append(float(step(tf.constant(train_x[index]), tf.constant(train_ids[index]))))
        if verbose and (i + 1) % 100 == 0:
            print(f"step {i + 1}/{steps}: loss {np.mean(losses[-100:]):.4f}", flush=True)
    return model, losses, time.perf_counter() - start


def pretrain_face_encoder(
    out_path: str | Path = WEIGHTS_PATH,
    seed: int = 0,
    *,
    n_identities: int = 400,
    per_identity: int = 8,
    steps: int = 1500,
    identities_per_batch: int = 16,
    views_per_batch: int = 4,
    learning_rate: float = 1e-3,
    alpha: float = 0.2,
    validation_identities: int = 50,
    verbose: bool = True,
) -> dict[str, float]:
    """Pretrain the encoder with the triplet loss and save its weights to ``out_path``.

    Args:
        out_path: the ``.weights.h5`` file to write.
        seed: seed of the initialisation and of the batch order.
        n_identities, per_identity: the training faces (``n_identities * per_identity``
            images of ``(64, 64, 3)``, from :data:`TRAIN_FACES_SEED`).
        steps: optimisation steps; each sees ``identities_per_batch * views_per_batch``
            faces.
        learning_rate, alpha: Adam's step size and the triplet loss's margin.
        validation_identities: identities (8 views each, from :data:`VALIDATION_FACES_SEED`)
            on which the final verification accuracy is measured.
        verbose: print progress and the figures.
    Returns:
        figures: ``seconds`` (data generation and training), ``final_loss`` (mean of the last
        50 steps), ``verification_accuracy`` (validation pairs, threshold :data:`VERIFY_THRESHOLD`),
        ``positive_distance`` and ``negative_distance`` (their means).
    """
    import tensorflow as tf
    from tensorflow.python.framework import config as tf_config

    from graders.faces import generate_identity_faces

    # Op determinism is process-wide: it is switched back off afterwards when it was off.
    was_deterministic = tf_config.is_op_determinism_enabled()
    tf.config.experimental.enable_op_determinism()
    try:
        model, losses, seconds = _train(
            seed,
            n_identities=n_identities,
            per_identity=per_identity,
            steps=steps,
            identities_per_batch=identities_per_batch,
            views_per_batch=views_per_batch,
            learning_rate=learning_rate,
            alpha=alpha,
            verbose=verbose,
        )
    finally:
        if not was_deterministic:
            tf_config.disable_op_determinism()

    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    model.save_weights(out_path)

    val_x, val_ids = generate_identity_faces(validation_identities, 8, VALIDATION_FACES_SEED)
    enc = encode_batch(model, val_x)
    dist = np.sqrt(np.maximum(_pairwise_sq(enc), 0.0))
    same = val_ids[:, None] == val_ids[None, :]
    upper = np.triu(np.ones_like(same), k=1)
    figures = {
        "seconds": round(seconds, 1),
        "final_loss": float(np.mean(losses[-50:])),
        "verification_accuracy": verification_accuracy(enc, val_ids),
        "positive_distance": float(np.mean(dist[same & upper])),
        "negative_distance": float(np.mean(dist[~same & upper])),
    }
    if verbose:
        print(", ".join(f"{k}: {v:.4g}" for k, v in figures.items()), flush=True)
    return figures


def pretrain_mobilenet(
    out_path: str | Path = MOBILENET_WEIGHTS_PATH,
    seed: int = 0,
    *,
    n_images: int = 20_000,
    epochs: int = 8,
    batch_size: int = 64,
    learning_rate: float = 2e-3,
    validation_images: int = 1_000,
    verbose: bool = True,
) -> dict[str, float]:
    """Pretrain the MobileNetV2 base on the shapes and save its weights to ``out_path``.

    Args:
        out_path: the ``.weights.h5`` file to write (the base without its top).
        seed: seed of the initialisation and of the batch order.
        n_images: training images ``(64, 64, 3)`` from :data:`SHAPES_TRAIN_SEED`.
        epochs, batch_size, learning_rate: the training (Adam).
        validation_images: images from :data:`SHAPES_VALIDATION_SEED` for the final accuracy.
        verbose: print progress and the figures.
    Returns:
        figures: ``seconds`` (data generation and training), ``train_accuracy`` (last
        epoch), ``validation_accuracy`` (inference mode, 10 classes).
    """
    import keras
    import tensorflow as tf
    from tensorflow.python.framework import config as tf_config

    from graders.shapes import IMAGE_SHAPE, SOURCE_SHAPES, generate_shapes

    was_deterministic = tf_config.is_op_determinism_enabled()
    tf.config.experimental.enable_op_determinism()
    try:
        keras.utils.set_random_seed(seed)
        start = time.perf_counter()
        x, y = generate_shapes(n_images, SHAPES_TRAIN_SEED)
        base = keras.applications.MobileNetV2(
            input_shape=IMAGE_SHAPE, alpha=MOBILENET_ALPHA, include_top=False, weights=None
        )
        for layer in base.layers:
            if type(layer).__name__ == "BatchNormalization":
                layer.momentum = 0.9
        inputs = keras.Input(shape=IMAGE_SHAPE)
        h = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0)(inputs)
        h = keras.layers.GlobalAveragePooling2D()(base(h))
        model = keras.Model(inputs, keras.layers.Dense(len(SOURCE_SHAPES))(h))
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        history = model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=2 if verbose else 0)
        seconds = time.perf_counter() - start
        val_x, val_y = generate_shapes(validation_images, SHAPES_VALIDATION_SEED)
        logits = model.predict(val_x, batch_size=256, verbose=0)
    finally:
        if not was_deterministic:
            tf_config.disable_op_determinism()
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    base.save_weights(out_path)
    figures = {
        "seconds": round(seconds, 1),
        "train_accuracy": float(history.history["accuracy"][-1]),
        "validation_accuracy": float(np.mean(np.argmax(logits, axis=1) == val_y)),
    }
    if verbose:
        print(", ".join(f"{k}: {v:.4g}" for k, v in figures.items()), flush=True)
    return figures


@lru_cache(maxsize=1)
def load_face_encoder(path: str | None = None) -> Any:
    """The pretrained encoder: :func:`build_face_encoder` with the committed weights (or those
    at ``path``) loaded through ``model.load_weights``. Built once per process.

    Input ``(m, 64, 64, 3)`` float32 in ``[0, 1]``; output ``(m, 64)`` unit-norm encodings.
    """
    model = build_face_encoder()
    model.load_weights(str(path or WEIGHTS_PATH))
    model.trainable = False
    return model


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m graders.pretrain face_encoder|mobilenet [--out PATH] [--seed N]``."""
    parser = argparse.ArgumentParser(
        prog="python -m graders.pretrain", description="Pretrain the course's shipped weights."
    )
    parser.add_argument("what", choices=["face_encoder", "mobilenet"], help="what to pretrain")
    parser.add_argument("--out", default=None, help="the weights file to write")
    parser.add_argument("--seed", type=int, default=0, help="the training seed")
    parser.add_argument("--steps", type=int, default=None, help="optimisation steps (face_encoder)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs (mobilenet)")
    args = parser.parse_args(argv)
    if args.what == "face_encoder":
        out = args.out or str(WEIGHTS_PATH)
        options = {} if args.steps is None else {"steps": args.steps}
        pretrain_face_encoder(out, seed=args.seed, **options)
    else:
        out = args.out or str(MOBILENET_WEIGHTS_PATH)
        options = {} if args.epochs is None else {"epochs": args.epochs}
        pretrain_mobilenet(out, seed=args.seed, **options)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
