"""Hidden-check inputs for w2_gradient_descent (no answers here: references are in solutions/).

Design notes, by function:

- ``flatten_and_scale``: image stacks of shape (m, h, w) with m, h, w mostly different, one
  with m = h * w, so a flattening without the transpose (same shape, scrambled) shows.
- ``propagate``: n_x != m and m > 1 in most cases, so a missing 1/m or a transposition
  shows; a second check perturbs w and b and compares the student's gradients with
  centred differences of the student's own cost (:func:`_verify_gradient`).
- ``optimize``: iteration counts that are not multiples of 100, so the cost schedule shows.
- ``predict``: probabilities exactly 0.5 (the specification says 1 only when a > 0.5) and
  just above and below it (linear part 2e-6 and 0.25 from 0), so thresholding the linear
  part at 0.5 shows, while ``w.T X + b > 0`` stays a valid alternative.
- ``model``: trained on the public digits with fixed hyperparameters; the trusted side
  compares w, b, costs and predictions with the reference and computes the held-out
  accuracy from the reported w and b with labels the kernel is never shown.
- ``update_with_momentum`` / ``update_with_adam``: non-zero velocities, betas away from 0.5,
  t = 1 and t > 1, and tiny gradients (~1e-5) with explicit and default epsilons so that a
  missing bias correction or epsilon inside the square root shows.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from graders.cases import Check, register

ASSIGNMENT = "w2_gradient_descent"

#: Held-out accuracy the student's trained (w, b) must reach in ``model_heldout_accuracy``.
#: The held-out digits are new, slightly deformed images (``solutions/heldout_digits.py``),
#: on which a linear classifier loses some accuracy: the reference reaches 0.867 and 0.902
#: with the check's two hyperparameter sets (0.944 and 0.972 on the former held-out part of
#: the public digits, when the threshold was 0.90); a wrong gradient stays near 0.5.
HELDOUT_ACCURACY_THRESHOLD = 0.80
#: Step of the centred differences in ``propagate_gradient_check``.
GRADIENT_CHECK_EPS = 1e-5


# ---------------------------------------------------------------------------- helpers


def _labels(rng: np.random.Generator, m: int, *, as_int: bool = False) -> np.ndarray:
    """Random 0/1 labels of shape (1, m) with both classes present when m > 1."""
    y = rng.integers(0, 2, size=(1, m))
    if m > 1:
        y[0, 0], y[0, 1] = 0, 1
    return y if as_int else y.astype(np.float64)


def _costs_array(costs: Any) -> np.ndarray:
    """The recorded costs as a 1-D float array (each cost may be a number or a size-1 array)."""
    values = []
    for i, cost in enumerate(costs):
        arr = np.asarray(cost, dtype=np.float64)
        if arr.size != 1:
            raise ValueError(
                f"costs[{i}] has shape {arr.shape}; each recorded cost must be one number"
            )
        values.append(arr.reshape(()))
    return np.array(values, dtype=np.float64).reshape(-1)


def _layers(rng: np.random.Generator, sizes: list[int], scale: float = 1.0) -> dict[str, Any]:
    """Random parameters ``{"W1": (n1, n0), "b1": (n1, 1), ...}`` for layer sizes n0, n1, ..."""
    params = {}
    for layer in range(1, len(sizes)):
        params[f"W{layer}"] = rng.normal(scale=scale, size=(sizes[layer], sizes[layer - 1]))
        params[f"b{layer}"] = rng.normal(scale=scale, size=(sizes[layer], 1))
    return params


def _as_grads(params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Rename ``W1 -> dW1``, ``b1 -> db1``: grads, velocities and squares use these keys."""
    return {f"d{key}": value for key, value in params.items()}


# ---------------------------------------------------------------------------- flatten_and_scale


def _flatten_cases(rng: np.random.Generator) -> list[tuple]:
    """Stacks of shape (m, h, w) with pixel values 0..16; m = h * w in one case."""
    shapes = [(5, 8, 8), (3, 4, 6), (7, 2, 3), (1, 8, 8), (9, 3, 3), (4, 5, 2)]
    return [(rng.integers(0, 17, size=shape).astype(np.float64),) for shape in shapes]


