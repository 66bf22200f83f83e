"""Keras model structure as plain data, and one comparison of structures for both sides.

A Keras model never crosses the trust boundary (docs/architecture.md). What crosses
is :func:`describe_model`'s normalised description: one row per layer with its class, output
shape, parameter count, the layers it reads from, and the few attributes that decide what it
computes (activation, padding, strides, kernel and pool sizes, units, filters, ...). The
trusted side builds the reference model, describes it the same way, and compares the two with
:func:`structure_problems`; the public checks in the notebooks use the same function.

Normalisation, so that equivalent ways of writing a model compare equal:

- the input layer is not a row; the model's input shapes are recorded separately;
- ``ReLU()`` with default arguments and ``Activation("relu")`` are the same row;
- an activation layer that directly follows a layer with a linear activation and is its only
  reader is folded into that layer (``Conv2D(8, 3)`` then ``ReLU()`` equals
  ``Conv2D(8, 3, activation="relu")``); layer weights are unaffected, so a trained model's
  weights fit either form;
- operations written with operators in a functional model are rows too: ``x + y`` is an
  ``Add`` like ``layers.Add()([x, y])``, and arithmetic with a number (``x / 127.5 - 1``, as
  ``keras.applications.mobilenet_v2.preprocess_input`` does) is a ``Rescaling`` row with the
  composed ``scale`` and ``offset``, like ``layers.Rescaling(1 / 127.5, offset=-1)``;
- a nested model (a pretrained base, an augmentation ``Sequential``) is one row, with its
  ``trainable`` flag, the ``training`` argument it was called with, and how many of its
  layers and parameters are trainable.

For graphs that are not a chain (residual blocks), :func:`graph_structure_problems` compares
two descriptions whatever order their branches were built in (:func:`canonical_order`).

Keras is never imported here: the functions only read attributes of the objects they are given.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import math
import numbers
from collections.abc import Sequence
from difflib import SequenceMatcher
from typing import Any

#: Attributes recorded for each layer class, when the layer has them.
_ATTRIBUTES = (
    "units",
    "return_sequences",
    "recurrent_activation",
    "dropout",
    "recurrent_dropout",
    "filters",
    "kernel_size",
    "strides",
    "padding",
    "pool_size",
    "activation",
    "use_bias",
    "axis",
    "rate",
    "scale",
    "offset",
    "mode",
    "factor",
    "trainable",
)
_ACTIVATION_LAYERS = ("Activation", "ReLU")
_NESTED_MODELS = ("Functional", "Sequential", "Model")
#: Arithmetic with one tensor and one number, as ``(scale, offset)`` of the affine map it is;
#: ``first`` tells whether the tensor is the first operand.
_AFFINE_OPS = {
    "Add": lambda c, first: (1.0, c),
    "Subtract": lambda c, first: (1.0, -c) if first else (-1.0, c),
    "Multiply": lambda c, first: (c, 0.0),
    "TrueDivide": lambda c, first: (1.0 / c, 0.0) if first and c else None,
    "Divide": lambda c, first: (1.0 / c, 0.0) if first and c else None,
}
#: The model input, as a source in a row's ``inputs``.
MODEL_INPUT = -1


def _plain(value: Any) -> Any:
    """Tuples of tuples of ints, strings, numbers: as lists and JSON-friendly scalars."""
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return round(value, 10)
    try:
        return round(float(value), 10)
    except (TypeError, ValueError):
        return str(value)


def _activation_name(fn: Any) -> str:
    return str(getattr(fn, "__name__", fn))


def _affine(kind: str, node: Any) -> tuple[float, float] | None:
    """``(scale, offset)`` when the call is arithmetic between one tensor and one number."""
    args = list(node.arguments.args)
    if kind not in _AFFINE_OPS or len(args) != 2 or node.arguments.kwargs:
        return None
    tensors = [type(a).__name__ == "KerasTensor" for a in args]
    if sorted(tensors) != [False, True]:
        return None
    constant = args[tensors.index(False)]
    if isinstance(constant, bool) or not isinstance(constant, numbers.Real):
        return None
    return _AFFINE_OPS[kind](float(constant), tensors[0])


def _layer_row(layer: Any, output_shape: tuple, node: Any = None) -> dict[str, Any]:
    """The description of one layer (or operation, or nested model), without its inputs;
    ``node`` is the call of it that the model uses."""
    kind = type(layer).__name__
    affine = _affine(kind, node) if node is not None else None
    if affine is not None:
        scale, offset = affine
        return {
            "class": "Rescaling",
            "output_shape": _plain(tuple(output_shape)),
            "params": 0,
            "scale": _plain(scale),
            "offset": _plain(offset),
        }
    count = getattr(layer, "count_params", None)
    row: dict[str, Any] = {
        "class": kind,
        "output_shape": _plain(tuple(output_shape)),
        "params": int(count()) if callable(count) and getattr(layer, "built", True) else 0,
    }
    if kind in _NESTED_MODELS:
        inner = list(getattr(layer, "layers", []))
        row["training"] = node.arguments.kwargs.get("training") if node is not None else None
        row["trainable_layers"] = sum(1 for sub in inner if sub.trainable_weights)
        row["trainable_params"] = int(
            sum(math.prod(int(d) for d in w.shape) for w in layer.trainable_weights)
        )
    for name in _ATTRIBUTES:
        if not hasattr(layer, name):
            continue
        value = getattr(layer, name)
        if name in ("activation", "recurrent_activation"):
            value = _activation_name(value)
        elif name == "axis" and isinstance(value, int) and value < 0:
            value += len(output_shape)
        elif name == "trainable" and kind not in _NESTED_MODELS:
            continue
        row[name] = _plain(value)
    if kind == "ReLU":
        defaults = (
            getattr(layer, "max_value", None) is None
            and not getattr(layer, "negative_slope", 0)
            and not getattr(layer, "threshold", 0)
        )
        if defaults:
            row = {"class": "Activation", **{k: v for k, v in row.items() if k != "class"}}
            row["activation"] = "relu"
    return row


def _graph_nodes(model: Any) -> dict[int, Any]:
    """The call (node) of each layer that the model's graph uses, by ``id(layer)``.

    Found by walking back from the model's outputs, since a layer may hold stale calls (a
    Sequential model built with ``add`` calls its layers again at every ``add``).
    """
    nodes: dict[int, Any] = {}
    stack = list(model.outputs)
    seen: set[int] = set()
    while stack:
        tensor = stack.pop()
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        history = getattr(tensor, "_keras_history", None)
        if not history:
            continue
        operation, node_index, _ = history
        node = operation._inbound_nodes[node_index]
        nodes.setdefault(id(operation), node)
        stack.extend(node.input_tensors)
    return nodes


def _scalar(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _folds_into_previous(
    row: dict[str, Any], rows: list[dict[str, Any]], sources: list[int], readers: dict[int, int]
) -> bool:
    """Whether ``row``, a rescaling, composes with the rescaling just before it (its only
    input, read by nothing else) into one row."""
    if row["class"] != "Rescaling" or not rows or sources != [len(rows) - 1]:
        return False
    previous = rows[-1]
    return (
        previous["class"] == "Rescaling"
        and readers.get(previous["_out"], 0) == 1
        and all(_scalar(r.get(k)) for r in (row, previous) for k in ("scale", "offset"))
    )


def describe_model(model: Any) -> dict[str, Any]:
    """The normalised structure of a built Keras model, as plain data.

    Returns:
        ``{"inputs": [shape, ...], "layers": [row, ...]}`` where a shape is a list with None
        for the batch axis, e.g. ``[None, 64, 64, 3]``, and a row is a dict with ``class``,
        ``output_shape``, ``params`` (parameter count), ``inputs`` (indices of the rows it
        reads, :data:`MODEL_INPUT` for the model input) and the layer's attributes among
        ``units, return_sequences, recurrent_activation, dropout, recurrent_dropout, filters,
        kernel_size, strides, padding, pool_size, activation, use_bias, axis, rate, scale,
        offset, mode, factor``; a nested model's row has ``trainable``,
        ``training`` (the argument it was called with, None when not given),
        ``trainable_layers`` and ``trainable_params``. Layers the model's graph does not use
        are left out.
    Raises:
        TypeError: when ``model`` is not a built Keras model.
    """
    layers = getattr(model, "layers", None)
    try:
        inputs, nodes = list(model.inputs), _graph_nodes(model)
    except Exception as exc:  # noqa: BLE001 - anything unexpected means "not a model"
        raise TypeError(
            f"expected a built Keras model, got {type(model).__name__} ({exc}); return the "
            "model object (keras.Model or keras.Sequential)"
        ) from None
    if layers is None or not inputs:
        raise TypeError(
            f"expected a Keras model with known inputs, got {type(model).__name__}; "
            "return the model object (keras.Model or keras.Sequential)"
        )
    # A functional model's operations include arithmetic written with operators; a
    # Sequential model has layers only.
    operations = getattr(model, "operations", None) or layers
    used = [
        (layer, nodes[id(layer)])
        for layer in operations
        if id(layer) in nodes and type(layer).__name__ != "InputLayer"
    ]
    readers: dict[int, int] = {}
    for _, node in used:
        for tensor in node.input_tensors:
            readers[id(tensor)] = readers.get(id(tensor), 0) + 1
    source_of: dict[int, int] = {id(t): MODEL_INPUT for t in inputs}
    rows: list[dict[str, Any]] = []
    for layer, node in used:
        sources = [source_of.get(id(t), MODEL_INPUT) for t in node.input_tensors]
        output = node.output_tensors[0]
        row = _layer_row(layer, tuple(output.shape), node)
        if _folds_into_previous(row, rows, sources, readers):
            previous = rows[-1]
            scale, offset = row["scale"], row["offset"]
            previous["offset"] = _plain(scale * previous["offset"] + offset)
            previous["scale"] = _plain(scale * previous["scale"])
            previous["output_shape"] = row["output_shape"]
            previous["_out"] = id(output)
            source_of[id(output)] = len(rows) - 1
            continue
        if (
            row["class"] in _ACTIVATION_LAYERS
            and rows
            and sources == [len(rows) - 1]
            and rows[-1].get("activation") == "linear"
            and readers.get(rows[-1]["_out"], 0) == 1
        ):
            rows[-1]["activation"] = row["activation"]
            rows[-1]["_out"] = id(output)
            source_of[id(output)] = len(rows) - 1
            continue
        row["inputs"] = sources
        row["_out"] = id(output)
        source_of[id(output)] = len(rows)
        rows.append(row)
    for row in rows:
        del row["_out"]
    return {"inputs": [_plain(tuple(t.shape)) for t in inputs], "layers": rows}


def _same(a: Any, b: Any) -> bool:
    """Equal, with floats compared to a relative 1e-6 (``1 / 255`` written either way)."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) or isinstance(b, float):
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b))
        return numbers and abs(a - b) <= 1e-6 * max(abs(a), abs(b), 1e-12)
    return type(a) is type(b) and a == b


