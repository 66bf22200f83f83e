"""The held-out digits are new images on the trusted side only (docs/architecture.md,
held-out data): nothing in the shipped package returns or rebuilds them, none of them is a
public digit, and a model fitted to every public digit (the attack on the former held-out
part, a fixed subset of scikit-learn's digits) earns no more on them than an honest model does.

The figures of the attacks, before (on the former held-out part) and after (on the new digits),
are printed with ``-s``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.neighbors import KNeighborsClassifier

from graders import data
from graders.cases import all_checks
from graders.cases.trained import heldout_digits, trained_record
from graders.cases.w2_gradient_descent import HELDOUT_ACCURACY_THRESHOLD
from graders.judge import load_reference

ROOT = Path(__file__).resolve().parents[1]
REF2 = load_reference("w2_gradient_descent", ROOT / "solutions")
HELD = heldout_digits(REF2)


def _flat(images: np.ndarray) -> np.ndarray:
    """(m, 8, 8) -> (m, 64) in [0, 1]."""
    return np.reshape(images, (len(images), -1)) / 16.0


def _former_heldout(classes: tuple[int, ...] | None) -> tuple[np.ndarray, np.ndarray]:
    """The former held-out part (the last 20% of the seeded permutation), rebuilt from public
    facts: images (m, 8, 8) and digits (m,)."""
    digits = load_digits()
    if classes is None:
        index, seed = np.arange(len(digits.target)), data.DIGITS_MULTICLASS_SPLIT_SEED
    else:
        index, seed = np.flatnonzero(np.isin(digits.target, classes)), data.DIGITS_SPLIT_SEED
    index = np.random.default_rng(seed).permutation(index)
    start = int(round(data.DIGITS_TRAIN_FRACTION * len(index))) + int(
        round(data.DIGITS_TEST_FRACTION * len(index))
    )
    rows = index[start:]
    return digits.images[rows], digits.target[rows]


# ---------------------------------------------------------------------------- the data


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_heldout_digits_look_like_the_public_ones_and_are_balanced(task):
    x, y = getattr(HELD, f"heldout_digits_{task}")()
    assert x.ndim == 3 and x.shape[1:] == (8, 8) and x.dtype == np.float64
    assert np.array_equal(x, np.round(x)) and x.min() == 0 and x.max() == 16
    assert not x.flags.writeable and not y.flags.writeable
    if task == "binary":
        assert x.shape == (HELD.HELDOUT_BINARY_SIZE, 8, 8) and y.shape == (1, len(x))
        assert y.dtype == np.int64 and y.mean() == 0.5
    else:
        assert x.shape == (HELD.HELDOUT_MULTICLASS_SIZE, 8, 8) and y.shape == (len(x),)
        assert np.bincount(y).tolist() == [len(x) // 10] * 10
    # Ink is where the public digits have it: the mean image is close to theirs.
    public = load_digits().images
    assert abs(x.mean() - public.mean()) < 1.0


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_no_heldout_digit_is_a_public_digit(task):
    x, _ = getattr(HELD, f"heldout_digits_{task}")()
    public = {image.astype(np.float64).tobytes() for image in load_digits().images}
    assert not [image for image in x if image.tobytes() in public]
    assert len({image.tobytes() for image in x}) == len(x)


def test_heldout_digits_are_the_same_on_every_call():
    x, y = HELD.heldout_digits_multiclass()
    HELD.heldout_digits_multiclass.cache_clear()
    x2, y2 = HELD.heldout_digits_multiclass()
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)


@pytest.mark.parametrize(
    ("week", "name"),
    [
        (None, "HELDOUT_DIGITS_SEED"),
        ("w4_cnn_build", "HELDOUT_FACES_SEED"),
        ("w6_transfer_learning", "HELDOUT_SEED"),
    ],
)
def test_every_heldout_seed_is_large_and_appears_nowhere_in_the_shipped_package(week, name):
    """The generators (``graders.faces``, ``graders.shapes``) and the deformation are public;
    the held-out sets stay secret only while their seeds do: 128 random bits, kept in
    ``solutions/``, not written anywhere in ``graders/``."""
    module = HELD if week is None else load_reference(week, ROOT / "solutions")
    seed = getattr(module, name)
    assert seed >= 2**64
    spellings = {str(seed), hex(seed)[2:]}
    for path in (ROOT / "graders").rglob("*"):
        if path.is_file() and path.suffix in {".py", ".json", ".txt", ".cfg", ".toml", ".md"}:
            text = path.read_text(errors="ignore").lower().replace("_", "")
            assert not [s for s in spellings if s in text], path


def test_the_shipped_package_has_no_function_that_returns_heldout_digits():
    for path in (ROOT / "graders").rglob("*.py"):
        text = path.read_text()
        assert "load_digits_heldout" not in text and "multiclass_heldout" not in text, path
    assert not hasattr(data, "load_digits_heldout")
    assert not hasattr(data, "load_digits_multiclass_heldout")


# ---------------------------------------------------------------------------- the attacks


def test_a_lookup_of_every_public_digit_earns_no_more_than_one_of_the_training_digits():
    """1-nearest-neighbour over all 1,797 public digits with their true labels: it knew every
    former held-out digit (accuracy 1.0 there); on the new digits it does no better than the
    same lookup over the students' training part alone."""
    digits = load_digits()
    lookup_all = KNeighborsClassifier(1).fit(_flat(digits.images), digits.target)
    train_x, train_y, _, _, _ = data.load_digits_multiclass()
    lookup_train = KNeighborsClassifier(1).fit(_flat(train_x), train_y)
    old_x, old_y = _former_heldout(None)
    new_x, new_y = HELD.heldout_digits_multiclass()
    before = lookup_all.score(_flat(old_x), old_y)
    after, honest = lookup_all.score(_flat(new_x), new_y), lookup_train.score(_flat(new_x), new_y)
    print(f"\n1-NN of all public digits: former held-out {before:.4f}, new {after:.4f}; ")
    print(f"1-NN of the training part: new {honest:.4f}")
    assert before == 1.0
    assert after <= honest + 0.005


