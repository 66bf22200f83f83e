"""The face encoder of w7_triplet_loss: its architecture, its pretraining and its loader.

The encoder is a small convolutional network that maps a face, ``(m, 64, 64, 3)`` pixels
scaled to ``[0, 1]``, to an L2-normalised encoding ``(m, 64)``. It is pretrained by this
project, with the triplet loss, on synthetic identities drawn by :mod:`graders.faces` (seeds
below; nothing is downloaded), and the weights are committed as
``graders/weights/face_encoder.weights.h5``. Regenerate them with one command::

    python -m graders.pretrain face_encoder [--out PATH]

Training: batches of ``P`` identities times ``K`` views; every (anchor, positive, negative)
triplet of a batch counts, and the loss is the mean triplet loss over the triplets whose loss
is positive (batch-all mining, squared distances, margin ``alpha``); Adam. Deterministic where
TensorFlow allows (seeded, op determinism on).

:func:`load_face_encoder` builds the architecture and loads the committed weights through
``model.load_weights``. TensorFlow and Keras are imported inside the functions.
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
    """``python -m graders.pretrain face_encoder [--out PATH] [--seed N]``."""
    parser = argparse.ArgumentParser(
        prog="python -m graders.pretrain", description="Pretrain the course's shipped weights."
    )
    parser.add_argument("what", choices=["face_encoder"], help="what to pretrain")
    parser.add_argument("--out", default=str(WEIGHTS_PATH), help="the weights file to write")
    parser.add_argument("--seed", type=int, default=0, help="the training seed")
    parser.add_argument("--steps", type=int, default=None, help="optimisation steps")
    args = parser.parse_args(argv)
    options = {} if args.steps is None else {"steps": args.steps}
    pretrain_face_encoder(args.out, seed=args.seed, **options)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
