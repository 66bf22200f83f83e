"""The grader's held-out digits: new images, made on the trusted side only (never released).

Every one of scikit-learn's 1,797 digits is public, so none of them can be held out: a model
fitted to all of them (or a lookup table of them) would pass any check measured on a subset.
The held-out digits are therefore *new* images: digits of the students' own training part,
drawn with replacement, each redrawn the way the originals were made (a 32 x 32 bitmap counted in
4 x 4 blocks, giving 8 x 8 pixels 0..16) after a small random deformation: rotation, scale,
shear and shift, a stroke thickness (the threshold of the bitmap) and a few flipped bitmap
pixels. The random generator is seeded by :data:`HELDOUT_DIGITS_SEED`, a large random integer
that lives only here; nothing in the shipped ``graders`` package returns these images or can
rebuild them. The sources are the training digits on purpose: a model fitted to every public
digit (test part and all) has seen no source that an honest model trained on the training part
has not, so memorising the public digits earns nothing here (tests/test_heldout_digits.py).
The deformation is mild (see benchmarks/threshold_margin.py for the accuracies it allows).

The checks of w2_gradient_descent, w4_cnn_build and w5_resnet load this module by path, next to
the reference solutions (``solutions/`` is not a package on the grader's path), through
:func:`graders.cases.trained.heldout_digits`.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

#: Seed of the held-out digits (drawn once from the operating system's random source); never
#: released.
HELDOUT_DIGITS_SEED = 0x5C3B_91E2_7A04_D8F6_13AE_6B70_C25D_94E1
#: Number of held-out images of the binary task (w2) and of the ten-class task (w4, w5).
HELDOUT_BINARY_SIZE = 600
HELDOUT_MULTICLASS_SIZE = 1500

#: Ranges of the deformation (uniform): rotation in degrees, scale factor, shear, shift in
#: pixels of the 8 x 8 image, bitmap threshold (lower draws thicker strokes), share of flipped
#: bitmap pixels.
ROTATION_DEGREES = 6.0
SCALE = (0.95, 1.05)
SHEAR = 0.05
SHIFT_PIXELS = 0.25
THRESHOLD = (0.4, 0.55)
FLIP_SHARE = 0.003

_UP = 4  # 8 x 8 pixels <-> 32 x 32 bitmap


def deform_digits(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Redraw digits ``(m, 8, 8)`` (pixels 0..16) with one random deformation each.

    Every image is upsampled to a 32 x 32 intensity map (bilinear), moved by a random affine
    map about its centre, thresholded into a bitmap, a few bitmap pixels are flipped, and the
    bitmap is counted in 4 x 4 blocks. Returns ``(m, 8, 8)`` float64 with integer values 0..16.
    """
    from scipy import ndimage

    images = np.asarray(images, dtype=np.float64)
    size = images.shape[1] * _UP
    centre = np.array([(size - 1) / 2.0, (size - 1) / 2.0])
    out = np.empty_like(images)
    for k, image in enumerate(images):
        big = ndimage.zoom(image / 16.0, _UP, order=1, mode="nearest", grid_mode=True)
        angle = np.deg2rad(rng.uniform(-ROTATION_DEGREES, ROTATION_DEGREES))
        scale = rng.uniform(*SCALE)
        shear = rng.uniform(-SHEAR, SHEAR)
        shift = rng.uniform(-SHIFT_PIXELS, SHIFT_PIXELS, size=2) * _UP
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        forward = scale * rotation @ np.array([[1.0, shear], [0.0, 1.0]])
        inverse = np.linalg.inv(forward)  # output pixel -> input pixel
        offset = centre - inverse @ (centre + shift)
        moved = ndimage.affine_transform(big, inverse, offset=offset, order=1, cval=0.0)
        bitmap = moved > rng.uniform(*THRESHOLD)
        bitmap ^= rng.random(bitmap.shape) < FLIP_SHARE
        blocks = bitmap.reshape(size // _UP, _UP, size // _UP, _UP)
        out[k] = blocks.sum(axis=(1, 3))
    return out


def _frozen(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    for arr in arrays:
        arr.setflags(write=False)
    return arrays


@lru_cache(maxsize=1)
def heldout_digits_binary() -> tuple[np.ndarray, np.ndarray]:
    """Held-out digits of w2's binary task (the digits 1 and 8, half each).

    Returns:
        x: (600, 8, 8) float64 images, integer pixel values 0..16.
        y: (1, 600) int64 labels, 1 for the digit 8, 0 for the digit 1.
    Read-only arrays.
    """
    from graders.data import load_digits_binary

    images, target, _, _, _ = load_digits_binary()
    rng = np.random.default_rng([HELDOUT_DIGITS_SEED, 2])
    labels = np.repeat([0, 1], HELDOUT_BINARY_SIZE // 2)
    rng.shuffle(labels)
    rows = np.array([rng.choice(np.flatnonzero(target[0] == label)) for label in labels])
    x = deform_digits(images[rows], rng)
    return _frozen(x, labels.astype(np.int64).reshape(1, -1))  # type: ignore[return-value]


@lru_cache(maxsize=1)
def heldout_digits_multiclass() -> tuple[np.ndarray, np.ndarray]:
    """Held-out digits of the ten-class task (w4's digits model, w5's ResNet), 150 of each.

    Returns:
        x: (1500, 8, 8) float64 images, integer pixel values 0..16.
        y: (1500,) int64 labels, the digit shown (0..9).
    Read-only arrays.
    """
    from graders.data import load_digits_multiclass

    images, target, _, _, _ = load_digits_multiclass()
    rng = np.random.default_rng([HELDOUT_DIGITS_SEED, 10])
    labels = np.repeat(np.arange(10), HELDOUT_MULTICLASS_SIZE // 10)
    rng.shuffle(labels)
    rows = np.array([rng.choice(np.flatnonzero(target == d)) for d in labels])
    x = deform_digits(images[rows], rng)
    return _frozen(x, labels.astype(np.int64))  # type: ignore[return-value]