#: Student rows aligned with the expected ones to name the differences: at most this many
#: times the expected rows (plus a margin); a longer model is reported by its length alone,
#: so the alignment's cost (rows times expected rows) stays bounded by the reference's size.
_ALIGN_FACTOR = 4
_ALIGN_MARGIN = 64
#: Layer classes named in a summary, and characters of a value quoted in a message.
_SUMMARY_ROWS = 40
_QUOTE = 200


def _quote(value: Any) -> str:
    """``repr(value)``, cut to :data:`_QUOTE` characters (a student's value may be long)."""
    text = repr(value)
    return text if len(text) <= _QUOTE else text[: _QUOTE - 3] + "..."


def _row_name(i: int, row: dict[str, Any]) -> str:
    return f"layer {i} ({str(row.get('class', '?'))[:_QUOTE]})"


def _summary(rows: Sequence[dict[str, Any]]) -> str:
    """The rows' classes, the first :data:`_SUMMARY_ROWS` of them."""
    names = [str(r.get("class"))[:_QUOTE] for r in rows[:_SUMMARY_ROWS]]
    if len(rows) > _SUMMARY_ROWS:
        names.append(f"... ({len(rows)} layers in all)")
    return ", ".join(names)


def structure_problems(got: Any, expected: dict[str, Any]) -> list[str]:
    """Differences between a received description and an expected one, in plain words.

    ``expected`` has the form :func:`describe_model` returns; a row may hold only some keys,
    and only those are compared (so a public test can state class, shape and parameter count
    alone). An empty list means the structures agree.
    """
    rows_ok = isinstance(got, dict) and isinstance(got.get("layers"), list)
    if not rows_ok or not all(isinstance(r, dict) for r in got["layers"]):
        return ["the model could not be described (expected a Keras model)"]
    problems: list[str] = []
    if "inputs" in expected and got.get("inputs") != expected["inputs"]:
        problems.append(
            f"the model's input shape is {_quote(got.get('inputs'))}, expected {expected['inputs']}"
        )
    g_rows, e_rows = got["layers"], expected["layers"]
    g_classes = [str(r.get("class")) for r in g_rows]
    e_classes = [str(r.get("class")) for r in e_rows]
    if g_classes != e_classes and len(g_rows) > _ALIGN_FACTOR * len(e_rows) + _ALIGN_MARGIN:
        problems.append(
            f"the model has {len(g_rows)} layers, far more than the {len(e_rows)} expected; "
            f"your layers: {_summary(g_rows)}; expected: {_summary(e_rows)}"
        )
        return problems
    if g_classes != e_classes:
        matcher = SequenceMatcher(a=e_classes, b=g_classes, autojunk=False)
        for tag, e0, e1, g0, g1 in matcher.get_opcodes():
            if tag == "delete":
                problems.append(
                    f"missing {', '.join(e_classes[e0:e1])} at layer {e0} "
                    f"(after {e_classes[e0 - 1] if e0 else 'the input'})"
                )
            elif tag == "insert":
                problems.append(f"unexpected {', '.join(g_classes[g0:g1])} at layer {g0}")
            elif tag == "replace":
                problems.append(
                    f"layer {g0}: {', '.join(g_classes[g0:g1])} where "
                    f"{', '.join(e_classes[e0:e1])} was expected"
                )
        problems.append(
            f"your layers: {_summary(g_rows)}; expected: {_summary(e_rows)} "
            "(activation layers after a layer without activation are merged into it)"
        )
        return problems
    for i, (g, e) in enumerate(zip(g_rows, e_rows, strict=True)):
        for key, want in e.items():
            have = g.get(key, "<missing>")
            if not _same(have, want):
                problems.append(
                    f"{_row_name(i, e)}: {key} is {_quote(have)}, expected {_quote(want)}"
                )
    return problems


