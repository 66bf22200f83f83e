"""Wiring of the trusted judge into nbgrader's autograde pipeline.

Registered in ``nbgrader_config.py``, so plain ``nbgrader autograde`` uses them:

- :class:`TolerantNotebookExporter` reads a submission that is not a valid notebook (not
  JSON, not a notebook, unreadable bytes) as a stand-in notebook holding only the graded
  test cells and a note, so every graded cell fails with a clear message and the rest of
  the class is graded. The submitted file itself is never changed.
- :class:`RobustExecute` runs the notebook like nbgrader's ``Execute``, but a kernel that
  dies or hangs fails the cells that did not run instead of aborting the whole submission.
- :class:`JudgeHiddenTests` decides every graded test cell on the trusted side
  (:mod:`graders.judge`) and rewrites its outputs before ``SaveAutoGrades`` reads them.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import nbformat
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbconvert.exporters import NotebookExporter
from nbformat.notebooknode import NotebookNode
from nbgrader.api import Gradebook
from nbgrader.nbgraderformat import MetadataValidator
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from nbgrader.preprocessors.execute import UnresponsiveKernelError
from nbgrader.utils import is_grade, is_solution
from traitlets import Unicode

from graders.judge import judge_cell, rewrite_outputs

#: Key under ``resources`` and notebook metadata where notebook-level problems are kept.
META_KEY = "dlgrade"


def _add_problem(resources: dict[str, Any], text: str) -> None:
    resources.setdefault(META_KEY, {}).setdefault("problems", []).append(text)


def stand_in_notebook(db_url: str, assignment: str, notebook: str, reason: str) -> NotebookNode:
    """A notebook with a note, the read-only code cells and the graded test cells of the
    assignment (sources empty: nbgrader restores them from the gradebook); it stands in for
    an unreadable submission. No solution cell is included."""
    note = (
        "**This submission could not be read as a Jupyter notebook, so none of its answers "
        f"could be graded.**\n\nReason: {reason}\n\nThe file you submitted was kept unchanged."
    )
    cells = [nbformat.v4.new_markdown_cell(note)]
    with Gradebook(db_url) as gb:
        source_nb = gb.find_notebook(notebook, assignment)
        grade_cells = {c.name: c for c in source_nb.grade_cells}
        solution_ids = {c.name for c in source_nb.solution_cells}
        for source_cell in source_nb.source_cells:
            grade_cell = grade_cells.get(source_cell.name)
            graded_test = grade_cell is not None and source_cell.name not in solution_ids
            read_only = source_cell.locked and source_cell.name not in solution_ids
            if source_cell.cell_type != "code" or not (graded_test or read_only):
                continue
            # Sources stay empty: nbgrader's OverwriteCells restores locked cells.
            cell = nbformat.v4.new_code_cell("")
            cell.metadata["nbgrader"] = {
                "grade": graded_test,
                "solution": False,
                "locked": True,
                "task": False,
                "grade_id": source_cell.name,
                "checksum": source_cell.checksum,
                "cell_type": "code",
                "schema_version": 3,
            }
            if graded_test:
                cell.metadata["nbgrader"]["points"] = grade_cell.max_score
            cells.append(MetadataValidator().upgrade_cell_metadata(cell))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata[META_KEY] = {"problems": [f"The submission could not be read: {reason}"]}
    return nb


class TolerantNotebookExporter(NotebookExporter):
    """nbconvert's notebook exporter, but an unreadable submission becomes a stand-in."""

    def from_filename(self, filename: str, resources: dict[str, Any] | None = None, **kw: Any):
        try:
            with open(filename, encoding="utf-8") as f:
                nb = nbformat.read(f, as_version=4)
            if not isinstance(nb.get("cells"), list):
                raise ValueError("it has no list of cells")
        except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same treatment
            info = (resources or {}).get("nbgrader")
            if not info:
                raise
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]
            self.log.warning("Unreadable submission %s (%s); grading a stand-in", filename, reason)
            nb = stand_in_notebook(info["db_url"], info["assignment"], info["notebook"], reason)
        return self.from_notebook_node(nb, resources, **kw)


class RobustExecute(Execute):
    """nbgrader's Execute; a dead or unresponsive kernel fails the cells that did not run."""

    def preprocess(self, nb: NotebookNode, resources: Any = None, km: Any = None):
        try:
            return super().preprocess(nb, resources, km=km)
        except (DeadKernelError, UnresponsiveKernelError, CellTimeoutError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            _add_problem(
                resources,
                f"The notebook stopped running ({type(exc).__name__}: {first[:200]}): "
                "the kernel died or stopped answering, so later cells did not run.",
            )
            self.log.warning("Execution stopped early: %s", type(exc).__name__)
            return nb, resources


class JudgeHiddenTests(NbGraderPreprocessor):
    """Decide every graded test cell from trusted computations; rewrite its outputs."""

    solutions_dir = Unicode(
        "", help="Folder holding <assignment>.py reference modules (default: <course>/solutions)"
    ).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]):
        assignment = resources["nbgrader"]["assignment"]
        solutions = Path(self.solutions_dir or os.path.join(os.getcwd(), "solutions"))
        problems = list(nb.metadata.get(META_KEY, {}).get("problems", []))
        problems += resources.get(META_KEY, {}).get("problems", [])
        for cell in nb.cells:
            if cell.cell_type != "code" or not is_grade(cell) or is_solution(cell):
                continue
            grade_id = cell.metadata["nbgrader"].get("grade_id", "?")
            outputs = [copy.deepcopy(dict(o)) for o in cell.get("outputs", [])]
            verdict = judge_cell(grade_id, cell.source, outputs, assignment, solutions, problems)
            cell.outputs = [nbformat.from_dict(o) for o in rewrite_outputs(outputs, verdict)]
            self.log.info("%s: %s", grade_id, "passed" if verdict.passed else "failed")
        return nb, resources
