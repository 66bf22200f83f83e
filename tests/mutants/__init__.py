"""Test power as data: plausible wrong implementations (mutants) and valid alternatives.

Each assignment module here defines ``ASSIGNMENT`` and ``IMPLEMENTATIONS``, a list of
:class:`Impl`. A mutant must be caught by at least one hidden check that calls its
function; a variant must pass every such check. They are judged through the same code as
a real submission: :func:`graders.probe.collect` (the kernel side) and
:func:`graders.judge.judge_record` (the trusted side), with the reference standing in for
the other graded functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graders.cases import all_checks, assignment_of
from graders.judge import CheckResult, judge_record, load_reference
from graders.probe import collect

SOLUTIONS_DIR = Path(__file__).resolve().parents[2] / "solutions"


@dataclass(frozen=True)
class Impl:
    """One implementation of a graded function: a mutant (``valid=False``) or a variant."""

    function: str
    label: str
    impl: Callable[..., Any]
    valid: bool = False


def mutant(function: str, label: str) -> Callable[[Callable[..., Any]], Impl]:
    """Decorator: register the decorated function as a wrong implementation of ``function``."""
    return lambda fn: Impl(function, label, fn, valid=False)


def variant(function: str, label: str) -> Callable[[Callable[..., Any]], Impl]:
    """Decorator: register the decorated function as a valid alternative of ``function``."""
    return lambda fn: Impl(function, label, fn, valid=True)


def judge_impl(assignment: str, impl: Impl, stop_at_failure: bool = False) -> list[CheckResult]:
    """Run every hidden check of ``assignment`` that calls ``impl.function``, with ``impl``
    substituted for it and the reference for every other function.

    Checks run in the order they are registered (the notebook's order, cheap checks before
    the ones that train a model); with ``stop_at_failure`` the first failing check ends the
    run, which is all a mutant needs."""
    reference = load_reference(assignment, SOLUTIONS_DIR)
    results = []
    for name, check in all_checks().items():
        if assignment_of(name) != assignment or impl.function not in check.functions:
            continue
        functions = [
            impl.impl if f == impl.function else getattr(reference, f) for f in check.functions
        ]
        record = collect(name, *functions)
        results.append(judge_record(check, record, reference))
        if stop_at_failure and not results[-1].passed:
            break
    return results
