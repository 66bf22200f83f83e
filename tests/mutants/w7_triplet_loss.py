"""Wrong implementations (mutants) and valid alternatives (variants) for w7_triplet_loss.

TensorFlow is imported inside the functions, so that importing this catalogue stays cheap.
The functions that call other graded functions (the training step calls ``triplet_loss``;
``verify`` and ``who_is_it`` call ``img_to_encoding``) use the reference ones, imported here
under the notebook's names.
"""

from __future__ import annotations

import numpy as np

from solutions.w7_triplet_loss import img_to_encoding, triplet_loss
from tests.mutants import Impl, mutant, variant

ASSIGNMENT = "w7_triplet_loss"


# ---------------------------------------------------------------------------- triplet_loss


@mutant("triplet_loss", "squared distances summed over the batch axis instead of the encoding's")
def loss_wrong_axis(y_true, y_pred, alpha=0.2):
    # Self-contained: the end-to-end "partly wrong" submission may paste this one.
    import tensorflow as tf

    anchor, positive, negative = y_pred[0], y_pred[1], y_pred[2]
    pos_dist = tf.reduce_sum(tf.square(anchor - positive), axis=0)
    neg_dist = tf.reduce_sum(tf.square(anchor - negative), axis=0)
    return tf.reduce_sum(tf.maximum(pos_dist - neg_dist + alpha, 0.0))


def _loss(y_pred, alpha, *, squared=True, max_first=True, sign=1.0, reduce="sum"):
    import tensorflow as tf

    anchor, positive, negative = y_pred[0], y_pred[1], y_pred[2]
    pos_dist = tf.reduce_sum(tf.square(anchor - positive), axis=-1)
    neg_dist = tf.reduce_sum(tf.square(anchor - negative), axis=-1)
    if not squared:
        pos_dist, neg_dist = tf.sqrt(pos_dist), tf.sqrt(neg_dist)
    basic = pos_dist - neg_dist + sign * alpha
    total = tf.reduce_sum if reduce == "sum" else tf.reduce_mean
    if max_first:
        return total(tf.maximum(basic, 0.0))
    return tf.maximum(total(basic), 0.0)


@mutant("triplet_loss", "max taken after the sum over the batch")
def loss_max_after_sum(y_true, y_pred, alpha=0.2):
    return _loss(y_pred, alpha, max_first=False)


@mutant("triplet_loss", "distances where squared distances are specified")
def loss_not_squared(y_true, y_pred, alpha=0.2):
    return _loss(y_pred, alpha, squared=False)


@mutant("triplet_loss", "margin subtracted")
def loss_alpha_subtracted(y_true, y_pred, alpha=0.2):
    return _loss(y_pred, alpha, sign=-1.0)


@mutant("triplet_loss", "mean over the batch instead of the sum")
def loss_mean(y_true, y_pred, alpha=0.2):
    return _loss(y_pred, alpha, reduce="mean")


@mutant("triplet_loss", "the loss computed in numpy (no gradient)")
def loss_numpy(y_true, y_pred, alpha=0.2):
    import tensorflow as tf

    a, p, n = (np.asarray(t) for t in y_pred)
    basic = np.sum((a - p) ** 2, axis=-1) - np.sum((a - n) ** 2, axis=-1) + alpha
    return tf.constant(np.sum(np.maximum(basic, 0.0)), dtype=tf.float32)


@variant("triplet_loss", "tf.square(tf.norm(...)) and tf.nn.relu")
def loss_norm_relu(y_true, y_pred, alpha=0.2):
    import tensorflow as tf

    anchor, positive, negative = y_pred
    pos_dist = tf.square(tf.norm(anchor - positive, axis=1))
    neg_dist = tf.square(tf.norm(anchor - negative, axis=1))
    return tf.reduce_sum(tf.nn.relu(pos_dist - neg_dist + alpha))


