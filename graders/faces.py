"""Procedurally generated faces: a happy / not-happy data set and faces of synthetic identities.

No photograph is downloaded or shipped: every image is drawn analytically with numpy. A face
is described by two frozen dataclasses:

- :class:`Identity`: what stays the same for one synthetic person (face shape, skin, eyes,
  nose, mouth size, brows, ears, hair, glasses), from :func:`sample_identity`;
- :class:`View`: what changes from one picture to the next (expression and its strength,
  position, scale, rotation, gaze, background, clothing, lighting, pixel noise), from
  :func:`sample_view`.

:func:`render_face` draws one ``(size, size, 3)`` uint8 RGB image from the pair: the pixel
grid is supersampled, mapped back into the face's own coordinates (inverse translation,
rotation and scale), the shapes are evaluated there as ellipses and thick curves, and the
samples are averaged down (anti-aliasing). The expression is carried by the mouth (a smile
curves up, sometimes open; a neutral mouth is flat; a sad or angry one curves down) and by the
brows (raised a little when happy, inner ends up when sad, down when angry).

Coordinates: the image spans ``[-1, 1]`` on both axes, ``x`` to the right and ``y`` down;
a pixel ``(row, col)`` of an image of ``size`` pixels has its centre at
``x = (col + 0.5) * 2 / size - 1`` and ``y = (row + 0.5) * 2 / size - 1``. Face coordinates
use the same units before the view's scale, rotation and translation are applied; the
face's centre is their origin.

Data sets:

- :func:`generate_faces`: ``n`` faces of new identities, exactly ``n // 2`` happy, shuffled;
- :func:`generate_identity_faces`: several views of each of several identities;
- :func:`happy_faces_path` / :func:`load_happy_faces`: the course's fixed happy / not-happy
  set (600 train, 150 test faces from two fixed seeds), generated once and cached as HDF5.

Difficulty (``benchmarks/faces_baseline.py``): a logistic regression on the raw pixels
reaches about 0.7 test accuracy, the small CNN of w4_cnn_build about 0.97. Two choices keep
the linear model down: the pose varies a little, and the lips are darker than the skin on
most people but lighter on the darkest skins, so no fixed pixel template finds the mouth.

Everything is deterministic: the same seed gives the same bytes again (labels and shapes
depend on the seed alone; pixel values may differ in rare last-bit roundings between
platforms). numpy is the only import at module level (h5py is imported when needed).
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Class names, indexed by label: 0 is "not happy", 1 is "happy".
CLASSES: tuple[str, str] = ("not happy", "happy")
#: Every expression a view can carry; only "happy" has label 1.
EXPRESSIONS: tuple[str, ...] = ("neutral", "sad", "angry", "happy")
#: The expressions of label 0.
NOT_HAPPY: tuple[str, ...] = ("neutral", "sad", "angry")
#: Version of the drawing code: a fingerprint of this file, so that any change to the
#: generator regenerates cached data sets made by another version.
GENERATOR_VERSION = "1-" + hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]

#: Seeds and sizes of the course's fixed happy / not-happy set (train and test are disjoint).
HAPPY_TRAIN_SEED = 1001
HAPPY_TEST_SEED = 2002
HAPPY_TRAIN_SIZE = 600
HAPPY_TEST_SIZE = 150
#: File name of the cached set inside the cache folder.
HAPPY_FILE_NAME = "happy_faces.h5"

Colour = tuple[float, float, float]

_HAIR_STYLES = ("short", "long", "shaved", "curly")
#: Skins darker than this luminance get lips lighter than the skin, the others darker lips.
_LIP_FLIP_LUMINANCE = 0.4


@dataclass(frozen=True)
class Identity:
    """The traits of one synthetic person, in face coordinates (before the view's scale).

    Lengths are in image half-widths (the image spans 2 units); colours are RGB in [0, 1].
    """

    face_width: float  # semi-axis of the face oval along x
    face_height: float  # semi-axis along y
    jaw_taper: float  # 0: an ellipse; larger: a narrower chin
    skin: Colour
    eye_spacing: float  # distance from the face's axis to each eye centre
    eye_y: float  # height of the eye centres (negative: above the face centre)
    eye_width: float  # semi-axis of an eye along x
    eye_aspect: float  # eye height / eye width
    iris: Colour
    brow_gap: float  # space between the top of an eye and its brow
    brow_length: float  # half-length of a brow
    brow_thickness: float  # half-thickness of a brow
    brow_arch: float  # how much the ends of a brow drop (0: straight)
    nose_y: float  # height of the nose tip
    nose_width: float
    mouth_y: float  # height of the middle of the mouth
    mouth_width: float  # half-width of a neutral mouth
    lip_thickness: float  # half-thickness of the lips
    lips: Colour
    hair_style: str  # one of "short", "long", "shaved", "curly"
    hair: Colour
    hairline: float  # height of the hairline on the face's axis
    hair_volume: float  # how far the hair stands out of the face oval (relative)
    hair_parting: float  # slope of the hairline (a side parting)
    ear_size: float
    glasses: bool
    frames: Colour  # colour of the glasses' frames


@dataclass(frozen=True)
class View:
    """One picture of an identity: expression, pose, scene, lighting and noise.

    ``centre`` is the face centre in image coordinates, ``scale`` multiplies every length of
    the identity, ``angle`` is the in-plane rotation in degrees (positive: clockwise on
    screen). ``strength`` in [0, 1] scales the expression; ``mouth_open`` is the opening of
    the mouth in face units (0: closed).
    """

    expression: str
    strength: float
    mouth_open: float
    centre: tuple[float, float]
    scale: float
    angle: float
    gaze: tuple[float, float]  # iris offset, as fractions of the eye's semi-axes
    eye_open: float  # 1: wide open; small: nearly closed
    background: tuple[Colour, Colour]  # the two ends of the background gradient
    background_angle: float  # direction of the gradient, radians
    background_seed: int  # seed of the clutter shapes behind the person
    clothing: Colour
    light_angle: float  # direction the light comes from, radians
    light_strength: float  # brightness change across the image, relative
    exposure: float  # overall brightness factor
    tint: float  # colour temperature: positive warmer, negative cooler
    noise: float  # standard deviation of the pixel noise, in 0..255 units
    noise_seed: int

    @property
    def label(self) -> int:
        """1 if the view's expression is happy, else 0."""
        return int(self.expression == "happy")


def _uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(rng.uniform(low, high))


def _colour(rng: np.random.Generator, low: float = 0.05, high: float = 0.95) -> Colour:
    r, g, b = rng.uniform(low, high, size=3)
    return (float(r), float(g), float(b))


def _mix(a: Colour, b: Colour, t: float) -> Colour:
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t)


