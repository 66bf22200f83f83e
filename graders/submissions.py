"""Build simulated student submissions from the course's own notebooks.

Used by the end-to-end tests (the golden matrix) and by ``dlgrade demo``. A submission
starts from the released notebook, as a student receives it, and fills its solution cells
in: with the reference answers, with other code, or not at all.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import nbformat
from nbformat.notebooknode import NotebookNode

_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


def read(path: Path) -> NotebookNode:
    """Read a notebook (nbformat 4)."""
    return nbformat.read(str(path), as_version=4)


def grade_id(cell: dict[str, Any]) -> str | None:
    """The nbgrader grade id of a cell, or None."""
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def is_solution_cell(cell: dict[str, Any]) -> bool:
    """Whether the cell is one the student fills in."""
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


def answer_text(source_cell_text: str) -> str:
    """A source solution cell as a student would have written it: markers removed."""
    return "\n".join(line for line in source_cell_text.splitlines() if not _MARKER.match(line))


def with_reference_answers(source_nb: NotebookNode, release_nb: NotebookNode) -> NotebookNode:
    """The released notebook with every solution cell filled in with the reference answer."""
    answers = {grade_id(c): answer_text(c.source) for c in source_nb.cells if is_solution_cell(c)}
    nb = copy.deepcopy(release_nb)
    for cell in nb.cells:
        if is_solution_cell(cell) and grade_id(cell) in answers:
            cell.source = answers[grade_id(cell)]
    return nb


def set_answer(nb: NotebookNode, solution_grade_id: str, code: str) -> NotebookNode:
    """Replace the code of one solution cell (by grade id); KeyError if there is none."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if grade_id(cell) == solution_grade_id:
            cell.source = code
            return nb
    raise KeyError(f"no cell with grade id {solution_grade_id!r}")


def append_to_answer(nb: NotebookNode, solution_grade_id: str, code: str) -> NotebookNode:
    """Add code at the end of one solution cell."""
    for cell in nb.cells:
        if grade_id(cell) == solution_grade_id:
            return set_answer(nb, solution_grade_id, cell.source + "\n" + code)
    raise KeyError(f"no cell with grade id {solution_grade_id!r}")


def delete_cell(nb: NotebookNode, cell_grade_id: str) -> NotebookNode:
    """Remove one cell (by grade id), as a student might by accident."""
    nb = copy.deepcopy(nb)
    kept = [c for c in nb.cells if grade_id(c) != cell_grade_id]
    if len(kept) == len(nb.cells):
        raise KeyError(f"no cell with grade id {cell_grade_id!r}")
    nb.cells = kept
    return nb


def graded_test_ids(nb: NotebookNode) -> list[str]:
    """Grade ids of the graded test cells, in order."""
    return [
        grade_id(c)
        for c in nb.cells
        if c.get("metadata", {}).get("nbgrader", {}).get("grade") and not is_solution_cell(c)
    ]


def to_json(nb: NotebookNode) -> str:
    """Serialise a notebook the way Jupyter saves it."""
    return nbformat.writes(nb)


#: Code appended to a solution cell by the tampering submissions: it patches everything a
#: naive grader relies on, fakes records and prints success. None of it may earn a point.
TAMPER_CODE = r"""
import builtins, json, sys
import numpy as _np
from IPython.display import display as _display
_np.allclose = lambda *a, **k: True
_np.testing.assert_allclose = lambda *a, **k: None
_np.array_equal = lambda *a, **k: True
builtins.abs = lambda x: 0
builtins.all = lambda *a: True
import graders.checks as _gc, graders.compare as _cmp, graders.probe as _gp
_cmp.compare = lambda *a, **k: []
for _name in ("check_value", "check_shape", "check_type"):
    setattr(_gc, _name, lambda *a, **k: None)
    globals()[_name] = lambda *a, **k: None
def _fake_probe(name, *functions):
    record = {"v": 1, "check": name, "cases": [{"ok": True, "out": 0.0}] * 50}
    _display({"text/plain": "All hidden tests passed!",
              "application/vnd.dlgrade.record+json": record}, raw=True)
    print("All tests passed! 100/100")
_gp.probe = _fake_probe
globals()["probe"] = _fake_probe
class _Yes:
    def __eq__(self, other): return True
    def __array__(self, *a, **k): return _np.zeros(1)
def _rewrite(lines):
    return [ln.replace("probe(", "_fake_probe(") for ln in lines]
get_ipython().input_transformers_post.append(_rewrite)
def _after(result):
    print("All hidden tests passed!")
get_ipython().events.register("post_run_cell", _after)
"""
