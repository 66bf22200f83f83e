"""Reference solutions for w3_conv_pool.

Convolution and pooling layers from scratch in numpy, forward and backward. The bodies
match the notebook's solution cells (``source/w3_conv_pool/w3_conv_pool.ipynb``): plain
loops over examples, output positions and channels, as a student writes them.

Conventions: channels last (NHWC). Activations have shape (m, n_H, n_W, n_C), filters
``W`` shape (f, f, n_C_prev, n_C), biases ``b`` shape (1, 1, 1, n_C). A convolution's
``hparameters`` hold ``"stride"`` and ``"pad"``; a pooling layer's ``"stride"`` and ``"f"``.
The convolution is a cross-correlation (the filter is not flipped), as in every deep
learning library.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def zero_pad(X: np.ndarray, pad: int) -> np.ndarray:
    """Pad the height and width of a batch of images with zeros.

    Args:
        X: images, (m, n_H, n_W, n_C).
        pad: the number of zero rows and columns added on each side.

    Returns:
        (m, n_H + 2 * pad, n_W + 2 * pad, n_C); the batch and channel axes are not padded.
    """
    X_pad = np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="constant", constant_values=0)
    return X_pad


def conv_single_step(a_slice_prev: np.ndarray, W: np.ndarray, b: np.ndarray) -> Any:
    """One filter applied at one position: ``sum(a_slice_prev * W) + b``.

    Args:
        a_slice_prev: a window of the input, (f, f, n_C_prev).
        W: one filter, (f, f, n_C_prev).
        b: its bias, (1, 1, 1).

    Returns:
        Z: a single number (shape ``()``).
    """
    s = np.multiply(a_slice_prev, W)
    Z = np.sum(s)
    Z = Z + b.item()
    return Z


def conv_forward(
    A_prev: np.ndarray, W: np.ndarray, b: np.ndarray, hparameters: dict[str, int]
) -> tuple[np.ndarray, tuple[Any, ...]]:
    """Forward pass of a convolution layer.

    Args:
        A_prev: input activations, (m, n_H_prev, n_W_prev, n_C_prev).
        W: filters, (f, f, n_C_prev, n_C).
        b: biases, (1, 1, 1, n_C).
        hparameters: ``{"stride": s, "pad": p}``.

    Returns:
        Z: (m, n_H, n_W, n_C) with ``n_H = floor((n_H_prev - f + 2 p) / s) + 1`` and the same
            for n_W.
        cache: ``(A_prev, W, b, hparameters)`` for :func:`conv_backward`.
    """
    (m, n_H_prev, n_W_prev, n_C_prev) = A_prev.shape
    (f, f, n_C_prev, n_C) = W.shape
    stride = hparameters["stride"]
    pad = hparameters["pad"]
    n_H = int((n_H_prev - f + 2 * pad) / stride) + 1
    n_W = int((n_W_prev - f + 2 * pad) / stride) + 1
    Z = np.zeros((m, n_H, n_W, n_C))
    A_prev_pad = zero_pad(A_prev, pad)
    for i in range(m):
        a_prev_pad = A_prev_pad[i]
        for h in range(n_H):
            vert_start = h * stride
            vert_end = vert_start + f
            for w in range(n_W):
                horiz_start = w * stride
                horiz_end = horiz_start + f
                a_slice_prev = a_prev_pad[vert_start:vert_end, horiz_start:horiz_end, :]
                for c in range(n_C):
                    Z[i, h, w, c] = conv_single_step(a_slice_prev, W[:, :, :, c], b[:, :, :, c])
    cache = (A_prev, W, b, hparameters)
    return Z, cache


def pool_forward(
    A_prev: np.ndarray, hparameters: dict[str, int], mode: str = "max"
) -> tuple[np.ndarray, tuple[Any, ...]]:
    """Forward pass of a pooling layer, channel by channel, without padding.

    Args:
        A_prev: input activations, (m, n_H_prev, n_W_prev, n_C).
        hparameters: ``{"f": f, "stride": s}``.
        mode: ``"max"`` or ``"average"``.

    Returns:
        A: (m, n_H, n_W, n_C) with ``n_H = floor((n_H_prev - f) / s) + 1``, likewise n_W.
        cache: ``(A_prev, hparameters)`` for :func:`pool_backward`.
    """
    if mode not in ("max", "average"):
        raise ValueError(f'mode must be "max" or "average", not {mode!r}')
    (m, n_H_prev, n_W_prev, n_C_prev) = A_prev.shape
    f = hparameters["f"]
    stride = hparameters["stride"]
    n_H = int(1 + (n_H_prev - f) / stride)
    n_W = int(1 + (n_W_prev - f) / stride)
    n_C = n_C_prev
    A = np.zeros((m, n_H, n_W, n_C))
    for i in range(m):
        for h in range(n_H):
            vert_start = h * stride
            vert_end = vert_start + f
            for w in range(n_W):
                horiz_start = w * stride
                horiz_end = horiz_start + f
                for c in range(n_C):
                    a_prev_slice = A_prev[i, vert_start:vert_end, horiz_start:horiz_end, c]
                    if mode == "max":
                        A[i, h, w, c] = np.max(a_prev_slice)
                    else:
                        A[i, h, w, c] = np.mean(a_prev_slice)
    cache = (A_prev, hparameters)
    return A, cache


def conv_backward(
    dZ: np.ndarray, cache: tuple[Any, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of a convolution layer.

    Args:
        dZ: gradient of the cost with respect to the output Z, (m, n_H, n_W, n_C).
        cache: ``(A_prev, W, b, hparameters)`` as returned by :func:`conv_forward`.

    Returns:
        dA_prev: gradient with respect to A_prev, (m, n_H_prev, n_W_prev, n_C_prev).
        dW: gradient with respect to W, (f, f, n_C_prev, n_C).
        db: gradient with respect to b, (1, 1, 1, n_C).
    """
    (A_prev, W, b, hparameters) = cache
    (m, n_H_prev, n_W_prev, n_C_prev) = A_prev.shape
    (f, f, n_C_prev, n_C) = W.shape
    stride = hparameters["stride"]
    pad = hparameters["pad"]
    (m, n_H, n_W, n_C) = dZ.shape
    dA_prev = np.zeros(A_prev.shape)
    dW = np.zeros(W.shape)
    db = np.zeros(b.shape)
    A_prev_pad = zero_pad(A_prev, pad)
    dA_prev_pad = zero_pad(dA_prev, pad)
    for i in range(m):
        a_prev_pad = A_prev_pad[i]
        da_prev_pad = dA_prev_pad[i]
        for h in range(n_H):
            vert_start = h * stride
            vert_end = vert_start + f
            for w in range(n_W):
                horiz_start = w * stride
                horiz_end = horiz_start + f
                a_slice = a_prev_pad[vert_start:vert_end, horiz_start:horiz_end, :]
                for c in range(n_C):
                    da_prev_pad[vert_start:vert_end, horiz_start:horiz_end, :] += (
                        W[:, :, :, c] * dZ[i, h, w, c]
                    )
                    dW[:, :, :, c] += a_slice * dZ[i, h, w, c]
                    db[:, :, :, c] += dZ[i, h, w, c]
        dA_prev[i, :, :, :] = da_prev_pad[pad : pad + n_H_prev, pad : pad + n_W_prev, :]
    return dA_prev, dW, db


