"""Plain-data encoding of values that cross from the student's kernel to the trusted side.

Only JSON and numeric numpy arrays cross (DESIGN.md section 3, invariant 3). Nothing is ever
unpickled. An array travels as ``{"__ndarray__": base64, "dtype": "<f8", "shape": [m, n]}``;
tuples as ``{"__tuple__": [...]}``; dicts must have string keys.
"""

from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np

#: The MIME type of a probe record in a notebook's display outputs.
RECORD_MIME = "application/vnd.dlgrade.record+json"

#: numpy dtype kinds allowed to cross: bool, signed, unsigned, float, complex.
_ALLOWED_KINDS = frozenset("biufc")
_MAX_ELEMENTS = 5_000_000
_MAX_DEPTH = 8


class EncodingError(ValueError):
    """A value cannot be expressed as plain data, or a record is malformed."""


def encode(value: Any, _depth: int = 0) -> Any:
    """Turn a kernel-side value into JSON-compatible plain data.

    Python scalars stay scalars; numpy scalars and anything array-like become arrays.
    Raises EncodingError for objects that are not numbers, strings, sequences or dicts.
    """
    if _depth > _MAX_DEPTH:
        raise EncodingError("value is nested too deeply")
    if value is None or isinstance(value, (bool, str)):
        return value
    if type(value) is int:
        return value
    if type(value) is float:
        return value if math.isfinite(value) else _encode_array(np.asarray(value))
    if type(value) is tuple:
        return {"__tuple__": [encode(v, _depth + 1) for v in value]}
    if type(value) is list:
        return [encode(v, _depth + 1) for v in value]
    if type(value) is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str:
                raise EncodingError(f"dict key {key!r} is not a string")
            out[key] = encode(item, _depth + 1)
        return out
    # numpy arrays, numpy scalars, tensors, and anything else that offers __array__.
    try:
        arr = np.asarray(value)
    except Exception as exc:  # noqa: BLE001 - any failure means "not plain data"
        raise EncodingError(f"could not convert {type(value).__name__} to an array: {exc}") from exc
    return _encode_array(arr, type(value).__name__)


def _encode_array(arr: np.ndarray, type_name: str = "ndarray") -> dict[str, Any]:
    if arr.dtype.kind not in _ALLOWED_KINDS:
        raise EncodingError(
            f"returned a {type_name} of dtype {arr.dtype}, expected numbers (an array or a scalar)"
        )
    if arr.size > _MAX_ELEMENTS:
        raise EncodingError(f"returned an array of {arr.size} elements, too large")
    if arr.dtype.byteorder == ">":
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    return {
        "__ndarray__": base64.b64encode(arr.tobytes(order="C")).decode("ascii"),
        "dtype": arr.dtype.str,
        "shape": list(arr.shape),
    }


def decode(data: Any, _depth: int = 0) -> Any:
    """Inverse of :func:`encode`, run on the trusted side; validates everything it reads."""
    if _depth > _MAX_DEPTH:
        raise EncodingError("record is nested too deeply")
    if data is None or isinstance(data, (bool, str, int, float)):
        return data
    if isinstance(data, list):
        return [decode(v, _depth + 1) for v in data]
    if isinstance(data, dict):
        if "__ndarray__" in data:
            return _decode_array(data)
        if "__tuple__" in data:
            items = data["__tuple__"]
            if not isinstance(items, list) or len(data) != 1:
                raise EncodingError("malformed tuple")
            return tuple(decode(v, _depth + 1) for v in items)
        return {str(k): decode(v, _depth + 1) for k, v in data.items()}
    raise EncodingError(f"unexpected {type(data).__name__} in record")


def _decode_array(data: dict[str, Any]) -> np.ndarray:
    try:
        dtype = np.dtype(str(data["dtype"]))
        shape = tuple(int(n) for n in data["shape"])
        raw = base64.b64decode(str(data["__ndarray__"]), validate=True)
    except Exception as exc:  # noqa: BLE001
        raise EncodingError(f"malformed array: {exc}") from exc
    if dtype.kind not in _ALLOWED_KINDS or dtype.hasobject:
        raise EncodingError(f"array dtype {dtype} is not allowed")
    if any(n < 0 for n in shape) or math.prod(shape) > _MAX_ELEMENTS:
        raise EncodingError(f"array shape {shape} is not allowed")
    if len(raw) != math.prod(shape) * dtype.itemsize:
        raise EncodingError("array data does not match its shape and dtype")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
