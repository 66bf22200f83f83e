"""The shipped face encoder and MobileNetV2 base, and the code that regenerates them
(graders/pretrain.py).

The committed weights load through ``model.load_weights`` into the architecture and encode
faces of people the pretraining never saw so that the same person lands closer than other
people; the pretraining itself is run here at a tiny size only (the full run takes about a
minute and a half and is done once, by ``python -m graders.pretrain face_encoder``).
"""

from __future__ import annotations

import numpy as np
import pytest

from graders import pretrain
from graders.faces import generate_identity_faces

#: Identities that appear neither in the pretraining nor in the graded checks.
FRESH_SEED = 4_242


def test_the_committed_weights_file_is_small():
    assert pretrain.WEIGHTS_PATH.is_file()
    assert pretrain.WEIGHTS_PATH.stat().st_size < 2 * 1024 * 1024


def test_the_loaded_encoder_differs_from_a_fresh_one():
    loaded = pretrain.load_face_encoder()
    fresh = pretrain.build_face_encoder()
    pairs = list(zip(loaded.get_weights(), fresh.get_weights(), strict=True))
    assert [a.shape for a, _ in pairs] == [b.shape for _, b in pairs]
    assert all(not np.allclose(a, b) for a, b in pairs if a.size > 1 and np.std(b) > 0)


def test_encodings_have_unit_length_and_the_documented_shape():
    x, _ = generate_identity_faces(3, 2, FRESH_SEED)
    encodings = pretrain.encode_batch(pretrain.load_face_encoder(), x)
    assert encodings.shape == (6, pretrain.ENCODING_SIZE)
    np.testing.assert_allclose(np.linalg.norm(encodings, axis=1), 1.0, rtol=1e-5)


def test_the_encoder_verifies_pairs_of_new_people():
    x, ids = generate_identity_faces(20, 4, FRESH_SEED)
    encodings = pretrain.encode_batch(pretrain.load_face_encoder(), x)
    assert pretrain.verification_accuracy(encodings, ids) >= 0.9


def test_verification_accuracy_counts_pairs_against_an_explicit_loop():
    rng = np.random.default_rng(0)
    encodings = rng.normal(size=(7, 3))
    ids = np.array([0, 0, 1, 1, 1, 2, 2])
    right_pos, right_neg, n_pos, n_neg = 0, 0, 0, 0
    for i in range(7):
        for j in range(i + 1, 7):
            close = np.linalg.norm(encodings[i] - encodings[j]) < 0.7
            if ids[i] == ids[j]:
                n_pos, right_pos = n_pos + 1, right_pos + close
            else:
                n_neg, right_neg = n_neg + 1, right_neg + (not close)
    expected = 0.5 * right_pos / n_pos + 0.5 * right_neg / n_neg
    assert pretrain.verification_accuracy(encodings, ids, 0.7) == pytest.approx(expected)


def test_a_tiny_pretraining_writes_loadable_weights_deterministically(tmp_path):
    from tensorflow.python.framework import config as tf_config

    options = {
        "n_identities": 6,
        "per_identity": 4,
        "steps": 3,
        "identities_per_batch": 3,
        "views_per_batch": 2,
        "validation_identities": 3,
        "verbose": False,
    }
    figures = pretrain.pretrain_face_encoder(tmp_path / "a.weights.h5", seed=1, **options)
    pretrain.pretrain_face_encoder(tmp_path / "b.weights.h5", seed=1, **options)
    assert set(figures) == {
        "seconds",
        "final_loss",
        "verification_accuracy",
        "positive_distance",
        "negative_distance",
    }
    assert 0.0 <= figures["verification_accuracy"] <= 1.0
    a = pretrain.build_face_encoder()
    a.load_weights(str(tmp_path / "a.weights.h5"))
    b = pretrain.build_face_encoder()
    b.load_weights(str(tmp_path / "b.weights.h5"))
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert not tf_config.is_op_determinism_enabled(), "op determinism left on for the process"


def test_main_runs_the_named_pretraining_with_its_options(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(
        pretrain, "pretrain_face_encoder", lambda out, seed, **kw: calls.append((out, seed, kw))
    )
    out = str(tmp_path / "enc.weights.h5")
    assert pretrain.main(["face_encoder", "--out", out, "--seed", "3", "--steps", "10"]) == 0
    assert calls == [(out, 3, {"steps": 10})]


def test_main_rejects_an_unknown_target():
    with pytest.raises(SystemExit):
        pretrain.main(["resnet"])


def test_main_runs_the_mobilenet_pretraining_with_its_options(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(
        pretrain, "pretrain_mobilenet", lambda out, seed, **kw: calls.append((out, seed, kw))
    )
    out = str(tmp_path / "base.weights.h5")
    assert pretrain.main(["mobilenet", "--out", out, "--epochs", "2"]) == 0
    assert calls == [(out, 0, {"epochs": 2})]


def test_a_tiny_mobilenet_pretraining_writes_weights_that_keras_applications_loads(tmp_path):
    import keras
    from tensorflow.python.framework import config as tf_config

    options = {"n_images": 48, "epochs": 1, "batch_size": 16, "validation_images": 16}
    paths = [tmp_path / "a.weights.h5", tmp_path / "b.weights.h5"]
    figures = [pretrain.pretrain_mobilenet(p, seed=2, verbose=False, **options) for p in paths]
    assert set(figures[0]) == {"seconds", "train_accuracy", "validation_accuracy"}
    bases = [
        keras.applications.MobileNetV2(
            input_shape=(64, 64, 3),
            alpha=pretrain.MOBILENET_ALPHA,
            include_top=False,
            weights=str(p),
        )
        for p in paths
    ]
    for wa, wb in zip(bases[0].get_weights(), bases[1].get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert not tf_config.is_op_determinism_enabled(), "op determinism left on for the process"