# ---------------------------------------------------------------------------- graphs

#: Graphs larger than this are compared as they come.
_MAX_ROWS = 1000
#: Layer classes whose inputs may come in any order.
_COMMUTATIVE = ("Add", "Multiply", "Maximum", "Minimum", "Average")


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:20]


def canonical_order(rows: list[dict[str, Any]]) -> list[int] | None:
    """The rows' indices in a canonical topological order, or None for a malformed graph.

    Every row gets a signature from its own description, from what it reads (recursively,
    upstream) and from what reads it (recursively, downstream); among the rows whose inputs
    are all placed, the one with the smallest signature comes next. Two writings of one graph
    (branches built in another order) get the same order.
    """
    n = len(rows)
    if n > _MAX_ROWS:
        return None
    sources: list[list[int]] = []
    for i, row in enumerate(rows):
        inputs = row.get("inputs")
        if not isinstance(inputs, list) or not all(
            isinstance(j, int) and not isinstance(j, bool) and MODEL_INPUT <= j < i for j in inputs
        ):
            return None
        sources.append(list(inputs))
    local = [_digest({k: v for k, v in row.items() if k != "inputs"}) for row in rows]
    readers: list[list[int]] = [[] for _ in range(n)]
    for i, inputs in enumerate(sources):
        for j in inputs:
            if j != MODEL_INPUT:
                readers[j].append(i)
    up: list[str] = []
    for i, inputs in enumerate(sources):
        above = ["input" if j == MODEL_INPUT else up[j] for j in inputs]
        if rows[i].get("class") in _COMMUTATIVE:
            above.sort()
        up.append(_digest([local[i], above]))
    down = [""] * n
    for i in reversed(range(n)):
        down[i] = _digest([local[i], sorted(down[r] for r in readers[i])])
    # Kahn's algorithm: a row is ready when all the rows it reads are placed; of the ready
    # rows the smallest signature comes next. Linear in rows and connections (times log n).
    waiting = [sum(1 for j in inputs if j != MODEL_INPUT) for inputs in sources]
    ready = [(up[i], down[i], i) for i in range(n) if not waiting[i]]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        _, _, nxt = heapq.heappop(ready)
        order.append(nxt)
        for r in readers[nxt]:
            waiting[r] -= 1
            if not waiting[r]:
                heapq.heappush(ready, (up[r], down[r], r))
    return order


