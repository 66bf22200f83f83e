"""Reference solutions for w8_sequence_models: a recurrent cell and an LSTM cell in numpy,
forward over whole sequences, the recurrent cell's backward pass, the common-sense baseline of
a temperature forecast, and a Keras GRU forecaster; and the grader's held-out series.

Layout (as in the notebook): an input sequence is ``x`` of shape ``(n_x, m, T_x)``, hidden
states ``a`` of shape ``(n_a, m, T_x)``, predictions ``y`` of shape ``(n_y, m, T_x)``; the
examples of a batch are columns. The held-out series come from seeds that live only here
(instructor side; see ``graders/cases/w8_sequence_models.py``). Keras is imported inside the
functions.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from graders.series import STEPS_PER_DAY, weather_station

#: Seeds of the held-out stations; never released. 128 random bits each (drawn once from the
#: operating system's random source), so that they cannot be guessed: ``graders.series`` is
#: public. Eight stations, so that the error a trained forecaster makes there depends little on
#: which stations they happen to be (with two, the same models' errors spread about half as
#: wide again over training seeds).
HELDOUT_SEEDS = (
    0x94C4_CF13_2165_693C_C514_7261_E21A_A343,
    0x9F7F_BAF0_5928_AF88_E4A4_2CFC_CABD_4A1C,
    0x263E_6BB5_B10F_9D14_7C3D_C45A_5146_0B3A,
    0x0924_627F_328C_FEB2_567A_D299_5BAA_0363,
    0xF2E6_A66D_C209_85D5_A2BF_9FE3_B331_82CB,
    0xF3F9_B396_B569_B8E0_6406_2411_B4F9_C92D,
    0x2177_5DC8_A0E2_8F29_6803_CF9C_8524_2FCD,
    0x5CCF_E1E9_7ADC_108A_21AC_AA14_59A3_FA0E,
)
#: Days per held-out station: a whole year each, starting on the first of January, of April,
#: of July or of October (two stations each).
HELDOUT_DAYS = 365
HELDOUT_START_DAYS = (0.0, 182.0, 91.0, 273.0, 0.0, 182.0, 91.0, 273.0)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function, elementwise."""
    return 1.0 / (1.0 + np.exp(-z))


# ---------------------------------------------------------------------------- recurrent cell


def rnn_cell_forward(
    xt: np.ndarray, a_prev: np.ndarray, parameters: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, tuple]:
    """One step of a recurrent cell.

    Arguments:
        xt: input at step t, ``(n_x, m)``.
        a_prev: hidden state at step t - 1, ``(n_a, m)``.
        parameters: ``Wax (n_a, n_x)``, ``Waa (n_a, n_a)``, ``Wya (n_y, n_a)``,
            ``ba (n_a, 1)``, ``by (n_y, 1)``.

    Returns:
        ``(a_next (n_a, m), yt_pred (n_y, m), cache)`` with
        ``a_next = tanh(Waa a_prev + Wax xt + ba)``, ``yt_pred = Wya a_next + by`` and
        ``cache = (a_next, a_prev, xt, parameters)``.
    """
    Wax, Waa, Wya = parameters["Wax"], parameters["Waa"], parameters["Wya"]
    ba, by = parameters["ba"], parameters["by"]
    a_next = np.tanh(Waa @ a_prev + Wax @ xt + ba)
    yt_pred = Wya @ a_next + by
    return a_next, yt_pred, (a_next, a_prev, xt, parameters)


def rnn_forward(
    x: np.ndarray, a0: np.ndarray, parameters: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, tuple]:
    """The recurrent cell over a whole sequence.

    Arguments:
        x: inputs ``(n_x, m, T_x)``.
        a0: initial hidden state ``(n_a, m)``.
        parameters: as for :func:`rnn_cell_forward`.

    Returns:
        ``(a (n_a, m, T_x), y_pred (n_y, m, T_x), caches)``: the hidden state and the
        prediction after every step, and ``caches = (list of the T_x cell caches, x)``.
    """
    n_x, m, T_x = x.shape
    n_y, n_a = parameters["Wya"].shape
    a = np.zeros((n_a, m, T_x))
    y_pred = np.zeros((n_y, m, T_x))
    a_next = a0
    caches = []
    for t in range(T_x):
        a_next, yt_pred, cache = rnn_cell_forward(x[:, :, t], a_next, parameters)
        a[:, :, t] = a_next
        y_pred[:, :, t] = yt_pred
        caches.append(cache)
    return a, y_pred, (caches, x)


def rnn_cell_backward(da_next: np.ndarray, cache: tuple) -> dict[str, np.ndarray]:
    """Backward pass of one step of the recurrent cell.

    Arguments:
        da_next: gradient of the loss with respect to ``a_next``, ``(n_a, m)``.
        cache: ``(a_next, a_prev, xt, parameters)`` from :func:`rnn_cell_forward`.

    Returns:
        the gradients ``dxt (n_x, m)``, ``da_prev (n_a, m)``, ``dWax (n_a, n_x)``,
        ``dWaa (n_a, n_a)``, ``dba (n_a, 1)``.
    """
    a_next, a_prev, xt, parameters = cache
    dz = da_next * (1.0 - a_next**2)
    return {
        "dxt": parameters["Wax"].T @ dz,
        "da_prev": parameters["Waa"].T @ dz,
        "dWax": dz @ xt.T,
        "dWaa": dz @ a_prev.T,
        "dba": np.sum(dz, axis=1, keepdims=True),
    }


