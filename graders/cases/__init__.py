"""The registry of hidden checks: how to build each check's inputs and how to call the code.

A :class:`Check` holds no answers. The same ``run`` is executed twice: in the student's
kernel with the student's functions (by :mod:`graders.probe`) and on the trusted side with
the reference functions from ``solutions/`` (by :mod:`graders.judge`). Inputs come from a
generator seeded by the check's name and, when grading, by the submission's *secret*: a
value the trusted side draws per submission (:mod:`graders.hidden_inputs`) and hands to the
kernel for that run only, so both sides build identical inputs independently and no table
of answers can be prepared in advance. Without a secret (tests, the mutant catalogue) the
seed is the name alone: the fixed, public inputs.
"""

from __future__ import annotations

import copy
import hashlib
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

#: ``run(case, *functions) -> outputs``: calls the graded function(s) on one case.
Runner = Callable[..., Any]
#: ``verify(got, expected, case, reference_module) -> problems``: extra trusted-side logic.
Verifier = Callable[[Any, Any, Any, ModuleType], list[str]]
#: ``comparator(got, expected) -> problems``: a comparison that replaces the numeric one.
Comparator = Callable[[Any, Any], list[str]]


def call_with_args(case: Any, fn: Callable[..., Any]) -> Any:
    """The default runner: a case is a tuple of positional arguments, or a dict of keywords."""
    if isinstance(case, dict):
        return fn(**case)
    return fn(*case)


def seed(name: str, secret: int | None = None) -> int | list[int]:
    """The seed of check ``name``'s inputs: its name's CRC alone without a secret (the
    public inputs), else the CRC and the secret (a different stream for every secret)."""
    crc = zlib.crc32(name.encode("utf-8"))
    if secret is None:
        return crc
    if not isinstance(secret, int) or isinstance(secret, bool) or secret < 0:
        raise ValueError("a secret is a non-negative integer")
    return [crc, secret]


def inputs_id(secret: int | None) -> str:
    """What a record says about the inputs it was made on: ``"public"`` without a secret,
    else a digest of the secret (so a record made on other inputs is recognised)."""
    if secret is None:
        return "public"
    return hashlib.sha256(f"dlgrade-hidden-inputs:{secret}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Check:
    """One hidden check. ``name`` is what a hidden-test cell passes to ``probe``.

    Attributes:
        name: unique across the course, ``<function>_<what>`` (e.g. ``softmax_values``).
        functions: names of the graded functions the check calls, in the order ``run`` takes
            them; the judge looks up the same names in the assignment's ``solutions`` module.
        make_cases: builds the list of cases from a seeded ``numpy.random.Generator``.
        run: calls the function(s) on one case and returns plain data (arrays, numbers,
            tuples, dicts with string keys).
        rtol, atol: tolerance of the value comparison.
        hint: the likely mistake when the check fails, shown in the feedback.
        verify: optional extra trusted-side verification (thresholds, gradient checks); it
            receives the student's decoded outputs, the reference outputs, the case and the
            reference module, and returns problems.
        compare_values: whether to compare outputs with the reference's (default True).
            When False the reference is not run at all and ``verify`` receives None as the
            expected value (for checks judged on their own, such as accuracy thresholds).
        comparator: compares one case's output with the reference's instead of the numeric
            comparison of :mod:`graders.compare` (e.g. model structures).
    """

    name: str
    functions: tuple[str, ...]
    make_cases: Callable[[np.random.Generator], Sequence[Any]]
    run: Runner = call_with_args
    rtol: float = 1e-5
    atol: float = 1e-7
    hint: str = ""
    verify: Verifier | None = None
    compare_values: bool = True
    comparator: Comparator | None = None

    def cases(self, secret: int | None = None) -> list[Any]:
        """The check's cases for ``secret`` (a submission's value, a non-negative integer;
        None: the fixed, public inputs), identical on every call and on both sides of the
        boundary."""
        return list(self.make_cases(np.random.default_rng(seed(self.name, secret))))

    def run_case(self, case: Any, functions: Sequence[Callable[..., Any]]) -> Any:
        """Run one case on a fresh copy of its inputs (so in-place edits cannot leak)."""
        return self.run(copy.deepcopy(case), *functions)


_REGISTRY: dict[str, Check] = {}
_ASSIGNMENT: dict[str, str] = {}
_LOADED: list[bool] = []


def register(assignment: str, *checks: Check) -> None:
    """Add an assignment's checks to the registry; a duplicate name is a programming error."""
    for check in checks:
        if check.name in _REGISTRY:
            raise ValueError(f"duplicate check name {check.name!r}")
        _REGISTRY[check.name] = check
        _ASSIGNMENT[check.name] = assignment


def assignment_of(name: str) -> str:
    """The assignment id a check belongs to (its reference lives in ``solutions.<id>``)."""
    get_check(name)
    return _ASSIGNMENT[name]


def _load_all() -> None:
    # Import the per-assignment modules (``graders/cases/w*.py``) for their registrations.
    # They import numpy only at the top, so that probing costs nothing at kernel start.
    import importlib
    import pkgutil

    if _LOADED:
        return
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("w"):
            importlib.import_module(f"{__name__}.{info.name}")
    _LOADED.append(True)


def get_check(name: str) -> Check:
    """Look a check up by name; KeyError with a clear message when unknown."""
    _load_all()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown hidden check {name!r}") from None


def all_checks() -> dict[str, Check]:
    """Every registered check by name."""
    _load_all()
    return dict(_REGISTRY)