def canonical_structure(desc: Any) -> Any:
    """A description (:func:`graders.models.describe_model`) with its rows in the canonical
    order, ``inputs`` renumbered, and the inputs of commutative layers (``Add``) sorted.
    Anything malformed is returned unchanged (the comparison then reports it)."""
    if not isinstance(desc, dict) or not isinstance(desc.get("layers"), list):
        return desc
    rows = desc["layers"]
    if not all(isinstance(r, dict) for r in rows):
        return desc
    order = canonical_order(rows)
    if order is None:
        return desc
    position = {old: new for new, old in enumerate(order)}
    position[MODEL_INPUT] = MODEL_INPUT
    layers = []
    for old in order:
        row = dict(rows[old])
        inputs = [position[j] for j in row["inputs"]]
        row["inputs"] = sorted(inputs) if row.get("class") in _COMMUTATIVE else inputs
        layers.append(row)
    return {**desc, "layers": layers}


def graph_structure_problems(got: Any, expected: dict[str, Any]) -> list[str]:
    """Differences between two model graphs, whatever order their branches were built in.

    The verdict compares both graphs in the canonical order (:func:`canonical_structure`);
    when they differ, the problems are told in the models' own layer order (the order of
    ``model.summary()``), which is what a student can compare with.
    """
    if not structure_problems(canonical_structure(got), canonical_structure(expected)):
        return []
    return structure_problems(got, expected) or ["the layers are connected differently"]
