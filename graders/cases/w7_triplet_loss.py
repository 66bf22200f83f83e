"""Hidden-check inputs for w7_triplet_loss (no answers here: references are in solutions/).

Design notes, by function:

- ``triplet_loss`` (values): random batches of several sizes and encoding widths, margins
  0.2, 0.5 and 0 (zero margin), a batch where every negative is far (loss exactly 0), and a
  batch where some triplets are active and some not (so taking the max after the sum, a mean,
  a missing square or a subtracted margin show). Inputs cross as float32 tensors.
- ``triplet_loss`` (gradients): the gradients of the loss with respect to the three inputs,
  taken with ``tf.GradientTape`` in the check's run, compared with the reference's (a mean
  instead of a sum, or a wrong sign, shows even where the values agree). No triplet sits on
  the kink of the max, and no anchor equals its positive or negative.
- ``triplet_train_step``: a small seeded head (Dense + L2 normalisation) trained for a few
  SGD steps on structured triplets with the student's step and the student's loss; the losses
  and the final weights are compared with the reference's, and the trusted side checks, with
  the reference loss on the returned weights, that the loss went down by a margin.
- ``img_to_encoding``: generated faces as uint8 and as float64 pixels 0..255, encoded by the
  shipped encoder (:func:`graders.pretrain.load_face_encoder`); compared with the reference's
  encodings, so a missing scaling or a missing batch axis shows.
- ``verify`` / ``who_is_it`` (values): a small database of generated people (encoded by the
  check itself with :func:`graders.pretrain.encode_batch`), queries of the same and of other
  people; the distances and the decisions / names are compared with the reference's.
- ``verify`` / ``who_is_it`` (accuracy): held-out identities generated from seeds drawn from
  the check's generator (128-bit draws, not constants written here), asked in an order drawn
  from it too; the kernel reports only the decisions and the names; the trusted side rebuilds
  the truth from the layout of the cases (who is in which picture) and measures the accuracy.
  The kernel must see these faces (the student's code runs on them), so what keeps them from
  being prepared in advance is that the seeds are not constants: once ``Check.cases()`` mixes
  a per-submission secret into its generator (inputs are per submission: docs/architecture.md),
  every submission gets identities no one saw before; the order keeps a recogniser that counts
  its calls (true for the first half, false after) from passing.
"""

from __future__ import annotations

import contextlib
import io
from types import ModuleType
from typing import Any

import numpy as np

from graders.cases import Check, register

ASSIGNMENT = "w7_triplet_loss"

#: Accuracy the reference reaches on the held-out identities is printed by the tests
#: (tests/test_solutions_w7.py); these thresholds leave margin below it.
VERIFY_ACCURACY_THRESHOLD = 0.80
IDENTIFY_ACCURACY_THRESHOLD = 0.85
#: Number of cases of the accuracy checks, and of held-out identities in each.
ACCURACY_CASES = 2
ACCURACY_IDENTITIES = 20
#: The training-step check: SGD steps, learning rate, and the drop the loss must show.
TRAIN_STEPS = 10
TRAIN_LEARNING_RATE = 0.005
TRAIN_LOSS_RATIO = 0.8


def _name(i: int) -> str:
    return f"person_{i:02d}"


# ---------------------------------------------------------------------------- triplet_loss


def _as_tensors(case: dict[str, Any]) -> tuple[Any, list[Any]]:
    import tensorflow as tf

    return tf, [tf.constant(case[k], dtype=tf.float32) for k in ("anchor", "positive", "negative")]


def _run_loss(case: dict[str, Any], triplet_loss: Any) -> float:
    _, y_pred = _as_tensors(case)
    return float(np.asarray(triplet_loss(None, y_pred, case["alpha"])))


def _run_loss_gradients(case: dict[str, Any], triplet_loss: Any) -> list[np.ndarray]:
    tf, y_pred = _as_tensors(case)
    with tf.GradientTape() as tape:
        for t in y_pred:
            tape.watch(t)
        loss = triplet_loss(None, y_pred, case["alpha"])
    grads = tape.gradient(loss, y_pred)
    return [
        np.zeros(t.shape, np.float32) if g is None else np.asarray(g)
        for t, g in zip(y_pred, grads, strict=True)
    ]


def _triplets(
    rng: np.random.Generator, m: int, d: int, alpha: float, spread: float = 1.0
) -> dict[str, Any]:
    anchor = rng.normal(size=(m, d))
    positive = anchor + spread * rng.normal(size=(m, d))
    negative = anchor + spread * rng.normal(size=(m, d))
    return {
        "anchor": anchor.astype(np.float32),
        "positive": positive.astype(np.float32),
        "negative": negative.astype(np.float32),
        "alpha": alpha,
    }