def _jitter(rng: np.random.Generator, colour: Colour, amount: float) -> Colour:
    r, g, b = np.clip(np.asarray(colour) + rng.uniform(-amount, amount, size=3), 0.0, 1.0)
    return (float(r), float(g), float(b))


_SKIN_LIGHT: Colour = (0.98, 0.84, 0.72)
_SKIN_DARK: Colour = (0.33, 0.21, 0.14)
_HAIR_COLOURS: tuple[Colour, ...] = (
    (0.08, 0.06, 0.05),  # black
    (0.30, 0.18, 0.09),  # brown
    (0.55, 0.38, 0.20),  # light brown
    (0.85, 0.70, 0.42),  # blond
    (0.60, 0.25, 0.10),  # red
    (0.70, 0.70, 0.70),  # grey
)
_LASHES: Colour = (0.1, 0.07, 0.06)
_EYE_WHITE: Colour = (0.95, 0.94, 0.92)
_PUPIL: Colour = (0.03, 0.03, 0.03)
_MOUTH_INSIDE: Colour = (0.3, 0.06, 0.08)
_TEETH: Colour = (0.93, 0.92, 0.86)
_IRIS_COLOURS: tuple[Colour, ...] = (
    (0.30, 0.18, 0.08),
    (0.15, 0.10, 0.06),
    (0.25, 0.45, 0.70),
    (0.30, 0.50, 0.30),
)


def _luminance(colour: Colour) -> float:
    return 0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2]


def _lip_colour(rng: np.random.Generator, skin: Colour) -> Colour:
    """A reddish colour that stands out from ``skin``: darker on light and middle skins,
    lighter on the darkest ones (so the mouth's contrast changes sign across people)."""
    hue = _jitter(rng, (0.8, 0.36, 0.4), 0.08)
    skin_luminance = _luminance(skin)
    if skin_luminance > _LIP_FLIP_LUMINANCE:
        target = skin_luminance - _uniform(rng, 0.3, 0.4)
    else:
        target = skin_luminance + _uniform(rng, 0.25, 0.35)
    r, g, b = np.clip(np.asarray(hue) * (target / _luminance(hue)), 0.0, 1.0)
    return (float(r), float(g), float(b))