def _w2_model(images: np.ndarray, labels: np.ndarray, iterations: int, rate: float):
    x = REF2.flatten_and_scale(images)
    y = np.asarray(labels).reshape(1, -1)
    d = REF2.model(x, y, x, y, iterations, rate)
    return d["w"], d["b"]


def _w2_accuracy(w: np.ndarray, b: float, images: np.ndarray, labels: np.ndarray) -> float:
    predictions = REF2.predict(w, b, REF2.flatten_and_scale(images))
    return float(np.mean(predictions == np.asarray(labels).reshape(1, -1)))


def test_w2_weights_fitted_to_every_public_one_and_eight_earn_no_more_than_honest_ones():
    """w2's logistic regression fitted to every public 1 and 8 (train, test and the former
    held-out part, true labels, 20,000 steps): it passed the former check far above the
    honest model; on the new digits it is no better than the notebook's model."""
    digits = load_digits()
    mask = np.isin(digits.target, data.DIGITS_CLASSES)
    all_labels = (digits.target[mask] == data.DIGITS_CLASSES[1]).astype(np.int64)
    w_all, b_all = _w2_model(digits.images[mask], all_labels, 20_000, 0.5)
    old_x, old_digits = _former_heldout(data.DIGITS_CLASSES)
    old_y = (old_digits == data.DIGITS_CLASSES[1]).astype(np.int64)
    w_old, b_old = _w2_model(old_x, old_y, 20_000, 0.5)  # fitted to the former part only
    new_x, new_y = HELD.heldout_digits_binary()
    train_x, train_y, _, _, _ = data.load_digits_binary()
    honest = {
        (case["num_iterations"], case["learning_rate"]): _w2_model(
            train_x, train_y, case["num_iterations"], case["learning_rate"]
        )
        for case in all_checks()["model_heldout_accuracy"].cases()
    }
    honest_old = {k: _w2_accuracy(*wb, old_x, old_y) for k, wb in honest.items()}
    honest_new = {k: _w2_accuracy(*wb, new_x, new_y) for k, wb in honest.items()}
    all_old, all_new = (
        _w2_accuracy(w_all, b_all, x, y) for x, y in [(old_x, old_y), (new_x, new_y)]
    )
    part_old, part_new = (
        _w2_accuracy(w_old, b_old, x, y) for x, y in [(old_x, old_y), (new_x, new_y)]
    )
    print(f"\nw2 honest by (iterations, rate): former held-out {honest_old}, new {honest_new}")
    print(f"w2 fitted to all public ones and eights: former {all_old:.4f}, new {all_new:.4f}")
    print(f"w2 fitted to the former held-out part: former {part_old:.4f}, new {part_new:.4f}")
    assert part_old == 1.0 and all_old > max(honest_old.values())
    assert part_new < max(honest_new.values())
    assert all_new <= max(honest_new.values()) + 0.01
    assert min(honest_new.values()) >= HELDOUT_ACCURACY_THRESHOLD + 0.04


