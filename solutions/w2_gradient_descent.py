"""Reference solutions for w2_gradient_descent.

Logistic regression as a one-neuron network trained by gradient descent, then the momentum
and Adam update rules on dicts of layer parameters. The bodies match the notebook's
solution cells (``source/w2_gradient_descent/w2_gradient_descent.ipynb``).

Conventions: examples are columns. ``X`` has shape (n_x, m), labels ``Y`` shape (1, m),
weights ``w`` shape (n_x, 1), bias ``b`` a Python float.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Elementwise logistic function 1 / (1 + exp(-z)); any shape in, same shape out.

    Given in the notebook (not graded).
    """
    return 1.0 / (1.0 + np.exp(-z))


def flatten_and_scale(images: np.ndarray) -> np.ndarray:
    """Flatten images of shape (m, h, w) into columns of shape (h * w, m) scaled to [0, 1].

    Column ``i`` holds image ``i`` in row-major order; digit pixels range 0..16, so the
    result is divided by 16.
    """
    return images.reshape(images.shape[0], -1).T / 16.0


def initialize_with_zeros(dim: int) -> tuple[np.ndarray, float]:
    """Zero weights of shape (dim, 1) and a zero bias (a Python float)."""
    w = np.zeros((dim, 1))
    b = 0.0
    return w, b


def propagate(w: np.ndarray, b: float, X: np.ndarray, Y: np.ndarray) -> tuple[dict[str, Any], Any]:
    """Cost and gradients of logistic regression.

    Args:
        w: weights, (n_x, 1).
        b: bias, a scalar.
        X: data, (n_x, m).
        Y: labels in {0, 1}, (1, m).

    Returns:
        grads: ``{"dw": (n_x, 1) array, "db": scalar}``.
        cost: scalar (shape ``()``), the mean cross-entropy
            ``-1/m * sum(Y log A + (1 - Y) log(1 - A))`` with ``A = sigmoid(w.T X + b)``.
    """
    m = X.shape[1]
    A = sigmoid(np.dot(w.T, X) + b)
    cost = -np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A)) / m
    dw = np.dot(X, (A - Y).T) / m
    db = np.sum(A - Y) / m
    cost = np.squeeze(np.array(cost))
    return {"dw": dw, "db": db}, cost


def optimize(
    w: np.ndarray,
    b: float,
    X: np.ndarray,
    Y: np.ndarray,
    num_iterations: int = 100,
    learning_rate: float = 0.009,
    print_cost: bool = False,
) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
    """Gradient descent on (w, b) for ``num_iterations`` steps.

    Returns:
        params: ``{"w": (n_x, 1), "b": scalar}`` after the last step.
        grads: ``{"dw", "db"}`` from the last call of ``propagate`` (before the last step).
        costs: the cost at iterations 0, 100, 200, ... (before that iteration's step).
    """
    w = w.copy()
    costs = []
    grads: dict[str, Any] = {}
    for i in range(num_iterations):
        grads, cost = propagate(w, b, X, Y)
        dw = grads["dw"]
        db = grads["db"]
        w = w - learning_rate * dw
        b = b - learning_rate * db
        if i % 100 == 0:
            costs.append(cost)
            if print_cost:
                print(f"Cost after iteration {i}: {float(cost):f}")
    params = {"w": w, "b": b}
    return params, grads, costs


def predict(w: np.ndarray, b: float, X: np.ndarray) -> np.ndarray:
    """Labels of shape (1, m): 1 where ``sigmoid(w.T X + b) > 0.5`` (strictly), else 0."""
    A = sigmoid(np.dot(w.T, X) + b)
    Y_prediction = (A > 0.5).astype(np.float64)
    return Y_prediction


