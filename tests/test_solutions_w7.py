"""The w7_triplet_loss reference solutions against independent oracles, and its hidden checks.

Oracles: a per-triplet loop in float64 for the loss, central finite differences for its
gradient, brute force over the database for recognition. The accuracy checks are shown to
leave margin for the reference and to fail closed (a malformed record, an always-open door,
a recogniser that always names the same person); the training-step check rejects weights that
did not learn.
"""

from __future__ import annotations

import numpy as np
import pytest

import solutions.w7_triplet_loss as ref
from graders.cases import get_check
from graders.cases import w7_triplet_loss as cases
from graders.encoding import encode
from graders.faces import generate_identity_faces
from graders.judge import judge_record
from graders.pretrain import encode_batch, load_face_encoder


def _loop_loss(a: np.ndarray, p: np.ndarray, n: np.ndarray, alpha: float) -> float:
    total = 0.0
    for i in range(a.shape[0]):
        pos = sum((float(a[i, k]) - float(p[i, k])) ** 2 for k in range(a.shape[1]))
        neg = sum((float(a[i, k]) - float(n[i, k])) ** 2 for k in range(a.shape[1]))
        total += max(pos - neg + alpha, 0.0)
    return total


def _loss(a: np.ndarray, p: np.ndarray, n: np.ndarray, alpha: float = 0.2) -> float:
    import tensorflow as tf

    y_pred = [tf.constant(v, dtype=tf.float64) for v in (a, p, n)]
    return float(ref.triplet_loss(None, y_pred, alpha))


@pytest.mark.parametrize("m, d, alpha", [(1, 3, 0.2), (5, 16, 0.5), (12, 128, 0.2), (4, 8, 0.0)])
def test_triplet_loss_matches_a_per_triplet_loop(m, d, alpha):
    rng = np.random.default_rng(m * 100 + d)
    a, p, n = (rng.normal(size=(m, d)) for _ in range(3))
    assert _loss(a, p, n, alpha) == pytest.approx(_loop_loss(a, p, n, alpha), rel=1e-9)


def test_triplet_loss_of_a_collapsed_encoder_is_the_margin_per_triplet():
    same = np.ones((6, 4))
    assert _loss(same, same, same, 0.3) == pytest.approx(6 * 0.3)


def test_triplet_loss_is_zero_when_every_negative_is_far():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(5, 8))
    assert _loss(a, a + 0.01, a + 5.0) == 0.0


def test_triplet_loss_gradient_matches_finite_differences():
    import tensorflow as tf

    rng = np.random.default_rng(2)
    a, p, n = (rng.normal(size=(4, 5)) for _ in range(3))
    tensors = [tf.constant(v, dtype=tf.float64) for v in (a, p, n)]
    with tf.GradientTape() as tape:
        for t in tensors:
            tape.watch(t)
        loss = ref.triplet_loss(None, tensors, 0.2)
    grads = [np.asarray(g) for g in tape.gradient(loss, tensors)]
    eps = 1e-6
    for which, grad in enumerate(grads):
        numeric = np.zeros_like(grad)
        for idx in np.ndindex(*grad.shape):
            plus = [v.copy() for v in (a, p, n)]
            minus = [v.copy() for v in (a, p, n)]
            plus[which][idx] += eps
            minus[which][idx] -= eps
            numeric[idx] = (_loop_loss(*plus, 0.2) - _loop_loss(*minus, 0.2)) / (2 * eps)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)


def test_triplet_train_step_returns_the_loss_before_the_update_and_lowers_it():
    import keras

    case = get_check("triplet_train_step_decrease").cases()[0]
    head = cases.make_head(case["anchor"].shape[1], case["d"], case["seed"])
    before = float(
        ref.triplet_loss(None, [head(case[k]) for k in ("anchor", "positive", "negative")])
    )
    optimizer = keras.optimizers.SGD(learning_rate=cases.TRAIN_LEARNING_RATE)
    first = float(
        ref.triplet_train_step(head, optimizer, case["anchor"], case["positive"], case["negative"])
    )
    assert first == pytest.approx(before, rel=1e-5)
    for _ in range(cases.TRAIN_STEPS - 1):
        ref.triplet_train_step(head, optimizer, case["anchor"], case["positive"], case["negative"])
    after = float(
        ref.triplet_loss(None, [head(case[k]) for k in ("anchor", "positive", "negative")])
    )
    assert after <= cases.TRAIN_LOSS_RATIO * before


def test_img_to_encoding_is_the_encoders_output_on_the_scaled_picture():
    x, _ = generate_identity_faces(2, 1, 5)
    model = load_face_encoder()
    batch = encode_batch(model, x)
    for i in range(2):
        for image in (x[i], x[i].astype(np.float64)):
            encoding = ref.img_to_encoding(image, model)
            assert encoding.shape == (1, 64)
            np.testing.assert_allclose(encoding, batch[i : i + 1], rtol=1e-4, atol=1e-5)


def test_verify_and_who_is_it_agree_with_brute_force_distances(capsys):
    x, _ = generate_identity_faces(4, 2, 9)
    model = load_face_encoder()
    database = {f"p{i}": encode_batch(model, x[2 * i : 2 * i + 1]) for i in range(4)}
    for k in range(8):
        query = encode_batch(model, x[k : k + 1])
        distances = {name: float(np.sqrt(np.sum((query - e) ** 2))) for name, e in database.items()}
        nearest = min(distances, key=distances.get)
        min_dist, identity = ref.who_is_it(x[k], database, model)
        assert identity == nearest
        assert min_dist == pytest.approx(distances[nearest], rel=1e-4)
        for name in database:
            dist, door_open = ref.verify(x[k], name, database, model)
            assert dist == pytest.approx(distances[name], rel=1e-4)
            assert door_open == (distances[name] < ref.THRESHOLD)
    assert "welcome in" in capsys.readouterr().out