def create_mask_from_window(x: np.ndarray) -> np.ndarray:
    """A boolean mask of the shape of ``x``, (f, f): True where ``x`` holds its maximum."""
    mask = x == np.max(x)
    return mask


def distribute_value(dz: float, shape: tuple[int, int]) -> np.ndarray:
    """Spread ``dz`` evenly over a window: shape ``(n_H, n_W)``, every entry ``dz / (n_H n_W)``."""
    (n_H, n_W) = shape
    average = dz / (n_H * n_W)
    a = np.ones(shape) * average
    return a


def pool_backward(dA: np.ndarray, cache: tuple[Any, ...], mode: str = "max") -> np.ndarray:
    """Backward pass of a pooling layer.

    Args:
        dA: gradient of the cost with respect to the pooling output, (m, n_H, n_W, n_C).
        cache: ``(A_prev, hparameters)`` as returned by :func:`pool_forward`.
        mode: ``"max"`` or ``"average"``.

    Returns:
        dA_prev: gradient with respect to A_prev, (m, n_H_prev, n_W_prev, n_C). Windows
        that overlap (stride < f) add up their contributions.
    """
    if mode not in ("max", "average"):
        raise ValueError(f'mode must be "max" or "average", not {mode!r}')
    (A_prev, hparameters) = cache
    stride = hparameters["stride"]
    f = hparameters["f"]
    (m, n_H, n_W, n_C) = dA.shape
    dA_prev = np.zeros(A_prev.shape)
    for i in range(m):
        a_prev = A_prev[i]
        for h in range(n_H):
            vert_start = h * stride
            vert_end = vert_start + f
            for w in range(n_W):
                horiz_start = w * stride
                horiz_end = horiz_start + f
                for c in range(n_C):
                    if mode == "max":
                        a_prev_slice = a_prev[vert_start:vert_end, horiz_start:horiz_end, c]
                        mask = create_mask_from_window(a_prev_slice)
                        dA_prev[i, vert_start:vert_end, horiz_start:horiz_end, c] += (
                            mask * dA[i, h, w, c]
                        )
                    else:
                        da = dA[i, h, w, c]
                        dA_prev[i, vert_start:vert_end, horiz_start:horiz_end, c] += (
                            distribute_value(da, (f, f))
                        )
    return dA_prev
