"""The w8_sequence_models data generator, reference solutions and hidden checks.

The weather station is deterministic and has the cycles it claims; the held-out stations are
other weather than the notebook's; the numpy reference agrees with independent oracles (an
LSTM written as a per-example loop, numerical derivatives of the recurrent cell); the
reference forecaster matches Keras's own GRU cell step by step; the notebook trains with the
recipe the check uses; and the error check fails closed.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

import solutions.w8_sequence_models as ref
from graders import series
from graders.cases import get_check
from graders.cases import w8_sequence_models as cases
from graders.cases.trained import trained_record
from graders.encoding import encode
from graders.judge import judge_record

NOTEBOOK = (
    Path(__file__).resolve().parents[1]
    / "source"
    / "w8_sequence_models"
    / "w8_sequence_models.ipynb"
)


# ---------------------------------------------------------------------------- the data


def test_the_same_seed_gives_the_same_station_and_another_seed_another():
    a = series.weather_station(40, seed=3)
    b = series.weather_station(40, seed=3)
    c = series.weather_station(40, seed=4)
    assert a.shape == (40 * series.STEPS_PER_DAY, len(series.VARIABLES))
    assert np.array_equal(a, b) and not np.allclose(a, c)
    assert np.isfinite(a).all()


def test_the_station_has_daily_and_yearly_cycles_and_correlated_variables():
    data = series.weather_station(3 * 365, seed=11)
    temperature = data[:, series.TEMPERATURE]
    by_hour = temperature.reshape(-1, series.STEPS_PER_DAY).mean(axis=0)
    assert by_hour.max() - by_hour.min() > 3.0  # afternoons are warmer than nights
    by_month = temperature[: 360 * series.STEPS_PER_DAY].reshape(12, -1).mean(axis=1)
    assert by_month.max() - by_month.min() > 10.0  # summers are warmer than winters
    pressure, humidity, wind = data[:, 1], data[:, 2], data[:, 3]
    assert 950 < pressure.mean() < 1050 and 0 <= humidity.min() and humidity.max() <= 100
    assert (wind >= 0).all()
    assert np.corrcoef(pressure, humidity)[0, 1] < -0.2  # low pressure, cloudy and moist


def test_the_splits_are_consecutive_in_time_and_the_held_out_stations_are_other_weather():
    train, val, test = series.load_station()
    days = series.SPLIT_DAYS
    assert [len(p) for p in (train, val, test)] == [d * series.STEPS_PER_DAY for d in days]
    whole = series.weather_station(series.STATION_DAYS, series.STATION_SEED)
    assert np.array_equal(np.concatenate([train, val, test]), whole)
    for heldout in ref.heldout_series():
        assert heldout.shape == (ref.HELDOUT_DAYS * series.STEPS_PER_DAY, 4)
        assert not np.allclose(heldout[:100], whole[:100])
    assert all(seed.bit_length() > 120 for seed in ref.HELDOUT_SEEDS)


def test_windows_and_targets_line_up():
    data = np.arange(40.0).reshape(10, 4)
    X, y = series.make_windows(data, lookback=3, horizon=2)
    assert X.shape == (6, 3, 4) and y.shape == (6,)
    assert np.array_equal(X[1], data[1:4]) and y[1] == data[5, 0]
    with pytest.raises(ValueError, match="too short"):
        series.make_windows(data, lookback=8, horizon=4)


def test_forecast_windows_normalise_with_training_statistics_and_target_the_change():
    _, val, _ = series.load_station()
    X, delta = series.forecast_windows(val, 24, 4)
    mean, std = series.training_statistics()
    assert np.allclose(X[0], (val[:24] - mean) / std, atol=1e-5)
    assert np.allclose(delta[0], val[27, 0] - val[23, 0], atol=1e-5)
    assert np.isclose(np.mean(np.abs(delta)), ref.baseline_mae(val[:, 0], 24, 4), rtol=1e-5)


# ---------------------------------------------------------------------------- numpy reference


def _lstm_parameters(rng, n_x, n_a, n_y):
    return cases._lstm_parameters(rng, n_x, n_a, n_y)


def test_lstm_forward_matches_a_per_example_loop():
    rng = np.random.default_rng(0)
    n_x, m, T_x, n_a, n_y = 3, 4, 5, 6, 2
    p = _lstm_parameters(rng, n_x, n_a, n_y)
    x, a0 = rng.normal(size=(n_x, m, T_x)), rng.uniform(-1, 1, size=(n_a, m))
    a, y, c, _ = ref.lstm_forward(x, a0, p)
    for i in range(m):
        h, mem = a0[:, i], np.zeros(n_a)
        for t in range(T_x):
            v = np.concatenate([h, x[:, i, t]])
            f = 1 / (1 + np.exp(-(p["Wf"] @ v + p["bf"][:, 0])))
            u = 1 / (1 + np.exp(-(p["Wi"] @ v + p["bi"][:, 0])))
            o = 1 / (1 + np.exp(-(p["Wo"] @ v + p["bo"][:, 0])))
            mem = f * mem + u * np.tanh(p["Wc"] @ v + p["bc"][:, 0])
            h = o * np.tanh(mem)
            assert np.allclose(a[:, i, t], h) and np.allclose(c[:, i, t], mem)
            assert np.allclose(y[:, i, t], p["Wy"] @ h + p["by"][:, 0])


def test_rnn_cell_backward_matches_numerical_derivatives():
    rng = np.random.default_rng(1)
    p = cases._rnn_parameters(rng, 3, 4, 2)
    xt, a_prev, da = rng.normal(size=(3, 5)), rng.uniform(-1, 1, (4, 5)), rng.normal(size=(4, 5))
    _, _, cache = ref.rnn_cell_forward(xt, a_prev, p)
    grads = ref.rnn_cell_backward(da, cache)
    arrays = {"xt": xt, "a_prev": a_prev, "Wax": p["Wax"], "Waa": p["Waa"], "ba": p["ba"]}
    for key, value in arrays.items():
        numeric = np.zeros_like(value)
        for k in range(value.size):
            moved = []
            for step in (1e-6, -1e-6):
                v = {name: arr.copy() for name, arr in arrays.items()}
                v[key].flat[k] += step
                q = {**p, "Wax": v["Wax"], "Waa": v["Waa"], "ba": v["ba"]}
                moved.append(np.sum(ref.rnn_cell_forward(v["xt"], v["a_prev"], q)[0] * da))
            numeric.flat[k] = (moved[0] - moved[1]) / 2e-6
        assert np.allclose(grads[cases._GRADIENT_OF[key]], numeric, atol=1e-7), key


def test_the_baseline_compares_each_reading_with_the_one_a_horizon_later():
    temperature = np.array([10.0, 12.0, 15.0, 11.0, 9.0, 14.0, 16.0, 13.0])
    assert ref.baseline_mae(temperature, 3, 2) == pytest.approx((6 + 3 + 7 + 1) / 4)


def _gru_in_numpy(layer, x: np.ndarray) -> np.ndarray:
    """The hidden states after every step of a Keras GRU layer, computed in numpy (reset gate
    after the recurrent product, as Keras defines it): ``(m, T_x, units)``."""
    kernel, recurrent, bias = layer.get_weights()
    h = np.zeros((x.shape[0], recurrent.shape[0]))
    states = []
    for t in range(x.shape[1]):
        xz, xr, xh = np.split(x[:, t] @ kernel + bias[0], 3, axis=1)
        hz, hr, hh = np.split(h @ recurrent + bias[1], 3, axis=1)
        z, r = 1 / (1 + np.exp(-(xz + hz))), 1 / (1 + np.exp(-(xr + hr)))
        h = z * h + (1 - z) * np.tanh(xh + r * hh)
        states.append(h)
    return np.stack(states, axis=1)


def test_the_reference_gru_forecaster_is_keras_gru_step_by_step():
    # Two stacked GRU(16) as Keras defines them, in numpy: the first hands its whole sequence
    # of hidden states to the second, whose last state feeds the Dense layer. The structure
    # check's reference is the network the notebook teaches.
    model = ref.forecaster((5, 4))
    first, second, dense = model.layers[1], model.layers[2], model.layers[3]
    x = np.random.default_rng(2).normal(size=(3, 5, 4)).astype(np.float32)
    h = _gru_in_numpy(second, _gru_in_numpy(first, x))[:, -1]
    w, b = dense.get_weights()
    assert np.allclose(model.predict(x, verbose=0), h @ w + b, atol=1e-5)


# ---------------------------------------------------------------------------- the notebook


def test_the_notebook_trains_with_the_recipe_the_check_uses():
    sources = "\n".join(c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells)
    recipe = cases.FORECASTER_TRAINING
    assert f"LOOKBACK, HORIZON = {cases.LOOKBACK}, {cases.HORIZON}" in sources
    fit = re.search(
        r"Adam\(learning_rate=([\d.]+)\), loss=\"mae\"\)\nhistory = model\.fit\(X_train, d_train, "
        r"epochs=(\d+), batch_size=(\d+)",
        sources,
    )
    assert fit
    assert (float(fit[1]), int(fit[2]), int(fit[3])) == (
        recipe["learning_rate"],
        recipe["epochs"],
        recipe["batch_size"],
    )
    assert f"your model must make at most {cases.FORECASTER_MAE_THRESHOLD}" in sources


# ---------------------------------------------------------------------------- the error check


def _judge_mae(model):
    record = {
        "v": 1,
        "check": "forecaster_mae",
        "cases": [{"ok": True, "out": encode(trained_record(model))}],
    }
    return judge_record(get_check("forecaster_mae"), record, ref)


def test_an_untrained_forecaster_fails_the_error_check_with_the_measured_error():
    import keras

    keras.utils.set_random_seed(0)
    result = _judge_mae(ref.forecaster((cases.LOOKBACK, cases.N_FEATURES)))
    assert not result.passed
    assert "mean absolute error on the held-out stations" in result.problems[0]
    assert "baseline" in result.problems[0]


def test_a_forecaster_of_another_structure_is_not_evaluated():
    import keras

    inputs = keras.Input(shape=(cases.LOOKBACK, cases.N_FEATURES))
    x = keras.layers.LSTM(16)(inputs)
    result = _judge_mae(keras.Model(inputs, keras.layers.Dense(1)(x)))
    assert not result.passed
    assert "does not have the specified structure" in result.problems[0]


def test_the_held_out_baseline_and_threshold_leave_room_between_them():
    baseline = cases.baseline_heldout_mae(ref)
    assert baseline > cases.FORECASTER_MAE_THRESHOLD + 0.3
