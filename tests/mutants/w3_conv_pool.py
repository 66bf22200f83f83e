"""Mutants (plausible wrong answers) and valid variants for w3_conv_pool.

Functions that call other graded functions (``conv_forward`` and ``conv_backward`` may call
``zero_pad`` and ``conv_single_step``; ``pool_backward`` calls ``create_mask_from_window``
and ``distribute_value``) use the reference ones, as a student's would use their own
correct ones. The loop-based mutants are built by small factories whose flags each switch
on one mistake, so that every mutant differs from the reference in exactly one place.
The first mutant of each function is written out in full instead: the end-to-end
submissions paste it into a notebook as a student's answer (``graders.golden``).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from solutions.w3_conv_pool import (
    conv_single_step,
    create_mask_from_window,
    distribute_value,
    zero_pad,
)
from tests.mutants import Impl, mutant, variant

ASSIGNMENT = "w3_conv_pool"


def _pad_hw(X, pad):
    return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)))


# ---------------------------------------------------------------------------- zero_pad


@mutant("zero_pad", "padding applied to all four axes (batch and channels too)")
def zero_pad_all_axes(X, pad):
    return np.pad(X, pad, mode="constant")


@mutant("zero_pad", "channels-first thinking: pads the width and channel axes")
def zero_pad_nchw(X, pad):
    return np.pad(X, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")


@mutant("zero_pad", "padding on one side only")
def zero_pad_one_side(X, pad):
    return np.pad(X, ((0, 0), (pad, 0), (pad, 0), (0, 0)), mode="constant")


@mutant("zero_pad", "edge padding (repeats the border) instead of zeros")
def zero_pad_edge(X, pad):
    return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="edge")


@mutant("zero_pad", "height padded only")
def zero_pad_height_only(X, pad):
    return np.pad(X, ((0, 0), (pad, pad), (0, 0), (0, 0)), mode="constant")


@variant("zero_pad", "zeros of the padded shape, the input copied into the middle")
def zero_pad_copy(X, pad):
    m, n_H, n_W, n_C = X.shape
    out = np.zeros((m, n_H + 2 * pad, n_W + 2 * pad, n_C))
    out[:, pad : pad + n_H, pad : pad + n_W, :] = X
    return out


@variant("zero_pad", "np.pad with a list of pairs and the default mode, in float32")
def zero_pad_float32(X, pad):
    return np.pad(X.astype(np.float32), [(0, 0), (pad, pad), (pad, pad), (0, 0)])


# ---------------------------------------------------------------------------- conv_single_step


@mutant("conv_single_step", "bias left out")
def single_step_no_bias(a_slice_prev, W, b):
    return np.sum(a_slice_prev * W)


@mutant("conv_single_step", "bias added to every product before the sum")
def single_step_bias_inside(a_slice_prev, W, b):
    return np.sum(a_slice_prev * W + b)


@mutant("conv_single_step", "filter flipped (a true convolution, not a cross-correlation)")
def single_step_flipped(a_slice_prev, W, b):
    return np.sum(a_slice_prev * W[::-1, ::-1, :]) + b.item()


@mutant("conv_single_step", "sum over the channel axis only")
def single_step_channel_sum(a_slice_prev, W, b):
    return np.sum(a_slice_prev * W, axis=-1) + b.item()


@mutant("conv_single_step", "bias added as an array: the result has shape (1, 1, 1)")
def single_step_array(a_slice_prev, W, b):
    return np.sum(a_slice_prev * W) + b


@variant("conv_single_step", "np.vdot and a Python float")
def single_step_vdot(a_slice_prev, W, b):
    return float(np.vdot(a_slice_prev, W)) + float(b[0, 0, 0])


@variant("conv_single_step", "einsum and np.squeeze")
def single_step_einsum(a_slice_prev, W, b):
    return np.einsum("ijc,ijc->", a_slice_prev, W) + np.squeeze(b)


# ---------------------------------------------------------------------------- conv_forward


@mutant("conv_forward", "stride left out of the window start")
def conv_forward_no_stride(A_prev, W, b, hparameters):
    (m, n_H_prev, n_W_prev, n_C_prev) = A_prev.shape
    (f, f, n_C_prev, n_C) = W.shape
    stride = hparameters["stride"]
    pad = hparameters["pad"]
    n_H = int((n_H_prev - f + 2 * pad) / stride) + 1
    n_W = int((n_W_prev - f + 2 * pad) / stride) + 1
    Z = np.zeros((m, n_H, n_W, n_C))
    A_prev_pad = zero_pad(A_prev, pad)
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                a_slice_prev = A_prev_pad[i, h : h + f, w : w + f, :]
                for c in range(n_C):
                    Z[i, h, w, c] = conv_single_step(a_slice_prev, W[:, :, :, c], b[:, :, :, c])
    cache = (A_prev, W, b, hparameters)
    return Z, cache


def _conv_forward_with(
    *,
    no_plus_one=False,
    size_without_pad=False,
    ceil=False,
    first_bias=False,
    swap_hw=False,
    pad_all_axes=False,
    cache_padded=False,
):
    """The loop-based conv_forward with the flagged mistake(s) switched on."""

    def conv_forward(A_prev, W, b, hparameters):
        m, n_H_prev, n_W_prev, _ = A_prev.shape
        f, _, _, n_C = W.shape
        stride, pad = hparameters["stride"], hparameters["pad"]
        size_pad = 0 if size_without_pad else pad
        if ceil:
            n_H = math.ceil((n_H_prev - f + 2 * size_pad) / stride) + 1
            n_W = math.ceil((n_W_prev - f + 2 * size_pad) / stride) + 1
        else:
            one = 0 if no_plus_one else 1
            n_H = (n_H_prev - f + 2 * size_pad) // stride + one
            n_W = (n_W_prev - f + 2 * size_pad) // stride + one
        A_pad = np.pad(A_prev, pad) if pad_all_axes else zero_pad(A_prev, pad)
        Z = np.zeros((m, n_H, n_W, n_C))
        for i in range(m):
            for h in range(n_H):
                for w in range(n_W):
                    top, left = (w * stride, h * stride) if swap_hw else (h * stride, w * stride)
                    a_slice = A_pad[i, top : top + f, left : left + f, :]
                    for c in range(n_C):
                        bias = b[:, :, :, 0] if first_bias else b[:, :, :, c]
                        Z[i, h, w, c] = conv_single_step(a_slice, W[:, :, :, c], bias)
        return Z, ((A_pad if cache_padded else A_prev), W, b, hparameters)

    return conv_forward


def _conv_forward_mutant(label, **flags):
    return mutant("conv_forward", label)(_conv_forward_with(**flags))


@variant("conv_forward", "vectorised: sliding windows and einsum")
def conv_forward_einsum(A_prev, W, b, hparameters):
    f = W.shape[0]
    stride = hparameters["stride"]
    A_pad = _pad_hw(A_prev, hparameters["pad"])
    windows = sliding_window_view(A_pad, (f, f), axis=(1, 2))[:, ::stride, ::stride]
    Z = np.einsum("mhwcij,ijcn->mhwn", windows, W) + b
    return Z, (A_prev, W, b, hparameters)


@variant("conv_forward", "loops over positions only, tensordot over the whole batch")
def conv_forward_tensordot(A_prev, W, b, hparameters):
    m, n_H_prev, n_W_prev, _ = A_prev.shape
    f, _, _, n_C = W.shape
    stride, pad = hparameters["stride"], hparameters["pad"]
    n_H = int(np.floor((n_H_prev - f + 2 * pad) / stride)) + 1
    n_W = int(np.floor((n_W_prev - f + 2 * pad) / stride)) + 1
    A_pad = _pad_hw(A_prev, pad)
    Z = np.empty((m, n_H, n_W, n_C))
    for h in range(n_H):
        for w in range(n_W):
            window = A_pad[:, h * stride : h * stride + f, w * stride : w * stride + f, :]
            Z[:, h, w, :] = np.tensordot(window, W, axes=([1, 2, 3], [0, 1, 2])) + b[0, 0, 0]
    return Z, [A_prev, W, b, hparameters]


# ---------------------------------------------------------------------------- pool_forward


@mutant("pool_forward", "average pooling that uses max")
def pool_forward_always_max(A_prev, hparameters, mode="max"):
    (m, n_H_prev, n_W_prev, n_C_prev) = A_prev.shape
    f = hparameters["f"]
    stride = hparameters["stride"]
    n_H = int(1 + (n_H_prev - f) / stride)
    n_W = int(1 + (n_W_prev - f) / stride)
    A = np.zeros((m, n_H, n_W, n_C_prev))
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C_prev):
                    window = A_prev[i, h * stride : h * stride + f, w * stride : w * stride + f, c]
                    A[i, h, w, c] = np.max(window)
    cache = (A_prev, hparameters)
    return A, cache


def _pool_forward_with(
    *,
    no_stride=False,
    no_plus_one=False,
    all_channels=False,
    divide_by_f=False,
    window_by_stride=False,
):
    """The loop-based pool_forward with the flagged mistake(s) switched on."""

    def pool_forward(A_prev, hparameters, mode="max"):
        m, n_H_prev, n_W_prev, n_C = A_prev.shape
        f, stride = hparameters["f"], hparameters["stride"]
        one = 0 if no_plus_one else 1
        n_H = (n_H_prev - f) // stride + one
        n_W = (n_W_prev - f) // stride + one
        step = 1 if no_stride else stride
        size = stride if window_by_stride else f
        A = np.zeros((m, n_H, n_W, n_C))
        for i in range(m):
            for h in range(n_H):
                for w in range(n_W):
                    for c in range(n_C):
                        top, left = h * step, w * step
                        if all_channels:
                            window = A_prev[i, top : top + size, left : left + size, :]
                        else:
                            window = A_prev[i, top : top + size, left : left + size, c]
                        if mode == "max":
                            A[i, h, w, c] = np.max(window)
                        elif divide_by_f:
                            A[i, h, w, c] = np.sum(window) / f
                        else:
                            A[i, h, w, c] = np.mean(window)
        return A, (A_prev, hparameters)

    return pool_forward


def _pool_forward_mutant(label, **flags):
    return mutant("pool_forward", label)(_pool_forward_with(**flags))


@variant("pool_forward", "vectorised: sliding windows reduced over their last two axes")
def pool_forward_windows(A_prev, hparameters, mode="max"):
    f, stride = hparameters["f"], hparameters["stride"]
    windows = sliding_window_view(A_prev, (f, f), axis=(1, 2))[:, ::stride, ::stride]
    reduce = np.max if mode == "max" else np.mean
    return reduce(windows, axis=(-2, -1)), (A_prev, hparameters)


@variant("pool_forward", "loops over positions, all examples and channels at once, float32")
def pool_forward_float32(A_prev, hparameters, mode="max"):
    m, n_H_prev, n_W_prev, n_C = A_prev.shape
    f, stride = hparameters["f"], hparameters["stride"]
    n_H = int(1 + (n_H_prev - f) / stride)
    n_W = int(1 + (n_W_prev - f) / stride)
    A = np.zeros((m, n_H, n_W, n_C), dtype=np.float32)
    for h in range(n_H):
        for w in range(n_W):
            window = A_prev[:, h * stride : h * stride + f, w * stride : w * stride + f, :]
            if mode == "max":
                A[:, h, w, :] = window.max(axis=(1, 2))
            else:
                A[:, h, w, :] = window.mean(axis=(1, 2))
    return A, (A_prev, hparameters)


# ---------------------------------------------------------------------------- conv_backward


@mutant("conv_backward", "dW not accumulated (= instead of +=)")
def conv_backward_dW_assigned(dZ, cache):
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
        for h in range(n_H):
            for w in range(n_W):
                rows = slice(h * stride, h * stride + f)
                cols = slice(w * stride, w * stride + f)
                a_slice = A_prev_pad[i, rows, cols, :]
                for c in range(n_C):
                    dA_prev_pad[i, rows, cols, :] += W[:, :, :, c] * dZ[i, h, w, c]
                    dW[:, :, :, c] = a_slice * dZ[i, h, w, c]
                    db[:, :, :, c] += dZ[i, h, w, c]
        dA_prev[i] = dA_prev_pad[i, pad : pad + n_H_prev, pad : pad + n_W_prev, :]
    return dA_prev, dW, db


def _conv_backward_with(
    *,
    assign_db=False,
    unpad_negative=False,
    no_stride=False,
    da_from_input=False,
    db_no_keepdims=False,
    average_over_m=False,
    return_padded=False,
):
    """The loop-based conv_backward with the flagged mistake(s) switched on."""

    def conv_backward(dZ, cache):
        A_prev, W, b, hparameters = cache
        _, n_H_prev, n_W_prev, _ = A_prev.shape
        f = W.shape[0]
        stride, pad = hparameters["stride"], hparameters["pad"]
        m, n_H, n_W, n_C = dZ.shape
        step = 1 if no_stride else stride
        A_pad = zero_pad(A_prev, pad)
        dA_pad = np.zeros(A_pad.shape)
        dW = np.zeros(W.shape)
        db = np.zeros(b.shape)
        for i in range(m):
            for h in range(n_H):
                for w in range(n_W):
                    top, left = h * step, w * step
                    a_slice = A_pad[i, top : top + f, left : left + f, :]
                    for c in range(n_C):
                        g = dZ[i, h, w, c]
                        source = a_slice if da_from_input else W[:, :, :, c]
                        dA_pad[i, top : top + f, left : left + f, :] += source * g
                        dW[:, :, :, c] += a_slice * g
                        if assign_db:
                            db[:, :, :, c] = g
                        else:
                            db[:, :, :, c] += g
        if return_padded:
            dA_prev = dA_pad
        elif unpad_negative:
            dA_prev = np.zeros(A_prev.shape)
            for i in range(m):
                dA_prev[i, :, :, :] = dA_pad[i, pad:-pad, pad:-pad, :]
        else:
            dA_prev = dA_pad[:, pad : pad + n_H_prev, pad : pad + n_W_prev, :]
        if db_no_keepdims:
            db = db.reshape(-1)
        if average_over_m:
            dW, db = dW / m, db / m
        return dA_prev, dW, db

    return conv_backward


def _conv_backward_mutant(label, **flags):
    return mutant("conv_backward", label)(_conv_backward_with(**flags))


@variant("conv_backward", "loops over positions only, einsum over the batch and the filters")
def conv_backward_einsum(dZ, cache):
    A_prev, W, b, hparameters = cache
    _, n_H_prev, n_W_prev, _ = A_prev.shape
    f = W.shape[0]
    stride, pad = hparameters["stride"], hparameters["pad"]
    _, n_H, n_W, _ = dZ.shape
    A_pad = _pad_hw(A_prev, pad)
    dA_pad = np.zeros_like(A_pad)
    dW = np.zeros_like(W)
    for h in range(n_H):
        for w in range(n_W):
            rows = slice(h * stride, h * stride + f)
            cols = slice(w * stride, w * stride + f)
            dW += np.einsum("mijc,mn->ijcn", A_pad[:, rows, cols, :], dZ[:, h, w, :])
            dA_pad[:, rows, cols, :] += np.einsum("ijcn,mn->mijc", W, dZ[:, h, w, :])
    db = dZ.sum(axis=(0, 1, 2), keepdims=True)
    return dA_pad[:, pad : pad + n_H_prev, pad : pad + n_W_prev, :], dW, db


@variant("conv_backward", "dW by sliding windows, dA_prev by a list of per-example loops")
def conv_backward_windows(dZ, cache):
    A_prev, W, b, hparameters = cache
    f = W.shape[0]
    stride, pad = hparameters["stride"], hparameters["pad"]
    m, n_H, n_W, n_C = dZ.shape
    A_pad = _pad_hw(A_prev, pad)
    windows = sliding_window_view(A_pad, (f, f), axis=(1, 2))[:, ::stride, ::stride]
    windows = windows[:, :n_H, :n_W]  # (m, n_H, n_W, n_C_prev, f, f)
    dW = np.einsum("mhwcij,mhwn->ijcn", windows, dZ)
    db = np.sum(dZ, axis=(0, 1, 2)).reshape(1, 1, 1, n_C)
    dA_prev = []
    for i in range(m):
        da = np.zeros(A_pad.shape[1:])
        for h in range(n_H):
            for w in range(n_W):
                da[h * stride : h * stride + f, w * stride : w * stride + f, :] += W @ dZ[i, h, w]
        dA_prev.append(da[pad : da.shape[0] - pad, pad : da.shape[1] - pad, :])
    return np.stack(dA_prev), dW, db


# ------------------------------------------------------------------- create_mask_from_window


@mutant("create_mask_from_window", "mask of the minimum")
def mask_min(x):
    return x == np.min(x)


@mutant("create_mask_from_window", "maximum along axis 0 (one per column), not of the window")
def mask_axis0(x):
    return x == np.max(x, axis=0)


@mutant("create_mask_from_window", "the window's values at the maximum, not a mask")
def mask_values(x):
    return x * (x == np.max(x))


@mutant("create_mask_from_window", "inverted: True everywhere but at the maximum")
def mask_inverted(x):
    return x != np.max(x)


@mutant("create_mask_from_window", "entries above the mean")
def mask_above_mean(x):
    return x > np.mean(x)


@variant("create_mask_from_window", "a float one-hot mask at the argmax")
def mask_argmax(x):
    mask = np.zeros(x.shape)
    mask[np.unravel_index(np.argmax(x), x.shape)] = 1.0
    return mask


@variant("create_mask_from_window", ">= the maximum, as integers")
def mask_ge(x):
    return (x >= x.max()).astype(int)


# ---------------------------------------------------------------------------- distribute_value


@mutant("distribute_value", "divided by n_H instead of n_H * n_W")
def distribute_by_side(dz, shape):
    return np.ones(shape) * dz / shape[0]


@mutant("distribute_value", "not divided")
def distribute_undivided(dz, shape):
    return np.ones(shape) * dz


@mutant("distribute_value", "divided by n_H + n_W")
def distribute_by_sum(dz, shape):
    return np.ones(shape) * dz / (shape[0] + shape[1])


@mutant("distribute_value", "all of dz in the top-left corner")
def distribute_corner(dz, shape):
    out = np.zeros(shape)
    out[0, 0] = dz
    return out


@mutant("distribute_value", "the average alone, not an array of the window's shape")
def distribute_scalar(dz, shape):
    return dz / (shape[0] * shape[1])


@variant("distribute_value", "np.full with np.prod")
def distribute_full(dz, shape):
    return np.full(shape, dz / np.prod(shape))


@variant("distribute_value", "float32")
def distribute_float32(dz, shape):
    return np.ones(shape, dtype=np.float32) * np.float32(dz / (shape[0] * shape[1]))


# ---------------------------------------------------------------------------- pool_backward


@mutant("pool_backward", "mask from the window without the stride")
def pool_backward_unstrided_mask(dA, cache, mode="max"):
    (A_prev, hparameters) = cache
    stride = hparameters["stride"]
    f = hparameters["f"]
    (m, n_H, n_W, n_C) = dA.shape
    dA_prev = np.zeros(A_prev.shape)
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                rows = slice(h * stride, h * stride + f)
                cols = slice(w * stride, w * stride + f)
                for c in range(n_C):
                    if mode == "max":
                        mask = create_mask_from_window(A_prev[i, h : h + f, w : w + f, c])
                        dA_prev[i, rows, cols, c] += mask * dA[i, h, w, c]
                    else:
                        dA_prev[i, rows, cols, c] += distribute_value(dA[i, h, w, c], (f, f))
    return dA_prev


def _pool_backward_with(
    *,
    assign=False,
    divide_by_f=False,
    average_uses_max=False,
    mask_all_channels=False,
    no_mask=False,
):
    """The loop-based pool_backward with the flagged mistake(s) switched on."""

    def pool_backward(dA, cache, mode="max"):
        A_prev, hparameters = cache
        f, stride = hparameters["f"], hparameters["stride"]
        m, n_H, n_W, n_C = dA.shape
        dA_prev = np.zeros(A_prev.shape)
        for i in range(m):
            for h in range(n_H):
                for w in range(n_W):
                    top, left = h * stride, w * stride
                    for c in range(n_C):
                        g = dA[i, h, w, c]
                        if mode == "max" or average_uses_max:
                            if mask_all_channels:
                                window = A_prev[i, top : top + f, left : left + f]
                                mask = (window == np.max(window))[:, :, c]
                            else:
                                window = A_prev[i, top : top + f, left : left + f, c]
                                mask = create_mask_from_window(window)
                            share = g if no_mask else mask * g
                        elif divide_by_f:
                            share = np.ones((f, f)) * g / f
                        else:
                            share = distribute_value(g, (f, f))
                        target = (i, slice(top, top + f), slice(left, left + f), c)
                        if assign:
                            dA_prev[target] = share
                        else:
                            dA_prev[target] += share
        return dA_prev

    return pool_backward


def _pool_backward_mutant(label, **flags):
    return mutant("pool_backward", label)(_pool_backward_with(**flags))


@variant("pool_backward", "loops over positions, all examples and channels at once")
def pool_backward_vectorised(dA, cache, mode="max"):
    A_prev, hparameters = cache
    f, stride = hparameters["f"], hparameters["stride"]
    _, n_H, n_W, _ = dA.shape
    dA_prev = np.zeros_like(A_prev)
    for h in range(n_H):
        for w in range(n_W):
            rows = slice(h * stride, h * stride + f)
            cols = slice(w * stride, w * stride + f)
            g = dA[:, h, w, :][:, None, None, :]
            if mode == "max":
                window = A_prev[:, rows, cols, :]
                dA_prev[:, rows, cols, :] += (window == window.max(axis=(1, 2), keepdims=True)) * g
            else:
                dA_prev[:, rows, cols, :] += g / (f * f)
    return dA_prev


@variant("pool_backward", "np.add.at on the argmax of each window")
def pool_backward_add_at(dA, cache, mode="max"):
    A_prev, hparameters = cache
    f, stride = hparameters["f"], hparameters["stride"]
    m, n_H, n_W, n_C = dA.shape
    dA_prev = np.zeros(A_prev.shape)
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C):
                    top, left = h * stride, w * stride
                    if mode == "max":
                        window = A_prev[i, top : top + f, left : left + f, c]
                        r, k = np.unravel_index(np.argmax(window), window.shape)
                        np.add.at(dA_prev, (i, top + r, left + k, c), dA[i, h, w, c])
                    else:
                        dA_prev[i, top : top + f, left : left + f, c] += dA[i, h, w, c] / f**2
    return dA_prev


IMPLEMENTATIONS: list[Impl] = [
    zero_pad_all_axes,
    zero_pad_nchw,
    zero_pad_one_side,
    zero_pad_edge,
    zero_pad_height_only,
    zero_pad_copy,
    zero_pad_float32,
    single_step_no_bias,
    single_step_bias_inside,
    single_step_flipped,
    single_step_channel_sum,
    single_step_array,
    single_step_vdot,
    single_step_einsum,
    conv_forward_no_stride,
    _conv_forward_mutant("output size off by one (no + 1)", no_plus_one=True),
    _conv_forward_mutant("output size ignores the padding", size_without_pad=True),
    _conv_forward_mutant("output size rounded up instead of down", ceil=True),
    _conv_forward_mutant("the first filter's bias for every filter", first_bias=True),
    _conv_forward_mutant("vertical and horizontal window starts swapped", swap_hw=True),
    _conv_forward_mutant("padding applied to the batch and channel axes", pad_all_axes=True),
    _conv_forward_mutant("the cache holds the padded input", cache_padded=True),
    conv_forward_einsum,
    conv_forward_tensordot,
    pool_forward_always_max,
    _pool_forward_mutant("stride left out of the window start", no_stride=True),
    _pool_forward_mutant("output size off by one (no + 1)", no_plus_one=True),
    _pool_forward_mutant("pooled over all channels at once", all_channels=True),
    _pool_forward_mutant("average divided by f instead of f * f", divide_by_f=True),
    _pool_forward_mutant("window as wide as the stride, not f", window_by_stride=True),
    pool_forward_windows,
    pool_forward_float32,
    conv_backward_dW_assigned,
    _conv_backward_mutant("db not accumulated (= instead of +=)", assign_db=True),
    _conv_backward_mutant("padding removed with [pad:-pad] (empty for pad 0)", unpad_negative=True),
    _conv_backward_mutant("stride left out of the window start", no_stride=True),
    _conv_backward_mutant("dA_prev built from the input window, not W", da_from_input=True),
    _conv_backward_mutant("db without keepdims: shape (n_C,)", db_no_keepdims=True),
    _conv_backward_mutant("dW and db divided by m", average_over_m=True),
    _conv_backward_mutant("dA_prev returned with its padding", return_padded=True),
    conv_backward_einsum,
    conv_backward_windows,
    mask_min,
    mask_axis0,
    mask_values,
    mask_inverted,
    mask_above_mean,
    mask_argmax,
    mask_ge,
    distribute_by_side,
    distribute_undivided,
    distribute_by_sum,
    distribute_corner,
    distribute_scalar,
    distribute_full,
    distribute_float32,
    pool_backward_unstrided_mask,
    _pool_backward_mutant("windows assigned (=), overlaps lost", assign=True),
    _pool_backward_mutant("average divided by f instead of f * f", divide_by_f=True),
    _pool_backward_mutant("average mode routed through the max mask", average_uses_max=True),
    _pool_backward_mutant("mask of the maximum over all channels", mask_all_channels=True),
    _pool_backward_mutant("no mask: the whole window receives dA", no_mask=True),
    pool_backward_vectorised,
    pool_backward_add_at,
]