def _loss_value_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    cases = [
        _triplets(rng, 1, 4, 0.2),
        _triplets(rng, 3, 8, 0.2),
        _triplets(rng, 10, 64, 0.5),
        _triplets(rng, 32, 128, 0.2, spread=0.1),
        _triplets(rng, 6, 16, 0.0),
    ]
    # Every negative far away: each triplet's loss is 0, so the sum is 0.
    far = _triplets(rng, 5, 8, 0.2, spread=0.1)
    far["negative"] = far["anchor"] + np.float32(10.0)
    cases.append(far)
    # Half the triplets active, half not: the max must be taken per triplet.
    mixed = _triplets(rng, 8, 8, 0.2, spread=0.2)
    mixed["negative"][::2] = mixed["anchor"][::2] + np.float32(3.0)
    cases.append(mixed)
    return cases


def _loss_gradient_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    mixed = _triplets(rng, 8, 8, 0.2, spread=0.5)
    mixed["negative"][1::2] = mixed["anchor"][1::2] + np.float32(3.0)
    return [_triplets(rng, 4, 8, 0.2), _triplets(rng, 16, 32, 0.5), mixed]


# ---------------------------------------------------------------------------- training step


def make_head(n_in: int, d: int, seed: int) -> Any:
    """The small embedding head of the training-step check: inputs ``(m, n_in)`` ->
    ``Dense(d)`` -> L2 normalisation -> encodings ``(m, d)``, seeded."""
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(shape=(n_in,)),
            layers.Dense(d, kernel_initializer=keras.initializers.GlorotUniform(seed=seed)),
            layers.UnitNormalization(axis=-1),
        ]
    )


def _train_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    """Triplets of inputs (m, n_in): anchors and positives share a centre (a "person"),
    negatives come from another centre."""
    cases = []
    for m, n_in, d, seed in [(16, 12, 8, 3), (24, 20, 6, 5)]:
        centres = rng.normal(size=(6, n_in))
        who = rng.integers(0, 6, size=m)
        other = (who + rng.integers(1, 6, size=m)) % 6
        noise = 1.5
        cases.append(
            {
                "anchor": (centres[who] + noise * rng.normal(size=(m, n_in))).astype(np.float32),
                "positive": (centres[who] + noise * rng.normal(size=(m, n_in))).astype(np.float32),
                "negative": (centres[other] + noise * rng.normal(size=(m, n_in))).astype(
                    np.float32
                ),
                "d": d,
                "seed": seed,
            }
        )
    return cases


@contextlib.contextmanager
def _with_global(function: Any, name: str, value: Any) -> Any:
    """``function`` sees ``value`` as its global ``name`` while the block runs. The step
    calls ``triplet_loss`` by name; the check hands it the loss it was given (in a notebook
    the same object; elsewhere, a loss substituted for the one next to the step)."""
    namespace = getattr(function, "__globals__", None)
    if not isinstance(namespace, dict) or name not in namespace:
        yield
        return
    saved = namespace[name]
    namespace[name] = value
    try:
        yield
    finally:
        namespace[name] = saved


def _run_train(case: dict[str, Any], triplet_train_step: Any, triplet_loss: Any) -> dict[str, Any]:
    import keras

    head = make_head(case["anchor"].shape[1], case["d"], case["seed"])
    optimizer = keras.optimizers.SGD(learning_rate=TRAIN_LEARNING_RATE)
    losses = []
    with _with_global(triplet_train_step, "triplet_loss", triplet_loss):
        for _ in range(TRAIN_STEPS):
            loss = triplet_train_step(
                head, optimizer, case["anchor"], case["positive"], case["negative"]
            )
            losses.append(float(np.asarray(loss)))
    kernel, bias = head.layers[0].get_weights()
    return {"losses": np.array(losses), "kernel": np.asarray(kernel), "bias": np.asarray(bias)}


def _verify_train(got: Any, expected: Any, case: Any, reference: ModuleType) -> list[str]:
    """The loss of the returned weights, computed with the reference loss, must be at most
    TRAIN_LOSS_RATIO times the loss of the initial weights."""
    import tensorflow as tf

    if not isinstance(got, dict) or "kernel" not in got or "bias" not in got:
        return ["the record holds no trained weights"]
    head = make_head(case["anchor"].shape[1], case["d"], case["seed"])

    def loss_now() -> float:
        enc = [head(tf.constant(case[k])) for k in ("anchor", "positive", "negative")]
        return float(np.asarray(reference.triplet_loss(None, enc)))

    before = loss_now()
    try:
        head.layers[0].set_weights(
            [np.asarray(got["kernel"], np.float32), np.asarray(got["bias"], np.float32)]
        )
    except ValueError:
        return ["the trained weights do not have the head's shapes"]
    after = loss_now()
    if after <= TRAIN_LOSS_RATIO * before:
        return []
    return [
        f"after {TRAIN_STEPS} steps the triplet loss went from {before:.4f} to {after:.4f}; "
        f"it must fall to at most {TRAIN_LOSS_RATIO:.0%} of its first value"
    ]


