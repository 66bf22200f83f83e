"""Wrong implementations (mutants) and valid alternatives (variants) for w1_broadcasting."""

from __future__ import annotations

import math

import numpy as np
import scipy.spatial.distance
import scipy.special

from tests.mutants import Impl, mutant, variant

ASSIGNMENT = "w1_broadcasting"


def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


# ----------------------------------------------------------------------------- sigmoid


@mutant("sigmoid", "sign of the exponent dropped")
def sigmoid_no_minus(x):
    return 1.0 / (1.0 + np.exp(x))


@mutant("sigmoid", "math.exp does not take arrays")
def sigmoid_math_exp(x):
    return 1.0 / (1.0 + math.exp(-x))


@mutant("sigmoid", "minus instead of plus in the denominator")
def sigmoid_minus_denominator(x):
    with np.errstate(divide="ignore"):
        return 1.0 / (1.0 - np.exp(-x))


@mutant("sigmoid", "tanh instead of the logistic function")
def sigmoid_tanh(x):
    return np.tanh(x)


@variant("sigmoid", "scipy.special.expit")
def sigmoid_expit(x):
    return scipy.special.expit(x)


@variant("sigmoid", "exp(x) / (1 + exp(x))")
def sigmoid_exp_ratio(x):
    e = np.exp(x)
    return e / (1.0 + e)


