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
    return {split: data.load_digits_split(split) for split in ("train", "test", "heldout")}


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


def test_heldout_split_has_the_same_layout():
    x, y = data.load_digits_heldout()
    assert x.shape[1:] == (8, 8) and y.shape == (1, x.shape[0])
    assert set(np.unique(y)) == {0, 1}


def test_splits_are_60_20_20_and_both_classes_are_balanced_enough():
    parts = _all_parts()
    sizes = {split: x.shape[0] for split, (x, _) in parts.items()}
    total = sum(sizes.values())
    assert sizes["train"] == round(0.6 * total) and sizes["test"] == round(0.2 * total)
    for _, y in parts.values():
        assert 0.35 < y.mean() < 0.65


def test_splits_partition_exactly_the_ones_and_eights_of_sklearn_digits():
    digits = load_digits()
    labels_of = {}
    for image, target in zip(digits.images, digits.target, strict=True):
        if target in data.DIGITS_CLASSES:
            labels_of.setdefault(image.tobytes(), set()).add(int(target))
    parts = _all_parts()
    combined = np.concatenate([x for x, _ in parts.values()])
    expected = digits.images[np.isin(digits.target, data.DIGITS_CLASSES)]
    assert _rows(combined) == _rows(expected)
    for x, y in parts.values():
        for image, label in zip(x, y[0], strict=True):
            assert data.DIGITS_CLASSES[label] in labels_of[image.tobytes()]


def test_heldout_images_are_not_in_train_or_test():
    parts = _all_parts()
    seen = {image.tobytes() for split in ("train", "test") for image in parts[split][0]}
    assert not any(image.tobytes() in seen for image in parts["heldout"][0])


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
    x_h, y_h = data.load_digits_heldout()
    clf = LogisticRegression(C=1.0, max_iter=2000).fit(
        train_x.reshape(len(train_x), -1) / 16, train_y[0]
    )
    for x, y in [(test_x, test_y), (x_h, y_h)]:
        accuracy = clf.score(x.reshape(len(x), -1) / 16, y[0])
        assert 0.9 <= accuracy < 1.0


def test_importing_graders_data_does_not_import_sklearn():
    code = "import sys, graders.data; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
