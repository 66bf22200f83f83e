"""Wrong implementations (mutants) and valid alternatives (variants) for w8_sequence_models.

The functions that call other graded functions (``rnn_forward`` calls ``rnn_cell_forward``,
``lstm_forward`` calls ``lstm_cell_forward``) use the reference ones, imported here under the
notebook's names. Keras is imported inside the functions. The first mutants of
``lstm_forward`` and ``forecaster`` are pasted into notebooks as they are (the "partly wrong"
golden submissions), so they use only what the notebook defines.
"""

from __future__ import annotations

import numpy as np

from graders.cases.w8_sequence_models import LOOKBACK, N_FEATURES
from solutions.w8_sequence_models import lstm_cell_forward, rnn_cell_forward, sigmoid
from tests.mutants import Impl, mutant, variant

ASSIGNMENT = "w8_sequence_models"


# ---------------------------------------------------------------------------- rnn_cell_forward


def _cell(xt, a_prev, p, *, hidden="Waa", activation=np.tanh, y_from_prev=False):
    a_next = activation(p[hidden] @ a_prev + p["Wax"] @ xt + p["ba"])
    yt_pred = p["Wya"] @ (a_prev if y_from_prev else a_next) + p["by"]
    return a_next, yt_pred, (a_next, a_prev, xt, p)


@mutant("rnn_cell_forward", "the hidden state uses the input weights twice (Wax a_prev)")
def rnn_cell_wax_twice(xt, a_prev, parameters):
    return _cell(xt, a_prev, parameters, hidden="Wax")


@mutant("rnn_cell_forward", "sigmoid instead of tanh")
def rnn_cell_sigmoid(xt, a_prev, parameters):
    return _cell(xt, a_prev, parameters, activation=sigmoid)


@mutant("rnn_cell_forward", "the prediction read off the previous hidden state")
def rnn_cell_y_from_prev(xt, a_prev, parameters):
    return _cell(xt, a_prev, parameters, y_from_prev=True)


@mutant("rnn_cell_forward", "the bias ba left out")
def rnn_cell_no_bias(xt, a_prev, parameters):
    p = dict(parameters)
    a_next = np.tanh(p["Waa"] @ a_prev + p["Wax"] @ xt)
    return a_next, p["Wya"] @ a_next + p["by"], (a_next, a_prev, xt, parameters)


@variant("rnn_cell_forward", "one product with the stacked weights [Waa Wax] and [a_prev; xt]")
def rnn_cell_stacked(xt, a_prev, parameters):
    W = np.hstack([parameters["Waa"], parameters["Wax"]])
    a_next = np.tanh(W @ np.vstack([a_prev, xt]) + parameters["ba"])
    yt_pred = np.dot(parameters["Wya"], a_next) + parameters["by"]
    return a_next, yt_pred, (a_next, a_prev, xt, parameters)


# ---------------------------------------------------------------------------- rnn_forward


@mutant("rnn_forward", "time and batch axes mixed (x[:, t, :])")
def rnn_forward_axes_mixed(x, a0, parameters):
    n_x, m, T_x = x.shape
    n_y, n_a = parameters["Wya"].shape
    a, y_pred, caches, a_next = np.zeros((n_a, m, T_x)), np.zeros((n_y, m, T_x)), [], a0
    for t in range(T_x):
        a_next, yt, cache = rnn_cell_forward(x[:, t, :], a_next, parameters)
        a[:, :, t], y_pred[:, :, t] = a_next, yt
        caches.append(cache)
    return a, y_pred, (caches, x)


@mutant("rnn_forward", "every step starts again from a0")
def rnn_forward_no_carry(x, a0, parameters):
    n_x, m, T_x = x.shape
    n_y, n_a = parameters["Wya"].shape
    a, y_pred, caches = np.zeros((n_a, m, T_x)), np.zeros((n_y, m, T_x)), []
    for t in range(T_x):
        a_next, yt, cache = rnn_cell_forward(x[:, :, t], a0, parameters)
        a[:, :, t], y_pred[:, :, t] = a_next, yt
        caches.append(cache)
    return a, y_pred, (caches, x)


@mutant("rnn_forward", "the hidden state stored before the step (a_prev instead of a_next)")
def rnn_forward_stores_prev(x, a0, parameters):
    n_x, m, T_x = x.shape
    n_y, n_a = parameters["Wya"].shape
    a, y_pred, caches, a_next = np.zeros((n_a, m, T_x)), np.zeros((n_y, m, T_x)), [], a0
    for t in range(T_x):
        a[:, :, t] = a_next
        a_next, yt, cache = rnn_cell_forward(x[:, :, t], a_next, parameters)
        y_pred[:, :, t] = yt
        caches.append(cache)
    return a, y_pred, (caches, x)


