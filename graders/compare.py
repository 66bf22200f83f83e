"""Pure comparison of a received value with an expected one.

Shared by the public checks (in the student's kernel) and the judge (trusted side): one
piece of code decides what "close enough" means. Every function returns a list of
human-readable problems; an empty list means the values agree.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def abridge(value: Any, limit: int = 160) -> str:
    """A short printable form of a value: arrays are summarised, long text is cut."""
    if isinstance(value, np.ndarray) or np.isscalar(value):
        arr = np.asarray(value)
        text = np.array2string(arr, precision=5, threshold=12, edgeitems=2, max_line_width=limit)
    else:
        text = repr(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_number_like(value: Any) -> bool:
    return isinstance(value, (bool, int, float, complex, np.ndarray, np.generic))


def describe_type(value: Any) -> str:
    """Name the kind of a value for messages: 'ndarray of shape (2, 3)', 'tuple of 2', ..."""
    if isinstance(value, np.ndarray):
        return f"ndarray of shape {value.shape}"
    if isinstance(value, (tuple, list)):
        return f"{type(value).__name__} of {len(value)}"
    return type(value).__name__


def compare(
    got: Any, expected: Any, *, rtol: float, atol: float, path: str = "output"
) -> list[str]:
    """Compare ``got`` with ``expected``, recursively through tuples, lists and dicts.

    Numbers and arrays must have the same shape (a Python float and a 0-d array are the
    same shape ``()``) and agree within ``|got - expected| <= atol + rtol * |expected|``.
    Dicts are compared on the expected keys; extra keys in ``got`` are allowed.
    """
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)):
            return [f"{path}: expected a {describe_type(expected)}, got {describe_type(got)}"]
        if len(got) != len(expected):
            return [f"{path}: expected {len(expected)} items, got {len(got)}"]
        problems: list[str] = []
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            problems += compare(g, e, rtol=rtol, atol=atol, path=f"{path}[{i}]")
        return problems
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return [
                f"{path}: expected a dict with keys {sorted(expected)}, got {describe_type(got)}"
            ]
        missing = [k for k in expected if k not in got]
        if missing:
            return [f"{path}: missing keys {missing}"]
        problems = []
        for key, e in expected.items():
            problems += compare(got[key], e, rtol=rtol, atol=atol, path=f"{path}[{key!r}]")
        return problems
    if isinstance(expected, str) or expected is None:
        if got != expected:
            return [f"{path}: expected {expected!r}, got {abridge(got)}"]
        return []
    return compare_arrays(got, expected, rtol=rtol, atol=atol, path=path)


def compare_arrays(got: Any, expected: Any, *, rtol: float, atol: float, path: str) -> list[str]:
    """Compare two numeric values: type, then shape, then values (see :func:`compare`)."""
    if not _is_number_like(got):
        return [f"{path}: expected a number or an array, got {describe_type(got)}"]
    g = np.asarray(got)
    e = np.asarray(expected)
    if g.dtype.kind not in "biufc":
        return [f"{path}: expected numbers, got an array of dtype {g.dtype}"]
    if g.shape != e.shape:
        return [f"{path}: shape {g.shape}, expected {e.shape}"]
    if g.size == 0:
        return []
    g64 = g.astype(np.complex128 if g.dtype.kind == "c" else np.float64)
    e64 = e.astype(np.complex128 if e.dtype.kind == "c" else np.float64)
    nan_mismatch = np.isnan(g64) != np.isnan(e64)
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs(g64 - e64)
        bound = atol + rtol * np.abs(e64)
        bad = nan_mismatch | (~np.isnan(e64) & ~(err <= bound))
    if not bad.any():
        return []
    n_bad = int(bad.sum())
    idx = np.unravel_index(
        int(np.argmax(np.where(bad, np.nan_to_num(err, nan=np.inf), -1))), g.shape
    )
    where = f" at index {tuple(int(i) for i in idx)}" if g.ndim else ""
    # Clauses are joined by "; " (the public checks put each on a line of its own).
    clauses = [
        f"{path}: {n_bad} of {g.size} values differ{where}: "
        f"expected {abridge(e64[idx].real if e.dtype.kind != 'c' else e64[idx])}, "
        f"got {abridge(g64[idx].real if g.dtype.kind != 'c' else g64[idx])}"
    ]
    if g.size > 1:
        clauses.append(f"whole {path}: expected {abridge(e)}, got {abridge(g)}")
    clauses.append(f"tolerance rtol={rtol:g}, atol={atol:g}")
    return ["; ".join(clauses)]
