"""Intake of a submitted notebook: repair its grading metadata before nbgrader sanitizes it.

nbgrader 0.9's sanitizing step (``DeduplicateIds``, ``OverwriteCells``) aborts the whole
submission with a traceback, and grades nothing, when a student's notebook has:

- two cells with the same grade id (``DeduplicateIds`` empties the metadata of one copy and
  ``OverwriteCells.add_missing_task_cells`` then fails with ``KeyError: 'grade_id'``);
- grading metadata stripped from cells (``add_missing_grade_cells`` looks for the previous
  answer cell by its grade id and fails with ``KeyError``);
- a test cell whose flags were changed (e.g. unlocked and made an answer cell: the restored
  source still does not match the checksum and it raises "Inconsistent checksums");
- a grade id the assignment does not have, or malformed grading metadata.

:class:`RepairGradingMetadata` runs first in ``c.Autograde.sanitize_preprocessors``. It
compares the submission with the assignment's cells recorded in the gradebook, restores or
removes grading metadata so that nbgrader can restore every locked cell from the gradebook,
puts back deleted read-only cells (such as the setup cell) and graded test cells, and adds
a note at the top of the graded notebook saying what was repaired. It never trusts the
student's metadata for what a cell is worth or whether it is locked: those come from the
gradebook. The submitted file itself is not changed.
"""

from __future__ import annotations

import re
from typing import Any

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor

from graders.nbgrader_plugins import META_KEY

NOTE_TAG = "dlgrade-intake-note"
_HIDDEN = re.compile(r"^\s*### BEGIN HIDDEN TESTS.*?^\s*### END HIDDEN TESTS[^\n]*\n?", re.M | re.S)


def _normalise(source: str) -> str:
    """A cell's code as the student received it, for matching: hidden tests removed,
    blank lines and trailing spaces ignored."""
    text = _HIDDEN.sub("", source)
    return "\n".join(line.rstrip() for line in text.splitlines() if line.strip())


def _first_line(source: str) -> str:
    for line in source.splitlines():
        if line.strip():
            return line.strip()
    return ""


def _nbgrader_meta(cell: NotebookNode) -> Any:
    """A cell's grading metadata: None when it has none, an empty dict when it is not an object."""
    metadata = cell.get("metadata") if isinstance(cell, dict) else None
    meta = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    return meta if isinstance(meta, dict) or meta is None else {}


