"""Procedurally generated shapes: the source task on which the MobileNetV2 base is pretrained.

Every image shows one filled shape (:data:`SHAPES`) of a random colour, size, rotation and
position on a random background (a two-colour gradient, sometimes with stripes), with a few
small distracting dots and pixel noise. The label is the shape. Nothing is downloaded: the
images are drawn with numpy, supersampled twice and averaged down (anti-aliasing).

Coordinates: the image spans ``[-1, 1]`` on both axes, ``x`` to the right and ``y`` down. A
shape is defined in its own coordinates ``(u, v)`` (unit size, centred at the origin) and
placed by a scale, a rotation and a translation.

The pretraining of :mod:`graders.pretrain` uses :data:`SOURCE_SHAPES` only; the remaining
shapes are never seen by the base (a course may use them for a target task of its own).

Deterministic: the same seed gives the same bytes (pixel values may differ in rare last-bit
roundings between platforms; labels do not). numpy is the only import.
"""

from __future__ import annotations

import numpy as np

#: Every shape the generator draws, indexed by label.
SHAPES: tuple[str, ...] = (
    "circle",
    "square",
    "triangle",
    "pentagon",
    "hexagon",
    "star",
    "ring",
    "cross",
    "ellipse",
    "half_disc",
    "crescent",
    "arrow",
)
#: The shapes of the pretraining task (labels 0..9 of :data:`SHAPES`).
SOURCE_SHAPES: tuple[str, ...] = SHAPES[:10]


def _polygon(r: np.ndarray, phi: np.ndarray, n: int) -> np.ndarray:
    """Inside a regular n-gon of circumradius 1 (polar coordinates)."""
    sector = 2 * np.pi / n
    a = np.mod(phi, sector) - sector / 2
    return r * np.cos(a) < np.cos(np.pi / n)