@pytest.mark.parametrize(
    "name, function, threshold",
    [
        ("verify_accuracy", ref.verify, cases.VERIFY_ACCURACY_THRESHOLD),
        ("who_is_it_accuracy", ref.who_is_it, cases.IDENTIFY_ACCURACY_THRESHOLD),
    ],
)
def test_the_reference_passes_the_accuracy_checks_with_margin(name, function, threshold):
    check = get_check(name)
    for case in check.cases():
        got = check.run_case(case, [function])
        truth = (
            cases.verify_truth(case)[1].tolist()
            if name == "verify_accuracy"
            else (cases.identify_truth(case))
        )
        accuracy = float(np.mean([g == t for g, t in zip(got, truth, strict=True)]))
        assert accuracy >= threshold + 0.05, (name, case, accuracy)


def _record(name: str, outputs: list) -> dict:
    return {"v": 1, "check": name, "cases": [{"ok": True, "out": encode(o)} for o in outputs]}


def test_verify_accuracy_rejects_an_always_open_door_and_a_short_record():
    check = get_check("verify_accuracy")
    n = 2 * cases.ACCURACY_IDENTITIES
    always = _record(check.name, [[True] * n for _ in check.cases()])
    result = judge_record(check, always, ref)
    assert not result.passed and "50.0%" in result.problems[0]
    short = _record(check.name, [[True] * 3 for _ in check.cases()])
    assert not judge_record(check, short, ref).passed


def test_verify_accuracy_rejects_a_verifier_that_counts_its_calls():
    # Without the drawn order, "true for the first half of the queries, false after" was the
    # whole truth of every case.
    check = get_check("verify_accuracy")
    n = cases.ACCURACY_IDENTITIES
    counting = _record(check.name, [[True] * n + [False] * n for _ in check.cases()])
    result = judge_record(check, counting, ref)
    assert not result.passed
    assert "required" in result.problems[0]


def test_the_accuracy_cases_draw_large_seeds_and_an_order_from_the_checks_generator():
    for name in ("verify_accuracy", "who_is_it_accuracy"):
        drawn = get_check(name).cases()
        assert len(drawn) == cases.ACCURACY_CASES
        assert len({case["seed"] for case in drawn}) == len(drawn)
        for case in drawn:
            assert case["seed"] >= 2**64
            assert sorted(case["order"].tolist()) == list(range(2 * case["n"]))
            assert case["order"].tolist() != list(range(2 * case["n"]))


@pytest.mark.slow
@pytest.mark.parametrize("draw", range(10))
def test_the_reference_passes_the_accuracy_checks_on_ten_drawn_sets_of_identities(draw):
    """The identities are drawn per check (and, with a per-submission secret, per submission):
    the reference keeps its margin on ten other draws."""
    rng = np.random.default_rng([7, draw])
    for name, function, threshold in [
        ("verify_accuracy", ref.verify, cases.VERIFY_ACCURACY_THRESHOLD),
        ("who_is_it_accuracy", ref.who_is_it, cases.IDENTIFY_ACCURACY_THRESHOLD),
    ]:
        check = get_check(name)
        case = check.make_cases(rng)[0]
        got = check.run_case(case, [function])
        truth = (
            cases.verify_truth(case)[1].tolist()
            if name == "verify_accuracy"
            else cases.identify_truth(case)
        )
        accuracy = float(np.mean([g == t for g, t in zip(got, truth, strict=True)]))
        print(f"\n{name} draw {draw}: {accuracy:.3f} (threshold {threshold:.2f})")
        assert accuracy >= threshold + 0.05, (name, draw, accuracy)


def test_who_is_it_accuracy_rejects_a_recogniser_that_names_one_person():
    check = get_check("who_is_it_accuracy")
    n = 2 * cases.ACCURACY_IDENTITIES
    same = _record(check.name, [["person_00"] * n for _ in check.cases()])
    assert not judge_record(check, same, ref).passed


def test_the_training_check_rejects_weights_that_did_not_learn():
    check = get_check("triplet_train_step_decrease")
    case = check.cases()[0]
    head = cases.make_head(case["anchor"].shape[1], case["d"], case["seed"])
    kernel, bias = head.layers[0].get_weights()
    problems = check.verify(
        {"losses": np.zeros(3), "kernel": kernel, "bias": bias}, None, case, ref
    )
    assert problems and "went from" in problems[0]


def test_the_training_step_check_trains_with_the_loss_it_is_given():
    # The step calls triplet_loss by name; the check hands it the loss it was given, so a
    # loss that cannot train (zero everywhere) fails this check even next to the reference step.
    from tests.mutants import Impl, judge_impl

    def zero_loss(y_true, y_pred, alpha=0.2):
        import tensorflow as tf

        return tf.reduce_sum(y_pred[0]) * 0.0

    results = judge_impl("w7_triplet_loss", Impl("triplet_loss", "zero", zero_loss))
    by_name = {r.name: r for r in results}
    assert not by_name["triplet_train_step_decrease"].passed
    assert ref.triplet_loss.__module__ == ref.triplet_train_step.__module__
    assert ref.triplet_train_step.__globals__["triplet_loss"] is ref.triplet_loss  # restored