# ---------------------------------------------------------------------------- initialize_with_zeros


def _zeros_cases(rng: np.random.Generator) -> list[tuple]:
    return [(1,), (2,), (5,), (64,), (13,)]


# ---------------------------------------------------------------------------- propagate


def _propagate_cases(rng: np.random.Generator) -> list[tuple]:
    """(w, b, X, Y) with shapes (n_x, 1), scalar, (n_x, m), (1, m); n_x != m mostly."""
    cases = []
    for n_x, m, as_int in [
        (4, 7, False),
        (6, 3, True),
        (1, 5, False),
        (3, 3, False),
        (5, 1, False),
        (64, 20, True),
    ]:
        w = rng.normal(scale=0.5, size=(n_x, 1))
        b = float(rng.normal())
        X = rng.uniform(0.0, 1.0, size=(n_x, m)) if n_x == 64 else rng.normal(size=(n_x, m))
        cases.append((w, b, X, _labels(rng, m, as_int=as_int)))
    return cases


def _gradient_check_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    """Points (w, b) and data, plus the coordinates of w to perturb.

    w is scaled by 1/sqrt(n_x), so that w.T X + b stays within about +/-10 whatever the
    inputs drawn: further out 1 - A loses its digits, log(1 - A) with them, and the centred
    differences of a correct cost would stray from its gradient by more than the tolerance.
    """
    cases = []
    for n_x, m, coords in [(3, 5, [0, 1, 2]), (8, 6, [0, 3, 7]), (64, 25, [5, 20, 36, 63])]:
        cases.append(
            {
                "w": rng.normal(scale=1.5 / np.sqrt(n_x), size=(n_x, 1)),
                "b": float(rng.normal()),
                "X": rng.normal(size=(n_x, m)),
                "Y": _labels(rng, m),
                "coords": coords,
                "eps": GRADIENT_CHECK_EPS,
            }
        )
    return cases


def _run_gradient_check(case: dict[str, Any], propagate: Any) -> dict[str, Any]:
    """Analytic gradients at (w, b), and costs at w +/- eps e_i and at b +/- eps."""
    w, b, X, Y, eps = case["w"], case["b"], case["X"], case["Y"], case["eps"]
    grads, cost = propagate(w.copy(), b, X, Y)
    plus, minus = [], []
    for i in case["coords"]:
        step = np.zeros_like(w)
        step[i, 0] = eps
        plus.append(propagate(w + step, b, X, Y)[1])
        minus.append(propagate(w - step, b, X, Y)[1])
    return {
        "dw": grads["dw"],
        "db": grads["db"],
        "cost": cost,
        "cost_w_plus": _costs_array(plus),
        "cost_w_minus": _costs_array(minus),
        "cost_b_plus": propagate(w.copy(), b + eps, X, Y)[1],
        "cost_b_minus": propagate(w.copy(), b - eps, X, Y)[1],
    }


def _verify_gradient(got: Any, expected: Any, case: Any, reference: ModuleType) -> list[str]:
    """Centred differences of the student's own cost must agree with the student's grads."""
    eps = case["eps"]
    coords = case["coords"]
    dw = np.asarray(got["dw"], dtype=np.float64)
    if dw.shape != case["w"].shape:
        return [f"dw has shape {dw.shape}; it must have the shape of w, {case['w'].shape}"]
    plus = np.asarray(got["cost_w_plus"], dtype=np.float64).reshape(-1)
    minus = np.asarray(got["cost_w_minus"], dtype=np.float64).reshape(-1)
    if plus.shape != (len(coords),) or minus.shape != (len(coords),):
        return ["the perturbed costs were not recorded one per coordinate"]
    numeric_w = (plus - minus) / (2 * eps)
    numeric_b = (
        float(np.asarray(got["cost_b_plus"]).reshape(()))
        - float(np.asarray(got["cost_b_minus"]).reshape(()))
    ) / (2 * eps)
    db = np.asarray(got["db"], dtype=np.float64)
    if db.size != 1:
        return [f"db has shape {db.shape}; it must be a single number"]
    problems = []
    analytic_w = dw.reshape(-1)[coords]
    tolerance = 1e-6 + 1e-4 * np.abs(numeric_w)
    bad = ~(np.abs(analytic_w - numeric_w) <= tolerance)
    if bad.any():
        i = int(np.argmax(bad))
        problems.append(
            f"gradient check: dw[{coords[i]}] = {analytic_w[i]:.6g} but the centred difference "
            f"(J(w + eps) - J(w - eps)) / (2 eps) of your own cost is {numeric_w[i]:.6g}; "
            "the gradient does not match the cost"
        )
    analytic_b = float(db.reshape(()))
    if not abs(analytic_b - numeric_b) <= 1e-6 + 1e-4 * abs(numeric_b):
        problems.append(
            f"gradient check: db = {analytic_b:.6g} but the centred difference of your own "
            f"cost in b is {numeric_b:.6g}; the gradient does not match the cost"
        )
    return problems