def _all_public_digits() -> tuple[np.ndarray, np.ndarray]:
    digits = load_digits()
    return np.asarray(digits.images, dtype=np.float64), np.asarray(digits.target, dtype=np.int64)


#: Training on CPU is not bit-reproducible across processes (seed 0 of w4's digits model gave
#: 0.943 and 0.953 on the new digits in two runs); comparisons of two trainings allow this.
TRAINING_NOISE = 0.01
#: What more training data is worth on the new digits: the reference network trained on all
#: 1,797 public digits instead of the 1,078 of the training part gains up to this much (measured
#: +0.018 for w4's digits model, seed 0). More data is not an attack; memorising is.
MORE_DATA_GAIN = 0.03


@pytest.mark.slow
@pytest.mark.parametrize("week", ["w4_cnn_build", "w5_resnet"])
def test_the_reference_network_fitted_to_public_digits_earns_no_more_than_an_honest_one(
    week, monkeypatch
):
    """The reference architecture trained with the notebook's recipe (seed 0) on three sets of
    public digits with their true labels: the training part (honest), the former held-out part
    (the attack: fitted to exactly the digits it was graded on, repeated three times to as
    many steps as the honest one), and all 1,797 digits. The attack beat the honest model on
    the former held-out part; on the new digits it earns no more than the honest model, and a
    model of every public digit gains no more than more data is worth."""
    import graders.data
    from graders.cases import w4_cnn_build as w4
    from graders.cases import w5_resnet as w5

    ref = load_reference(week, ROOT / "solutions")
    if week == "w4_cnn_build":
        train = lambda: w4.train_digits_model(ref.digits_model, ref.upsample_digits, 0)  # noqa: E731
        accuracy_of = w4.digits_heldout_accuracy

        def inputs(images: np.ndarray) -> np.ndarray:
            return ref.upsample_digits(images, w4.DIGITS_TRAINING["factor"])
    else:
        train = lambda: w5.train_resnet_model(ref.resnet_model, 0)  # noqa: E731
        accuracy_of = w5.resnet_heldout_accuracy
        inputs = w5.digits_as_images

    def trained_on(x: np.ndarray, y: np.ndarray):
        # The notebook's recipe reads its training data from graders.data; give it these.
        monkeypatch.setattr(
            graders.data, "load_digits_multiclass", lambda: (x, y, x[:0], y[:0], np.arange(10))
        )
        return train()

    old_x, old_y = _former_heldout(None)
    all_x, all_y = _all_public_digits()
    models = {
        "honest": train(),
        "former held-out only": trained_on(np.tile(old_x, (3, 1, 1)), np.tile(old_y, 3)),
        "all public": trained_on(all_x, all_y),
    }
    before, after = {}, {}
    for name, model in models.items():
        predictions = np.argmax(model.predict(inputs(old_x), verbose=0), axis=1)
        before[name] = float(np.mean(predictions == old_y))
        after[name] = accuracy_of(trained_record(model), ref)
        print(f"\n{week} {name}: former held-out {before[name]:.4f}, new {after[name]:.4f}")
    assert before["former held-out only"] >= 0.99 > before["honest"]
    assert after["former held-out only"] <= after["honest"] + TRAINING_NOISE
    assert after["all public"] <= after["honest"] + MORE_DATA_GAIN
