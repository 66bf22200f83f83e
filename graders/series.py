"""A simulated weather station: multi-seasonal time series for the sequence models of week 8.

Every ``STEPS_PER_DAY``-th of a day (every six hours) the station records four variables
(:data:`VARIABLES`): the temperature (degrees Celsius), the air pressure (hPa), the relative
humidity (%) and the wind speed (m/s). The series is made of

- a yearly cycle (cold winters, warm summers) and a slow warming trend,
- a daily cycle (warm afternoons, cool nights) whose amplitude depends on the cloud cover:
  clear days swing widely, overcast days hardly at all,
- *weather*: pressure systems that come and go over a few days. A falling pressure brings
  clouds, wind and moisture, and warm air ahead of a front, then cooler air behind it; the
  cloud cover is a nonlinear (saturating) function of the pressure and its recent trend,
- measurement noise on every variable.

So the variables are correlated, and the recent past says something about the next day that
"tomorrow is like today" does not: that is what a recurrent model can learn.

Deterministic: the same seed and length give the same series. numpy is the only import.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

#: The recorded variables, in the order of the columns of :func:`weather_station`'s array.
VARIABLES: tuple[str, ...] = ("temperature", "pressure", "humidity", "wind")
#: Readings per day (one every six hours).
STEPS_PER_DAY = 4
#: Column of the temperature, the variable to forecast.
TEMPERATURE = 0
#: The notebook's station: its seed and length in days (two years), split by time.
STATION_SEED = 8
STATION_DAYS = 2 * 365
#: Days of the training, validation and test parts (in this order, by time).
SPLIT_DAYS = (365, 183, 182)


def _smooth_noise(rng: np.random.Generator, n: int, steps: float) -> np.ndarray:
    """An AR(1) process of unit variance whose correlation decays over about ``steps``."""
    phi = np.exp(-1.0 / steps)
    shocks = rng.normal(size=n) * np.sqrt(1 - phi**2)
    out = np.empty(n)
    level = rng.normal()
    for t in range(n):
        level = phi * level + shocks[t]
        out[t] = level
    return out


def _fronts(
    rng: np.random.Generator, n: int, days_between: float
) -> list[tuple[float, float, bool]]:
    """(time in steps, strength, whether cold) of the fronts that pass during ``n`` steps
    (and a little before, so that the series starts in the middle of the weather)."""
    events = []
    t = -6.0 * STEPS_PER_DAY
    while t < n:
        t += rng.exponential(days_between * STEPS_PER_DAY) + STEPS_PER_DAY
        events.append((t, rng.uniform(0.4, 1.6), bool(rng.random() < 0.6)))
    return events


def weather_station(n_days: int, seed: int, start_day: float = 0.0) -> np.ndarray:
    """The readings of one station over ``n_days`` days.

    Arguments:
        n_days: number of days; the series has ``n_days * STEPS_PER_DAY`` readings.
        seed: the station's seed (its climate and its weather).
        start_day: day of the year of the first reading (0 is the first of January).

    Returns:
        float64 array of shape ``(n_days * STEPS_PER_DAY, 4)``: one row per reading, the
        columns in the order of :data:`VARIABLES`.
    """
    rng = np.random.default_rng(seed)
    n = int(n_days) * STEPS_PER_DAY
    steps = np.arange(n, dtype=np.float64)
    day = start_day + steps / STEPS_PER_DAY
    hour = (np.arange(n) % STEPS_PER_DAY) * (24 / STEPS_PER_DAY)

    mean_temperature = rng.uniform(8.0, 12.0)
    yearly_amplitude = rng.uniform(7.0, 10.0)
    trend_per_year = rng.uniform(0.2, 0.6)
    daily_amplitude = rng.uniform(4.0, 6.0)

    # Fronts: the pressure falls for about a day before one passes (warm, moist air ahead of
    # it), reaches its lowest point as it passes, then rises again; behind the front the air is
    # colder, and the cold wears off over a few days. Clouds and wind come with the front.
    pressure_anomaly = 4.0 * _smooth_noise(rng, n, 4.0 * STEPS_PER_DAY)
    air_mass = 1.0 * _smooth_noise(rng, n, 3.0 * STEPS_PER_DAY)
    cloud_drive = -1.2 + 0.8 * _smooth_noise(rng, n, 6.0)
    gust = np.zeros(n)
    for t_front, strength, cold in _fronts(rng, n, 3.0):
        lag = np.clip((steps - t_front) / STEPS_PER_DAY, -30.0, 30.0)  # days since it passed
        pressure_anomaly += -12.0 * strength * np.exp(-0.5 * (lag / 0.45) ** 2)
        ahead = np.exp(-0.5 * ((lag + 0.5) / 0.4) ** 2)
        behind = np.where(lag > 0, (1 - np.exp(-np.abs(lag) / 0.35)) * np.exp(-lag / 2.5), 0.0)
        if cold:  # gusty, then cold
            air_mass += strength * (2.0 * ahead - 9.0 * behind)
            gust += 6.0 * strength * np.exp(-0.5 * ((lag - 0.1) / 0.3) ** 2)
        else:  # calm, then mild and moist
            air_mass += strength * (-1.0 * ahead + 6.0 * behind)
            cloud_drive += 2.0 * strength * behind
        cloud_drive += 3.5 * strength * np.exp(-0.5 * ((lag + 0.2) / 0.5) ** 2)
    cloud = 1.0 / (1.0 + np.exp(-cloud_drive))

    season = np.cos(2 * np.pi * (day - 200.0) / 365.0)
    daily = np.cos(2 * np.pi * (hour - 15.0) / 24.0)
    temperature = (
        mean_temperature
        + trend_per_year * day / 365.0
        + yearly_amplitude * season
        + daily_amplitude * (1.0 - 0.75 * cloud) * daily
        + air_mass
        + 0.4 * rng.normal(size=n)
    )
    pressure = 1013.0 + pressure_anomaly + 0.6 * rng.normal(size=n)
    humidity = np.clip(
        55.0 + 35.0 * cloud - 12.0 * (1.0 - cloud) * daily + 2.0 * rng.normal(size=n), 5.0, 100.0
    )
    wind = np.abs(2.0 + gust + 1.5 * cloud + 0.8 * rng.normal(size=n))
    return np.stack([temperature, pressure, humidity, wind], axis=1)


@lru_cache(maxsize=1)
def _station() -> np.ndarray:
    data = weather_station(STATION_DAYS, STATION_SEED)
    data.setflags(write=False)
    return data


def load_station() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The notebook's station, split by time: the first year for training, the next half
    year for validation, the last half year for testing.

    Returns:
        ``(train, val, test)``, float64 arrays of shapes ``(1460, 4)``, ``(732, 4)`` and
        ``(728, 4)``: readings every six hours, columns as in :data:`VARIABLES`.
    """
    data = _station()
    ends = np.cumsum(SPLIT_DAYS) * STEPS_PER_DAY
    return data[: ends[0]], data[ends[0] : ends[1]], data[ends[1] : ends[2]]