# ---------------------------------------------------------------------------- encodings


def _faces(n_identities: int, per_identity: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from graders.faces import generate_identity_faces

    return generate_identity_faces(n_identities, per_identity, seed)


def _encoding_cases(rng: np.random.Generator) -> list[tuple]:
    x, _ = _faces(3, 1, int(rng.integers(2**31)))
    return [(x[0],), (x[1].astype(np.float64),), (x[2],)]


def _run_encoding(case: tuple, img_to_encoding: Any) -> np.ndarray:
    from graders.pretrain import load_face_encoder

    return np.asarray(img_to_encoding(case[0], load_face_encoder()))


def _database(gallery: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Encodings ``(1, d)`` of the gallery's faces, made by the check (not by student code)."""
    from graders.pretrain import encode_batch, load_face_encoder

    model = load_face_encoder()
    names = list(gallery)
    encodings = encode_batch(model, np.stack([gallery[n] for n in names]))
    return {n: encodings[i : i + 1] for i, n in enumerate(names)}


def _query_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    """A gallery of 5 people (one picture each) and queries: (picture, claimed name)."""
    x, _ = _faces(6, 3, int(rng.integers(2**31)))
    gallery = {_name(i): x[3 * i] for i in range(5)}
    queries = [
        (x[1], _name(0)),  # person 0, claims to be 0
        (x[4], _name(1)),
        (x[2], _name(3)),  # person 0, claims to be 3
        (x[10], _name(2)),  # person 3, claims to be 2
        (x[13], _name(4)),
        (x[16], _name(1)),  # person 5 (not in the gallery)
        (x[8].astype(np.float64), _name(2)),
    ]
    return [{"image": img, "identity": who, "gallery": gallery} for img, who in queries]


def _quiet() -> contextlib.redirect_stdout:
    """Silence what verify / who_is_it print (a welcome per query), to keep records short."""
    return contextlib.redirect_stdout(io.StringIO())


def _run_verify(case: dict[str, Any], verify: Any) -> tuple[float, bool]:
    from graders.pretrain import load_face_encoder

    database, model = _database(case["gallery"]), load_face_encoder()
    with _quiet():
        dist, door_open = verify(case["image"], case["identity"], database, model)
    return float(np.asarray(dist)), bool(door_open)


def _run_who_is_it(case: dict[str, Any], who_is_it: Any) -> tuple[float, str]:
    from graders.pretrain import load_face_encoder

    database, model = _database(case["gallery"]), load_face_encoder()
    with _quiet():
        min_dist, identity = who_is_it(case["image"], database, model)
    return float(np.asarray(min_dist)), str(identity)


def _accuracy_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    """``{"seed": 128-bit int, "n": ACCURACY_IDENTITIES, "order": (2n,) permutation}``, drawn
    from ``rng`` (see the notes above)."""
    n = ACCURACY_IDENTITIES
    return [
        {
            "seed": int.from_bytes(rng.bytes(16), "little"),
            "n": n,
            "order": rng.permutation(2 * n),
        }
        for _ in range(ACCURACY_CASES)
    ]


def _accuracy_faces(case: dict[str, Any]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Three pictures of each of ``n`` people: the first goes to the gallery, the others are
    queries. Returns the gallery and the queries ``(2n, 64, 64, 3)``: picture 1 of every
    person, then picture 2 of every person, in the case's order."""
    x, _ = _faces(case["n"], 3, case["seed"])
    gallery = {_name(i): x[3 * i] for i in range(case["n"])}
    queries = np.concatenate([x[1::3], x[2::3]])
    return gallery, queries[case["order"]]


def verify_truth(case: dict[str, Any]) -> tuple[list[str], np.ndarray]:
    """The claims of the verification accuracy check and whether each is true, in the case's
    order: picture 1 of person i claims to be person i (true); picture 2 of person i claims to
    be person i + 1 (false)."""
    n, order = case["n"], case["order"]
    claims = [_name(i) for i in range(n)] + [_name((i + 1) % n) for i in range(n)]
    truth = np.array([True] * n + [False] * n)
    return [claims[k] for k in order], truth[order]


def identify_truth(case: dict[str, Any]) -> list[str]:
    """Who is in each query of the identification accuracy check, in the case's order."""
    names = [_name(i) for i in range(case["n"])] * 2
    return [names[k] for k in case["order"]]


def _run_verify_accuracy(case: dict[str, Any], verify: Any) -> list[bool]:
    from graders.pretrain import load_face_encoder

    model = load_face_encoder()
    gallery, queries = _accuracy_faces(case)
    database = _database(gallery)
    claims, _ = verify_truth(case)
    with _quiet():
        return [
            bool(verify(img, who, database, model)[1])
            for img, who in zip(queries, claims, strict=True)
        ]


def _run_identify_accuracy(case: dict[str, Any], who_is_it: Any) -> list[str]:
    from graders.pretrain import load_face_encoder

    model = load_face_encoder()
    gallery, queries = _accuracy_faces(case)
    database = _database(gallery)
    with _quiet():
        return [str(who_is_it(img, database, model)[1]) for img in queries]


def _accuracy_problems(got: Any, truth: list[Any], what: str, threshold: float) -> list[str]:
    if not isinstance(got, (list, tuple)) or len(got) != len(truth):
        return [f"expected {len(truth)} {what}"]
    accuracy = float(np.mean([g == t for g, t in zip(got, truth, strict=True)]))
    if accuracy >= threshold:
        return []
    return [f"{accuracy:.1%} of the {what} are right; at least {threshold:.0%} is required"]


def _verify_verify_accuracy(got: Any, expected: Any, case: Any, reference: ModuleType) -> list[str]:
    _, truth = verify_truth(case)
    return _accuracy_problems(got, [bool(t) for t in truth], "decisions", VERIFY_ACCURACY_THRESHOLD)


def _verify_identify_accuracy(
    got: Any, expected: Any, case: Any, reference: ModuleType
) -> list[str]:
    return _accuracy_problems(got, identify_truth(case), "names", IDENTIFY_ACCURACY_THRESHOLD)


register(
    ASSIGNMENT,
    Check(
        name="triplet_loss_values",
        functions=("triplet_loss",),
        make_cases=_loss_value_cases,
        run=_run_loss,
        rtol=1e-4,
        atol=1e-5,
        hint="Per triplet (along the last axis, the encoding's): squared distances with "
        "tf.reduce_sum(tf.square(...), axis=-1); then pos_dist - neg_dist + alpha, "
        "tf.maximum(..., 0.0) per triplet, and only then tf.reduce_sum over the batch (a sum, "
        "not a mean).",
    ),
    Check(
        name="triplet_loss_gradients",
        functions=("triplet_loss",),
        make_cases=_loss_gradient_cases,
        run=_run_loss_gradients,
        rtol=1e-4,
        atol=1e-5,
        hint="Use TensorFlow operations only (no numpy, no .numpy()), so that tf.GradientTape "
        "can differentiate the loss; sum over the batch rather than average.",
    ),
    Check(
        name="triplet_train_step_decrease",
        functions=("triplet_train_step", "triplet_loss"),
        make_cases=_train_cases,
        run=_run_train,
        rtol=1e-3,
        atol=1e-4,
        verify=_verify_train,
        hint="Inside tf.GradientTape: encode anchor, positive and negative with head(..., "
        "training=True) and call triplet_loss(None, [a, p, n], alpha); outside it: "
        "tape.gradient(loss, head.trainable_variables), then optimizer.apply_gradients(zip("
        "grads, head.trainable_variables)); return the loss.",
    ),
    Check(
        name="img_to_encoding_values",
        functions=("img_to_encoding",),
        make_cases=_encoding_cases,
        run=_run_encoding,
        rtol=1e-3,
        atol=1e-4,
        hint="Scale the pixels to [0, 1] (divide by 255 as float32), add the batch axis to get "
        "(1, 64, 64, 3), and return the model's output, of shape (1, d).",
    ),
    Check(
        name="verify_values",
        functions=("verify",),
        make_cases=_query_cases,
        run=_run_verify,
        rtol=1e-3,
        atol=1e-4,
        hint="dist = np.linalg.norm(img_to_encoding(image, model) - database[identity]) (the "
        "distance, not its square); the door opens when dist < 0.7.",
    ),
    Check(
        name="verify_accuracy",
        functions=("verify",),
        make_cases=_accuracy_cases,
        run=_run_verify_accuracy,
        compare_values=False,
        verify=_verify_verify_accuracy,
        hint="Return (dist, door_open) with door_open = dist < 0.7.",
    ),
    Check(
        name="who_is_it_values",
        functions=("who_is_it",),
        make_cases=_query_cases,
        run=_run_who_is_it,
        rtol=1e-3,
        atol=1e-4,
        hint="Loop over database.items(), compute each distance with np.linalg.norm, and keep "
        "the smallest one and its name; return (min_dist, identity).",
    ),
    Check(
        name="who_is_it_accuracy",
        functions=("who_is_it",),
        make_cases=_accuracy_cases,
        run=_run_identify_accuracy,
        compare_values=False,
        verify=_verify_identify_accuracy,
        hint="Return the name of the database entry nearest to the face's encoding.",
    ),
)