class RepairGradingMetadata(NbGraderPreprocessor):
    """Make a submission's grading metadata consistent with the gradebook (see module doc)."""

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]):
        info = resources.get("nbgrader") or {}
        if not info.get("db_url"):
            return nb, resources
        with Gradebook(info["db_url"]) as gb:
            source_nb = gb.find_notebook(info["notebook"], info["assignment"])
            grade_points = {c.name: float(c.max_score) for c in source_nb.grade_cells}
            solutions = {c.name for c in source_nb.solution_cells}
            tasks = {c.name for c in source_nb.task_cells}
            source_cells = [
                {
                    "name": c.name,
                    "cell_type": c.cell_type,
                    "locked": bool(c.locked),
                    "source": c.source,
                    "checksum": c.checksum,
                }
                for c in source_nb.source_cells
            ]
        known = {c["name"]: c for c in source_cells}
        notes: list[str] = []

        # 1. Malformed or unknown metadata is removed; known cells get the gradebook's flags.
        for cell in nb.cells:
            meta = _nbgrader_meta(cell)
            if meta is None:
                continue
            grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
            if not isinstance(grade_id, str) or grade_id not in known:
                if isinstance(meta, dict) and (
                    meta.get("grade") or meta.get("solution") or meta.get("locked") or grade_id
                ):
                    notes.append(
                        f"a cell claimed the grade id {str(grade_id)[:60]!r}, which this "
                        "assignment does not have; it was graded as an ordinary cell"
                    )
                cell.metadata.pop("nbgrader", None)
                continue
            self._set_flags(cell, known[grade_id], grade_points, solutions, tasks, notes)

        # 2. Duplicated grade ids: the last copy keeps the metadata (as nbgrader's
        #    DeduplicateIds would), earlier copies become ordinary cells.
        seen: set[str] = set()
        for cell in reversed(nb.cells):
            meta = _nbgrader_meta(cell)
            if not meta:
                continue
            if meta["grade_id"] in seen:
                notes.append(
                    f"the cell '{meta['grade_id']}' appeared more than once; only its last "
                    "copy was graded"
                )
                cell.metadata.pop("nbgrader", None)
            seen.add(meta["grade_id"])

        # 3. Cells that lost their metadata: found again by their code.
        present = {m["grade_id"] for c in nb.cells if (m := _nbgrader_meta(c))}
        restored = []
        for source_cell in source_cells:
            name = source_cell["name"]
            if name in present:
                continue
            match = self._find_stripped(nb, source_cell, name in solutions)
            if match is not None:
                match.metadata["nbgrader"] = {"grade_id": name}
                self._set_flags(match, source_cell, grade_points, solutions, tasks, [])
                present.add(name)
                restored.append(name)
        if restored:
            notes.append(
                f"{len(restored)} cells had lost their grading metadata and were recognised "
                f"by their code: {', '.join(restored)}"
            )

        # 4. Deleted read-only cells (setup code, graded tests) are put back from the
        #    gradebook, after the nearest cell that precedes them in the assignment.
        added = []
        for i, source_cell in enumerate(source_cells):
            name = source_cell["name"]
            if name in present or not source_cell["locked"] or name in solutions:
                continue
            position = 0
            for earlier in reversed(source_cells[:i]):
                idx = self._index_of(nb, earlier["name"])
                if idx is not None:
                    position = idx + 1
                    break
            cell = self._new_locked_cell(source_cell, grade_points, tasks)
            nb.cells.insert(position, cell)
            present.add(name)
            added.append(name)
        missing_answers = [
            c["name"] for c in source_cells if c["name"] in solutions and c["name"] not in present
        ]
        if missing_answers:
            notes.append(
                "the answer cells "
                + ", ".join(f"'{n}'" for n in missing_answers)
                + " are missing from the submission; the tests that use them fail"
            )
        if added:
            notes.append(
                f"{len(added)} read-only cells were missing and were put back: {', '.join(added)}"
            )

        if nb.get("nbformat_minor", 0) < 5:  # cell ids exist from nbformat 4.5 on
            for cell in nb.cells:
                cell.pop("id", None)
        if notes:
            self.log.warning("Repaired grading metadata: %s", "; ".join(notes))
            nb.metadata.setdefault(META_KEY, {})["intake"] = notes
            text = (
                "**Note from the grader: this notebook's grading metadata was repaired "
                "before grading.**\n\n"
                + "\n".join(f"- {n[0].upper() + n[1:]}." for n in notes)
                + "\n\nRead-only cells were restored from the assignment; your answers "
                "were graded as submitted. The file you submitted was kept unchanged."
            )
            note = nbformat.v4.new_markdown_cell(text)
            note.metadata["tags"] = [NOTE_TAG]
            if nb.get("nbformat_minor", 0) < 5:
                note.pop("id", None)
            nb.cells.insert(0, note)
        return nb, resources

    # -------------------------------------------------------------------------- helpers

    def _set_flags(
        self,
        cell: NotebookNode,
        source_cell: dict[str, Any],
        grade_points: dict[str, float],
        solutions: set[str],
        tasks: set[str],
        notes: list[str],
    ) -> None:
        name = source_cell["name"]
        meta = dict(cell.metadata.get("nbgrader") or {})
        wanted = {
            "grade": name in grade_points,
            "solution": name in solutions,
            "locked": source_cell["locked"],
            "task": name in tasks,
        }
        changed = [k for k, v in wanted.items() if bool(meta.get(k, False)) != v]
        if changed:
            notes.append(f"the cell '{name}' had its {', '.join(changed)} flags changed; reset")
        meta.update(wanted)
        meta["grade_id"] = name
        meta["schema_version"] = 3
        if name in grade_points:
            meta["points"] = grade_points[name]
        else:
            meta.pop("points", None)
        if source_cell["checksum"]:
            meta["checksum"] = source_cell["checksum"]
        cell.metadata["nbgrader"] = meta
        if cell.cell_type != source_cell["cell_type"] and source_cell["cell_type"] == "code":
            cell.cell_type = "code"
            cell.outputs = []
            cell.execution_count = None
        elif cell.cell_type != source_cell["cell_type"]:
            cell.cell_type = source_cell["cell_type"]
            cell.pop("outputs", None)
            cell.pop("execution_count", None)

    @staticmethod
    def _find_stripped(nb: NotebookNode, source_cell: dict[str, Any], is_solution: bool):
        candidates = [
            c for c in nb.cells if not _nbgrader_meta(c) and c.cell_type == source_cell["cell_type"]
        ]
        if is_solution:
            first = _first_line(source_cell["source"])
            if not first:
                return None
            found = [c for c in candidates if _first_line(c.source) == first]
        else:
            wanted = _normalise(source_cell["source"])
            if not wanted:
                return None
            found = [c for c in candidates if _normalise(c.source) == wanted]
        return found[-1] if found else None

    @staticmethod
    def _index_of(nb: NotebookNode, name: str) -> int | None:
        for i, cell in enumerate(nb.cells):
            meta = _nbgrader_meta(cell)
            if meta and meta.get("grade_id") == name:
                return i
        return None

    @staticmethod
    def _new_locked_cell(
        source_cell: dict[str, Any], grade_points: dict[str, float], tasks: set[str]
    ) -> NotebookNode:
        name = source_cell["name"]
        if source_cell["cell_type"] == "code":
            cell = nbformat.v4.new_code_cell(source_cell["source"])
        else:
            cell = nbformat.v4.new_markdown_cell(source_cell["source"])
        cell.metadata["nbgrader"] = {
            "grade": name in grade_points,
            "solution": False,
            "locked": True,
            "task": name in tasks,
            "grade_id": name,
            "checksum": source_cell["checksum"],
            "schema_version": 3,
        }
        if name in grade_points:
            cell.metadata["nbgrader"]["points"] = grade_points[name]
        cell.metadata["deletable"] = False
        cell.metadata["editable"] = False
        return cell