@variant("triplet_loss", "an explicit loop over the triplets")
def loss_loop(y_true, y_pred, alpha=0.2):
    import tensorflow as tf

    anchor, positive, negative = y_pred
    total = tf.constant(0.0)
    for i in range(anchor.shape[0]):
        pos = tf.reduce_sum((anchor[i] - positive[i]) ** 2)
        neg = tf.reduce_sum((anchor[i] - negative[i]) ** 2)
        total = total + tf.maximum(pos - neg + alpha, 0.0)
    return total


# ---------------------------------------------------------------------------- triplet_train_step


@mutant("triplet_train_step", "the gradients are computed but never applied")
def step_not_applied(head, optimizer, anchor, positive, negative, alpha=0.2):
    import tensorflow as tf

    with tf.GradientTape() as tape:
        a = head(anchor, training=True)
        p = head(positive, training=True)
        n = head(negative, training=True)
        loss = triplet_loss(None, [a, p, n], alpha)
    tape.gradient(loss, head.trainable_variables)
    return loss


def _step(head, optimizer, anchor, positive, negative, alpha, *, sign=1.0, swap=False):
    import tensorflow as tf

    if swap:
        positive, negative = negative, positive
    with tf.GradientTape() as tape:
        encodings = [head(x, training=True) for x in (anchor, positive, negative)]
        loss = triplet_loss(None, encodings, alpha)
    grads = tape.gradient(loss, head.trainable_variables)
    optimizer.apply_gradients(zip([sign * g for g in grads], head.trainable_variables, strict=True))
    return loss


@mutant("triplet_train_step", "gradient ascent (the gradients' sign flipped)")
def step_ascent(head, optimizer, anchor, positive, negative, alpha=0.2):
    return _step(head, optimizer, anchor, positive, negative, alpha, sign=-1.0)


@mutant("triplet_train_step", "positive and negative swapped")
def step_swapped(head, optimizer, anchor, positive, negative, alpha=0.2):
    return _step(head, optimizer, anchor, positive, negative, alpha, swap=True)


@mutant("triplet_train_step", "the loss of the updated model returned")
def step_loss_after(head, optimizer, anchor, positive, negative, alpha=0.2):
    _step(head, optimizer, anchor, positive, negative, alpha)
    encodings = [head(x) for x in (anchor, positive, negative)]
    return triplet_loss(None, encodings, alpha)


@variant("triplet_train_step", "optimizer.apply and one batched call of the head")
def step_apply_batched(head, optimizer, anchor, positive, negative, alpha=0.2):
    import tensorflow as tf

    m = anchor.shape[0]
    with tf.GradientTape() as tape:
        out = head(tf.concat([anchor, positive, negative], axis=0), training=True)
        loss = triplet_loss(None, (out[:m], out[m : 2 * m], out[2 * m :]), alpha)
    optimizer.apply(tape.gradient(loss, head.trainable_variables), head.trainable_variables)
    return loss


# ---------------------------------------------------------------------------- img_to_encoding


@mutant("img_to_encoding", "pixels not scaled to [0, 1]")
def encoding_unscaled(image, model):
    # Self-contained: the end-to-end "partly wrong" submission may paste this one.
    x = np.expand_dims(np.asarray(image, dtype=np.float32), axis=0)
    return np.asarray(model(x, training=False))


@mutant("img_to_encoding", "no batch axis")
def encoding_no_batch_axis(image, model):
    x = np.asarray(image, dtype=np.float32) / 255.0
    return np.asarray(model(x, training=False))