# ---------------------------------------------------------------------------- optimize


def _optimize_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    """Iteration counts 101, 250, 1 and 301: costs are recorded at 0, 100, 200, ..."""
    cases = []
    for n_x, m, iterations, rate in [
        (2, 3, 101, 0.009),
        (4, 6, 250, 0.1),
        (5, 9, 1, 0.5),
        (8, 20, 301, 0.05),
    ]:
        cases.append(
            {
                "w": rng.normal(scale=0.5, size=(n_x, 1)),
                "b": float(rng.normal()),
                "X": rng.normal(size=(n_x, m)),
                "Y": _labels(rng, m),
                "num_iterations": iterations,
                "learning_rate": rate,
            }
        )
    return cases


def _run_optimize(case: dict[str, Any], optimize: Any) -> dict[str, Any]:
    params, grads, costs = optimize(
        case["w"], case["b"], case["X"], case["Y"], case["num_iterations"], case["learning_rate"]
    )
    return {
        "w": params["w"],
        "b": params["b"],
        "dw": grads["dw"],
        "db": grads["db"],
        "costs": _costs_array(costs),
    }


# ---------------------------------------------------------------------------- predict


def _predict_cases(rng: np.random.Generator) -> list[tuple]:
    """(w, b, X); two cases put w.T X + b exactly at 0 (a = 0.5, label 0) and close to it."""
    ties = (
        np.array([[2.0], [-1.0]]),
        0.0,
        np.array(
            [
                [0.5, 1.0, 0.0, 1e-6, -1e-6, 0.25, 0.3, -0.25, 15.0],
                [1.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            ]
        ),
    )
    ties_with_bias = (
        np.array([[1.0], [1.0], [-0.5]]),
        -0.75,
        np.array(
            [
                [0.25, 0.5, 1.0, 0.0, 0.75, 1.5],
                [0.5, 0.25, 0.0, 0.0, 0.0, 0.25],
                [0.0, 0.0, 0.5, 1.0, 0.5, 1.0],
            ]
        ),
    )
    return [
        (rng.normal(size=(3, 1)), float(rng.normal()), rng.normal(size=(3, 7))),
        (rng.normal(size=(5, 1)), float(rng.normal()), rng.normal(scale=2.0, size=(5, 4))),
        (rng.normal(size=(1, 1)), 0.3, rng.normal(size=(1, 6))),
        ties,
        ties_with_bias,
        (
            rng.normal(scale=0.3, size=(64, 1)),
            float(rng.normal()),
            rng.uniform(0.0, 1.0, size=(64, 15)),
        ),
    ]


# ---------------------------------------------------------------------------- model


def _model_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    """Hyperparameters only: the data are the public digits, loaded on both sides."""
    return [
        {"num_iterations": 1000, "learning_rate": 0.5},
        {"num_iterations": 450, "learning_rate": 0.1},
    ]


def _digits_columns(images: np.ndarray) -> np.ndarray:
    """(m, 8, 8) images -> (64, m) columns scaled to [0, 1]."""
    n_images = len(images)
    return np.reshape(images, (n_images, -1)).T / 16


def _run_model(case: dict[str, Any], model: Any) -> dict[str, Any]:
    from graders.data import load_digits_binary

    train_x, train_y, test_x, test_y, _ = load_digits_binary()
    d = model(
        _digits_columns(train_x),
        train_y,
        _digits_columns(test_x),
        test_y,
        case["num_iterations"],
        case["learning_rate"],
    )
    keys = (
        "w",
        "b",
        "costs",
        "Y_prediction_train",
        "Y_prediction_test",
        "learning_rate",
        "num_iterations",
    )
    missing = [key for key in keys if key not in d]
    if missing:
        raise KeyError(f"the dictionary model returns has no key(s) {missing}")
    out = {key: d[key] for key in keys}
    out["costs"] = _costs_array(d["costs"])
    return out


def _verify_heldout_accuracy(
    got: Any, expected: Any, case: Any, reference: ModuleType
) -> list[str]:
    """Accuracy of the reported (w, b) on the held-out digits, new images made on the trusted
    side from a secret seed (``solutions/heldout_digits.py``)."""
    from graders.cases.trained import heldout_digits

    images, labels = heldout_digits(reference).heldout_digits_binary()
    X = _digits_columns(images)
    w = np.asarray(got["w"], dtype=np.float64)
    b = np.asarray(got["b"], dtype=np.float64)
    if w.shape != (X.shape[0], 1) or b.size != 1:
        return [
            f"cannot compute the held-out accuracy from w of shape {w.shape} and b of "
            f"shape {b.shape} (expected ({X.shape[0]}, 1) and a number)"
        ]
    with np.errstate(all="ignore"):
        predictions = np.asarray(reference.predict(w, float(b.reshape(())), X))
    accuracy = float(np.mean(predictions == labels))
    if not accuracy >= HELDOUT_ACCURACY_THRESHOLD:
        return [
            f"the trained w and b classify {accuracy:.1%} of the held-out digits "
            f"correctly; at least {HELDOUT_ACCURACY_THRESHOLD:.0%} is required"
        ]
    return []


# ---------------------------------------------------------------------------- momentum and Adam


def _momentum_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    """Non-zero velocities, beta != 0.5, one to three layers."""
    cases = []
    for sizes, beta, rate in [
        ([2, 3, 1], 0.9, 0.01),
        ([5, 4, 3, 1], 0.8, 0.1),
        ([6, 2], 0.95, 0.5),
    ]:
        params = _layers(rng, sizes)
        cases.append(
            {
                "parameters": params,
                "grads": _as_grads(_layers(rng, sizes)),
                "v": _as_grads(_layers(rng, sizes, scale=0.5)),
                "beta": beta,
                "learning_rate": rate,
            }
        )
    cases[2]["v"] = {key: np.zeros_like(value) for key, value in cases[2]["v"].items()}
    return cases


def _run_momentum(case: dict[str, Any], update_with_momentum: Any) -> tuple:
    return tuple(
        update_with_momentum(
            case["parameters"], case["grads"], case["v"], case["beta"], case["learning_rate"]
        )
    )


def _adam_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    """Keyword arguments of update_with_adam; defaults are used where a key is absent."""

    def case(sizes, t, *, grad_scale=1.0, start="zeros", **options):
        grads = _as_grads(_layers(rng, sizes, scale=grad_scale))
        if start == "zeros":
            v = {key: np.zeros_like(g) for key, g in grads.items()}
            s = {key: np.zeros_like(g) for key, g in grads.items()}
        else:
            v = {key: rng.normal(scale=grad_scale, size=g.shape) for key, g in grads.items()}
            s = {
                key: rng.uniform(0.1, 1.0, size=g.shape) * grad_scale**2 for key, g in grads.items()
            }
        return {
            "parameters": _layers(rng, sizes),
            "grads": grads,
            "v": v,
            "s": s,
            "t": t,
            **options,
        }

    return [
        case([2, 3, 1], 1),
        case([4, 3, 2], 2, start="random", learning_rate=0.02),
        case([5, 4, 3, 1], 10, start="random", learning_rate=0.01, beta1=0.8, beta2=0.99),
        case([3, 2, 1], 3, grad_scale=1e-5, start="random", learning_rate=0.1, epsilon=1e-2),
        case([3, 4], 1, grad_scale=1e-5),
        case([2, 2, 1], 100, start="random", learning_rate=0.05, epsilon=1e-3),
    ]


def _run_adam(case: dict[str, Any], update_with_adam: Any) -> tuple:
    args = dict(case)
    return tuple(
        update_with_adam(
            args.pop("parameters"),
            args.pop("grads"),
            args.pop("v"),
            args.pop("s"),
            args.pop("t"),
            **args,
        )
    )


# ---------------------------------------------------------------------------- registry

register(
    ASSIGNMENT,
    Check(
        name="flatten_and_scale_values",
        functions=("flatten_and_scale",),
        make_cases=_flatten_cases,
        hint="Reshape to (m, h * w) first (one image per row, pixels row by row), then "
        "transpose to (h * w, m) and divide by 16; reshaping straight to (h * w, m) without "
        "the transpose scrambles the images.",
    ),
    Check(
        name="initialize_with_zeros_values",
        functions=("initialize_with_zeros",),
        make_cases=_zeros_cases,
        hint="w must be a column of zeros of shape (dim, 1), not of shape (dim,) or "
        "(1, dim); b must be the number 0.0, not an array.",
    ),
    Check(
        name="propagate_values",
        functions=("propagate",),
        make_cases=_propagate_cases,
        hint="A = sigmoid(w^T X + b); the cost is -(1/m) times the sum of "
        "Y log(A) + (1 - Y) log(1 - A); dw = (1/m) X (A - Y)^T has shape (n_x, 1); "
        "db = (1/m) times the sum of A - Y is a single number.",
    ),
    Check(
        name="propagate_gradient_check",
        functions=("propagate",),
        make_cases=_gradient_check_cases,
        run=_run_gradient_check,
        verify=_verify_gradient,
        hint="dw and db must be the derivatives of the cost you return: both carry the "
        "factor 1/m, and dw = (1/m) X (A - Y).T (A - Y, not Y - A).",
    ),
    Check(
        name="optimize_values",
        functions=("optimize",),
        make_cases=_optimize_cases,
        run=_run_optimize,
        hint="In every iteration call propagate, then step both w and b against their "
        "gradients, scaled by learning_rate; the cost is recorded at iterations 0, 100, "
        "200, ... (before that iteration's step); return the grads of the last iteration.",
    ),
    Check(
        name="predict_values",
        functions=("predict",),
        make_cases=_predict_cases,
        hint="Compute the probabilities A = sigmoid(w^T X + b); the label is 1 where "
        "A > 0.5 strictly (A = 0.5 gives 0) and 0 elsewhere, in an array of shape (1, m).",
    ),
    Check(
        name="model_heldout_accuracy",
        functions=("model",),
        make_cases=_model_cases,
        run=_run_model,
        verify=_verify_heldout_accuracy,
        hint="Initialise with initialize_with_zeros(X_train.shape[0]), call optimize with the "
        "given num_iterations and learning_rate, predict on X_test and X_train with the "
        "trained w and b, and return all the keys of the dictionary.",
    ),
    Check(
        name="update_with_momentum_values",
        functions=("update_with_momentum",),
        make_cases=_momentum_cases,
        run=_run_momentum,
        hint="For every layer l, for both W and b: first the velocity becomes "
        "beta * v + (1 - beta) * grad, then the parameter moves by -learning_rate times "
        "the new velocity.",
    ),
    Check(
        name="update_with_adam_values",
        functions=("update_with_adam",),
        make_cases=_adam_cases,
        run=_run_adam,
        atol=1e-12,
        hint="v <- beta1 v + (1 - beta1) g and s <- beta2 s + (1 - beta2) g^2; divide them "
        "by 1 - beta1^t and 1 - beta2^t (t counts from 1); the step is learning_rate * "
        "v_corrected / (sqrt(s_corrected) + epsilon), with epsilon outside the square root.",
    ),
)