def sample_identity(rng: np.random.Generator) -> Identity:
    """Draw the traits of a new synthetic person.

    Args:
        rng: the source of randomness (consumed).
    Returns:
        an :class:`Identity`.
    """
    a = _uniform(rng, 0.40, 0.50)
    b = a * _uniform(rng, 1.18, 1.42)
    eye_width = a * _uniform(rng, 0.17, 0.23)
    eye_y = -b * _uniform(rng, 0.05, 0.2)
    eye_aspect = _uniform(rng, 0.5, 0.75)
    nose_y = b * _uniform(rng, 0.18, 0.32)
    skin = _jitter(rng, _mix(_SKIN_LIGHT, _SKIN_DARK, _uniform(rng, 0.0, 1.0)), 0.04)
    style = _HAIR_STYLES[int(rng.choice(len(_HAIR_STYLES), p=[0.4, 0.3, 0.1, 0.2]))]
    hair = _jitter(rng, _HAIR_COLOURS[int(rng.integers(len(_HAIR_COLOURS)))], 0.06)
    return Identity(
        face_width=a,
        face_height=b,
        jaw_taper=_uniform(rng, 0.0, 0.3),
        skin=skin,
        eye_spacing=a * _uniform(rng, 0.36, 0.48),
        eye_y=eye_y,
        eye_width=eye_width,
        eye_aspect=eye_aspect,
        iris=_jitter(rng, _IRIS_COLOURS[int(rng.integers(len(_IRIS_COLOURS)))], 0.05),
        brow_gap=_uniform(rng, 0.035, 0.07),
        brow_length=eye_width * _uniform(rng, 1.0, 1.35),
        brow_thickness=_uniform(rng, 0.014, 0.028),
        brow_arch=_uniform(rng, 0.0, 0.03),
        nose_y=nose_y,
        nose_width=a * _uniform(rng, 0.12, 0.2),
        mouth_y=b * _uniform(rng, 0.5, 0.62),
        mouth_width=a * _uniform(rng, 0.42, 0.52),
        lip_thickness=_uniform(rng, 0.03, 0.042),
        lips=_lip_colour(rng, skin),
        hair_style=style,
        hair=hair,
        hairline=-b * _uniform(rng, 0.5, 0.8),
        hair_volume=_uniform(rng, 0.05, 0.18),
        hair_parting=_uniform(rng, -0.25, 0.25),
        ear_size=_uniform(rng, 0.06, 0.09),
        glasses=bool(rng.random() < 0.15),
        frames=_colour(rng, 0.0, 0.5),
    )


def sample_view(rng: np.random.Generator, expression: int | str | None = None) -> View:
    """Draw a new picture setting for any identity.

    Close-ups like passport photos: the face fills most of the frame, off centre by at most
    0.04 (about a pixel at 64x64), scaled by 1.25 to 1.35 and turned by at most 8 degrees;
    the background, clothing, lighting, exposure, colour temperature and noise vary freely.
    A happy mouth is open (showing teeth) half of the time, a sad or angry one 30% of the
    time, so teeth alone do not give the label away.

    Args:
        rng: the source of randomness (consumed).
        expression: 1 or ``"happy"`` for a happy face; 0 for a random not-happy expression
            (neutral, sad or angry); one of :data:`EXPRESSIONS` by name; None for a random
            expression (happy with probability 1/2).
    Returns:
        a :class:`View`.
    """
    if expression is None:
        expression = int(rng.random() < 0.5)
    if isinstance(expression, (int, np.integer)) and not isinstance(expression, bool):
        if expression not in (0, 1):
            raise ValueError(f"expression label must be 0 or 1, not {expression}")
        name = "happy" if expression == 1 else NOT_HAPPY[int(rng.integers(len(NOT_HAPPY)))]
    elif isinstance(expression, str) and expression in EXPRESSIONS:
        name = expression
    else:
        raise ValueError(f"unknown expression {expression!r}; expected 0, 1 or {EXPRESSIONS}")
    strength = _uniform(rng, 0.0, 1.0)
    opening = 0.0
    if name == "happy" and rng.random() < 0.5:
        opening = _uniform(rng, 0.05, 0.12)
    elif name in ("sad", "angry") and rng.random() < 0.3:
        opening = _uniform(rng, 0.04, 0.09)
    return View(
        expression=name,
        strength=strength,
        mouth_open=opening,
        centre=(_uniform(rng, -0.04, 0.04), _uniform(rng, 0.06, 0.14)),
        scale=_uniform(rng, 1.25, 1.35),
        angle=_uniform(rng, -8.0, 8.0),
        gaze=(_uniform(rng, -0.6, 0.6), _uniform(rng, -0.3, 0.3)),
        eye_open=_uniform(rng, 0.65, 1.0),
        background=(_colour(rng), _colour(rng)),
        background_angle=_uniform(rng, 0.0, 2 * math.pi),
        background_seed=int(rng.integers(2**31)),
        clothing=_colour(rng),
        light_angle=_uniform(rng, 0.0, 2 * math.pi),
        light_strength=_uniform(rng, 0.0, 0.35),
        exposure=_uniform(rng, 0.75, 1.15),
        tint=_uniform(rng, -0.08, 0.08),
        noise=_uniform(rng, 1.0, 6.0),
        noise_seed=int(rng.integers(2**31)),
    )


@dataclass(frozen=True)
class _Expression:
    """The shapes an expression gives the mouth and brows, in face units."""

    smile: float  # rise of the mouth corners over the middle, relative to the half-width
    width: float  # factor on the identity's mouth half-width
    opening: float
    brow_tilt: float  # radians; positive: inner ends up (sad), negative: down (angry)
    brow_raise: float


def _expression_shape(view: View) -> _Expression:
    """Mouth and brow shapes of ``view``'s expression at its strength."""
    s = view.strength
    if view.expression == "happy":
        return _Expression(0.45 + 0.4 * s, 1.0 + 0.2 * s, view.mouth_open, 0.0, 0.012 * s)
    if view.expression == "neutral":
        return _Expression(-0.08 * s, 0.92, view.mouth_open, 0.0, 0.0)
    if view.expression == "sad":
        tilt = math.radians(8.0 + 14.0 * s)
        return _Expression(-(0.3 + 0.35 * s), 0.9, view.mouth_open, tilt, 0.006)
    if view.expression == "angry":
        tilt = -math.radians(10.0 + 14.0 * s)
        return _Expression(-(0.2 + 0.3 * s), 0.8, view.mouth_open, tilt, -0.015)
    raise ValueError(f"unknown expression {view.expression!r}")


