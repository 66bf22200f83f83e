"""The source notebooks and solutions/ agree: every hidden check passes when it is run on the
functions the notebook's own cells define (its solution cells, and the helpers it gives)."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import nbformat
import pytest

from graders.cases import all_checks, assignment_of
from graders.judge import judge_record, load_reference
from graders.probe import collect

ROOT = Path(__file__).resolve().parents[1]
CHECKS = [(assignment_of(name), name) for name in all_checks()]


@cache
def notebook_functions(assignment: str) -> dict:
    """The setup cell, and the imports and functions defined by the other code cells of the
    assignment's source notebook, executed in one namespace (other statements, such as demos,
    are skipped)."""
    path = ROOT / "source" / assignment / f"{assignment}.ipynb"
    namespace: dict = {}
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        setup = cell.metadata.get("nbgrader", {}).get("grade_id") == "setup"
        kept = [
            node
            for node in tree.body
            if setup or isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef))
        ]
        exec(compile(ast.Module(kept, type_ignores=[]), str(path), "exec"), namespace)  # noqa: S102
    return namespace


@pytest.mark.parametrize("assignment, name", CHECKS, ids=[name for _, name in CHECKS])
def test_notebook_solution_cells_pass_every_hidden_check(assignment, name):
    functions = notebook_functions(assignment)
    check = all_checks()[name]
    record = collect(name, *(functions[f] for f in check.functions))
    result = judge_record(check, record, load_reference(assignment, ROOT / "solutions"))
    assert result.passed, result.problems