@mutant("rnn_forward", "the sequence read backwards")
def rnn_forward_reversed(x, a0, parameters):
    n_x, m, T_x = x.shape
    n_y, n_a = parameters["Wya"].shape
    a, y_pred, caches, a_next = np.zeros((n_a, m, T_x)), np.zeros((n_y, m, T_x)), [], a0
    for t in reversed(range(T_x)):
        a_next, yt, cache = rnn_cell_forward(x[:, :, t], a_next, parameters)
        a[:, :, t], y_pred[:, :, t] = a_next, yt
        caches.append(cache)
    return a, y_pred, (caches, x)


@variant("rnn_forward", "float32 arrays, lists stacked at the end")
def rnn_forward_float32(x, a0, parameters):
    p32 = {k: np.asarray(v, dtype=np.float32) for k, v in parameters.items()}
    a_list, y_list, caches, a_next = [], [], [], np.asarray(a0, dtype=np.float32)
    for t in range(x.shape[2]):
        a_next, yt, cache = rnn_cell_forward(x[:, :, t].astype(np.float32), a_next, p32)
        a_list.append(a_next)
        y_list.append(yt)
        caches.append(cache)
    return np.stack(a_list, axis=2), np.stack(y_list, axis=2), (caches, x)


# ---------------------------------------------------------------------------- rnn_cell_backward


def _backward(da_next, cache, *, derivative="tanh", transpose=True):
    a_next, a_prev, xt, p = cache
    if derivative == "tanh":
        dz = da_next * (1 - a_next**2)
    elif derivative == "none":
        dz = da_next
    else:  # the derivative of tanh at the hidden state before the step
        dz = da_next * (1 - a_prev**2)
    Wax, Waa = (p["Wax"].T, p["Waa"].T) if transpose else (p["Wax"], p["Waa"])
    return {
        "dxt": Wax @ dz,
        "da_prev": Waa @ dz,
        "dWax": dz @ xt.T,
        "dWaa": dz @ a_prev.T,
        "dba": np.sum(dz, axis=1, keepdims=True),
    }


@mutant("rnn_cell_backward", "the derivative of tanh left out")
def backward_no_tanh_derivative(da_next, cache):
    return _backward(da_next, cache, derivative="none")


@mutant("rnn_cell_backward", "tanh's derivative taken at a_prev instead of a_next")
def backward_derivative_at_prev(da_next, cache):
    return _backward(da_next, cache, derivative="prev")


@mutant("rnn_cell_backward", "dba without keepdims (shape (n_a,))")
def backward_db_no_keepdims(da_next, cache):
    a_next = cache[0]
    out = _backward(da_next, cache)
    out["dba"] = np.sum(da_next * (1 - a_next**2), axis=1)
    return out


@mutant("rnn_cell_backward", "the weights not transposed (Wax dz, Waa dz)")
def backward_not_transposed(da_next, cache):
    return _backward(da_next, cache, transpose=False)


@variant("rnn_cell_backward", "float32 and einsum")
def backward_float32_einsum(da_next, cache):
    a_next, a_prev, xt, p = cache
    dz = np.asarray(da_next, dtype=np.float32) * (1 - np.asarray(a_next, dtype=np.float32) ** 2)
    return {
        "dxt": np.einsum("ai,am->im", p["Wax"].astype(np.float32), dz),
        "da_prev": np.einsum("ab,am->bm", p["Waa"].astype(np.float32), dz),
        "dWax": np.einsum("am,im->ai", dz, xt.astype(np.float32)),
        "dWaa": np.einsum("am,bm->ab", dz, a_prev.astype(np.float32)),
        "dba": dz.sum(axis=1).reshape(-1, 1),
    }


# ---------------------------------------------------------------------------- lstm_cell_forward


def _lstm_cell(
    xt,
    a_prev,
    c_prev,
    p,
    *,
    swap_fi=False,
    gate=sigmoid,
    x_first=False,
    out_tanh=True,
    keep_old=True,
):
    concat = np.concatenate([xt, a_prev] if x_first else [a_prev, xt], axis=0)
    ft = gate(p["Wf"] @ concat + p["bf"])
    it = gate(p["Wi"] @ concat + p["bi"])
    if swap_fi:
        ft, it = it, ft
    cct = np.tanh(p["Wc"] @ concat + p["bc"])
    c_next = (ft * c_prev if keep_old else 0.0) + it * cct
    ot = gate(p["Wo"] @ concat + p["bo"])
    a_next = ot * (np.tanh(c_next) if out_tanh else c_next)
    yt_pred = p["Wy"] @ a_next + p["by"]
    return a_next, c_next, yt_pred, (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, p)


