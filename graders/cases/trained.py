"""Shared pieces of the hidden checks on Keras models (structure and trained accuracy).

Kernel side: :func:`run_structure` describes a model built for one case, and
:func:`trained_record` reports a trained model as its normalised structure and its weights
(plain arrays, grouped by layer), nothing else.

Trusted side: :func:`reference_model` builds (once per process) the reference architecture,
:func:`load_weights` puts a record's weights into it after checking that the structures agree
(layers matched through the graphs' canonical order, so branch order does not matter),
and :func:`threshold_verifier` turns an accuracy function into a check's ``verify``, so the
accuracy is measured by the grader, on held-out data the kernel never sees.

Held-out digits: :func:`heldout_digits` loads ``heldout_digits.py`` from the folder of the
reference solutions (trusted side only; it holds the secret seed, see docs/architecture.md:
held-out data exist only on the trusted side), so nothing in this package returns those digits.

Keras is never imported here; only the objects passed in are used.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from graders.models import canonical_order, describe_model, graph_structure_problems

#: ``accuracy_of(record, reference_module) -> accuracy``; raises WeightsDoNotFit.
AccuracyOf = Callable[[Any, ModuleType], float]


_HELDOUT_MODULES: dict[Path, ModuleType] = {}


def heldout_digits(reference: ModuleType) -> ModuleType:
    """The trusted-side module ``heldout_digits.py`` next to ``reference``'s file (the folder of
    the reference solutions), imported by path once per process. It provides
    ``heldout_digits_binary() -> (x (m, 8, 8), y (1, m))`` and
    ``heldout_digits_multiclass() -> (x (m, 8, 8), y (m,))``, pixels 0..16."""
    path = Path(str(reference.__file__)).resolve().with_name("heldout_digits.py")
    if path not in _HELDOUT_MODULES:
        if not path.is_file():
            raise FileNotFoundError(f"no held-out digits at {path}")
        spec = importlib.util.spec_from_file_location("_dlgrade_heldout_digits", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _HELDOUT_MODULES[path] = module
    return _HELDOUT_MODULES[path]


def is_model(value: Any) -> bool:
    """Whether ``value`` looks like a Keras model (rather than a function that builds one)."""
    return hasattr(value, "get_weights") and hasattr(value, "layers")


def run_structure(case: tuple, builder: Any) -> dict[str, Any]:
    """A check's ``run``: build the model with the case's arguments and describe it."""
    return describe_model(builder(*case))


def trained_record(model: Any) -> dict[str, Any]:
    """What the kernel reports of a trained model: ``{"structure": ..., "weights": [...]}``,
    with one list of arrays per layer that has weights, in the order of ``model.layers`` (the
    order of the structure's rows with parameters)."""
    return {
        "structure": describe_model(model),
        "weights": [
            [np.asarray(w) for w in layer.get_weights()] for layer in model.layers if layer.weights
        ],
    }


_REFERENCE_MODELS: dict[tuple[str, str, tuple], Any] = {}


def reference_model(reference: ModuleType, builder: str, *args: Any) -> Any:
    """The reference architecture ``reference.<builder>(*args)``, built once per process
    (its weights are replaced on every use)."""
    key = (str(reference.__file__), builder, args)
    if key not in _REFERENCE_MODELS:
        _REFERENCE_MODELS[key] = getattr(reference, builder)(*args)
    return _REFERENCE_MODELS[key]


class WeightsDoNotFit(ValueError):
    """A trained-model record that cannot be evaluated in the reference architecture."""


def load_weights(model: Any, got: Any) -> None:
    """Put a record's per-layer weights into ``model``, matching layers through the canonical
    order of the two graphs; WeightsDoNotFit when the structure or the weights do not fit."""
    if not isinstance(got, dict):
        raise WeightsDoNotFit("the record holds no trained model")
    expected = describe_model(model)
    problems = graph_structure_problems(got.get("structure"), expected)
    if problems:
        raise WeightsDoNotFit(
            "the trained model does not have the specified structure, so it cannot be "
            f"evaluated ({problems[0]}); see the structure check"
        )
    got_rows, ref_rows = got["structure"]["layers"], expected["layers"]
    got_order, ref_order = canonical_order(got_rows), canonical_order(ref_rows)
    if got_order is None or ref_order is None:
        raise WeightsDoNotFit("the trained model's layers are not connected as a graph")
    got_weighted = [i for i, row in enumerate(got_rows) if row.get("params")]
    ref_weighted = [i for i, row in enumerate(ref_rows) if row.get("params")]
    ref_layers = [layer for layer in model.layers if layer.weights]
    weights = got.get("weights")
    if not isinstance(weights, list) or len(weights) != len(got_weighted):
        count = len(weights) if isinstance(weights, list) else 0
        raise WeightsDoNotFit(
            f"the trained model's weights come in {count} groups, expected one for each of "
            f"its {len(got_weighted)} layers with parameters"
        )
    got_group = dict(zip(got_weighted, weights, strict=True))
    ref_layer = dict(zip(ref_weighted, ref_layers, strict=True))
    for g, r in zip(got_order, ref_order, strict=True):
        if r not in ref_layer:
            continue
        layer, group = ref_layer[r], got_group.get(g)
        shapes = [tuple(w.shape) for w in layer.get_weights()]
        if not isinstance(group, list) or [np.shape(w) for w in group] != shapes:
            raise WeightsDoNotFit(
                f"the weights of layer {layer.name} do not have the shapes {shapes}"
            )
        layer.set_weights([np.asarray(w, dtype=np.float32) for w in group])


def threshold_verifier(
    accuracy_of: AccuracyOf, what: str, threshold: float
) -> Callable[[Any, Any, Any, ModuleType], list[str]]:
    """A check's ``verify``: the record's accuracy, measured by ``accuracy_of`` on the
    trusted side, must reach ``threshold``; ``what`` names the held-out data in messages."""

    def verify(got: Any, expected: Any, case: Any, reference: ModuleType) -> list[str]:
        try:
            accuracy = accuracy_of(got, reference)
        except WeightsDoNotFit as exc:
            return [str(exc)]
        if accuracy >= threshold:
            return []
        return [
            f"the trained model classifies {accuracy:.1%} of the held-out {what} correctly; "
            f"at least {threshold:.0%} is required"
        ]

    return verify