def model(
    X_train: np.ndarray,
    Y_train: np.ndarray,
    X_test: np.ndarray,
    Y_test: np.ndarray,
    num_iterations: int = 2000,
    learning_rate: float = 0.5,
    print_cost: bool = False,
) -> dict[str, Any]:
    """Train logistic regression from zeros and predict on both sets.

    Args:
        X_train: (n_x, m_train); Y_train: (1, m_train); X_test: (n_x, m_test);
        Y_test: (1, m_test).

    Returns:
        ``{"costs", "Y_prediction_test" (1, m_test), "Y_prediction_train" (1, m_train),
        "w" (n_x, 1), "b", "learning_rate", "num_iterations"}``.
    """
    w, b = initialize_with_zeros(X_train.shape[0])
    params, grads, costs = optimize(
        w, b, X_train, Y_train, num_iterations, learning_rate, print_cost
    )
    w = params["w"]
    b = params["b"]
    Y_prediction_test = predict(w, b, X_test)
    Y_prediction_train = predict(w, b, X_train)
    if print_cost:
        train_acc = 100 - np.mean(np.abs(Y_prediction_train - Y_train)) * 100
        test_acc = 100 - np.mean(np.abs(Y_prediction_test - Y_test)) * 100
        print(f"train accuracy: {train_acc:.1f} %")
        print(f"test accuracy: {test_acc:.1f} %")
    return {
        "costs": costs,
        "Y_prediction_test": Y_prediction_test,
        "Y_prediction_train": Y_prediction_train,
        "w": w,
        "b": b,
        "learning_rate": learning_rate,
        "num_iterations": num_iterations,
    }


def update_with_momentum(
    parameters: dict[str, np.ndarray],
    grads: dict[str, np.ndarray],
    v: dict[str, np.ndarray],
    beta: float,
    learning_rate: float,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """One step of gradient descent with momentum on an L-layer network.

    Args:
        parameters: ``{"W1": (n1, n0), "b1": (n1, 1), ..., "WL", "bL"}``.
        grads: ``{"dW1", "db1", ..., "dWL", "dbL"}``, shaped like the parameters.
        v: velocities ``{"dW1", "db1", ...}``, shaped like the parameters.
        beta: momentum, e.g. 0.9.
        learning_rate: step size.

    Returns:
        ``(parameters, v)`` after ``v = beta * v + (1 - beta) * grad`` and
        ``param = param - learning_rate * v`` for every layer.
    """
    L = len(parameters) // 2
    for layer in range(1, L + 1):
        for name in ("W", "b"):
            key = f"d{name}{layer}"
            v[key] = beta * v[key] + (1 - beta) * grads[key]
            parameters[f"{name}{layer}"] = parameters[f"{name}{layer}"] - learning_rate * v[key]
    return parameters, v


def update_with_adam(
    parameters: dict[str, np.ndarray],
    grads: dict[str, np.ndarray],
    v: dict[str, np.ndarray],
    s: dict[str, np.ndarray],
    t: int,
    learning_rate: float = 0.01,
    beta1: float = 0.9,
    beta2: float = 0.999,
    epsilon: float = 1e-8,
) -> tuple[
    dict[str, np.ndarray],
    dict[str, np.ndarray],
    dict[str, np.ndarray],
    dict[str, np.ndarray],
    dict[str, np.ndarray],
]:
    """One Adam step (step number ``t``, counted from 1) on an L-layer network.

    Args:
        parameters, grads, v, s: dicts as in :func:`update_with_momentum` (``v`` and ``s``
            keyed ``"dW1", "db1", ...``).
        t: the number of this step, 1 for the first.

    Returns:
        ``(parameters, v, s, v_corrected, s_corrected)`` with
        ``v = beta1 v + (1 - beta1) g``, ``s = beta2 s + (1 - beta2) g**2``,
        ``v_corrected = v / (1 - beta1**t)``, ``s_corrected = s / (1 - beta2**t)`` and
        ``param = param - learning_rate * v_corrected / (sqrt(s_corrected) + epsilon)``.
    """
    L = len(parameters) // 2
    v_corrected = {}
    s_corrected = {}
    for layer in range(1, L + 1):
        for name in ("W", "b"):
            key = f"d{name}{layer}"
            v[key] = beta1 * v[key] + (1 - beta1) * grads[key]
            v_corrected[key] = v[key] / (1 - beta1**t)
            s[key] = beta2 * s[key] + (1 - beta2) * grads[key] ** 2
            s_corrected[key] = s[key] / (1 - beta2**t)
            parameters[f"{name}{layer}"] = parameters[f"{name}{layer}"] - learning_rate * (
                v_corrected[key] / (np.sqrt(s_corrected[key]) + epsilon)
            )
    return parameters, v, s, v_corrected, s_corrected
