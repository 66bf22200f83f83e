"""Reference solutions for w7_triplet_loss: the triplet loss, a training step that uses it,
and face verification and recognition with the pretrained encoder of :mod:`graders.pretrain`.

TensorFlow is imported inside the functions, so that importing this module stays cheap.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Distance below which two encodings are taken to show the same person.
THRESHOLD = 0.7


def triplet_loss(y_true: Any, y_pred: Any, alpha: float = 0.2) -> Any:
    """The triplet loss, summed over the batch.

    Arguments:
        y_true: unused (Keras passes the labels; a triplet loss needs none).
        y_pred: a list or tuple of three tensors of shape (m, d): the encodings of the
            anchors, the positives (same person as the anchor) and the negatives (another
            person).
        alpha: the margin.
    Returns:
        loss: a scalar tensor, sum over the m triplets of
            max(||a - p||^2 - ||a - n||^2 + alpha, 0).
    """
    import tensorflow as tf

    anchor, positive, negative = y_pred[0], y_pred[1], y_pred[2]
    pos_dist = tf.reduce_sum(tf.square(tf.subtract(anchor, positive)), axis=-1)
    neg_dist = tf.reduce_sum(tf.square(tf.subtract(anchor, negative)), axis=-1)
    basic_loss = pos_dist - neg_dist + alpha
    return tf.reduce_sum(tf.maximum(basic_loss, 0.0))


def triplet_train_step(
    head: Any, optimizer: Any, anchor: Any, positive: Any, negative: Any, alpha: float = 0.2
) -> Any:
    """One step of gradient descent on the triplet loss of an embedding model.

    Arguments:
        head: a Keras model mapping inputs (m, n_in) to encodings (m, d).
        optimizer: a Keras optimizer.
        anchor, positive, negative: inputs of shape (m, n_in).
        alpha: the margin of the triplet loss.
    Returns:
        loss: the triplet loss (a scalar tensor) of the batch, computed before the update.
    """
    import tensorflow as tf

    with tf.GradientTape() as tape:
        encodings = [head(anchor, training=True), head(positive, training=True)]
        encodings.append(head(negative, training=True))
        loss = triplet_loss(None, encodings, alpha)
    grads = tape.gradient(loss, head.trainable_variables)
    optimizer.apply_gradients(zip(grads, head.trainable_variables, strict=True))
    return loss


def img_to_encoding(image: np.ndarray, model: Any) -> np.ndarray:
    """The encoding of one face.

    Arguments:
        image: one face of shape (64, 64, 3), pixel values 0..255 (uint8 or float).
        model: the encoder, mapping (m, 64, 64, 3) float32 pixels in [0, 1] to unit-norm
            encodings (m, d).
    Returns:
        encoding: a numpy array of shape (1, d).
    """
    x = np.asarray(image, dtype=np.float32) / 255.0
    x = np.expand_dims(x, axis=0)
    return np.asarray(model(x, training=False))


def verify(
    image: np.ndarray, identity: str, database: dict[str, np.ndarray], model: Any
) -> tuple[float, bool]:
    """Does the face show the person it claims to be?

    Arguments:
        image: the face at the door, (64, 64, 3), pixels 0..255.
        identity: the name the person claims.
        database: name -> encoding of shape (1, d).
        model: the encoder.
    Returns:
        dist: the distance ||encoding(image) - database[identity]||.
        door_open: True when dist < THRESHOLD.
    """
    encoding = img_to_encoding(image, model)
    dist = float(np.linalg.norm(encoding - database[identity]))
    door_open = dist < THRESHOLD
    if door_open:
        print(f"It's {identity}, welcome in!")
    else:
        print(f"It's not {identity}, please go away.")
    return dist, door_open


def who_is_it(
    image: np.ndarray, database: dict[str, np.ndarray], model: Any
) -> tuple[float, str | None]:
    """Who, in the database, is the face closest to?

    Arguments:
        image: a face, (64, 64, 3), pixels 0..255.
        database: name -> encoding of shape (1, d).
        model: the encoder.
    Returns:
        min_dist: the smallest distance between the face's encoding and a database encoding.
        identity: the name with that distance.
    """
    encoding = img_to_encoding(image, model)
    min_dist = 100.0
    identity = None
    for name, db_enc in database.items():
        dist = float(np.linalg.norm(encoding - db_enc))
        if dist < min_dist:
            min_dist = dist
            identity = name
    if min_dist > THRESHOLD:
        print("Not in the database.")
    else:
        print(f"It's {identity}, the distance is {min_dist:.3f}")
    return min_dist, identity