@variant("sigmoid", "through tanh: (1 + tanh(x/2)) / 2")
def sigmoid_via_tanh(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


@variant("sigmoid", "float32")
def sigmoid_float32(x):
    x = np.asarray(x, dtype=np.float32)
    return (1.0 / (1.0 + np.exp(-x))).astype(np.float32)


# ------------------------------------------------------------------ sigmoid_derivative


@mutant("sigmoid_derivative", "x * (1 - x) without applying the sigmoid")
def sigmoid_derivative_on_x(x):
    return x * (1 - x)


@mutant("sigmoid_derivative", "tanh's derivative 1 - s**2")
def sigmoid_derivative_tanh_rule(x):
    s = _sig(x)
    return 1 - s**2


@mutant("sigmoid_derivative", "s * (1 + s)")
def sigmoid_derivative_plus(x):
    s = _sig(x)
    return s * (1 + s)


@mutant("sigmoid_derivative", "returns the sigmoid itself")
def sigmoid_derivative_identity(x):
    return _sig(x)


@variant("sigmoid_derivative", "exp(-x) / (1 + exp(-x))**2")
def sigmoid_derivative_closed_form(x):
    e = np.exp(-x)
    return e / (1.0 + e) ** 2


@variant("sigmoid_derivative", "s(x) * s(-x)")
def sigmoid_derivative_symmetric(x):
    return _sig(x) * _sig(-x)


@variant("sigmoid_derivative", "float32")
def sigmoid_derivative_float32(x):
    s = _sig(np.asarray(x, dtype=np.float32))
    return (s * (1 - s)).astype(np.float32)


# ------------------------------------------------------------------------- image2vector


@mutant("image2vector", "1-D result instead of a column")
def image2vector_flat(image):
    return image.reshape(-1)


@mutant("image2vector", "row vector (1, n) instead of a column")
def image2vector_row(image):
    return image.reshape(1, -1)


@mutant("image2vector", "column-major (order='F') flattening")
def image2vector_fortran(image):
    return image.reshape(-1, 1, order="F")


@mutant("image2vector", "transposed before flattening")
def image2vector_transposed(image):
    return image.T.reshape(-1, 1)


@mutant("image2vector", "depth left out of the size")
def image2vector_no_depth(image):
    return image.reshape(image.shape[0] * image.shape[1], image.shape[2])


@variant("image2vector", "reshape(-1, 1)")
def image2vector_minus_one(image):
    return image.reshape(-1, 1)


@variant("image2vector", "ravel then new axis")
def image2vector_ravel(image):
    return image.ravel()[:, np.newaxis]


@variant("image2vector", "triple loop in row-major order")
def image2vector_loops(image):
    length, height, depth = image.shape
    out = np.zeros((length * height * depth, 1))
    k = 0
    for i in range(length):
        for j in range(height):
            for c in range(depth):
                out[k, 0] = image[i, j, c]
                k += 1
    return out


# ----------------------------------------------------------------------- normalize_rows


@mutant("normalize_rows", "norm over axis 0 (columns)")
def normalize_rows_axis0(x):
    return x / np.linalg.norm(x, axis=0, keepdims=True)


@mutant("normalize_rows", "keepdims missing")
def normalize_rows_no_keepdims(x):
    return x / np.linalg.norm(x, axis=1)


@mutant("normalize_rows", "norm of the whole matrix")
def normalize_rows_global(x):
    return x / np.linalg.norm(x)


@mutant("normalize_rows", "squared norm (no square root)")
def normalize_rows_squared(x):
    return x / np.sum(x**2, axis=1, keepdims=True)


@mutant("normalize_rows", "L1 norm")
def normalize_rows_l1(x):
    return x / np.sum(np.abs(x), axis=1, keepdims=True)


@variant("normalize_rows", "sqrt of the sum of squares")
def normalize_rows_sqrt(x):
    return x / np.sqrt(np.sum(x * x, axis=1, keepdims=True))


@variant("normalize_rows", "norm without keepdims, then [:, None]")
def normalize_rows_newaxis(x):
    return x / np.linalg.norm(x, axis=1)[:, None]


@variant("normalize_rows", "loop over rows")
def normalize_rows_loop(x):
    out = np.empty(x.shape)
    for i in range(x.shape[0]):
        out[i] = x[i] / math.sqrt(sum(v * v for v in x[i]))
    return out


@variant("normalize_rows", "float32")
def normalize_rows_float32(x):
    x = np.asarray(x, dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


# ------------------------------------------------------------------------------ softmax


@mutant("softmax", "over axis 0 (columns)")
def softmax_axis0(x):
    e = np.exp(x - np.max(x, axis=0, keepdims=True))
    return e / np.sum(e, axis=0, keepdims=True)


@mutant("softmax", "not stabilised: overflows on large inputs")
def softmax_naive(x):
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        e = np.exp(x)
        return e / np.sum(e, axis=1, keepdims=True)


@mutant("softmax", "one global maximum subtracted")
def softmax_global_max(x):
    with np.errstate(invalid="ignore", divide="ignore"):
        e = np.exp(x - np.max(x))
        return e / np.sum(e, axis=1, keepdims=True)


@mutant("softmax", "sum over the whole matrix")
def softmax_global_sum(x):
    e = np.exp(x - np.max(x, axis=1, keepdims=True))
    return e / np.sum(e)


@mutant("softmax", "keepdims missing in the sum")
def softmax_no_keepdims(x):
    e = np.exp(x - np.max(x, axis=1, keepdims=True))
    return e / np.sum(e, axis=1)


@variant("softmax", "scipy.special.softmax(axis=1)")
def softmax_scipy(x):
    return scipy.special.softmax(x, axis=1)


@variant("softmax", "exp(x - logsumexp)")
def softmax_logsumexp(x):
    return np.exp(x - scipy.special.logsumexp(x, axis=1, keepdims=True))


@variant("softmax", "loop over rows")
def softmax_loop(x):
    out = np.empty(x.shape)
    for i, row in enumerate(x):
        e = np.exp(row - row.max())
        out[i] = e / e.sum()
    return out


@variant("softmax", "float32")
def softmax_float32(x):
    x = np.asarray(x, dtype=np.float32)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# ------------------------------------------------------------------------------ l1_loss


@mutant("l1_loss", "mean instead of sum")
def l1_loss_mean(yhat, y):
    return np.mean(np.abs(y - yhat))


@mutant("l1_loss", "absolute value missing")
def l1_loss_no_abs(yhat, y):
    return np.sum(y - yhat)


@mutant("l1_loss", "absolute value after the sum")
def l1_loss_abs_after_sum(yhat, y):
    return np.abs(np.sum(y - yhat))


@mutant("l1_loss", "sum over axis 0 only")
def l1_loss_axis0(yhat, y):
    return np.sum(np.abs(y - yhat), axis=0)


@mutant("l1_loss", "squared differences")
def l1_loss_squared(yhat, y):
    return np.sum((y - yhat) ** 2)


@variant("l1_loss", "loop over the flattened entries")
def l1_loss_loop(yhat, y):
    total = 0.0
    for a, b in zip(np.ravel(yhat), np.ravel(y), strict=True):
        total += abs(b - a)
    return total


@variant("l1_loss", "vector 1-norm of the flattened difference")
def l1_loss_norm(yhat, y):
    return np.linalg.norm(np.ravel(y - yhat), ord=1)


@variant("l1_loss", "float32")
def l1_loss_float32(yhat, y):
    return np.float32(np.sum(np.abs(y.astype(np.float32) - yhat.astype(np.float32))))


# ------------------------------------------------------------------------------ l2_loss


@mutant("l2_loss", "mean instead of sum")
def l2_loss_mean(yhat, y):
    return np.mean((y - yhat) ** 2)


@mutant("l2_loss", "square root taken (the norm, not its square)")
def l2_loss_sqrt(yhat, y):
    return np.sqrt(np.sum((y - yhat) ** 2))


@mutant("l2_loss", "absolute differences, not squared")
def l2_loss_abs(yhat, y):
    return np.sum(np.abs(y - yhat))


@mutant("l2_loss", "np.dot(d, d) only works for 1-D vectors")
def l2_loss_dot(yhat, y):
    d = y - yhat
    return np.dot(d, d)


@mutant("l2_loss", "square of the sum")
def l2_loss_square_of_sum(yhat, y):
    return np.sum(y - yhat) ** 2


@variant("l2_loss", "np.dot of the flattened difference")
def l2_loss_dot_flat(yhat, y):
    d = np.ravel(y - yhat)
    return np.dot(d, d)


@variant("l2_loss", "Frobenius norm squared")
def l2_loss_norm(yhat, y):
    return np.linalg.norm(y - yhat) ** 2


@variant("l2_loss", "loop over the flattened entries")
def l2_loss_loop(yhat, y):
    return sum((b - a) ** 2 for a, b in zip(np.ravel(yhat), np.ravel(y), strict=True))


@variant("l2_loss", "float32")
def l2_loss_float32(yhat, y):
    d = y.astype(np.float32) - yhat.astype(np.float32)
    return np.float32(np.sum(d * d))


# ------------------------------------------------------------------ pairwise_sq_distances


def _sq_norms(a):
    return np.sum(a**2, axis=1)


@mutant("pairwise_sq_distances", "result transposed: shape (n, m)")
def pairwise_transposed(a, b):
    d2 = _sq_norms(b)[:, None] - 2 * b @ a.T + _sq_norms(a)[None, :]
    return np.maximum(d2, 0)


@mutant("pairwise_sq_distances", "distances, not squared (square root taken)")
def pairwise_sqrt(a, b):
    return np.sqrt(np.sum((a[:, None, :] - b[None, :, :]) ** 2, axis=2))


@mutant("pairwise_sq_distances", "factor 2 missing on the cross term")
def pairwise_no_two(a, b):
    return np.maximum(_sq_norms(a)[:, None] - a @ b.T + _sq_norms(b)[None, :], 0)


@mutant("pairwise_sq_distances", "cross term added instead of subtracted")
def pairwise_plus(a, b):
    return _sq_norms(a)[:, None] + 2 * a @ b.T + _sq_norms(b)[None, :]


@mutant("pairwise_sq_distances", "norms not reshaped: (m,) + (n,)")
def pairwise_no_reshape(a, b):
    return np.maximum(_sq_norms(a) - 2 * a @ b.T + _sq_norms(b), 0)


@mutant("pairwise_sq_distances", "norms summed over axis 0")
def pairwise_axis0(a, b):
    a_sq = np.sum(a**2, axis=0, keepdims=True)
    b_sq = np.sum(b**2, axis=0, keepdims=True)
    return np.maximum(a_sq.sum() - 2 * a @ b.T + b_sq.sum(), 0)


@mutant("pairwise_sq_distances", "round-off negatives not clipped")
def pairwise_unclipped(a, b):
    return _sq_norms(a)[:, None] - 2 * a @ b.T + _sq_norms(b)[None, :]


@variant("pairwise_sq_distances", "3-D broadcast (m, 1, d) - (1, n, d)")
def pairwise_broadcast3d(a, b):
    diff = a[:, np.newaxis, :] - b[np.newaxis, :, :]
    return np.sum(diff**2, axis=2)


@variant("pairwise_sq_distances", "double loop")
def pairwise_loops(a, b):
    out = np.zeros((a.shape[0], b.shape[0]))
    for i in range(a.shape[0]):
        for j in range(b.shape[0]):
            out[i, j] = np.sum((a[i] - b[j]) ** 2)
    return out


@variant("pairwise_sq_distances", "scipy cdist sqeuclidean")
def pairwise_cdist(a, b):
    return scipy.spatial.distance.cdist(a, b, "sqeuclidean")


@variant("pairwise_sq_distances", "identity with einsum and clip")
def pairwise_einsum(a, b):
    a_sq = np.einsum("ij,ij->i", a, a)[:, None]
    b_sq = np.einsum("ij,ij->i", b, b)[None, :]
    return np.clip(a_sq + b_sq - 2 * np.einsum("ik,jk->ij", a, b), 0, None)


@variant("pairwise_sq_distances", "float32 3-D broadcast")
def pairwise_float32(a, b):
    a = a.astype(np.float32)
    b = b.astype(np.float32)
    return np.sum((a[:, None, :] - b[None, :, :]) ** 2, axis=2)


IMPLEMENTATIONS = [value for value in list(globals().values()) if isinstance(value, Impl)]
