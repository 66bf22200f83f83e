"""Hidden-check inputs for w3_conv_pool (no answers here: references are in solutions/).

Design notes, by function:

- Every activation has a batch size, a height, a width and a channel count that differ
  from one another in most cases (so padding or pooling the wrong axis shows), heights
  differ from widths (so swapping the vertical and horizontal window positions shows),
  and the configurations include stride 1, 2 and 3, pad 0, 1 and 2, windows of size 1 to
  5 and sizes where ``(n_prev - f + 2 pad) / stride`` is not a whole number (so the floor
  in the output-size formula, an off-by-one or a forgotten stride shows).
- ``conv_single_step``: windows with several channels and a non-zero bias; the filter is
  not symmetric, so flipping it (a true convolution) shows.
- ``pool_*``: inputs hold distinct values spaced well apart, so the maximum of a window is
  unique (no ties) and stays so under the small steps of the gradient checks; strides
  below the window size make windows overlap, so gradients must be added up.
- ``conv_backward`` and ``pool_backward`` receive caches built here, not by the student's
  forward pass, so a wrong forward pass costs no backward points. Besides comparing with
  the reference, a gradient check on the trusted side (:func:`_verify_conv_gradients`,
  :func:`_verify_pool_gradients`) compares the student's gradients, on a sample of
  coordinates chosen by the case's generator, with centred differences of
  ``L = sum(forward(x) * dOut)`` computed with the reference forward pass.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from graders.cases import Check, register

ASSIGNMENT = "w3_conv_pool"

#: Step of the centred differences in the gradient checks. The losses are linear in each
#: argument (piecewise linear for max pooling, whose inputs are spaced far more than 2 eps
#: apart), so a large step costs no truncation error and keeps the rounding error small.
GRADIENT_CHECK_EPS = 1e-3
#: Largest relative error |a - n| / max(|a| + |n|, tiny) accepted between a student's
#: gradient a and the centred difference n; the reference stays below 1e-9.
GRADIENT_CHECK_THRESHOLD = 1e-6
#: Floor of the denominator of the relative error (both values exactly zero give 0).
GRADIENT_CHECK_TINY = 1e-12
#: How many coordinates of each array the gradient checks sample at most.
GRADIENT_CHECK_SAMPLES = 30

# (m, n_H_prev, n_W_prev, n_C_prev, f, n_C, stride, pad) of the convolution cases.
CONV_SHAPE_CONFIGS = [
    (2, 5, 7, 3, 3, 4, 1, 1),
    (3, 6, 4, 2, 2, 3, 2, 0),
    (2, 7, 9, 1, 3, 2, 3, 2),
    (1, 4, 5, 4, 1, 5, 1, 0),
    (2, 8, 6, 2, 5, 2, 2, 2),
    (4, 3, 3, 3, 3, 2, 1, 0),
    (1, 9, 4, 2, 4, 3, 3, 1),
    (2, 10, 7, 1, 3, 1, 2, 1),
]
CONV_VALUE_CONFIGS = CONV_SHAPE_CONFIGS[:6]
CONV_GRADIENT_CONFIGS = [
    (2, 4, 5, 3, 3, 2, 1, 1),
    (2, 5, 4, 2, 2, 3, 2, 0),
    (1, 7, 6, 2, 3, 2, 3, 2),
]
# (m, n_H_prev, n_W_prev, n_C, f, stride) of the pooling cases.
POOL_SHAPE_CONFIGS = [
    (2, 5, 7, 3, 3, 2),
    (3, 4, 4, 2, 2, 2),
    (1, 6, 5, 4, 3, 1),
    (2, 7, 8, 1, 2, 3),
    (2, 5, 5, 2, 5, 1),
    (4, 3, 6, 3, 1, 2),
    (1, 9, 4, 2, 4, 3),
]
POOL_VALUE_CONFIGS = POOL_SHAPE_CONFIGS[:5]
POOL_GRADIENT_CONFIGS = [
    (2, 5, 4, 2, 3, 2),
    (1, 4, 6, 3, 2, 2),
    (1, 5, 5, 2, 3, 1),
    (2, 7, 5, 1, 2, 3),
]


# ---------------------------------------------------------------------------- helpers


def _out_size(n_prev: int, f: int, pad: int, stride: int) -> int:
    """Output height (or width) of a window of size f sliding with ``stride`` over n_prev."""
    return (n_prev + 2 * pad - f) // stride + 1


def _shape_text(value: Any) -> str:
    """A value's shape as text, e.g. ``'(2, 3, 4, 8)'`` (a scalar gives ``'()'``)."""
    return str(tuple(int(d) for d in np.shape(value)))


