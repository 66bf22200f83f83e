"""Build simulated student submissions from the course's own notebooks.

Used by the end-to-end tests (the golden matrix) and by ``dlgrade demo``. A submission
starts from the released notebook, as a student receives it, and fills its solution cells
in: with the reference answers, with other code, or not at all.

It also says which of a real submission's files are graded (:func:`scan`): regular files
within the limits of ``c.SubmittedFiles``; never a link, pipe, device or socket.
"""

from __future__ import annotations

import copy
import logging
import os
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbformat.notebooknode import NotebookNode
from traitlets import Integer
from traitlets.config import Configurable

_log = logging.getLogger("dlgrade.submissions")
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


# ---------------------------------------------------------------------------- submitted files
#
# A submission's files are data, never instructions: only regular files and folders are
# given to the kernel, copied or sent to a worker. A symbolic link, a named pipe, a device
# or a socket is left out before anything opens it (copying a link to /dev/zero would fill
# the disk, one to /dev/stdin would wait on the instructor's terminal); a file over the size
# limits is left out too. Each left-out file is named in a note at the top of the student's
# graded notebook, and the rest is graded. File names are whatever bytes the file system
# holds (Python's surrogate escapes); they are shown escaped, never decoded by force.

#: Tag of the note, at the top of a graded notebook, naming the files left out.
FILES_NOTE_TAG = "dlgrade-submitted-files"
MIB = 1024 * 1024


class SubmittedFiles(Configurable):
    """Limits on a submission's files other than its notebooks (``c.SubmittedFiles.*``)."""

    max_file_mb = Integer(
        64,
        help="Largest file (other than a notebook) given to the kernel, in MiB; a larger one "
        "is left out, with a note in the student's feedback, and the rest is graded.",
    ).tag(config=True)
    max_total_mb = Integer(
        128,
        help="Total size of the files (other than notebooks) given to the kernel, in MiB, "
        "and at most half of c.Sandbox.disk_mb (a warm kernel's working folder holds a "
        "copy of them); files past it, in name order, are left out with a note.",
    ).tag(config=True)


@dataclass(frozen=True)
class FileLimits:
    """Bytes per file and per submission (see :class:`SubmittedFiles`)."""

    per_file: int
    total: int