# ---------------------------------------------------------------------------- LSTM


def lstm_cell_forward(
    xt: np.ndarray, a_prev: np.ndarray, c_prev: np.ndarray, parameters: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple]:
    """One step of an LSTM cell.

    Arguments:
        xt: input ``(n_x, m)``; a_prev, c_prev: hidden and memory state ``(n_a, m)``.
        parameters: ``Wf, Wi, Wc, Wo (n_a, n_a + n_x)`` (columns: first for a_prev, then for
            xt), ``bf, bi, bc, bo (n_a, 1)``, ``Wy (n_y, n_a)``, ``by (n_y, 1)``.

    Returns:
        ``(a_next (n_a, m), c_next (n_a, m), yt_pred (n_y, m), cache)``, with the forget gate
        ``ft``, the update gate ``it``, the candidate ``cct`` and the output gate ``ot`` of
        the concatenation ``[a_prev; xt]``, ``c_next = ft * c_prev + it * cct``,
        ``a_next = ot * tanh(c_next)``, ``yt_pred = Wy a_next + by`` and
        ``cache = (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters)``.
    """
    concat = np.concatenate([a_prev, xt], axis=0)
    ft = sigmoid(parameters["Wf"] @ concat + parameters["bf"])
    it = sigmoid(parameters["Wi"] @ concat + parameters["bi"])
    cct = np.tanh(parameters["Wc"] @ concat + parameters["bc"])
    c_next = ft * c_prev + it * cct
    ot = sigmoid(parameters["Wo"] @ concat + parameters["bo"])
    a_next = ot * np.tanh(c_next)
    yt_pred = parameters["Wy"] @ a_next + parameters["by"]
    cache = (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters)
    return a_next, c_next, yt_pred, cache


def lstm_forward(
    x: np.ndarray, a0: np.ndarray, parameters: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple]:
    """The LSTM cell over a whole sequence, starting from ``a0`` and a memory of zeros.

    Arguments:
        x: inputs ``(n_x, m, T_x)``; a0: initial hidden state ``(n_a, m)``.
        parameters: as for :func:`lstm_cell_forward`.

    Returns:
        ``(a (n_a, m, T_x), y (n_y, m, T_x), c (n_a, m, T_x), caches)`` with
        ``caches = (list of the T_x cell caches, x)``.
    """
    n_x, m, T_x = x.shape
    n_y, n_a = parameters["Wy"].shape
    a = np.zeros((n_a, m, T_x))
    c = np.zeros((n_a, m, T_x))
    y = np.zeros((n_y, m, T_x))
    a_next, c_next = a0, np.zeros((n_a, m))
    caches = []
    for t in range(T_x):
        a_next, c_next, yt, cache = lstm_cell_forward(x[:, :, t], a_next, c_next, parameters)
        a[:, :, t] = a_next
        c[:, :, t] = c_next
        y[:, :, t] = yt
        caches.append(cache)
    return a, y, c, (caches, x)


# ---------------------------------------------------------------------------- forecasting


def baseline_mae(temperature: np.ndarray, lookback: int, horizon: int) -> float:
    """The mean absolute error of the common-sense forecast "in ``horizon`` steps the
    temperature is what it is now", over the windows of
    ``graders.series.make_windows(data, lookback, horizon)``.

    Arguments:
        temperature: the series, ``(T,)``.
        lookback: readings per window; the first forecast is made at step ``lookback - 1``.
        horizon: steps ahead.

    Returns:
        a float: the mean of ``|temperature[t + horizon] - temperature[t]|`` for
        ``t = lookback - 1, ..., T - 1 - horizon``.
    """
    temperature = np.asarray(temperature, dtype=np.float64)
    now = temperature[lookback - 1 : len(temperature) - horizon]
    later = temperature[lookback - 1 + horizon :]
    return float(np.mean(np.abs(later - now)))


def forecaster(input_shape: tuple[int, int]) -> Any:
    """The recurrent forecaster of the temperature's change over the horizon.

    Input ``(m, T_x, n_x)`` normalised windows (``graders.series.forecast_windows``); output
    ``(m, 1)``: the forecast change in degrees. Layers: two stacked ``GRU(16)``, the first
    returning its whole sequence of hidden states, the second only its last one, then
    ``Dense(1)`` without activation.
    """
    import keras

    inputs = keras.Input(shape=input_shape)
    x = keras.layers.GRU(16, return_sequences=True)(inputs)
    x = keras.layers.GRU(16)(x)
    outputs = keras.layers.Dense(1)(x)
    return keras.Model(inputs, outputs)


@lru_cache(maxsize=1)
def heldout_series() -> tuple[np.ndarray, ...]:
    """The grader's held-out stations: one float64 array ``(365 * STEPS_PER_DAY, 4)`` each."""
    out = []
    for seed, start in zip(HELDOUT_SEEDS, HELDOUT_START_DAYS, strict=True):
        data = weather_station(HELDOUT_DAYS, seed=seed, start_day=start)
        assert data.shape[0] == HELDOUT_DAYS * STEPS_PER_DAY
        data.setflags(write=False)
        out.append(data)
    return tuple(out)
