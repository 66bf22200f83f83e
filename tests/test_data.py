"""The data sets of graders.data: offline, deterministic, correctly shaped and split."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from graders import data


def _all_parts():
    return {split: data.load_digits_split(split) for split in ("train", "test")}


def _rows(images: np.ndarray) -> list[bytes]:
    return sorted(image.tobytes() for image in images)


def test_load_digits_binary_returns_course_style_shapes_and_types():
    train_x, train_y, test_x, test_y, classes = data.load_digits_binary()
    assert train_x.ndim == 3 and train_x.shape[1:] == (8, 8)
    assert test_x.ndim == 3 and test_x.shape[1:] == (8, 8)
    assert train_y.shape == (1, train_x.shape[0]) and test_y.shape == (1, test_x.shape[0])
    assert train_x.dtype == np.float64 and train_y.dtype == np.int64
    assert classes.tolist() == list(data.DIGITS_CLASSES) == [1, 8]
    assert train_x.min() == 0 and train_x.max() == 16
    assert set(np.unique(train_y)) == {0, 1} and set(np.unique(test_y)) == {0, 1}


def test_no_function_of_the_package_returns_held_out_digits():
    public = [name for name in dir(data) if not name.startswith("_")]
    assert not [name for name in public if "heldout" in name.lower()]
    with pytest.raises(ValueError, match="unknown split"):
        data.load_digits_split("heldout")
    assert (
        set(data._digits_binary_parts())
        == set(data._digits_multiclass_parts())
        == {
            "train",
            "test",
        }
    )


def test_splits_are_60_and_20_percent_and_both_classes_are_balanced_enough():
    digits = load_digits()
    total = int(np.isin(digits.target, data.DIGITS_CLASSES).sum())
    parts = _all_parts()
    sizes = {split: x.shape[0] for split, (x, _) in parts.items()}
    assert sizes["train"] == round(0.6 * total) and sizes["test"] == round(0.2 * total)
    for _, y in parts.values():
        assert 0.35 < y.mean() < 0.65


def test_train_and_test_are_disjoint_ones_and_eights_of_sklearn_digits_with_their_labels():
    digits = load_digits()
    labels_of = {}
    for image, target in zip(digits.images, digits.target, strict=True):
        if target in data.DIGITS_CLASSES:
            labels_of.setdefault(image.tobytes(), set()).add(int(target))
    parts = _all_parts()
    train_rows, test_rows = (set(_rows(parts[split][0])) for split in ("train", "test"))
    assert not train_rows & test_rows
    for x, y in parts.values():
        for image, label in zip(x, y[0], strict=True):
            assert data.DIGITS_CLASSES[label] in labels_of[image.tobytes()]


def test_train_and_test_are_the_images_of_the_seeded_permutation():
    # The students' data did not change when the held-out part left the package: the first
    # 60% and the next 20% of the same permutation of the ones and eights.
    digits = load_digits()
    index = np.flatnonzero(np.isin(digits.target, data.DIGITS_CLASSES))
    index = np.random.default_rng(data.DIGITS_SPLIT_SEED).permutation(index)
    train_x, _, test_x, _, _ = data.load_digits_binary()
    np.testing.assert_array_equal(train_x, digits.images[index[: len(train_x)]])
    np.testing.assert_array_equal(
        test_x, digits.images[index[len(train_x) : len(train_x) + len(test_x)]]
    )


def test_split_is_deterministic_and_callers_get_fresh_copies():
    first = data.load_digits_binary()
    first[0][0, 0, 0] = 99.0
    first[1][0, 0] = 7
    second = data.load_digits_binary()
    assert second[0][0, 0, 0] != 99.0 and second[1][0, 0] in (0, 1)
    data._digits_binary_parts.cache_clear()
    third = data.load_digits_binary()
    for a, b in zip(second, third, strict=True):
        np.testing.assert_array_equal(a, b)


def test_unknown_split_is_refused():
    with pytest.raises(ValueError, match="unknown split"):
        data.load_digits_split("validation")


def test_task_is_learnable_but_not_trivially_separable():
    train_x, train_y, test_x, test_y, _ = data.load_digits_binary()
    clf = LogisticRegression(C=1.0, max_iter=2000).fit(
        train_x.reshape(len(train_x), -1) / 16, train_y[0]
    )
    accuracy = clf.score(test_x.reshape(len(test_x), -1) / 16, test_y[0])
    assert 0.9 <= accuracy < 1.0


def test_importing_graders_data_does_not_import_sklearn():
    code = "import sys, graders.data; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