def make_windows(
    data: np.ndarray, lookback: int, horizon: int, target: int = TEMPERATURE
) -> tuple[np.ndarray, np.ndarray]:
    """Every window of ``lookback`` consecutive readings, and the value of column ``target``
    ``horizon`` steps after the window's last reading.

    Arguments:
        data: array of shape ``(T, n_features)``, one row per reading.
        lookback: number of readings per window, ``T_x``.
        horizon: how many steps after the last reading of a window its target lies.
        target: the column to forecast.

    Returns:
        ``(X, y)``: X float32 of shape ``(T - lookback - horizon + 1, lookback, n_features)``,
        window i being ``data[i : i + lookback]``; y float32 of shape ``(T - lookback -
        horizon + 1,)``, ``y[i] = data[i + lookback - 1 + horizon, target]``.
    """
    data = np.asarray(data)
    n = data.shape[0] - lookback - horizon + 1
    if n <= 0:
        raise ValueError(f"a series of {data.shape[0]} readings is too short for these windows")
    index = np.arange(n)[:, None] + np.arange(lookback)[None, :]
    X = data[index].astype(np.float32)
    y = data[np.arange(n) + lookback - 1 + horizon, target].astype(np.float32)
    return X, y


def training_statistics() -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of every variable over the notebook station's training
    part: two float64 arrays of shape ``(4,)``. Every split (and any other station) is
    normalised with these, so that no statistic of the validation or test data leaks in."""
    train = load_station()[0]
    return train.mean(axis=0), train.std(axis=0)


def forecast_windows(
    data: np.ndarray, lookback: int, horizon: int
) -> tuple[np.ndarray, np.ndarray]:
    """The forecaster's inputs and targets for a series of readings.

    The readings are normalised with :func:`training_statistics`, cut into the windows of
    :func:`make_windows`, and the target is the *change* of the temperature (in degrees)
    from a window's last reading to ``horizon`` steps later.

    Arguments:
        data: raw readings, shape ``(T, 4)`` (columns as in :data:`VARIABLES`).
        lookback, horizon: as for :func:`make_windows`.

    Returns:
        ``(X, delta)``: X float32 ``(n, lookback, 4)``, normalised; delta float32 ``(n,)``,
        ``delta[i] = data[i + lookback - 1 + horizon, 0] - data[i + lookback - 1, 0]`` with
        ``n = T - lookback - horizon + 1``.
    """
    data = np.asarray(data, dtype=np.float64)
    mean, std = training_statistics()
    X, _ = make_windows((data - mean) / std, lookback, horizon)
    now = data[lookback - 1 : lookback - 1 + len(X), TEMPERATURE]
    future = data[lookback - 1 + horizon : lookback - 1 + horizon + len(X), TEMPERATURE]
    return X, (future - now).astype(np.float32)