@mutant("lstm_cell_forward", "forget and update gates swapped")
def lstm_cell_gates_swapped(xt, a_prev, c_prev, parameters):
    return _lstm_cell(xt, a_prev, c_prev, parameters, swap_fi=True)


@mutant("lstm_cell_forward", "tanh where the sigmoid gates are meant")
def lstm_cell_tanh_gates(xt, a_prev, c_prev, parameters):
    return _lstm_cell(xt, a_prev, c_prev, parameters, gate=np.tanh)


@mutant("lstm_cell_forward", "the input stacked above the hidden state ([xt; a_prev])")
def lstm_cell_concat_order(xt, a_prev, c_prev, parameters):
    return _lstm_cell(xt, a_prev, c_prev, parameters, x_first=True)


@mutant("lstm_cell_forward", "a_next = ot * c_next (no tanh of the memory)")
def lstm_cell_no_output_tanh(xt, a_prev, c_prev, parameters):
    return _lstm_cell(xt, a_prev, c_prev, parameters, out_tanh=False)


@mutant("lstm_cell_forward", "the old memory left out (c_next = it * cct)")
def lstm_cell_forgets_everything(xt, a_prev, c_prev, parameters):
    return _lstm_cell(xt, a_prev, c_prev, parameters, keep_old=False)


@variant("lstm_cell_forward", "loops over the examples, the weights split into their a and x parts")
def lstm_cell_loops(xt, a_prev, c_prev, parameters):
    n_a, m = a_prev.shape
    p = parameters
    out = {k: np.zeros((n_a, m)) for k in ("a", "c", "f", "i", "cc", "o")}
    for j in range(m):
        a, x, c = a_prev[:, j : j + 1], xt[:, j : j + 1], c_prev[:, j : j + 1]

        def z(g, a=a, x=x):
            return p[f"W{g}"][:, :n_a] @ a + p[f"W{g}"][:, n_a:] @ x + p[f"b{g}"]

        f, i, o = 1 / (1 + np.exp(-z("f"))), 1 / (1 + np.exp(-z("i"))), 1 / (1 + np.exp(-z("o")))
        cc = np.tanh(z("c"))
        c_new = f * c + i * cc
        for key, value in (
            ("a", o * np.tanh(c_new)),
            ("c", c_new),
            ("f", f),
            ("i", i),
            ("cc", cc),
            ("o", o),
        ):
            out[key][:, j : j + 1] = value
    yt_pred = p["Wy"] @ out["a"] + p["by"]
    cache = (out["a"], out["c"], a_prev, c_prev, out["f"], out["i"], out["cc"], out["o"], xt, p)
    return out["a"], out["c"], yt_pred, cache


# ---------------------------------------------------------------------------- lstm_forward


@mutant("lstm_forward", "the memory starts at a0 instead of zeros")
def lstm_forward_memory_from_a0(x, a0, parameters):
    n_x, m, T_x = x.shape
    n_y, n_a = parameters["Wy"].shape
    a = np.zeros((n_a, m, T_x))
    c = np.zeros((n_a, m, T_x))
    y = np.zeros((n_y, m, T_x))
    a_next, c_next, caches = a0, a0, []
    for t in range(T_x):
        a_next, c_next, yt, cache = lstm_cell_forward(x[:, :, t], a_next, c_next, parameters)
        a[:, :, t], c[:, :, t], y[:, :, t] = a_next, c_next, yt
        caches.append(cache)
    return a, y, c, (caches, x)


def _lstm_forward(x, a0, parameters, *, carry_memory=True, axis_mixed=False, swap_outputs=False):
    n_x, m, T_x = x.shape
    n_y, n_a = parameters["Wy"].shape
    a, c, y = np.zeros((n_a, m, T_x)), np.zeros((n_a, m, T_x)), np.zeros((n_y, m, T_x))
    a_next, c_next, caches = a0, np.zeros((n_a, m)), []
    for t in range(T_x):
        xt = x[:, t, :] if axis_mixed else x[:, :, t]
        c_in = c_next if carry_memory else np.zeros((n_a, m))
        a_next, c_next, yt, cache = lstm_cell_forward(xt, a_next, c_in, parameters)
        a[:, :, t], c[:, :, t], y[:, :, t] = a_next, c_next, yt
        caches.append(cache)
    if swap_outputs:
        return c, y, a, (caches, x)
    return a, y, c, (caches, x)


@mutant("lstm_forward", "the memory not carried from step to step")
def lstm_forward_no_memory(x, a0, parameters):
    return _lstm_forward(x, a0, parameters, carry_memory=False)


