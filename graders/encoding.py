"""Plain-data encoding of values that cross from the student's kernel to the trusted side.

Only JSON and numeric numpy arrays cross (docs/architecture.md). Nothing is ever
unpickled. An array travels as ``{"__ndarray__": base64, "dtype": "<f8", "shape": [m, n]}``;
tuples as ``{"__tuple__": [...]}``; dicts must have string keys.

The trusted side bounds a record before it does any work on it (docs/architecture.md,
the protocols): :func:`check_bounds` walks it without recursion and refuses one nested deeper,
with more items, or with longer strings than any honest result has; an array's shape, dtype
and data length are validated before its bytes are decoded.
"""

from __future__ import annotations

import base64
import math
import re
from typing import Any

import numpy as np

#: The MIME type of a probe record in a notebook's display outputs.
RECORD_MIME = "application/vnd.dlgrade.record+json"

#: numpy dtype kinds allowed to cross: bool, signed, unsigned, float, complex.
_ALLOWED_KINDS = frozenset("biufc")
_MAX_ELEMENTS = 5_000_000
_MAX_DEPTH = 8
#: Dimensions of an array that may cross (numpy itself allows 64).
MAX_NDIM = 32
#: Containers, scalars and strings in one record, all levels together (arrays travel as
#: one string each; an honest record has at most a few thousand values).
MAX_ITEMS = 250_000
#: Characters of one string in a record (array data aside).
MAX_STRING = 10_000
#: A dtype that may cross: byte order, kind among bool/int/uint/float/complex, item size.
_DTYPE = re.compile(r"[<>|=]?[biufc][0-9]{1,2}")


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


def check_bounds(
    data: Any,
    *,
    max_depth: int = _MAX_DEPTH,
    max_items: int = MAX_ITEMS,
    max_string: int = MAX_STRING,
) -> None:
    """Refuse JSON-like ``data`` that is too large to work on, before any work is done on it.

    Walks ``data`` iteratively (no recursion, so any depth is safe) and stops at the first
    bound passed: values nested more than ``max_depth`` levels below the top (as
    :func:`decode` allows), more than
    ``max_items`` values in all, a string (or dict key) longer than ``max_string`` characters
    (an array's ``__ndarray__`` data excepted: its length is checked against its shape), or a
    value that is not JSON data. The cost is linear in the part of ``data`` walked, and at most
    ``max_items`` steps. Raises EncodingError.
    """
    _check_leaf(data, max_string)
    stack: list[tuple[Any, int]] = [(data, 0)] if isinstance(data, (list, dict)) else []
    seen = 1
    while stack:
        value, depth = stack.pop()
        if depth >= max_depth:
            raise EncodingError("record is nested too deeply")
        seen += len(value)
        if seen > max_items:
            raise EncodingError(f"record holds more than {max_items} values")
        children = value
        if isinstance(value, dict):
            for key in value:
                if not isinstance(key, str) or len(key) > max_string:
                    raise EncodingError("record holds a dict key that is not a short string")
            children = [v for k, v in value.items() if k != "__ndarray__" or not isinstance(v, str)]
        for child in children:
            if isinstance(child, (list, dict)):
                stack.append((child, depth + 1))
            else:
                _check_leaf(child, max_string)


def _check_leaf(value: Any, max_string: int) -> None:
    """Refuse a value that is neither a container nor JSON's scalars, or a string too long."""
    if value is None or isinstance(value, (bool, int, float, list, dict)):
        return
    if not isinstance(value, str):
        raise EncodingError(f"unexpected {type(value).__name__} in record")
    if len(value) > max_string:
        raise EncodingError(f"record holds a string of {len(value)} characters, too long")


def decode(data: Any, _depth: int = 0) -> Any:
    """Inverse of :func:`encode`, run on the trusted side; validates everything it reads.

    The whole value is bounded first (:func:`check_bounds`), so decoding is linear in its size
    and never recurses deeper than ``_MAX_DEPTH``. Raises EncodingError, and nothing else, for
    any malformed or oversized record.
    """
    if _depth == 0:
        check_bounds(data)
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
    """An array from its record ``{"__ndarray__": base64, "dtype": str, "shape": [int, ...]}``.

    Shape (at most :data:`MAX_NDIM` non-negative ints, at most ``_MAX_ELEMENTS`` elements),
    dtype and the data's length are validated before the data is decoded.
    """
    if set(data) != {"__ndarray__", "dtype", "shape"}:
        raise EncodingError("malformed array: expected the keys __ndarray__, dtype and shape")
    text, dtype_text, shape = data["__ndarray__"], data["dtype"], data["shape"]
    if not isinstance(dtype_text, str) or not _DTYPE.fullmatch(dtype_text):
        raise EncodingError(f"array dtype {str(dtype_text)[:40]!r} is not allowed")
    if not isinstance(shape, list) or len(shape) > MAX_NDIM:
        length = len(shape) if isinstance(shape, list) else type(shape).__name__
        raise EncodingError(f"array shape of {length} dimensions is not allowed")
    if not all(type(n) is int and 0 <= n <= _MAX_ELEMENTS for n in shape):
        raise EncodingError(f"array shape {str(shape)[:80]} is not allowed")
    size = math.prod(shape)
    if size > _MAX_ELEMENTS:
        raise EncodingError(f"array shape {tuple(shape)} is not allowed: too many elements")
    try:
        dtype = np.dtype(dtype_text)
    except TypeError as exc:
        raise EncodingError(f"array dtype {dtype_text!r} is not allowed") from exc
    if dtype.kind not in _ALLOWED_KINDS or dtype.hasobject:
        raise EncodingError(f"array dtype {dtype} is not allowed")
    if not isinstance(text, str) or len(text) != 4 * math.ceil(size * dtype.itemsize / 3):
        raise EncodingError("array data does not match its shape and dtype")
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise EncodingError(f"malformed array data: {exc}") from exc
    if len(raw) != size * dtype.itemsize:
        raise EncodingError("array data does not match its shape and dtype")
    return np.frombuffer(raw, dtype=dtype).reshape(tuple(shape)).copy()
