"""Data sets for the assignments, built offline from files bundled with installed packages.

Nothing here downloads anything. The digits come from scikit-learn's bundled
``sklearn.datasets.load_digits`` (1,797 grey-scale images of 8x8 pixels with values 0..16);
scikit-learn is imported lazily, so importing this module costs nothing.

Binary digits (w2_gradient_descent): the two classes ``DIGITS_CLASSES`` (the digits 1 and 8,
which a linear classifier separates well but not perfectly), shuffled once and for all with a
fixed seed; the first 60% are the ``train`` part and the next 20% the ``test`` part, what the
students get from :func:`load_digits_binary`. The last 20% are not used.

All ten digits (w4_cnn_build, w5_resnet): every image, split the same way with its own seed,
from :func:`load_digits_multiclass` (train and test).

No held-out data here: every one of these digits is public, so the grader's accuracy checks
measure trained models on new images made on the trusted side from a secret seed (the
reference solutions' ``heldout_digits.py``; docs/architecture.md: held-out data exist only on the
trusted side).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

#: The two digits of the binary task; label 0 is the first, label 1 the second.
DIGITS_CLASSES: tuple[int, int] = (1, 8)
#: Seed of the one permutation that splits the binary digits into train and test.
DIGITS_SPLIT_SEED = 5
#: Fractions of the binary digits in the train and test parts; the rest is not used.
DIGITS_TRAIN_FRACTION = 0.6
DIGITS_TEST_FRACTION = 0.2

_SPLITS = ("train", "test")


#: Seed of the permutation that splits all the digits (ten classes) the same way.
DIGITS_MULTICLASS_SPLIT_SEED = 11


def _split_rows(index: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """Shuffle row indices with ``seed`` and cut them into train and test rows (the first 60%
    and the next 20%; the permutation is the one of the former three-way split, so train and
    test are the same images as before)."""
    index = np.random.default_rng(seed).permutation(index)
    n_train = int(round(DIGITS_TRAIN_FRACTION * len(index)))
    n_test = int(round(DIGITS_TEST_FRACTION * len(index)))
    return {"train": index[:n_train], "test": index[n_train : n_train + n_test]}


def _frozen(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    for arr in arrays:
        arr.setflags(write=False)
    return arrays


@lru_cache(maxsize=1)
def _digits_binary_parts() -> dict[str, tuple[np.ndarray, ...]]:
    """The two parts as ``{split: (images (m, 8, 8) float64, labels (1, m) int64)}``."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    low, high = DIGITS_CLASSES
    index = np.flatnonzero((digits.target == low) | (digits.target == high))
    return {
        split: _frozen(
            np.asarray(digits.images[rows], dtype=np.float64),
            (digits.target[rows] == high).astype(np.int64).reshape(1, -1),
        )
        for split, rows in _split_rows(index, DIGITS_SPLIT_SEED).items()
    }


@lru_cache(maxsize=1)
def _digits_multiclass_parts() -> dict[str, tuple[np.ndarray, ...]]:
    """Train and test digits as ``{split: (images (m, 8, 8) float64, labels (m,) int64)}``."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    index = np.arange(len(digits.target))
    return {
        split: _frozen(
            np.asarray(digits.images[rows], dtype=np.float64),
            np.asarray(digits.target[rows], dtype=np.int64),
        )
        for split, rows in _split_rows(index, DIGITS_MULTICLASS_SPLIT_SEED).items()
    }


def load_digits_split(split: str) -> tuple[np.ndarray, np.ndarray]:
    """One part of the binary digits: ``split`` is ``"train"`` or ``"test"``.

    Returns:
        x: images of shape (m, 8, 8), float64 pixel values 0..16.
        y: labels of shape (1, m), int64, 1 for the digit ``DIGITS_CLASSES[1]``, else 0.
    Fresh copies on every call, so a caller may modify them freely.
    """
    if split not in _SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(_SPLITS)}")
    x, y = _digits_binary_parts()[split]
    return x.copy(), y.copy()


def load_digits_binary() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The binary digits task of w2_gradient_descent, course-style.

    Returns:
        train_x: (m_train, 8, 8) float64 images, pixel values 0..16.
        train_y: (1, m_train) int64 labels in {0, 1}.
        test_x: (m_test, 8, 8) float64 images.
        test_y: (1, m_test) int64 labels.
        classes: (2,) int64, the digit each label stands for (``classes[label]``).
    """
    train_x, train_y = load_digits_split("train")
    test_x, test_y = load_digits_split("test")
    return train_x, train_y, test_x, test_y, np.array(DIGITS_CLASSES, dtype=np.int64)


def load_digits_multiclass() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All ten digits for w4_cnn_build and w5_resnet: train and test parts.

    Returns:
        train_x: (m_train, 8, 8) float64 images, pixel values 0..16.
        train_y: (m_train,) int64 labels, the digit shown (0..9).
        test_x: (m_test, 8, 8) float64 images.
        test_y: (m_test,) int64 labels.
        classes: (10,) int64, ``0..9``.
    Fresh copies on every call.
    """
    parts = _digits_multiclass_parts()
    (train_x, train_y), (test_x, test_y) = parts["train"], parts["test"]
    return train_x.copy(), train_y.copy(), test_x.copy(), test_y.copy(), np.arange(10)