@mutant("lstm_forward", "time and batch axes mixed (x[:, t, :])")
def lstm_forward_axes_mixed(x, a0, parameters):
    return _lstm_forward(x, a0, parameters, axis_mixed=True)


@mutant("lstm_forward", "hidden states and memory returned in each other's place")
def lstm_forward_swapped_outputs(x, a0, parameters):
    return _lstm_forward(x, a0, parameters, swap_outputs=True)


@variant("lstm_forward", "float32 arrays")
def lstm_forward_float32(x, a0, parameters):
    p32 = {k: np.asarray(v, dtype=np.float32) for k, v in parameters.items()}
    return _lstm_forward(x.astype(np.float32), a0.astype(np.float32), p32)


# ---------------------------------------------------------------------------- baseline_mae


@mutant("baseline_mae", "the baseline on the wrong horizon (the next reading)")
def baseline_next_step(temperature, lookback, horizon):
    now = temperature[lookback - 1 : len(temperature) - 1]
    return float(np.mean(np.abs(temperature[lookback:] - now)))


@mutant("baseline_mae", "forecasts from step 0 instead of lookback - 1")
def baseline_from_zero(temperature, lookback, horizon):
    return float(np.mean(np.abs(temperature[horizon:] - temperature[:-horizon])))


@mutant("baseline_mae", "mean squared error")
def baseline_squared(temperature, lookback, horizon):
    now = temperature[lookback - 1 : len(temperature) - horizon]
    return float(np.mean((temperature[lookback - 1 + horizon :] - now) ** 2))


@mutant("baseline_mae", "horizon off by one (horizon - 1)")
def baseline_off_by_one(temperature, lookback, horizon):
    h = horizon - 1
    now = temperature[lookback - 1 : len(temperature) - h]
    return float(np.mean(np.abs(temperature[lookback - 1 + h :] - now)))


@variant("baseline_mae", "a loop over the forecasts")
def baseline_loop(temperature, lookback, horizon):
    errors = []
    for t in range(lookback - 1, len(temperature) - horizon):
        errors.append(abs(temperature[t + horizon] - temperature[t]))
    return sum(errors) / len(errors)


# ---------------------------------------------------------------------------- forecaster


@mutant("forecaster", "LSTM layers where GRU layers are specified")
def forecaster_lstm(input_shape):
    import keras

    inputs = keras.Input(shape=input_shape)
    x = keras.layers.LSTM(16, return_sequences=True)(inputs)
    x = keras.layers.LSTM(16)(x)
    return keras.Model(inputs, keras.layers.Dense(1)(x))


@mutant("forecaster", "the dense model on the flattened window")
def forecaster_dense(input_shape):
    import keras

    inputs = keras.Input(shape=input_shape)
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dense(16, activation="relu")(x)
    return keras.Model(inputs, keras.layers.Dense(1)(x))


@mutant("forecaster", "one GRU layer where two are stacked")
def forecaster_one_layer(input_shape):
    import keras

    inputs = keras.Input(shape=input_shape)
    x = keras.layers.GRU(16)(inputs)
    return keras.Model(inputs, keras.layers.Dense(1)(x))


@mutant("forecaster", "return_sequences=True on the second layer too: a forecast for every step")
def forecaster_sequences(input_shape):
    import keras

    inputs = keras.Input(shape=input_shape)
    x = keras.layers.GRU(16, return_sequences=True)(inputs)
    x = keras.layers.GRU(16, return_sequences=True)(x)
    return keras.Model(inputs, keras.layers.Dense(1)(x))


@mutant("forecaster", "a ReLU on the output (no negative changes)")
def forecaster_relu_output(input_shape):
    import keras

    inputs = keras.Input(shape=input_shape)
    x = keras.layers.GRU(16, return_sequences=True)(inputs)
    x = keras.layers.GRU(16)(x)
    return keras.Model(inputs, keras.layers.Dense(1, activation="relu")(x))


@mutant("forecaster", "a hard-coded window shape")
def forecaster_hard_coded(input_shape):
    import keras

    inputs = keras.Input(shape=(LOOKBACK, N_FEATURES))  # the notebook's window
    x = keras.layers.GRU(16, return_sequences=True)(inputs)
    x = keras.layers.GRU(16)(x)
    return keras.Model(inputs, keras.layers.Dense(1)(x))


@variant("forecaster", "the Sequential API")
def forecaster_sequential(input_shape):
    import keras

    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            keras.layers.GRU(16, return_sequences=True),
            keras.layers.GRU(16),
            keras.layers.Dense(1),
        ]
    )


IMPLEMENTATIONS: list[Impl] = [
    value for value in list(globals().values()) if isinstance(value, Impl)
]