def inside(kind: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Boolean mask of the points ``(u, v)`` (shape's own coordinates) inside shape ``kind``."""
    r = np.hypot(u, v)
    phi = np.arctan2(v, u)
    if kind == "circle":
        return r < 1
    if kind == "square":
        return np.maximum(abs(u), abs(v)) < 0.8
    if kind == "triangle":
        return _polygon(r, phi, 3)
    if kind == "pentagon":
        return _polygon(r, phi, 5)
    if kind == "hexagon":
        return _polygon(r, phi, 6)
    if kind == "star":
        t = np.mod(phi * 5 / np.pi, 2.0)
        return r < 0.42 + 0.58 * (1 - abs(t - 1)) ** 1.5
    if kind == "ring":
        return (r < 1) & (r > 0.6)
    if kind == "cross":
        return ((abs(u) < 0.28) & (abs(v) < 1)) | ((abs(v) < 0.28) & (abs(u) < 1))
    if kind == "ellipse":
        return u**2 + (v / 0.5) ** 2 < 1
    if kind == "half_disc":
        return (r < 1) & (v > 0)
    if kind == "crescent":
        return (r < 1) & (np.hypot(u - 0.45, v) > 0.8)
    if kind == "arrow":
        shaft = (abs(v) < 0.22) & (u > -1) & (u < 0.2)
        head = (u >= 0.0) & (u < 1) & (abs(v) < (1 - u) * 0.7)
        return shaft | head
    raise ValueError(f"unknown shape {kind!r}; expected one of {', '.join(SHAPES)}")


def render_shape(rng: np.random.Generator, kind: str, size: int = 64) -> np.ndarray:
    """One ``(size, size, 3)`` uint8 RGB image of shape ``kind`` in a random scene."""
    supersample = 2
    n = size * supersample
    g = (np.arange(n) + 0.5) * 2 / n - 1
    x, y = np.meshgrid(g, g)
    c1, c2 = rng.uniform(0, 1, 3), rng.uniform(0, 1, 3)
    angle = rng.uniform(0, 2 * np.pi)
    t = (np.cos(angle) * x + np.sin(angle) * y + 1.5) / 3
    img = c1 + (c2 - c1) * t[..., None]
    if rng.integers(0, 3) == 1:
        freq, stripe_angle = rng.uniform(3, 10), rng.uniform(0, np.pi)
        stripes = np.sin(freq * np.pi * (np.cos(stripe_angle) * x + np.sin(stripe_angle) * y))
        img = img + 0.15 * stripes[..., None]
    for _ in range(rng.integers(0, 4)):
        bx, by, br = rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(0.03, 0.1)
        img[np.hypot(x - bx, y - by) < br] = rng.uniform(0, 1, 3)
    fg = rng.uniform(0, 1, 3)
    while np.abs(fg - (c1 + c2) / 2).sum() < 0.6:
        fg = rng.uniform(0, 1, 3)
    scale, theta = rng.uniform(0.3, 0.6), rng.uniform(0, 2 * np.pi)
    cx, cy = rng.uniform(-0.35, 0.35, 2)
    dx, dy = (x - cx) / scale, (y - cy) / scale
    u = np.cos(theta) * dx + np.sin(theta) * dy
    v = -np.sin(theta) * dx + np.cos(theta) * dy
    img[inside(kind, u, v)] = fg
    img = img + rng.normal(0, 0.03, img.shape[:2] + (1,))
    img = img.reshape(size, supersample, size, supersample, 3).mean(axis=(1, 3))
    return np.clip(np.round(img * 255), 0, 255).astype(np.uint8)


def generate_shapes(
    n: int, seed: int, size: int = 64, classes: tuple[str, ...] = SOURCE_SHAPES
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images of shapes drawn uniformly from ``classes``.

    Returns:
        x: ``(n, size, size, 3)`` uint8 RGB images.
        y: ``(n,)`` int64 labels, indices into ``classes``.
    """
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(classes), n).astype(np.int64)
    x = np.empty((n, size, size, 3), dtype=np.uint8)
    for i, k in enumerate(y):
        x[i] = render_shape(rng, classes[k], size)
    return x, y


#: The target task of w6_transfer_learning: telling apart two shapes the base never saw.
TARGET_SHAPES: tuple[str, str] = ("crescent", "arrow")
#: Input shape of the target task's images (and of the shipped MobileNetV2 base).
IMAGE_SHAPE: tuple[int, int, int] = (64, 64, 3)
#: Seeds and sizes of the course's small target set (train and test are disjoint).
TARGET_TRAIN_SEED = 6_001
TARGET_TEST_SEED = 6_002
TARGET_TRAIN_SIZE = 60
TARGET_TEST_SIZE = 200


def generate_target(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images of the target task, exactly ``n // 2`` arrows, in random order.

    Returns:
        x: ``(n, 64, 64, 3)`` uint8 RGB images.
        y: ``(n,)`` int64 labels, 1 for an arrow, 0 for a crescent (see :data:`TARGET_SHAPES`).
    """
    rng = np.random.default_rng(seed)
    y = np.zeros(n, dtype=np.int64)
    y[: n // 2] = 1
    y = rng.permutation(y)
    x = np.empty((n, *IMAGE_SHAPE), dtype=np.uint8)
    for i, k in enumerate(y):
        x[i] = render_shape(rng, TARGET_SHAPES[k], IMAGE_SHAPE[0])
    return x, y


def load_target() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The course's small target set: crescents (label 0) and arrows (label 1).

    Returns:
        train_x: (60, 64, 64, 3) uint8 RGB images.
        train_y: (60, 1) int64 labels.
        test_x: (200, 64, 64, 3) uint8 RGB images.
        test_y: (200, 1) int64 labels.
        classes: (2,) str, the name of each label (``classes[label]``).
    """
    train_x, train_y = generate_target(TARGET_TRAIN_SIZE, TARGET_TRAIN_SEED)
    test_x, test_y = generate_target(TARGET_TEST_SIZE, TARGET_TEST_SEED)
    classes = np.array(TARGET_SHAPES)
    return train_x, train_y.reshape(-1, 1), test_x, test_y.reshape(-1, 1), classes
