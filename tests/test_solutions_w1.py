"""The w1_broadcasting reference solutions against independent oracles.

Oracles: scipy.special (expit, softmax), scipy.spatial.distance, scikit-learn's row
normalisation, explicit Python loops, centred finite differences and TensorFlow autodiff.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special
from scipy.spatial import distance
from sklearn.preprocessing import normalize

from graders.cases import all_checks, assignment_of
from graders.judge import reference_outputs
from solutions import w1_broadcasting as ref

SEEDS = range(8)
GRADED = (
    "sigmoid",
    "sigmoid_derivative",
    "image2vector",
    "normalize_rows",
    "softmax",
    "l1_loss",
    "l2_loss",
    "pairwise_sq_distances",
)


def _random_shape(rng: np.random.Generator, ndim: int) -> tuple[int, ...]:
    return tuple(int(n) for n in rng.integers(1, 9, size=ndim))


# ----------------------------------------------------------------------------- sigmoid


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ndim", [0, 1, 2, 3])
def test_sigmoid_matches_scipy_expit(seed, ndim):
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=6.0, size=_random_shape(rng, ndim))
    out = ref.sigmoid(x)
    assert np.shape(out) == x.shape
    np.testing.assert_allclose(out, scipy.special.expit(x), rtol=1e-12, atol=1e-15)


def test_sigmoid_is_symmetric_about_one_half():
    x = np.linspace(-20.0, 20.0, 81)
    np.testing.assert_allclose(ref.sigmoid(-x), 1.0 - ref.sigmoid(x), atol=1e-15)
    assert ref.sigmoid(np.array(0.0)) == 0.5


# ------------------------------------------------------------------ sigmoid_derivative


@pytest.mark.parametrize("seed", SEEDS)
def test_sigmoid_derivative_matches_centred_differences(seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-8.0, 8.0, size=_random_shape(rng, 2))
    h = 1e-5
    numeric = (scipy.special.expit(x + h) - scipy.special.expit(x - h)) / (2 * h)
    np.testing.assert_allclose(ref.sigmoid_derivative(x), numeric, rtol=1e-7, atol=1e-11)


def test_sigmoid_derivative_matches_tensorflow_autodiff():
    tf = pytest.importorskip("tensorflow")
    x = np.linspace(-10.0, 10.0, 41).reshape(1, 41)
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = tf.reduce_sum(tf.sigmoid(xt))
    grad = tape.gradient(y, xt).numpy()
    np.testing.assert_allclose(ref.sigmoid_derivative(x), grad, rtol=1e-10, atol=1e-15)


def test_sigmoid_derivative_peaks_at_one_quarter():
    assert ref.sigmoid_derivative(np.array(0.0)) == pytest.approx(0.25)
    x = np.linspace(-5.0, 5.0, 101)
    assert np.all(ref.sigmoid_derivative(x) <= 0.25)


# ------------------------------------------------------------------------- image2vector


@pytest.mark.parametrize("seed", SEEDS)
def test_image2vector_matches_row_major_loop(seed):
    rng = np.random.default_rng(seed)
    image = rng.normal(size=_random_shape(rng, 3))
    expected = [
        image[i, j, k]
        for i in range(image.shape[0])
        for j in range(image.shape[1])
        for k in range(image.shape[2])
    ]
    out = ref.image2vector(image)
    assert out.shape == (image.size, 1)
    np.testing.assert_array_equal(out[:, 0], expected)


# ----------------------------------------------------------------------- normalize_rows


@pytest.mark.parametrize("seed", SEEDS)
def test_normalize_rows_matches_sklearn_normalize(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=3.0, size=_random_shape(rng, 2)) + 0.01
    out = ref.normalize_rows(x)
    assert out.shape == x.shape
    np.testing.assert_allclose(out, normalize(x, norm="l2", axis=1), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("seed", SEEDS)
def test_normalize_rows_gives_unit_rows_parallel_to_the_input(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(int(rng.integers(1, 9)), int(rng.integers(1, 9)))) + 0.01
    out = ref.normalize_rows(x)
    norms = np.sqrt([sum(v * v for v in row) for row in x])
    np.testing.assert_allclose([np.sqrt(np.sum(r**2)) for r in out], 1.0, rtol=1e-12)
    np.testing.assert_allclose(out * norms[:, None], x, rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------------------------ softmax


@pytest.mark.parametrize("seed", SEEDS)
def test_softmax_matches_scipy_row_wise(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=4.0, size=_random_shape(rng, 2))
    out = ref.softmax(x)
    assert out.shape == x.shape
    np.testing.assert_allclose(out, scipy.special.softmax(x, axis=1), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_softmax_is_finite_and_shift_invariant_on_large_inputs(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=3.0, size=(5, 4))
    shifts = rng.uniform(-2000.0, 2000.0, size=(5, 1))
    with np.errstate(all="raise"):
        out = ref.softmax(x + shifts)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, scipy.special.softmax(x, axis=1), rtol=1e-9, atol=1e-300)


def test_softmax_matches_tensorflow():
    tf = pytest.importorskip("tensorflow")
    x = np.random.default_rng(3).normal(scale=5.0, size=(6, 9))
    np.testing.assert_allclose(ref.softmax(x), tf.nn.softmax(x, axis=1).numpy(), rtol=1e-10)


# ------------------------------------------------------------------------------- losses


def _loss_inputs(seed: int, shape_kind: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    m = int(rng.integers(1, 12))
    shape = {"vector": (m,), "row": (1, m), "column": (m, 1)}[shape_kind]
    return rng.normal(size=shape), rng.normal(size=shape)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape_kind", ["vector", "row", "column"])
def test_l1_loss_matches_cityblock_distance(seed, shape_kind):
    yhat, y = _loss_inputs(seed, shape_kind)
    loss = ref.l1_loss(yhat, y)
    assert np.shape(loss) == ()
    expected = distance.cityblock(yhat.ravel(), y.ravel())
    assert float(loss) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape_kind", ["vector", "row", "column"])
def test_l2_loss_matches_squared_euclidean_distance(seed, shape_kind):
    yhat, y = _loss_inputs(seed, shape_kind)
    loss = ref.l2_loss(yhat, y)
    assert np.shape(loss) == ()
    expected = distance.sqeuclidean(yhat.ravel(), y.ravel())
    assert float(loss) == pytest.approx(expected, rel=1e-12)


def test_losses_on_the_classic_example():
    yhat = np.array([0.9, 0.2, 0.1, 0.4, 0.9])
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0])
    assert float(ref.l1_loss(yhat, y)) == pytest.approx(1.1)
    assert float(ref.l2_loss(yhat, y)) == pytest.approx(0.43)


# ------------------------------------------------------------------ pairwise_sq_distances


@pytest.mark.parametrize("seed", SEEDS)
def test_pairwise_sq_distances_matches_scipy_cdist(seed):
    rng = np.random.default_rng(seed)
    m, n, d = (int(v) for v in rng.integers(1, 10, size=3))
    a = rng.normal(scale=2.0, size=(m, d))
    b = rng.normal(scale=2.0, size=(n, d))
    out = ref.pairwise_sq_distances(a, b)
    assert out.shape == (m, n)
    np.testing.assert_allclose(out, distance.cdist(a, b, "sqeuclidean"), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
def test_pairwise_sq_distances_never_negative_and_zero_on_duplicates(seed):
    rng = np.random.default_rng(seed)
    a = 100.0 + rng.normal(size=(40, 4))
    out = ref.pairwise_sq_distances(a, a)
    assert np.all(out >= 0)
    np.testing.assert_allclose(np.diag(out), 0.0, atol=1e-8)
    np.testing.assert_allclose(out, distance.cdist(a, a, "sqeuclidean"), rtol=1e-6, atol=1e-8)


def test_pairwise_sq_distances_handles_thousands_of_points():
    # 3 million pairs: the expansion needs one (m, n) matrix, not an (m, n, d) temporary.
    rng = np.random.default_rng(0)
    a = rng.normal(size=(2000, 8))
    out = ref.pairwise_sq_distances(a, a[:1500])
    assert out.shape == (2000, 1500)
    np.testing.assert_allclose(out[123, 456], np.sum((a[123] - a[456]) ** 2), rtol=1e-9)


# ---------------------------------------------------------------------- hidden checks


def _w1_checks():
    return {n: c for n, c in all_checks().items() if assignment_of(n) == "w1_broadcasting"}


def test_every_graded_function_has_a_hidden_check():
    called = {f for check in _w1_checks().values() for f in check.functions}
    assert called == set(GRADED)


@pytest.mark.parametrize("name", sorted(_w1_checks()))
def test_reference_outputs_of_every_check_are_finite(name):
    check = _w1_checks()[name]
    for out in reference_outputs(check, ref):
        assert np.all(np.isfinite(np.asarray(out, dtype=np.float64)))


@pytest.mark.parametrize("name", sorted(_w1_checks()))
def test_check_cases_are_identical_on_every_call(name):
    check = _w1_checks()[name]
    first, second = check.cases(), check.cases()
    assert len(first) == len(second) > 0
    for c1, c2 in zip(first, second, strict=True):
        for x1, x2 in zip(c1, c2, strict=True):
            np.testing.assert_array_equal(x1, x2)
