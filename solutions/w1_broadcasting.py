"""Reference solutions for w1_broadcasting."""

from __future__ import annotations

import numpy as np


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Elementwise logistic function; any shape in, same shape out."""
    return 1.0 / (1.0 + np.exp(-x))


def sigmoid_derivative(x: np.ndarray) -> np.ndarray:
    """Elementwise derivative of the sigmoid, s * (1 - s) with s = sigmoid(x); same shape."""
    s = sigmoid(x)
    return s * (1.0 - s)


def image2vector(image: np.ndarray) -> np.ndarray:
    """An image of shape (length, height, depth) as a column of shape (length*height*depth, 1).

    Elements are taken in numpy's default (C, row-major) order.
    """
    length, height, depth = image.shape
    return image.reshape(length * height * depth, 1)


def normalize_rows(x: np.ndarray) -> np.ndarray:
    """Each row of x (shape (m, n)) divided by its L2 norm; shape (m, n)."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / norms


def softmax(x: np.ndarray) -> np.ndarray:
    """Row-wise softmax of x of shape (m, n); numerically stable; shape (m, n)."""
    x_shifted = x - np.max(x, axis=1, keepdims=True)
    x_exp = np.exp(x_shifted)
    return x_exp / np.sum(x_exp, axis=1, keepdims=True)


def l1_loss(yhat: np.ndarray, y: np.ndarray) -> float:
    """Sum of |y - yhat| over every entry; yhat and y have the same shape ((m,) or (1, m))."""
    return np.sum(np.abs(y - yhat))


def l2_loss(yhat: np.ndarray, y: np.ndarray) -> float:
    """Sum of (y - yhat)**2 over every entry; yhat and y have the same shape ((m,) or (1, m))."""
    return np.sum((y - yhat) ** 2)


def pairwise_sq_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances between the rows of a (m, d) and of b (n, d); shape (m, n).

    Uses ||a_i||^2 - 2 a_i . b_j + ||b_j||^2 with broadcasting and no Python loop; round-off
    can make entries that should be 0 slightly negative, so they are clipped at 0.
    """
    a_sq = np.sum(a**2, axis=1, keepdims=True)  # (m, 1)
    b_sq = np.sum(b**2, axis=1, keepdims=True).T  # (1, n)
    d2 = a_sq - 2.0 * (a @ b.T) + b_sq  # (m, n)
    return np.maximum(d2, 0.0)
