"""The w3_conv_pool reference solutions against independent oracles.

Oracles: TensorFlow's ``tf.nn.conv2d``, ``tf.nn.max_pool2d`` and ``tf.nn.avg_pool2d`` (on an
input padded with zeros first, with 'VALID', since TensorFlow's 'SAME' pads differently)
and ``tf.GradientTape`` for the backward passes, on 30 random configurations each;
``scipy.signal.correlate`` for stride-1 convolutions; exact sums for the small helpers.
Then the hidden checks themselves: what their cases cover, how much margin the reference
leaves in the gradient checks (``tests/test_notebook_solutions.py`` runs them on the
notebook's own solution cells).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import signal

import graders.cases.w3_conv_pool as w3_cases
import solutions.w3_conv_pool as ref
from graders.cases import all_checks, assignment_of
from graders.judge import judge_record
from graders.probe import collect

N_CONFIGS = 30


@pytest.fixture(scope="module")
def tf():
    return pytest.importorskip("tensorflow")


def _conv_config(seed: int) -> dict:
    """A random convolution: window 1 to 4, stride 1 to 3, pad 0 to 2, non-square inputs."""
    rng = np.random.default_rng(1000 + seed)
    f = int(rng.integers(1, 5))
    stride = int(rng.integers(1, 4))
    pad = int(rng.integers(0, 3))
    low = max(1, f - 2 * pad)
    shape = (
        int(rng.integers(1, 4)),
        int(rng.integers(low, 10)),
        int(rng.integers(low, 10)),
        int(rng.integers(1, 5)),
    )
    n_C = int(rng.integers(1, 5))
    return {
        "A_prev": rng.normal(size=shape),
        "W": rng.normal(size=(f, f, shape[3], n_C)),
        "b": rng.normal(size=(1, 1, 1, n_C)),
        "hparameters": {"stride": stride, "pad": pad},
        "rng": rng,
    }


def _pool_config(seed: int) -> dict:
    """A random pooling layer on distinct values (so every window has one maximum)."""
    rng = np.random.default_rng(2000 + seed)
    f = int(rng.integers(1, 5))
    stride = int(rng.integers(1, 4))
    shape = (
        int(rng.integers(1, 4)),
        int(rng.integers(f, 10)),
        int(rng.integers(f, 10)),
        int(rng.integers(1, 5)),
    )
    size = math.prod(shape)
    return {
        "A_prev": (rng.permutation(size).reshape(shape) - size / 2) / size * 4,
        "hparameters": {"stride": stride, "f": f},
        "rng": rng,
    }


def _padded(A: np.ndarray, pad: int) -> np.ndarray:
    out = np.zeros((A.shape[0], A.shape[1] + 2 * pad, A.shape[2] + 2 * pad, A.shape[3]))
    out[:, pad : pad + A.shape[1], pad : pad + A.shape[2], :] = A
    return out


def _tf_conv(tf, A, W, b, hparameters):
    padded = tf.pad(A, [[0, 0], [hparameters["pad"]] * 2, [hparameters["pad"]] * 2, [0, 0]])
    return tf.nn.conv2d(padded, W, strides=hparameters["stride"], padding="VALID") + b


def _tf_pool(tf, A, hparameters, mode):
    pool = tf.nn.max_pool2d if mode == "max" else tf.nn.avg_pool2d
    return pool(A, ksize=hparameters["f"], strides=hparameters["stride"], padding="VALID")


# ---------------------------------------------------------------------------- zero_pad


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (2, 3, 5, 4), (4, 6, 2, 3)])
@pytest.mark.parametrize("pad", [0, 1, 3])
def test_zero_pad_surrounds_each_image_with_pad_zeros_and_leaves_batch_and_channels(shape, pad):
    X = np.random.default_rng(pad).normal(size=shape)
    X_pad = ref.zero_pad(X, pad)
    np.testing.assert_array_equal(X_pad, _padded(X, pad))
    assert X_pad.shape == (shape[0], shape[1] + 2 * pad, shape[2] + 2 * pad, shape[3])


# ---------------------------------------------------------------------------- conv_single_step


@pytest.mark.parametrize("f, n_C_prev", [(1, 1), (2, 3), (3, 4), (5, 2)])
def test_conv_single_step_is_the_exact_sum_of_products_plus_the_bias(f, n_C_prev):
    rng = np.random.default_rng(f * 10 + n_C_prev)
    a, W, b = rng.normal(size=(f, f, n_C_prev)), rng.normal(size=(f, f, n_C_prev)), rng.normal()
    Z = ref.conv_single_step(a, W, np.full((1, 1, 1), b))
    assert np.shape(Z) == ()
    expected = math.fsum([*(a * W).ravel().tolist(), b])
    assert float(Z) == pytest.approx(expected, rel=1e-12, abs=1e-12)


# ---------------------------------------------------------------------------- conv_forward


@pytest.mark.parametrize("seed", range(N_CONFIGS))
def test_conv_forward_matches_tensorflow_conv2d_on_a_zero_padded_input(tf, seed):
    c = _conv_config(seed)
    Z, cache = ref.conv_forward(c["A_prev"], c["W"], c["b"], c["hparameters"])
    expected = _tf_conv(tf, tf.constant(c["A_prev"]), c["W"], c["b"], c["hparameters"]).numpy()
    assert Z.shape == expected.shape
    np.testing.assert_allclose(Z, expected, rtol=1e-10, atol=1e-12)
    assert cache[0] is c["A_prev"] and cache[1] is c["W"] and cache[2] is c["b"]
    assert cache[3] == c["hparameters"] and len(cache) == 4


@pytest.mark.parametrize("seed", range(8))
def test_conv_forward_with_stride_1_matches_scipy_correlate_summed_over_channels(seed):
    c = _conv_config(seed)
    c["hparameters"]["stride"] = 1
    Z, _ = ref.conv_forward(c["A_prev"], c["W"], c["b"], c["hparameters"])
    A_pad = _padded(c["A_prev"], c["hparameters"]["pad"])
    for i in range(A_pad.shape[0]):
        for k in range(c["W"].shape[3]):
            expected = sum(
                signal.correlate(A_pad[i, :, :, j], c["W"][:, :, j, k], mode="valid")
                for j in range(A_pad.shape[3])
            )
            np.testing.assert_allclose(Z[i, :, :, k], expected + c["b"][0, 0, 0, k], rtol=1e-10)


def test_conv_forward_output_size_rounds_down():
    A = np.ones((1, 7, 9, 1))
    Z, _ = ref.conv_forward(
        A, np.ones((3, 3, 1, 2)), np.zeros((1, 1, 1, 2)), {"stride": 3, "pad": 2}
    )
    # floor((7 - 3 + 4) / 3) + 1 = 3 and floor((9 - 3 + 4) / 3) + 1 = 4
    assert Z.shape == (1, 3, 4, 2)


# ---------------------------------------------------------------------------- pool_forward


@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize("seed", range(N_CONFIGS))
def test_pool_forward_matches_tensorflow_pooling(tf, seed, mode):
    c = _pool_config(seed)
    A, cache = ref.pool_forward(c["A_prev"], c["hparameters"], mode=mode)
    expected = _tf_pool(tf, tf.constant(c["A_prev"]), c["hparameters"], mode).numpy()
    assert A.shape == expected.shape
    np.testing.assert_allclose(A, expected, rtol=1e-12, atol=1e-14)
    assert cache[0] is c["A_prev"] and cache[1] == c["hparameters"] and len(cache) == 2


def test_pool_forward_is_max_pooling_by_default():
    A_prev = _pool_config(0)["A_prev"]
    hparameters = {"stride": 1, "f": 2}
    np.testing.assert_array_equal(
        ref.pool_forward(A_prev, hparameters)[0],
        ref.pool_forward(A_prev, hparameters, mode="max")[0],
    )


# ---------------------------------------------------------------------------- conv_backward


@pytest.mark.parametrize("seed", range(N_CONFIGS))
def test_conv_backward_matches_tensorflow_autodiff(tf, seed):
    c = _conv_config(seed)
    Z, cache = ref.conv_forward(c["A_prev"], c["W"], c["b"], c["hparameters"])
    dZ = c["rng"].normal(size=Z.shape)
    dA_prev, dW, db = ref.conv_backward(dZ, cache)
    variables = [tf.Variable(c[key]) for key in ("A_prev", "W", "b")]
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(_tf_conv(tf, *variables, c["hparameters"]) * dZ)
    expected = tape.gradient(loss, variables)
    for got, want in zip((dA_prev, dW, db), expected, strict=True):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------- pool_backward


@pytest.mark.parametrize("shape", [(1, 1), (2, 2), (3, 3), (2, 4)])
def test_create_mask_from_window_marks_the_maximum_and_nothing_else(shape):
    x = np.random.default_rng(sum(shape)).normal(size=shape)
    mask = ref.create_mask_from_window(x)
    expected = np.zeros(shape, dtype=bool)
    expected[np.unravel_index(np.argmax(x), shape)] = True
    np.testing.assert_array_equal(mask, expected)


@pytest.mark.parametrize("shape", [(1, 1), (2, 2), (3, 3), (2, 5)])
def test_distribute_value_spreads_dz_evenly_and_keeps_its_sum(shape):
    a = ref.distribute_value(3.7, shape)
    assert a.shape == shape
    assert math.fsum(a.ravel().tolist()) == pytest.approx(3.7, rel=1e-12)
    np.testing.assert_array_equal(a, np.full(shape, a[0, 0]))


@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize("seed", range(N_CONFIGS))
def test_pool_backward_matches_tensorflow_autodiff(tf, seed, mode):
    c = _pool_config(seed)
    A, cache = ref.pool_forward(c["A_prev"], c["hparameters"], mode=mode)
    dA = c["rng"].normal(size=A.shape)
    dA_prev = ref.pool_backward(dA, cache, mode=mode)
    x = tf.Variable(c["A_prev"])
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(_tf_pool(tf, x, c["hparameters"], mode) * dA)
    expected = tape.gradient(loss, x).numpy()
    assert dA_prev.shape == expected.shape
    np.testing.assert_allclose(dA_prev, expected, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------------- the hidden checks


def test_convolution_cases_cover_non_square_inputs_strides_pad_0_odd_windows_and_floors():
    configs = w3_cases.CONV_SHAPE_CONFIGS
    assert any(n_H != n_W for _, n_H, n_W, *_ in configs)
    assert {1, 2, 3} <= {stride for *_, stride, _ in configs}
    assert {0, 1, 2} <= {pad for *_, pad in configs}
    assert any(f % 2 == 1 and f > 1 for _, _, _, _, f, *_ in configs)
    assert any(f % 2 == 0 for _, _, _, _, f, *_ in configs)
    assert any((n_H + 2 * p - f) % s for _, n_H, _, _, f, _, s, p in configs)
    assert any(m not in (n_H, n_W, c) for m, n_H, n_W, c, *_ in configs)


def test_pooling_cases_cover_overlapping_windows_gaps_and_a_default_mode():
    for configs in (w3_cases.POOL_VALUE_CONFIGS, w3_cases.POOL_GRADIENT_CONFIGS):
        assert any(s < f for *_, f, s in configs)  # overlapping windows
        assert any(s > f for *_, f, s in configs)  # inputs no window covers
        assert any(n_H != n_W for _, n_H, n_W, *_ in configs)
    for name in ("pool_forward_max_values", "pool_backward_max_values"):
        assert any("mode" not in case for case in all_checks()[name].cases())


def test_backward_checks_build_their_caches_and_call_only_the_backward_pass():
    # A wrong forward pass must not cost the backward cells their points.
    backward = {
        name: check
        for name, check in all_checks().items()
        if assignment_of(name) == "w3_conv_pool" and "backward" in name
    }
    assert set(backward) == {
        "conv_backward_values",
        "conv_backward_gradient_check",
        "pool_backward_max_values",
        "pool_backward_average_values",
        "pool_backward_gradient_check",
    }
    for name, check in backward.items():
        assert check.functions == (name.split("_")[0] + "_backward",)
        assert all(isinstance(case["A_prev"], np.ndarray) for case in check.cases())


@pytest.mark.parametrize("name", ["conv_backward_gradient_check", "pool_backward_gradient_check"])
def test_reference_passes_the_gradient_checks_a_thousand_times_below_the_threshold(
    name, monkeypatch
):
    monkeypatch.setattr(w3_cases, "GRADIENT_CHECK_THRESHOLD", 1e-9)
    check = all_checks()[name]
    result = judge_record(check, collect(name, getattr(ref, check.functions[0])), ref)
    assert result.passed, result.problems


def test_gradient_check_rejects_a_gradient_off_by_one_part_in_100000():
    name = "conv_backward_gradient_check"
    check = all_checks()[name]

    def nearly_right(dZ, cache):
        dA_prev, dW, db = ref.conv_backward(dZ, cache)
        return dA_prev, dW * (1 + 1e-5), db

    result = judge_record(check, collect(name, nearly_right), ref)
    assert not result.passed
    assert all("gradient check on dW" in p for p in result.problems)
    assert "relative error" in result.problems[0]
