"""Test power (docs/architecture.md): every mutant is caught, every valid variant passes.

Judged through the same code as a real submission (the probe's collect and the judge's
judge_record), at the function level.
"""

from __future__ import annotations

import importlib
from collections import Counter
from pathlib import Path

import pytest

from graders.cases import all_checks, assignment_of
from tests.mutants import Impl, judge_impl

MODULES = [
    importlib.import_module(f"tests.mutants.{p.stem}")
    for p in sorted((Path(__file__).parent / "mutants").glob("w*.py"))
]
CASES = [(m.ASSIGNMENT, impl) for m in MODULES for impl in m.IMPLEMENTATIONS]


def _id(case: tuple[str, Impl]) -> str:
    assignment, impl = case
    return f"{assignment}:{impl.function}:{'variant' if impl.valid else 'mutant'}:{impl.label}"


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_hidden_checks_catch_mutants_and_pass_variants(case):
    assignment, impl = case
    results = judge_impl(assignment, impl, stop_at_failure=not impl.valid)
    assert results, f"no hidden check calls {impl.function}"
    if impl.valid:
        failed = [(r.name, r.problems[:2]) for r in results if not r.passed]
        assert not failed, f"valid variant rejected: {failed}"
    else:
        assert not all(r.passed for r in results), "mutant passed every hidden check"


@pytest.mark.parametrize("module", MODULES, ids=[m.ASSIGNMENT for m in MODULES])
def test_every_graded_function_has_three_mutants_and_a_variant(module):
    graded = {
        f
        for name, check in all_checks().items()
        if assignment_of(name) == module.ASSIGNMENT
        for f in check.functions
    }
    mutants = Counter(i.function for i in module.IMPLEMENTATIONS if not i.valid)
    variants = Counter(i.function for i in module.IMPLEMENTATIONS if i.valid)
    short = {
        f: (mutants[f], variants[f]) for f in sorted(graded) if mutants[f] < 3 or variants[f] < 1
    }
    assert not short, f"(mutants, variants) below (3, 1): {short}"
