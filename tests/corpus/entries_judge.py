# ruff: noqa: E501 - attack code in string literals keeps its own line lengths
"""Corpus entries for the judge's bounds and the intake of notebooks (see ``entries.py``).

- Honest notebooks saved in unusual ways (a byte order mark, Windows line endings, an older
  nbformat, extra cells, editors' metadata, duplicate cell ids): full marks.
- JSON that is not a valid notebook (cells, sources, metadata of the wrong kind): a stand-in
  is graded, every cell scores 0, and the note says why.
- Hostile records (arrays with more dimensions than numpy allows, JSON text nested far too
  deeply): the checks they claim fail, the rest of the notebook is graded.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from graders import golden
from tests.corpus.entries import (
    ASSIGNMENT,
    NOTEBOOK,
    Entry,
    all_zero,
    attack,
    full_points,
    no_cells,
    partly_wrong_points,
    wrong_ids,
)

RECORD_MIME = "application/vnd.dlgrade.record+json"


def _correct(root: Path) -> dict[str, Any]:
    """The correct submission as JSON data (nbformat 4.5, as the course's tools save it)."""
    text = golden.build("correct", root, ASSIGNMENT, NOTEBOOK)
    return json.loads(text.decode("utf-8") if isinstance(text, bytes) else text)


def _grade_id(cell: dict[str, Any]) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _index(nb: dict[str, Any], grade_id: str) -> int:
    return [_grade_id(c) for c in nb["cells"]].index(grade_id)


def _dumps(nb: Any) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def _saved(change: Callable[[dict[str, Any]], Any], *, raw: bool = False):
    """A ``build``: the correct submission changed by ``change`` (which edits it in place,
    or returns what to save instead); ``raw``: ``change`` returns the file's bytes."""

    def build(root: Path) -> dict[str, str | bytes]:
        nb = _correct(root)
        out = change(nb)
        if raw:
            return {NOTEBOOK: out}
        return {NOTEBOOK: _dumps(nb if out is None else out)}

    return build


# ------------------------------------------------------------------------------ honest


def with_bom(nb: dict[str, Any]) -> bytes:
    return b"\xef\xbb\xbf" + _dumps(nb).encode("utf-8")


def windows_editor(nb: dict[str, Any]) -> bytes:
    """Saved by a Windows editor: a byte order mark and CRLF line endings."""
    return b"\xef\xbb\xbf" + _dumps(nb).replace("\n", "\r\n").encode("utf-8")


def older_jupyterlab(nb: dict[str, Any]) -> None:
    """nbformat 4.4 (no cell ids), execution counts, and the outputs of the student's own last
    run still in the file (stale records, an error, a number as the result)."""
    nb["nbformat_minor"] = 4
    count = 0
    for cell in nb["cells"]:
        cell.pop("id", None)
        if cell["cell_type"] != "code":
            continue
        count += 1
        cell["execution_count"] = count
        cell["metadata"]["scrolled"] = True
        cell["metadata"]["collapsed"] = False
        cell["outputs"] = [
            {"output_type": "stream", "name": "stdout", "text": ["stale output\n"]},
            {
                "output_type": "display_data",
                "metadata": {},
                "data": {
                    "text/plain": ["Hidden check: 3 cases recorded"],
                    RECORD_MIME: {"v": 1, "check": "softmax_values", "cases": []},
                },
            },
            {
                "output_type": "execute_result",
                "execution_count": count,
                "metadata": {},
                "data": {"text/plain": ["2.0"]},
            },
            {"output_type": "error", "ename": "NameError", "evalue": "x", "traceback": ["x"]},
        ]


def extra_cells(nb: dict[str, Any]) -> None:
    """Notes, scratch code and a raw cell added between the assignment's cells."""
    at = _index(nb, "softmax_code")
    nb["cells"][at + 1 : at + 1] = [
        {"cell_type": "markdown", "id": "my-notes", "metadata": {}, "source": "My notes: $e^x$"},
        {
            "cell_type": "code",
            "id": "scratch",
            "metadata": {"tags": ["scratch"]},
            "execution_count": None,
            "outputs": [],
            "source": "_scratch = softmax(np.array([[1.0, 2.0]]))\nprint(_scratch.sum())",
        },
        {"cell_type": "raw", "id": "raw-cell", "metadata": {}, "source": "raw text"},
    ]
    nb["cells"].append(
        {"cell_type": "markdown", "id": "last-words", "metadata": {}, "source": "Done."}
    )


def editor_metadata(nb: dict[str, Any]) -> None:
    """Metadata of widgets, VS Code and Colab, in the notebook and in cells."""
    nb["metadata"]["widgets"] = {
        "application/vnd.jupyter.widget-state+json": {
            "state": {
                "a1b2": {
                    "model_module": "@jupyter-widgets/controls",
                    "model_name": "FloatSliderModel",
                    "model_module_version": "2.0.0",
                    "state": {"value": 0.5, "layout": "IPY_MODEL_c3d4", "style": {"x": [1, 2]}},
                }
            },
            "version_major": 2,
            "version_minor": 0,
        }
    }
    nb["metadata"]["vscode"] = {"interpreter": {"hash": "0123456789abcdef"}}
    nb["metadata"]["colab"] = {"provenance": [], "collapsed_sections": [], "name": NOTEBOOK}
    nb["metadata"]["accelerator"] = "GPU"
    for i, cell in enumerate(nb["cells"]):
        cell["metadata"]["vscode"] = {"languageId": "python"}
        cell["metadata"]["colab"] = {"base_uri": "https://localhost:8080/", "height": 35}
        cell["metadata"]["outputId"] = f"0000-{i}"
        cell["metadata"]["executionInfo"] = {"status": "ok", "elapsed": 12, "user_tz": -60}


def duplicate_cell_ids(nb: dict[str, Any]) -> None:
    """Cells copied and pasted keep the same id (a graded test cell's id among them)."""
    test = _index(nb, "softmax_values")
    nb["cells"][test - 1]["id"] = nb["cells"][test]["id"]
    nb["cells"][1]["id"] = nb["cells"][0]["id"]
    nb["cells"].append({**nb["cells"][0], "metadata": {}})


# ------------------------------------------------------------------------------ broken


def _set_in_cell(grade_id: str, *path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(nb: dict[str, Any]) -> None:
        target = nb["cells"][_index(nb, grade_id)]
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def cell_is_text(nb: dict[str, Any]) -> None:
    nb["cells"].insert(_index(nb, "softmax_code"), "def softmax(x):\n    return x")


def cells_object(nb: dict[str, Any]) -> None:
    nb["cells"] = {str(i): cell for i, cell in enumerate(nb["cells"])}


# ------------------------------------------------------------------------------ hostile records

#: ``probe`` replaced: the checks of the wrong functions get ``{BODY}``'s record instead of a
#: real one (the public checks are silenced, so that the record reaches the judge).
_HOSTILE_PROBE = r"""
import base64 as _b64
from IPython.display import display as _display
_MIME = "application/vnd.dlgrade.record+json"
def _probe(name, *functions):
    # Claims this submission's hidden inputs (the kernel is handed their secret), so that
    # the record is judged on its contents, not refused for its inputs.
    from graders.cases import get_check, inputs_id
    _secret = _gp._SECRET[0]
    n = len(get_check(name).cases(_secret))
    if name.startswith(("softmax", "normalize_rows")):
{BODY}
        return None
    return _real_probe(name, *functions)
import graders.probe as _gp
_real_probe = _gp.probe
_gp.probe = _probe
globals()["probe"] = _probe
for _n in ("check_value", "check_shape", "check_type"):
    globals()[_n] = lambda *a, **k: None
"""

#: Arrays of 100 dimensions: numpy refuses to shape them (it allows 64).
TOO_MANY_DIMENSIONS = _HOSTILE_PROBE.replace(
    "{BODY}",
    """        out = {"__ndarray__": _b64.b64encode(bytes(8)).decode(), "dtype": "<f8", "shape": [1] * 100}
        _display({_MIME: {"v": 1, "check": name, "inputs": inputs_id(_secret), "cases": [{"ok": True, "out": out}] * n}}, raw=True)""",
)

#: The record as JSON text nested 100,000 levels deep (a JSON parser recurses once a level).
DEEP_JSON_TEXT = _HOSTILE_PROBE.replace(
    "{BODY}",
    """        _display({"text/plain": "", _MIME: '{"check": "' + name + '", "cases": ' + "[" * 100_000 + "]" * 100_000 + "}"}, raw=True)""",
)


# ------------------------------------------------------------------------------ corpus

_PW = partly_wrong_points
_HCF = ("HiddenCheckFailed",)
_UNREAD = "could not be read"

ENTRIES: list[Entry] = [
    # -- honest notebooks saved in unusual ways: full marks
    Entry(
        "hon_bom",
        "UTF-8 byte order mark",
        "honest",
        _saved(with_bom, raw=True),
        full_points,
        no_cells,
    ),
    Entry(
        "hon_windows",
        "byte order mark and Windows line endings",
        "honest",
        _saved(windows_editor, raw=True),
        full_points,
        no_cells,
    ),
    Entry(
        "hon_lab_nbformat_44",
        "nbformat 4.4 from an older JupyterLab: no cell ids, execution counts, stale outputs",
        "honest",
        _saved(older_jupyterlab),
        full_points,
        no_cells,
    ),
    Entry(
        "hon_extra_cells",
        "extra markdown, code and raw cells",
        "honest",
        _saved(extra_cells),
        full_points,
        no_cells,
    ),
    Entry(
        "hon_editor_metadata",
        "widget, VS Code and Colab metadata",
        "honest",
        _saved(editor_metadata),
        full_points,
        no_cells,
    ),
    Entry(
        "hon_duplicate_ids",
        "duplicate cell ids",
        "honest",
        _saved(duplicate_cell_ids),
        full_points,
        no_cells,
    ),
    # -- valid JSON, not a valid notebook: a stand-in, every cell 0, the reason in the note
    Entry(
        "brk_cell_metadata_list",
        "a cell's metadata is a list",
        "broken",
        _saved(_set_in_cell("softmax_code", "metadata", value=["nbgrader"])),
        all_zero,
        no_cells,
        (_UNREAD, "metadata is not an object"),
    ),
    Entry(
        "brk_source_number",
        "a cell's source is a number",
        "broken",
        _saved(_set_in_cell("softmax_code", "source", value=42)),
        all_zero,
        no_cells,
        (_UNREAD, "source is neither text"),
    ),
    Entry(
        "brk_cell_text",
        "a cell is a string",
        "broken",
        _saved(cell_is_text),
        all_zero,
        no_cells,
        (_UNREAD, "it is a str, not a cell"),
    ),
    Entry(
        "brk_grade_id_list",
        "a grade id is a list",
        "broken",
        _saved(_set_in_cell("softmax_values", "metadata", "nbgrader", "grade_id", value=["x"])),
        all_zero,
        no_cells,
        (_UNREAD, "grade id is not a string"),
    ),
    Entry(
        "brk_cells_object",
        "cells is an object",
        "broken",
        _saved(cells_object),
        all_zero,
        no_cells,
        (_UNREAD, "no list of cells"),
    ),
    Entry(
        "brk_nbgrader_text",
        "grading metadata is a string",
        "broken",
        _saved(_set_in_cell("softmax_values", "metadata", "nbgrader", value="grade")),
        all_zero,
        no_cells,
        (_UNREAD, "grading metadata (nbgrader) is not an object"),
    ),
    Entry(
        "brk_flags_text",
        "grading flags written as text ('false')",
        "broken",
        _saved(_set_in_cell("softmax_values", "metadata", "nbgrader", "locked", value="false")),
        all_zero,
        no_cells,
        (_UNREAD, "grading flags"),
    ),
    Entry(
        "brk_outputs_object",
        "a code cell's outputs are an object",
        "broken",
        _saved(_set_in_cell("sigmoid_code", "outputs", value={"text": "x"})),
        all_zero,
        no_cells,
        (_UNREAD, "outputs are not a list"),
    ),
    # -- hostile records: the checks they claim fail, the rest is graded
    Entry(
        "atk_record_dimensions",
        "records of arrays with 100 dimensions",
        "attack",
        attack(TOO_MANY_DIMENSIONS),
        _PW,
        wrong_ids,
        _HCF + ("array shape of 100 dimensions is not allowed",),
    ),
    Entry(
        "atk_record_deep_text",
        "records as JSON text nested 100,000 levels deep",
        "attack",
        attack(DEEP_JSON_TEXT),
        _PW,
        wrong_ids,
        _HCF + ("a record was refused",),
    ),
]