class _Canvas:
    """The supersampled picture being drawn and its coordinates.

    ``image`` is ``(N, N, 3)`` float32 RGB with ``N = size * supersample``, and ``x, y``
    (each ``(N, N)``) are the face coordinates of its samples. :meth:`region` crops them to
    the part of the picture a shape can touch, so small shapes cost little.
    """

    def __init__(self, view: View, size: int, supersample: int) -> None:
        self.view = view
        self.n = n = size * supersample
        axis = ((np.arange(n) + 0.5) * (2.0 / n) - 1.0).astype(np.float32)
        big_y, big_x = np.meshgrid(axis, axis, indexing="ij")
        angle = math.radians(view.angle)
        self.cos, self.sin = math.cos(angle), math.sin(angle)
        # Inverse of the view's transform: translate back, rotate back, scale back.
        dx = big_x - np.float32(view.centre[0])
        dy = big_y - np.float32(view.centre[1])
        self.x = (np.float32(self.cos) * dx + np.float32(self.sin) * dy) / np.float32(view.scale)
        self.y = (np.float32(self.cos) * dy - np.float32(self.sin) * dx) / np.float32(view.scale)
        self.image = np.empty((n, n, 3), dtype=np.float32)

    def region(
        self, left: float, top: float, right: float, bottom: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Face coordinates ``x, y`` and the writable image of the samples that a box in face
        coordinates can cover: ``(h, w)``, ``(h, w)`` and ``(h, w, 3)``."""
        view, n = self.view, self.n
        fx = np.array([left, right, left, right])
        fy = np.array([top, top, bottom, bottom])
        big_x = view.centre[0] + view.scale * (self.cos * fx - self.sin * fy)
        big_y = view.centre[1] + view.scale * (self.sin * fx + self.cos * fy)
        cols = (big_x + 1.0) * n / 2.0
        rows = (big_y + 1.0) * n / 2.0
        c0, c1 = max(int(cols.min()) - 1, 0), min(int(math.ceil(cols.max())) + 1, n)
        r0, r1 = max(int(rows.min()) - 1, 0), min(int(math.ceil(rows.max())) + 1, n)
        c1, r1 = max(c1, c0), max(r1, r0)
        return self.x[r0:r1, c0:c1], self.y[r0:r1, c0:c1], self.image[r0:r1, c0:c1]

    def ellipse_region(
        self, x0: float, y0: float, rx: float, ry: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`region` of the box around an ellipse."""
        return self.region(x0 - rx, y0 - ry, x0 + rx, y0 + ry)


def _ellipse(x: np.ndarray, y: np.ndarray, x0: float, y0: float, rx: float, ry: float):
    """Squared elliptical radius of every point (same shape as ``x``): inside where <= 1."""
    return ((x - np.float32(x0)) * np.float32(1 / rx)) ** 2 + (
        (y - np.float32(y0)) * np.float32(1 / ry)
    ) ** 2


def _curve(
    x: np.ndarray,
    y: np.ndarray,
    x0: float,
    y0: float,
    half_length: float,
    angle: float,
    bend: float,
    half_thickness: float,
    taper: float = 0.3,
) -> np.ndarray:
    """Mask (same shape as ``x``) of a thick parabolic stroke centred at ``(x0, y0)``.

    Along its own axis ``u`` (rotated by ``angle`` from x) the centre line is
    ``v = -bend * (u / half_length) ** 2``: a positive bend raises both ends. The stroke
    thins towards its ends by the factor ``1 - taper``.
    """
    c, s = math.cos(angle), math.sin(angle)
    dx, dy = x - np.float32(x0), y - np.float32(y0)
    u = np.float32(c) * dx + np.float32(s) * dy
    v = np.float32(c) * dy - np.float32(s) * dx
    t = np.clip(u * np.float32(1 / half_length), -1.0, 1.0)
    t2 = t * t
    slope = t * np.float32(-2.0 * bend / half_length)
    across = np.abs(v + np.float32(bend) * t2) / np.sqrt(1.0 + slope * slope)
    beyond = np.abs(u) - np.float32(half_length)
    to_end = np.sqrt(np.maximum(beyond, 0.0) ** 2 + (v + np.float32(bend)) ** 2)
    distance = np.where(beyond > 0, to_end, across)
    return distance <= np.float32(half_thickness) * (1.0 - np.float32(taper) * t2)


def _curve_region(
    canvas: _Canvas, x0: float, y0: float, reach: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:meth:`_Canvas.region` of the square of half-side ``reach`` around a stroke."""
    return canvas.region(x0 - reach, y0 - reach, x0 + reach, y0 + reach)


def _pixel_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Image coordinates ``X, Y`` of the pixel centres, each ``(size, size)`` float32."""
    axis = ((np.arange(size) + 0.5) * (2.0 / size) - 1.0).astype(np.float32)
    big_y, big_x = np.meshgrid(axis, axis, indexing="ij")
    return big_x, big_y


def _background(view: View, size: int) -> np.ndarray:
    """The scene behind the person, a gradient and a few shapes: ``(size, size, 3)`` float32.

    Drawn at the final resolution (one sample per pixel): it is clutter, not a subject.
    """
    big_x, big_y = _pixel_grid(size)
    c0 = np.asarray(view.background[0], dtype=np.float32)
    c1 = np.asarray(view.background[1], dtype=np.float32)
    angle = view.background_angle
    direction = big_x * np.float32(math.cos(angle)) + big_y * np.float32(math.sin(angle))
    t = np.clip(0.5 + 0.5 * direction, 0.0, 1.0)[..., None]
    image = c0 + (c1 - c0) * t
    rng = np.random.default_rng(view.background_seed)
    for _ in range(int(rng.integers(2, 7))):
        colour = rng.uniform(0.05, 0.95, size=3).astype(np.float32)
        alpha = np.float32(rng.uniform(0.3, 0.8))
        kind = rng.integers(3)
        cx, cy = rng.uniform(-1.2, 1.2, size=2)
        if kind == 0:  # an ellipse
            rx, ry = rng.uniform(0.15, 0.7, size=2)
            mask = _ellipse(big_x, big_y, cx, cy, rx, ry) <= 1.0
        elif kind == 1:  # a rotated rectangle
            w, h = rng.uniform(0.1, 0.8, size=2)
            theta = rng.uniform(0, math.pi)
            c, s = np.float32(math.cos(theta)), np.float32(math.sin(theta))
            dx, dy = big_x - np.float32(cx), big_y - np.float32(cy)
            mask = (np.abs(c * dx + s * dy) <= w) & (np.abs(c * dy - s * dx) <= h)
        else:  # a band of stripes
            theta = rng.uniform(0, math.pi)
            period = rng.uniform(0.15, 0.5)
            u = big_x * np.float32(math.cos(theta)) + big_y * np.float32(math.sin(theta))
            mask = np.mod(u + np.float32(cx), np.float32(period)) < period * rng.uniform(0.2, 0.5)
        image[mask] = (1 - alpha) * image[mask] + alpha * colour
    return image


def _rgb(colour: Colour | np.ndarray) -> np.ndarray:
    return np.asarray(colour, dtype=np.float32)


def _draw(identity: Identity, view: View, size: int, supersample: int) -> np.ndarray:
    """The supersampled picture before lighting and noise, ``(N, N, 3)`` float32 in [0, 1]."""
    canvas = _Canvas(view, size, supersample)
    canvas.image.reshape(size, supersample, size, supersample, 3)[...] = _background(view, size)[
        :, None, :, None, :
    ]
    ident = identity
    a, b = ident.face_width, ident.face_height
    skin = _rgb(ident.skin)
    shade_skin = skin * np.float32(0.78)
    hair = _rgb(ident.hair)
    volume = 1.0 + ident.hair_volume

    # Torso and neck.
    x, y, img = canvas.ellipse_region(0.0, b + 0.55, a * 2.1, 0.62)
    img[_ellipse(x, y, 0.0, b + 0.55, a * 2.1, 0.62) <= 1.0] = _rgb(view.clothing)
    # Ears, then the hair behind the head, then the neck and the face.
    for side in (-1.0, 1.0):
        ear = (side * a * 0.97, ident.eye_y + 0.06, ident.ear_size * 0.7, ident.ear_size)
        x, y, img = canvas.ellipse_region(*ear)
        img[_ellipse(x, y, *ear) <= 1.0] = skin * np.float32(0.9)
    if ident.hair_style == "long":
        x, y, img = canvas.region(
            -a * volume * 1.05, -0.05 - b * volume, a * volume * 1.05, b * 1.15
        )
        back = (_ellipse(x, y, 0.0, -0.05, a * volume * 1.05, b * volume) <= 1.0) | (
            (np.abs(x) <= a * volume * 1.02) & (y >= -0.05) & (y <= b * 1.15)
        )
        img[back] = hair * np.float32(0.85)
    elif ident.hair_style == "curly":
        curls = (0.0, -0.12, a * (volume + 0.25), b * (volume + 0.1))
        x, y, img = canvas.ellipse_region(*curls)
        img[_ellipse(x, y, *curls) <= 1.0] = hair * np.float32(0.85)
    x, y, img = canvas.region(-a * 0.42, 0.3 * b, a * 0.42, b + 0.25)
    img[(np.abs(x) <= a * 0.42) & (y >= 0.3 * b) & (y <= b + 0.25)] = shade_skin

    x, y, img = canvas.ellipse_region(0.0, 0.0, a, b)
    rows = np.clip(y * np.float32(1 / b), -1.0, 1.0)
    half_width = np.float32(a) * (1.0 - np.float32(ident.jaw_taper) * np.maximum(rows, 0.0) ** 2)
    radius = (x / half_width) ** 2 + rows**2
    face = radius <= 1.0
    img[face] = skin * (1.0 - np.float32(0.22) * radius[face])[:, None]

    # Hair on top of the head.
    cap_box = (0.0, -0.02, a * volume, b * volume)
    x, y, img = canvas.ellipse_region(*cap_box)
    hairline = (
        ident.hairline + np.float32(0.35 * b / a**2) * x**2 + np.float32(ident.hair_parting) * x
    )
    cap = (_ellipse(x, y, *cap_box) <= 1.0) & (y <= hairline)
    if ident.hair_style == "shaved":
        img[cap] = 0.6 * img[cap] + 0.4 * hair
    else:
        img[cap] = hair

    shape = _expression_shape(view)
    # Eyes: a dark outline, the white, the iris clipped to the white, the pupil.
    ry = ident.eye_width * ident.eye_aspect * view.eye_open
    for side in (-1.0, 1.0):
        ex = side * ident.eye_spacing
        rim = 0.012
        x, y, img = canvas.ellipse_region(ex, ident.eye_y, ident.eye_width + rim, ry + rim)
        img[_ellipse(x, y, ex, ident.eye_y, ident.eye_width + rim, ry + rim) <= 1.0] = _LASHES
        white = _ellipse(x, y, ex, ident.eye_y, ident.eye_width, ry) <= 1.0
        img[white] = _EYE_WHITE
        ix = ex + view.gaze[0] * ident.eye_width * 0.4
        iy = ident.eye_y + view.gaze[1] * ry * 0.3
        iris_r = ident.eye_width * 0.5
        iris = _ellipse(x, y, ix, iy, iris_r, iris_r)
        img[white & (iris <= 1.0)] = _rgb(ident.iris)
        img[white & (iris <= 0.45**2)] = _PUPIL

    # Brows: inner ends up when sad, down when angry.
    brow_y = ident.eye_y - ident.eye_width * ident.eye_aspect - ident.brow_gap - shape.brow_raise
    for side in (-1.0, 1.0):
        bx = side * ident.eye_spacing
        x, y, img = _curve_region(canvas, bx, brow_y, ident.brow_length + 0.05)
        brow = _curve(
            x,
            y,
            bx,
            brow_y,
            ident.brow_length,
            side * shape.brow_tilt,
            -ident.brow_arch,
            ident.brow_thickness,
        )
        img[brow] = hair * np.float32(0.7)

    # Nose: a shadow along one side and the nostrils.
    nose_top = ident.eye_y + 0.02
    nw = ident.nose_width
    side_shadow = (
        nw * 0.45,
        (nose_top + ident.nose_y) / 2,
        nw * 0.3,
        (ident.nose_y - nose_top) / 2,
    )
    x, y, img = canvas.ellipse_region(*side_shadow)
    img[_ellipse(x, y, *side_shadow) <= 1.0] *= np.float32(0.9)
    x, y, img = canvas.ellipse_region(0.0, ident.nose_y, nw, nw * 0.4)
    nostrils = (_ellipse(x, y, 0.0, ident.nose_y, nw, nw * 0.4) <= 1.0) & (
        _ellipse(x, y, 0.0, ident.nose_y - 0.01, nw * 0.55, nw * 0.3) > 1.0
    )
    img[nostrils] = shade_skin * np.float32(0.85)

    # Mouth: corners rise by `smile` half-widths over its middle; an open mouth shows teeth.
    w = ident.mouth_width * shape.width
    rise = shape.smile * w
    lips = _rgb(ident.lips)
    reach = ident.lip_thickness + 0.01
    x, y, img = canvas.region(
        -w - reach,
        ident.mouth_y - max(rise, 0.0) - shape.opening - reach,
        w + reach,
        ident.mouth_y + max(-rise, 0.0) + shape.opening + reach,
    )
    if shape.opening > 0:
        t2 = np.clip(x * np.float32(1 / w), -1.0, 1.0) ** 2
        line = ident.mouth_y - np.float32(rise) * t2
        inside = np.abs(x) <= w
        # A smile opens mostly downwards, a frown mostly upwards.
        up, down = (0.25, 1.0) if rise >= 0 else (1.0, 0.25)
        top = line - np.float32(up * shape.opening) * (1 - t2)
        bottom = line + np.float32(down * shape.opening) * (1 - t2)
        hole = inside & (y >= top) & (y <= bottom)
        img[hole] = _MOUTH_INSIDE
        img[hole & (y <= top + 0.4 * (bottom - top))] = _TEETH
        lip = (np.abs(y - top) <= ident.lip_thickness * 0.6) | (
            np.abs(y - bottom) <= ident.lip_thickness * 0.8
        )
        img[inside & lip] = lips
    else:
        img[_curve(x, y, 0.0, ident.mouth_y, w, 0.0, rise, ident.lip_thickness)] = lips

    if ident.glasses:
        frame_rx, frame_ry = ident.eye_width * 1.5, ident.eye_width * 1.15
        for side in (-1.0, 1.0):
            frame = (side * ident.eye_spacing, ident.eye_y, frame_rx, frame_ry)
            x, y, img = canvas.ellipse_region(*frame)
            ring = np.abs(np.sqrt(_ellipse(x, y, *frame)) - 1.0) <= 0.012 / frame_ry
            img[ring] = _rgb(ident.frames)
        half_gap = ident.eye_spacing - frame_rx
        if half_gap > 0:
            x, y, img = _curve_region(canvas, 0.0, ident.eye_y - 0.02, half_gap + 0.03)
            img[_curve(x, y, 0.0, ident.eye_y - 0.02, half_gap, 0.0, 0.01, 0.01, 0.0)] = _rgb(
                ident.frames
            )

    return canvas.image


def render_face(identity: Identity, view: View, size: int = 64, supersample: int = 3) -> np.ndarray:
    """Draw one picture of ``identity`` as seen in ``view``.

    Args:
        identity: the person.
        view: expression, pose, scene, lighting and noise.
        size: width and height of the image in pixels.
        supersample: samples per pixel along each axis (anti-aliasing).
    Returns:
        the image, ``(size, size, 3)`` uint8 RGB.
    """
    samples = _draw(identity, view, size, supersample).reshape(
        size, supersample, size * supersample, 3
    )
    rows = samples.sum(axis=1, dtype=np.float32).reshape(size, size, supersample, 3)
    image = rows.sum(axis=2, dtype=np.float32) / np.float32(supersample**2)
    # Lighting: a directional gradient across the picture, exposure and colour temperature.
    big_x, big_y = _pixel_grid(size)
    angle = view.light_angle
    direction = big_x * np.float32(math.cos(angle)) + big_y * np.float32(math.sin(angle))
    image *= (1.0 + np.float32(view.light_strength) * direction)[..., None]
    image *= np.array([1.0 + view.tint, 1.0, 1.0 - view.tint], dtype=np.float32)
    image *= np.float32(view.exposure)
    noise = np.random.default_rng(view.noise_seed).normal(0.0, view.noise, image.shape)
    return np.clip(np.rint(image * 255.0 + noise), 0, 255).astype(np.uint8)


def landmarks(identity: Identity, view: View, size: int = 64) -> dict[str, np.ndarray]:
    """Pixel positions of the main features of a rendered face.

    Returns:
        ``{name: (2,) float64 array (row, col)}`` for ``left_eye``, ``right_eye``,
        ``left_brow``, ``right_brow``, ``nose``, ``mouth`` (middle), ``mouth_left`` and
        ``mouth_right`` (corners); rows and columns are fractional pixel indices.
    """
    shape = _expression_shape(view)
    w = identity.mouth_width * shape.width
    corner_y = identity.mouth_y - shape.smile * w
    brow_y = (
        identity.eye_y
        - identity.eye_width * identity.eye_aspect
        - identity.brow_gap
        - shape.brow_raise
    )
    points = {
        "left_eye": (-identity.eye_spacing, identity.eye_y),
        "right_eye": (identity.eye_spacing, identity.eye_y),
        "left_brow": (-identity.eye_spacing, brow_y),
        "right_brow": (identity.eye_spacing, brow_y),
        "nose": (0.0, identity.nose_y),
        "mouth": (0.0, identity.mouth_y),
        "mouth_left": (-w, corner_y),
        "mouth_right": (w, corner_y),
    }
    angle = math.radians(view.angle)
    c, s = math.cos(angle), math.sin(angle)
    result = {}
    for name, (fx, fy) in points.items():
        big_x = view.centre[0] + view.scale * (c * fx - s * fy)
        big_y = view.centre[1] + view.scale * (s * fx + c * fy)
        result[name] = np.array([(big_y + 1.0) * size / 2 - 0.5, (big_x + 1.0) * size / 2 - 0.5])
    return result


def generate_faces(n: int, seed: int, size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """``n`` faces of ``n`` new identities, exactly ``n // 2`` of them happy, in random order.

    Args:
        n: number of faces.
        seed: the seed; the same seed gives the same bytes.
        size: width and height of the images in pixels.
    Returns:
        x: ``(n, size, size, 3)`` uint8 RGB images.
        y: ``(n,)`` int64 labels, 1 for happy, 0 for not happy (see :data:`CLASSES`).
    """
    rng = np.random.default_rng(seed)
    y = np.zeros(n, dtype=np.int64)
    y[: n // 2] = 1
    y = rng.permutation(y)
    x = np.empty((n, size, size, 3), dtype=np.uint8)
    for i in range(n):
        identity = sample_identity(rng)
        x[i] = render_face(identity, sample_view(rng, int(y[i])), size)
    return x, y


def generate_identity_faces(
    n_identities: int, per_identity: int, seed: int, size: int = 64
) -> tuple[np.ndarray, np.ndarray]:
    """Several pictures of each of several synthetic people, with random expressions.

    Args:
        n_identities: number of people.
        per_identity: pictures of each person (each a new view: pose, expression, scene).
        seed: the seed; the same seed gives the same bytes.
        size: width and height of the images in pixels.
    Returns:
        x: ``(n_identities * per_identity, size, size, 3)`` uint8 RGB images, grouped by
            person (the first ``per_identity`` show person 0, and so on).
        identity_ids: ``(n_identities * per_identity,)`` int64, the person in each image.
    """
    rng = np.random.default_rng(seed)
    x = np.empty((n_identities * per_identity, size, size, 3), dtype=np.uint8)
    for person in range(n_identities):
        identity = sample_identity(rng)
        for k in range(per_identity):
            x[person * per_identity + k] = render_face(identity, sample_view(rng), size)
    identity_ids = np.repeat(np.arange(n_identities, dtype=np.int64), per_identity)
    return x, identity_ids


def _cache_dirs(cache_dir: str | os.PathLike[str] | None) -> list[Path]:
    """Folders to try, in order: the one given; else ``$DLGRADE_CACHE`` or
    ``~/.cache/dlgrade``, then a folder under the system's temporary directory."""
    if cache_dir is not None:
        return [Path(cache_dir)]
    preferred = os.environ.get("DLGRADE_CACHE")
    first = Path(preferred) if preferred else Path.home() / ".cache" / "dlgrade"
    user = os.getuid() if hasattr(os, "getuid") else "user"
    return [first, Path(tempfile.gettempdir()) / f"dlgrade-cache-{user}"]


def _happy_file_is_current(path: Path) -> bool:
    """Whether ``path`` is a readable happy-faces file of this generator version and layout."""
    import h5py

    expected = {
        "train_x": (HAPPY_TRAIN_SIZE, 64, 64, 3),
        "train_y": (HAPPY_TRAIN_SIZE,),
        "test_x": (HAPPY_TEST_SIZE, 64, 64, 3),
        "test_y": (HAPPY_TEST_SIZE,),
    }
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("generator_version") != GENERATOR_VERSION:
                return False
            arrays_ok = all(
                name in f and f[name].shape == shape and f[name].dtype == np.uint8
                for name, shape in expected.items()
            )
            return arrays_ok and "classes" in f and f["classes"].shape == (len(CLASSES),)
    except Exception:  # an unreadable, truncated or foreign file is simply not current
        return False


def _write_happy_file(path: Path) -> None:
    """Generate the happy-faces set and write it to ``path`` atomically (temp file, rename)."""
    import h5py

    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        train_x, train_y = generate_faces(HAPPY_TRAIN_SIZE, HAPPY_TRAIN_SEED)
        test_x, test_y = generate_faces(HAPPY_TEST_SIZE, HAPPY_TEST_SEED)
        with h5py.File(temporary, "w") as f:
            f.attrs["generator_version"] = GENERATOR_VERSION
            f.create_dataset("train_x", data=train_x)
            f.create_dataset("train_y", data=train_y.astype(np.uint8))
            f.create_dataset("test_x", data=test_x)
            f.create_dataset("test_y", data=test_y.astype(np.uint8))
            f.create_dataset("classes", data=np.array([c.encode() for c in CLASSES]))
        os.chmod(temporary, 0o644)  # mkstemp makes it private; the cache may be shared
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def happy_faces_path(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The HDF5 file of the course's happy / not-happy faces, generated on first use.

    The file lives in ``cache_dir`` if given, else in ``$DLGRADE_CACHE`` or
    ``~/.cache/dlgrade``, else (when that cannot be written) under the system's temporary
    directory. It holds ``train_x`` (600, 64, 64, 3) uint8, ``train_y`` (600,) uint8,
    ``test_x`` (150, 64, 64, 3) uint8, ``test_y`` (150,) uint8 and ``classes`` (2,) bytes,
    with the attribute ``generator_version``. A missing, unreadable or outdated file is
    regenerated (in about two seconds); writing goes through a temporary file and a rename,
    so concurrent first uses never leave a half-written file.

    Returns:
        the path of the file.
    """
    folders = _cache_dirs(cache_dir)
    for folder in folders:
        if _happy_file_is_current(folder / HAPPY_FILE_NAME):
            return folder / HAPPY_FILE_NAME
    *fallbacks, last = folders
    for folder in fallbacks:
        try:
            _write_happy_file(folder / HAPPY_FILE_NAME)
        except OSError:  # not writable here: try the next folder
            continue
        return folder / HAPPY_FILE_NAME
    _write_happy_file(last / HAPPY_FILE_NAME)
    return last / HAPPY_FILE_NAME


def load_happy_faces(
    cache_dir: str | os.PathLike[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The happy / not-happy faces, course-style (see :func:`happy_faces_path`).

    Returns:
        train_x: (600, 64, 64, 3) uint8 RGB images.
        train_y: (600, 1) int64 labels, 1 for happy.
        test_x: (150, 64, 64, 3) uint8 RGB images.
        test_y: (150, 1) int64 labels.
        classes: (2,) str, the name of each label (``classes[label]``).
    """
    import h5py

    with h5py.File(happy_faces_path(cache_dir), "r") as f:
        train_x = f["train_x"][()]
        train_y = f["train_y"][()].astype(np.int64).reshape(-1, 1)
        test_x = f["test_x"][()]
        test_y = f["test_y"][()].astype(np.int64).reshape(-1, 1)
        classes = np.array([c.decode() for c in f["classes"][()]])
    return train_x, train_y, test_x, test_y, classes