@mutant("img_to_encoding", "integer division of uint8 pixels")
def encoding_integer_division(image, model):
    x = (np.asarray(image) // 255).astype(np.float32)
    return np.asarray(model(x[np.newaxis], training=False))


@mutant("img_to_encoding", "pixels scaled to [-1, 1]")
def encoding_centred(image, model):
    x = np.asarray(image, dtype=np.float32) / 127.5 - 1.0
    return np.asarray(model(x[np.newaxis], training=False))


@variant("img_to_encoding", "model.predict on a tf.expand_dims batch")
def encoding_predict(image, model):
    import tensorflow as tf

    x = tf.expand_dims(tf.cast(image, tf.float32) / 255.0, 0)
    return model.predict(x, verbose=0)


@variant("img_to_encoding", "float64 scaling, a reshape and model.predict_on_batch")
def encoding_reshape(image, model):
    x = (np.array(image, dtype=np.float64) / 255.0).reshape(1, 64, 64, 3)
    return model.predict_on_batch(x.astype(np.float32))


# ---------------------------------------------------------------------------- verify


@mutant("verify", "door opened when the distance is above the threshold")
def verify_wrong_comparison(image, identity, database, model):
    # Self-contained (apart from img_to_encoding, defined in the notebook): the end-to-end
    # "partly wrong" submission pastes this one.
    encoding = img_to_encoding(image, model)
    dist = np.linalg.norm(encoding - database[identity])
    door_open = dist > 0.7
    return dist, door_open


def _verify(image, identity, database, model, *, distance):
    encoding = img_to_encoding(image, model)
    dist = distance(encoding - database[identity])
    return dist, dist < 0.7


@mutant("verify", "squared distance")
def verify_squared(image, identity, database, model):
    return _verify(image, identity, database, model, distance=lambda v: np.sum(v**2))


@mutant("verify", "L1 distance")
def verify_l1(image, identity, database, model):
    return _verify(image, identity, database, model, distance=lambda v: np.sum(np.abs(v)))


@mutant("verify", "the image encoded without scaling")
def verify_unscaled(image, identity, database, model):
    encoding = np.asarray(model(np.asarray(image, np.float32)[np.newaxis]))
    dist = np.linalg.norm(encoding - database[identity])
    return dist, dist < 0.7


@variant("verify", "tf.norm and a Python bool")
def verify_tf_norm(image, identity, database, model):
    import tensorflow as tf

    encoding = img_to_encoding(image, model)
    dist = float(tf.norm(tf.constant(encoding) - tf.constant(database[identity])))
    return dist, bool(dist < 0.7)


# ---------------------------------------------------------------------------- who_is_it


@mutant("who_is_it", "the farthest identity instead of the nearest")
def who_farthest(image, database, model):
    # Self-contained (apart from img_to_encoding, defined in the notebook): the end-to-end
    # "partly wrong" submission pastes this one.
    encoding = img_to_encoding(image, model)
    max_dist = -1.0
    identity = None
    for name, db_enc in database.items():
        dist = np.linalg.norm(encoding - db_enc)
        if dist > max_dist:
            max_dist = dist
            identity = name
    return max_dist, identity


@mutant("who_is_it", "the distance of the last entry instead of the minimum")
def who_last_distance(image, database, model):
    encoding = img_to_encoding(image, model)
    min_dist, identity, dist = 100.0, None, 100.0
    for name, db_enc in database.items():
        dist = np.linalg.norm(encoding - db_enc)
        if dist < min_dist:
            min_dist = dist
            identity = name
    return dist, identity


@mutant("who_is_it", "squared distance")
def who_squared(image, database, model):
    encoding = img_to_encoding(image, model)
    dists = {name: float(np.sum((encoding - e) ** 2)) for name, e in database.items()}
    identity = min(dists, key=dists.get)
    return dists[identity], identity


@mutant("who_is_it", "the name of the last entry checked")
def who_last_name(image, database, model):
    encoding = img_to_encoding(image, model)
    min_dist, identity = 100.0, None
    for name, db_enc in database.items():
        dist = np.linalg.norm(encoding - db_enc)
        min_dist = min(min_dist, dist)
        identity = name
    return min_dist, identity


@variant("who_is_it", "vectorised: stacked encodings and np.argmin")
def who_vectorised(image, database, model):
    names = list(database)
    stacked = np.concatenate([database[n] for n in names], axis=0)
    dists = np.linalg.norm(stacked - img_to_encoding(image, model), axis=1)
    best = int(np.argmin(dists))
    return dists[best], names[best]


IMPLEMENTATIONS: list[Impl] = [v for v in list(globals().values()) if isinstance(v, Impl)]