def limits(config: Any = None) -> FileLimits:
    """The limits a course's configuration sets (``c.SubmittedFiles``, ``c.Sandbox.disk_mb``)."""
    settings = SubmittedFiles(config=config) if config is not None else SubmittedFiles()
    total = settings.max_total_mb * MIB
    sandbox = dict(config["Sandbox"]) if config is not None and "Sandbox" in config else {}
    disk_mb = sandbox.get("disk_mb", 512)
    if sandbox.get("enabled", True) and disk_mb > 0:
        total = min(total, disk_mb * MIB // 2)
    return FileLimits(min(settings.max_file_mb * MIB, total), total)


def printable(name: str) -> str:
    """A file name as text that can be shown and saved: bytes that are not UTF-8 escaped."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def _kind(mode: int) -> str:
    for test, what in (
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISCHR, "a device"),
        (stat.S_ISBLK, "a device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return what
    return "not a regular file"


@dataclass
class Intake:
    """What of a submission folder is graded: found with ``lstat`` only (nothing is opened
    and no link is followed)."""

    folder: Path
    files: list[tuple[str, int]] = field(default_factory=list)  # (relative path, size) kept
    notebook_links: list[str] = field(default_factory=list)  # top-level *.ipynb links
    left_out: list[tuple[str, str]] = field(default_factory=list)  # (relative path, note)
    error: str = ""  # why the whole submission cannot be graded (else "")

    @property
    def notes(self) -> list[str]:
        return [note for _, note in self.left_out]


def _is_notebook(rel: str) -> bool:
    return os.sep not in rel and rel.endswith(".ipynb")


#: Folders nested deeper than this in a submission are left out (and never walked: a tree
#: thousands of folders deep would otherwise exhaust a recursive walk's stack).
MAX_FOLDER_DEPTH = 32


def _listing(directory: str) -> list[os.DirEntry]:
    with os.scandir(directory) as entries:
        return sorted(entries, key=lambda e: os.fsencode(e.name))


def walk(
    folder: Path | str, skip: Callable[[str], bool] | None = None
) -> Iterator[tuple[str, os.stat_result | None]]:
    """Every entry under ``folder``, depth first in the byte order of names: its path
    relative to ``folder`` and its ``lstat`` (links are never followed). A folder is given
    before its entries; one nested deeper than :data:`MAX_FOLDER_DEPTH` is given with None
    and not entered. Entries whose full path ``skip`` accepts are neither given nor
    entered. Iterative, so no depth exhausts the stack."""
    stack = [("", iter(_listing(str(folder))))]
    while stack:
        prefix, entries = stack[-1]
        entry = next(entries, None)
        if entry is None:
            stack.pop()
            continue
        if skip is not None and skip(entry.path):
            continue
        rel = prefix + entry.name
        st = entry.stat(follow_symlinks=False)
        if not stat.S_ISDIR(st.st_mode):
            yield rel, st
        elif len(stack) >= MAX_FOLDER_DEPTH:
            yield rel + os.sep, None
        else:
            yield rel + os.sep, st
            stack.append((rel + os.sep, iter(_listing(entry.path))))


def scan(folder: Path, bounds: FileLimits | None = None) -> Intake:
    """Sort a submission folder's entries into kept files and left-out ones, each with a
    note. A notebook that is a link is kept as a link (it is graded as unreadable, with a
    message); a notebook that is a pipe or device makes the whole submission fail alone."""
    bounds = bounds or limits()
    folder = Path(folder)
    intake = Intake(folder)
    if folder.is_symlink() or folder.parent.is_symlink():
        intake.error = f"the submission folder {printable(str(folder))} is a symbolic link"
        return intake
    total = 0
    for rel, st in walk(folder):
        shown = printable(rel)
        if st is None:
            intake.left_out.append((rel, (
                f"`{shown}` is nested deeper than {MAX_FOLDER_DEPTH} folders: it was left out."
            )))  # fmt: skip
        elif stat.S_ISDIR(st.st_mode):
            continue
        elif _is_notebook(rel) and stat.S_ISLNK(st.st_mode):
            intake.notebook_links.append(rel)
        elif not stat.S_ISREG(st.st_mode):
            why = f"`{shown}` is {_kind(st.st_mode)}, not a file: it was left out."
            if _is_notebook(rel):
                intake.error = f"{shown} is {_kind(st.st_mode)}, not a notebook file"
            intake.left_out.append((rel, why))
        elif _is_notebook(rel):
            intake.files.append((rel, st.st_size))
        elif st.st_size > bounds.per_file:
            intake.left_out.append((rel, (
                f"`{shown}` ({_mib(st.st_size)}) is larger than the limit of "
                f"{_mib(bounds.per_file)} per file: it was left out."
            )))  # fmt: skip
        elif total + st.st_size > bounds.total:
            intake.left_out.append((rel, (
                f"`{shown}` ({_mib(st.st_size)}) would take the submission's files past "
                f"the limit of {_mib(bounds.total)} in all: it was left out."
            )))  # fmt: skip
        else:
            total += st.st_size
            intake.files.append((rel, st.st_size))
    return intake


def _mib(size: int) -> str:
    return f"{size / MIB:.1f} MiB"


def files_note(notes: list[str]) -> NotebookNode:
    """The markdown cell, put at the top of a graded notebook, that names the files left
    out."""
    text = (
        "**Some files of this submission were not given to the grader**, and your notebook "
        "was graded without them:\n\n"
        + "\n".join(f"- {n}" for n in notes)
        + "\n\nThe files you submitted were kept unchanged."
    )
    cell = nbformat.v4.new_markdown_cell(text)
    cell.metadata["tags"] = [FILES_NOTE_TAG]
    return cell


def guard_nbgrader_copies() -> None:
    """Keep links, pipes, devices and sockets out of nbgrader's own copy of a submission.

    nbgrader (``BaseConverter.init_assignment``) copies every file that
    ``nbgrader.utils.find_all_files`` lists with ``shutil.copy``, which follows symbolic
    links and reads devices to their end. Called from the course's nbgrader_config.py, this
    makes that listing, in nbgrader's converters only, keep regular files alone (checked
    with ``lstat``) and list nothing from a folder that is itself a link. Idempotent."""
    from nbgrader.converters import base
    from nbgrader.utils import is_ignored

    if getattr(base.find_all_files, "dlgrade_guarded", False):
        return

    def find_regular_files(path: str, exclude: list[str] | None = None) -> list[str]:
        if os.path.islink(path) or os.path.islink(os.path.dirname(path)):
            _log.warning("%s is a symbolic link: none of its files copied", printable(path))
            return []
        kept = []
        for rel, st in walk(path, skip=lambda name: is_ignored(name, exclude)):
            name = os.path.join(path, rel)
            if st is None:
                _log.warning("%s is nested too deep: not copied", printable(name))
            elif stat.S_ISREG(st.st_mode):
                kept.append(name)
            elif not stat.S_ISDIR(st.st_mode):
                _log.warning("%s is %s: not copied", printable(name), _kind(st.st_mode))
        return kept

    find_regular_files.dlgrade_guarded = True  # type: ignore[attr-defined]
    base.find_all_files = find_regular_files