def _distinct(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Values in [-2, 2) of the given shape, all distinct and spaced by 3 / size at least."""
    size = int(np.prod(shape))
    offsets = rng.uniform(0.0, 0.25, size=size)
    return ((rng.permutation(size) + offsets) * (4.0 / size) - 2.0).reshape(shape)


def _as_tuple(out: Any) -> Any:
    """A returned tuple or list as a tuple (other values unchanged, for the comparison)."""
    return tuple(out) if isinstance(out, (tuple, list)) else out


def _sample(rng: np.random.Generator, size: int) -> np.ndarray:
    """Sorted flat indices of at most GRADIENT_CHECK_SAMPLES distinct coordinates."""
    k = min(size, GRADIENT_CHECK_SAMPLES)
    return np.sort(rng.choice(size, size=k, replace=False))


def _check_arrays(got: Any, expected: list[tuple[str, tuple[int, ...]]]) -> list[str]:
    """Problems when ``got`` is not a sequence of numeric arrays of the expected shapes."""
    if len(expected) == 1 and not isinstance(got, (tuple, list)):
        got = (got,)
    if not isinstance(got, (tuple, list)) or len(got) != len(expected):
        names = ", ".join(name for name, _ in expected)
        return [f"expected {len(expected)} results ({names})"]
    problems = []
    for value, (name, shape) in zip(got, expected, strict=True):
        arr = np.asarray(value)
        if arr.dtype.kind not in "biuf":
            problems.append(f"{name} is not an array of numbers")
        elif arr.shape != shape:
            problems.append(f"{name} has shape {arr.shape}; it must have the shape {shape}")
    return problems


def _gradient_problems(
    name: str,
    analytic: Any,
    loss: Callable[[np.ndarray], float],
    x: np.ndarray,
    coords: np.ndarray,
) -> list[str]:
    """Compare ``analytic`` (the gradient of ``loss`` at x) with centred differences.

    ``loss`` takes a perturbed copy of x; only the coordinates ``coords`` (flat indices) are
    checked. Returns one problem naming the worst coordinate and its relative error.
    """
    eps = GRADIENT_CHECK_EPS
    a = np.asarray(analytic, dtype=np.float64).reshape(-1)[coords]
    n = np.empty(len(coords))
    for j, k in enumerate(coords):
        plus = x.copy()
        minus = x.copy()
        plus.flat[k] += eps
        minus.flat[k] -= eps
        n[j] = (loss(plus) - loss(minus)) / (2 * eps)
    with np.errstate(invalid="ignore"):
        rel = np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), GRADIENT_CHECK_TINY)
    rel = np.where(np.isnan(rel), np.inf, rel)
    bad = rel > GRADIENT_CHECK_THRESHOLD
    if not bad.any():
        return []
    worst = int(np.argmax(rel))
    index = tuple(int(i) for i in np.unravel_index(int(coords[worst]), x.shape))
    return [
        f"gradient check on {name}: {int(bad.sum())} of {len(coords)} sampled coordinates "
        f"disagree with the centred difference of L = sum(forward * dOut); at index {index} "
        f"your value is {a[worst]:.6g}, the centred difference {n[worst]:.6g}, relative error "
        f"|a - n| / (|a| + |n|) = {rel[worst]:.2e} (it must be below "
        f"{GRADIENT_CHECK_THRESHOLD:g})"
    ]


# ---------------------------------------------------------------------------- zero_pad


def _zero_pad_cases(rng: np.random.Generator) -> list[tuple]:
    """(X, pad) with every axis of X a different size; pad 0 to 3."""
    shapes_and_pads = [
        ((4, 3, 5, 2), 2),
        ((2, 5, 3, 1), 1),
        ((1, 4, 6, 3), 3),
        ((3, 2, 4, 5), 0),
        ((2, 3, 7, 4), 1),
    ]
    return [(rng.normal(size=shape), pad) for shape, pad in shapes_and_pads]


# ---------------------------------------------------------------------------- conv_single_step


def _single_step_cases(rng: np.random.Generator) -> list[tuple]:
    """(a_slice_prev, W, b) of shapes (f, f, n_C_prev), (f, f, n_C_prev), (1, 1, 1)."""
    cases = []
    for f, n_C_prev in [(3, 4), (1, 3), (2, 1), (5, 2), (4, 3)]:
        cases.append(
            (
                rng.normal(size=(f, f, n_C_prev)),
                rng.normal(size=(f, f, n_C_prev)),
                rng.normal(size=(1, 1, 1)),
            )
        )
    return cases


# ---------------------------------------------------------------------------- conv_forward


def _conv_inputs(rng: np.random.Generator, config: tuple[int, ...]) -> dict[str, Any]:
    m, n_H_prev, n_W_prev, n_C_prev, f, n_C, stride, pad = config
    return {
        "A_prev": rng.normal(size=(m, n_H_prev, n_W_prev, n_C_prev)),
        "W": rng.normal(scale=0.5, size=(f, f, n_C_prev, n_C)),
        "b": rng.normal(size=(1, 1, 1, n_C)),
        "hparameters": {"stride": stride, "pad": pad},
    }


def _conv_shape_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    return [_conv_inputs(rng, config) for config in CONV_SHAPE_CONFIGS]


def _conv_value_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    return [_conv_inputs(rng, config) for config in CONV_VALUE_CONFIGS]


def _run_conv_shapes(case: dict[str, Any], conv_forward: Any) -> dict[str, Any]:
    Z, cache = conv_forward(case["A_prev"], case["W"], case["b"], case["hparameters"])
    return {"Z shape": _shape_text(Z)}


def _run_conv_values(case: dict[str, Any], conv_forward: Any) -> dict[str, Any]:
    Z, cache = conv_forward(case["A_prev"], case["W"], case["b"], case["hparameters"])
    return {"Z": Z, "cache": _as_tuple(cache)}


# ---------------------------------------------------------------------------- pool_forward


def _pool_inputs(rng: np.random.Generator, config: tuple[int, ...], mode: str) -> dict[str, Any]:
    m, n_H_prev, n_W_prev, n_C, f, stride = config
    return {
        "A_prev": _distinct(rng, (m, n_H_prev, n_W_prev, n_C)),
        "hparameters": {"stride": stride, "f": f},
        "mode": mode,
    }


def _pool_shape_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    modes = ["max", "average"]
    return [_pool_inputs(rng, config, modes[i % 2]) for i, config in enumerate(POOL_SHAPE_CONFIGS)]


def _pool_max_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    """Max pooling; the last case leaves ``mode`` out (the default must be max)."""
    cases = [_pool_inputs(rng, config, "max") for config in POOL_VALUE_CONFIGS]
    del cases[-1]["mode"]
    return cases


def _pool_average_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    return [_pool_inputs(rng, config, "average") for config in POOL_VALUE_CONFIGS]


def _call_pool_forward(case: dict[str, Any], pool_forward: Any) -> Any:
    if "mode" in case:
        return pool_forward(case["A_prev"], case["hparameters"], mode=case["mode"])
    return pool_forward(case["A_prev"], case["hparameters"])


def _run_pool_shapes(case: dict[str, Any], pool_forward: Any) -> dict[str, Any]:
    A, cache = _call_pool_forward(case, pool_forward)
    return {"A shape": _shape_text(A)}


def _run_pool_values(case: dict[str, Any], pool_forward: Any) -> dict[str, Any]:
    A, cache = _call_pool_forward(case, pool_forward)
    return {"A": A, "cache": _as_tuple(cache)}


# ---------------------------------------------------------------------------- conv_backward


def _conv_backward_inputs(
    rng: np.random.Generator, config: tuple[int, ...], *, with_coords: bool
) -> dict[str, Any]:
    case = _conv_inputs(rng, config)
    m, n_H_prev, n_W_prev, _, f, n_C, stride, pad = config
    n_H = _out_size(n_H_prev, f, pad, stride)
    n_W = _out_size(n_W_prev, f, pad, stride)
    case["dZ"] = rng.normal(size=(m, n_H, n_W, n_C))
    if with_coords:
        case["coords"] = {key: _sample(rng, case[key].size) for key in ("A_prev", "W", "b")}
    return case


def _conv_backward_value_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    return [_conv_backward_inputs(rng, c, with_coords=False) for c in CONV_VALUE_CONFIGS[:5]]


def _conv_backward_gradient_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    return [_conv_backward_inputs(rng, c, with_coords=True) for c in CONV_GRADIENT_CONFIGS]


def _run_conv_backward(case: dict[str, Any], conv_backward: Any) -> Any:
    cache = (case["A_prev"], case["W"], case["b"], case["hparameters"])
    return _as_tuple(conv_backward(case["dZ"], cache))


def _verify_conv_gradients(got: Any, expected: Any, case: Any, reference: ModuleType) -> list[str]:
    """The student's (dA_prev, dW, db) against centred differences of sum(Z * dZ)."""
    A_prev, W, b, hp, dZ = case["A_prev"], case["W"], case["b"], case["hparameters"], case["dZ"]
    problems = _check_arrays(got, [("dA_prev", A_prev.shape), ("dW", W.shape), ("db", b.shape)])
    if problems:
        return problems

    def loss(A_: np.ndarray, W_: np.ndarray, b_: np.ndarray) -> float:
        Z, _ = reference.conv_forward(A_, W_, b_, dict(hp))
        return float(np.sum(Z * dZ))

    losses = {
        "A_prev": lambda x: loss(x, W, b),
        "W": lambda x: loss(A_prev, x, b),
        "b": lambda x: loss(A_prev, W, x),
    }
    arrays = {"A_prev": A_prev, "W": W, "b": b}
    for (key, fn), value in zip(losses.items(), got, strict=True):
        name = {"A_prev": "dA_prev", "W": "dW", "b": "db"}[key]
        problems += _gradient_problems(name, value, fn, arrays[key], case["coords"][key])
    return problems


# ---------------------------------------------------------------------------- pool_backward


def _create_mask_cases(rng: np.random.Generator) -> list[tuple]:
    """Windows x of shape (f, f) or (n_H, n_W) with a unique maximum."""
    return [(rng.normal(size=shape),) for shape in [(2, 2), (3, 3), (1, 1), (2, 3), (4, 4), (3, 2)]]


def _distribute_cases(rng: np.random.Generator) -> list[tuple]:
    """(dz, shape): dz a number, shape a tuple (n_H, n_W)."""
    shapes = [(2, 2), (3, 3), (1, 1), (2, 3), (4, 1), (5, 5)]
    cases: list[tuple] = [(float(rng.normal(scale=3.0)), shape) for shape in shapes]
    cases[1] = (np.float64(cases[1][0]), cases[1][1])
    return cases


def _pool_backward_inputs(
    rng: np.random.Generator, config: tuple[int, ...], mode: str | None, *, with_coords: bool
) -> dict[str, Any]:
    m, n_H_prev, n_W_prev, n_C, f, stride = config
    n_H = _out_size(n_H_prev, f, 0, stride)
    n_W = _out_size(n_W_prev, f, 0, stride)
    case: dict[str, Any] = {
        "dA": rng.normal(size=(m, n_H, n_W, n_C)),
        "A_prev": _distinct(rng, (m, n_H_prev, n_W_prev, n_C)),
        "hparameters": {"stride": stride, "f": f},
    }
    if mode is not None:
        case["mode"] = mode
    if with_coords:
        case["coords"] = _sample(rng, case["A_prev"].size)
    return case


def _pool_backward_max_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    """Max mode; the last case leaves ``mode`` out (the default must be max)."""
    modes: list[str | None] = ["max"] * (len(POOL_VALUE_CONFIGS) - 1) + [None]
    return [
        _pool_backward_inputs(rng, c, mode, with_coords=False)
        for c, mode in zip(POOL_VALUE_CONFIGS, modes, strict=True)
    ]


def _pool_backward_average_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    return [_pool_backward_inputs(rng, c, "average", with_coords=False) for c in POOL_VALUE_CONFIGS]


def _pool_backward_gradient_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    return [
        _pool_backward_inputs(rng, c, mode, with_coords=True)
        for c in POOL_GRADIENT_CONFIGS
        for mode in ("max", "average")
    ]


def _run_pool_backward(case: dict[str, Any], pool_backward: Any) -> Any:
    cache = (case["A_prev"], case["hparameters"])
    if "mode" in case:
        return pool_backward(case["dA"], cache, mode=case["mode"])
    return pool_backward(case["dA"], cache)


def _verify_pool_gradients(got: Any, expected: Any, case: Any, reference: ModuleType) -> list[str]:
    """The student's dA_prev against centred differences of sum(A * dA)."""
    A_prev, hp, dA, mode = case["A_prev"], case["hparameters"], case["dA"], case["mode"]
    problems = _check_arrays(got, [("dA_prev", A_prev.shape)])
    if problems:
        return problems

    def loss(x: np.ndarray) -> float:
        A, _ = reference.pool_forward(x, dict(hp), mode=mode)
        return float(np.sum(A * dA))

    return _gradient_problems(f"dA_prev ({mode} pooling)", got, loss, A_prev, case["coords"])


# ---------------------------------------------------------------------------- registry

_WINDOW_HINT = (
    "The window of output position (h, w) starts at row h * stride and column w * stride "
    "and is f rows and f columns wide; "
)

register(
    ASSIGNMENT,
    Check(
        name="zero_pad_values",
        functions=("zero_pad",),
        make_cases=_zero_pad_cases,
        hint="Pad only the height and width axes (1 and 2), with pad zeros on both sides "
        "(np.pad's pad_width has one (before, after) pair per axis: (0, 0) for the batch "
        "axis 0 and the channel axis 3).",
    ),
    Check(
        name="conv_single_step_values",
        functions=("conv_single_step",),
        make_cases=_single_step_cases,
        hint="Multiply the window and the filter elementwise (no flipping), sum over all "
        "f * f * n_C_prev products, then add the bias once, as a number (b.item() or "
        "float(np.squeeze(b))), so that the result is a single number, not an array.",
    ),
    Check(
        name="conv_forward_shapes",
        functions=("conv_forward",),
        make_cases=_conv_shape_cases,
        run=_run_conv_shapes,
        hint="n_H = floor((n_H_prev - f + 2 * pad) / stride) + 1, and likewise n_W with "
        "n_W_prev; n_C is the number of filters, W.shape[3]. Use int() or // for the floor, "
        "and do not forget the + 1.",
    ),
    Check(
        name="conv_forward_values",
        functions=("conv_forward",),
        make_cases=_conv_value_cases,
        run=_run_conv_values,
        hint="Pad A_prev once with zero_pad; "
        + _WINDOW_HINT
        + "it spans all n_C_prev channels. Output channel c uses filter W[:, :, :, c] and "
        "bias b[:, :, :, c]. The cache is (A_prev, W, b, hparameters) with the unpadded "
        "A_prev.",
    ),
    Check(
        name="pool_forward_shapes",
        functions=("pool_forward",),
        make_cases=_pool_shape_cases,
        run=_run_pool_shapes,
        hint="Pooling has no padding: n_H = floor((n_H_prev - f) / stride) + 1, likewise "
        "n_W, and the number of channels does not change.",
    ),
    Check(
        name="pool_forward_max_values",
        functions=("pool_forward",),
        make_cases=_pool_max_cases,
        run=_run_pool_values,
        hint=_WINDOW_HINT + "pool each channel c on its own: np.max of "
        "A_prev[i, vert_start:vert_end, horiz_start:horiz_end, c]. mode='max' is the "
        "default. The cache is (A_prev, hparameters).",
    ),
    Check(
        name="pool_forward_average_values",
        functions=("pool_forward",),
        make_cases=_pool_average_cases,
        run=_run_pool_values,
        hint=_WINDOW_HINT + "with mode='average' take np.mean of the window (its sum "
        "divided by f * f), channel by channel.",
    ),
    Check(
        name="conv_backward_values",
        functions=("conv_backward",),
        make_cases=_conv_backward_value_cases,
        run=_run_conv_backward,
        hint="For every example i, position (h, w) and filter c, with the window a_slice of "
        "the padded input: add W[:, :, :, c] * dZ[i, h, w, c] to the window of the padded "
        "dA_prev, a_slice * dZ[i, h, w, c] to dW[:, :, :, c] and dZ[i, h, w, c] to "
        "db[:, :, :, c] (always +=, never =). Then remove the padding with "
        "[pad:pad + n_H_prev, pad:pad + n_W_prev] ([pad:-pad] is empty when pad is 0). "
        "db has shape (1, 1, 1, n_C).",
    ),
    Check(
        name="conv_backward_gradient_check",
        functions=("conv_backward",),
        make_cases=_conv_backward_gradient_cases,
        run=_run_conv_backward,
        verify=_verify_conv_gradients,
        compare_values=False,
        hint="dA_prev, dW and db must be the derivatives of L = sum(Z * dZ): every window "
        "an output depends on receives its share, and overlapping windows add up.",
    ),
    Check(
        name="create_mask_from_window_values",
        functions=("create_mask_from_window",),
        make_cases=_create_mask_cases,
        hint="Compare every entry with the maximum of the whole window: x == np.max(x) "
        "(no axis), an array of the shape of x.",
    ),
    Check(
        name="distribute_value_values",
        functions=("distribute_value",),
        make_cases=_distribute_cases,
        hint="Every entry of the (n_H, n_W) array gets dz / (n_H * n_W): the average pooled "
        "over n_H * n_W numbers, so each number receives that share of the gradient.",
    ),
    Check(
        name="pool_backward_max_values",
        functions=("pool_backward",),
        make_cases=_pool_backward_max_cases,
        run=_run_pool_backward,
        hint="For max pooling, take the mask of the window of A_prev that produced output "
        "(h, w) (rows h * stride to h * stride + f, channel c only) and add "
        "mask * dA[i, h, w, c] to the same window of dA_prev: +=, since windows can "
        "overlap. mode='max' is the default.",
    ),
    Check(
        name="pool_backward_average_values",
        functions=("pool_backward",),
        make_cases=_pool_backward_average_cases,
        run=_run_pool_backward,
        hint="For average pooling, add distribute_value(dA[i, h, w, c], (f, f)) to the "
        "window of dA_prev: each of the f * f inputs receives dA / (f * f).",
    ),
    Check(
        name="pool_backward_gradient_check",
        functions=("pool_backward",),
        make_cases=_pool_backward_gradient_cases,
        run=_run_pool_backward,
        verify=_verify_pool_gradients,
        compare_values=False,
        hint="dA_prev must be the derivative of L = sum(A * dA) with A the pooling output: "
        "in max mode only the maximum of each window receives the gradient, in average "
        "mode every entry receives dA / (f * f), and overlapping windows add up.",
    ),
)
