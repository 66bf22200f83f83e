"""Hidden-check inputs for w1_broadcasting (no answers here: references are in solutions/).

Shapes are deliberately non-square (and a few square ones with asymmetric values) so that a
sum over the wrong axis, a missing ``keepdims`` or a transposed result cannot pass by luck.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graders.cases import Check, register

ASSIGNMENT = "w1_broadcasting"


def _sigmoid_cases(rng: np.random.Generator) -> list[tuple]:
    """Scalars-as-arrays, vectors and matrices of shape (n, m), including large |x|."""
    return [
        (np.array(0.0),),
        (rng.normal(size=(3,)),),
        (rng.normal(scale=5.0, size=(4, 7)),),
        (np.array([[-30.0, -5.0, 0.0, 5.0, 30.0]]),),
    ]


def _sigmoid_derivative_cases(rng: np.random.Generator) -> list[tuple]:
    """0-d, 1-D and 2-D inputs; values spread over [-10, 10] so s(1-s) differs from x(1-x)."""
    return [
        (np.array(0.0),),
        (np.array([-3.0, -1.0, 0.5, 2.0, 8.0]),),
        (rng.normal(scale=3.0, size=(6,)),),
        (rng.uniform(-10.0, 10.0, size=(3, 5)),),
        (rng.normal(scale=2.0, size=(4, 2)),),
    ]


def _image2vector_cases(rng: np.random.Generator) -> list[tuple]:
    """Images of shape (length, height, depth), all three sizes different, so any reordering
    of the elements (column-major order, a transpose first) changes the values."""
    return [
        (rng.uniform(size=(3, 3, 2)),),
        (rng.uniform(size=(2, 5, 3)),),
        (rng.normal(size=(4, 1, 6)),),
        (rng.normal(size=(1, 3, 4)),),
        (rng.integers(0, 256, size=(5, 4, 3)).astype(np.float64),),
    ]


def _normalize_rows_cases(rng: np.random.Generator) -> list[tuple]:
    """Matrices of shape (m, n): wide, tall, square, a single row and a single column.

    No row is zero (the norm would be 0)."""
    return [
        (np.array([[2.0, -1.0, 2.0], [0.0, 5.0, 12.0]]),),
        (rng.normal(size=(5, 3)),),
        (rng.normal(scale=4.0, size=(3, 8)),),
        (rng.uniform(0.5, 2.0, size=(4, 4)) * np.arange(1.0, 5.0)[:, None],),
        (rng.normal(size=(1, 6)) + 0.1,),
        (np.array([[2.0], [-0.5], [7.0]]),),
    ]


def _softmax_cases(rng: np.random.Generator) -> list[tuple]:
    """Moderate values (|x| < 10) of shape (m, n): wide, tall, square, one row, one column."""
    return [
        (np.array([[1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0], [0.0, 0.0, 0.0, 0.0]]),),
        (rng.normal(scale=2.0, size=(4, 6)),),
        (rng.normal(scale=2.0, size=(6, 3)),),
        (rng.normal(scale=2.0, size=(3, 3)) + np.arange(3.0),),
        (rng.normal(size=(1, 7)),),
        (rng.normal(size=(5, 1)),),
    ]


def _softmax_large_cases(rng: np.random.Generator) -> list[tuple]:
    """Large positive and negative logits; rows at very different offsets, so subtracting one
    global maximum (instead of each row's) underflows whole rows to 0/0.

    Values lie on a grid of 1/8 so that they are exact in float32 too: a float32 solution is
    then judged on its arithmetic, not on rounding the inputs."""

    def grid(a: np.ndarray) -> np.ndarray:
        return np.round(a * 8.0) / 8.0

    return [
        (np.array([[1000.0, 1003.0, 999.0], [-1003.0, -1000.0, -1001.0]]),),
        (np.array([[800.0, 0.0, -800.0, 5.0]]),),
        (grid(rng.normal(scale=3.0, size=(4, 5)) + np.array([[900.0], [-900.0], [0.0], [750.0]])),),
        (grid(rng.normal(scale=50.0, size=(3, 6)) + 2000.0),),
    ]


def _loss_cases(rng: np.random.Generator) -> list[tuple]:
    """(yhat, y) pairs: 1-D vectors of shape (m,) and 2-D arrays of shape (1, m) and (m, 1)."""
    return [
        (np.array([0.5, 0.0, 1.0, 0.25]), np.array([1.0, 1.0, 0.0, 0.0])),
        (rng.uniform(size=(7,)), rng.integers(0, 2, size=(7,)).astype(np.float64)),
        (rng.normal(size=(1, 6)), rng.normal(size=(1, 6))),
        (rng.normal(size=(4, 1)), rng.normal(size=(4, 1))),
        (rng.uniform(size=(1, 9)), rng.integers(0, 2, size=(1, 9)).astype(np.float64)),
    ]


def _pairwise_cases(rng: np.random.Generator) -> list[tuple]:
    """(A, B) of shapes (m, d) and (n, d) with m != n != d mostly; one square case with
    distinct values; single points; one dimension d = 1."""
    return [
        (np.array([[1.0, 2.0], [-1.0, 0.0], [0.0, 3.0]]), np.array([[2.0, 2.0], [0.0, -1.0]])),
        (rng.normal(size=(5, 3)), rng.normal(size=(4, 3))),
        (rng.normal(scale=2.0, size=(2, 6)), rng.normal(scale=2.0, size=(7, 6))),
        (rng.normal(size=(4, 4)), rng.normal(size=(4, 4)) + 1.0),
        (rng.normal(size=(1, 5)), rng.normal(size=(3, 5))),
        (rng.normal(size=(6, 1)), rng.normal(size=(2, 1))),
        (rng.uniform(-3.0, 3.0, size=(8, 2)), rng.uniform(-3.0, 3.0, size=(1, 2))),
    ]


def _pairwise_duplicate_cases(rng: np.random.Generator) -> list[tuple]:
    """Far-from-origin points paired with themselves and with near-copies: the true distances
    are 0 or tiny, and ||a||^2 - 2 a.b + ||b||^2 without clipping rounds some below 0."""
    cases = []
    for offset, m, d in [(10.0, 30, 2), (10.0, 25, 5), (50.0, 30, 2), (50.0, 20, 5)]:
        a = offset + rng.normal(size=(m, d))
        near = a + 1e-9 * rng.normal(size=(m, d))
        cases.append((a, np.concatenate([a, near])))
    return cases


def _nonnegative(got: Any, expected: Any, case: Any, reference: Any) -> list[str]:
    arr = np.asarray(got, dtype=np.float64)
    if arr.size and np.nanmin(arr) < 0:
        n_neg = int((arr < 0).sum())
        return [
            f"{n_neg} squared distances are negative (smallest {float(np.nanmin(arr)):.3g}); "
            "a squared distance is never below 0"
        ]
    return []


register(
    ASSIGNMENT,
    Check(
        name="sigmoid_values",
        functions=("sigmoid",),
        make_cases=_sigmoid_cases,
        hint="sigmoid(x) = 1 / (1 + np.exp(-x)), elementwise; use np.exp, not math.exp.",
    ),
    Check(
        name="sigmoid_derivative_values",
        functions=("sigmoid_derivative",),
        make_cases=_sigmoid_derivative_cases,
        hint="Compute s = sigmoid(x) first, then return s * (1 - s) (not x * (1 - x)).",
    ),
    Check(
        name="image2vector_values",
        functions=("image2vector",),
        make_cases=_image2vector_cases,
        hint=(
            "Return a column of shape (length*height*depth, 1) with image.reshape(...), in "
            "numpy's default order: no transpose, no order='F', not a 1-D or row vector."
        ),
    ),
    Check(
        name="normalize_rows_values",
        functions=("normalize_rows",),
        make_cases=_normalize_rows_cases,
        hint=(
            "Divide by np.linalg.norm(x, axis=1, keepdims=True): the L2 norm of each row "
            "(axis=1, not axis=0 or the whole matrix), kept as a column of shape (m, 1)."
        ),
    ),
    Check(
        name="softmax_values",
        functions=("softmax",),
        make_cases=_softmax_cases,
        hint=(
            "Softmax is row-wise: exponentiate, then divide by np.sum(..., axis=1, "
            "keepdims=True) so that every row (not every column) sums to 1."
        ),
    ),
    Check(
        name="softmax_large_inputs",
        functions=("softmax",),
        make_cases=_softmax_large_cases,
        hint=(
            "Subtract each row's maximum (np.max(x, axis=1, keepdims=True)) before np.exp: "
            "np.exp(1000) overflows to inf, and one global maximum underflows other rows."
        ),
    ),
    Check(
        name="l1_loss_values",
        functions=("l1_loss",),
        make_cases=_loss_cases,
        hint="L1 = np.sum(np.abs(y - yhat)) over every entry: a single number, not a mean.",
    ),
    Check(
        name="l2_loss_values",
        functions=("l2_loss",),
        make_cases=_loss_cases,
        hint=(
            "L2 = np.sum((y - yhat) ** 2) over every entry: a single number, no square root, "
            "not a mean; np.dot(d, d) only works for 1-D vectors."
        ),
    ),
    Check(
        name="pairwise_sq_distances_values",
        functions=("pairwise_sq_distances",),
        make_cases=_pairwise_cases,
        rtol=1e-5,
        atol=1e-6,
        hint=(
            "Result[i, j] = ||A[i] - B[j]||^2 with shape (m, n): ||a||^2 as a column (m, 1), "
            "-2 * A @ B.T of shape (m, n), ||b||^2 as a row (1, n); squared, no square root."
        ),
    ),
    Check(
        name="pairwise_sq_distances_nonnegative",
        functions=("pairwise_sq_distances",),
        make_cases=_pairwise_duplicate_cases,
        # Points about 50 from the origin: float32 solutions round their coordinates.
        rtol=1e-4,
        atol=1e-5,
        hint=(
            "Round-off in ||a||^2 - 2 a.b + ||b||^2 leaves tiny negatives where the distance "
            "is 0: clip them with np.maximum(d2, 0)."
        ),
        verify=_nonnegative,
    ),
)
