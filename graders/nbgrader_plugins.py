"""Wiring of the trusted judge into nbgrader's autograde pipeline.

Registered in ``nbgrader_config.py``, so plain ``nbgrader autograde`` uses them:

- :class:`TolerantNotebookExporter` reads a submission that is not a valid notebook (not
  JSON, not a notebook, unreadable bytes) as a stand-in notebook holding only the graded
  test cells and a note, so every graded cell fails with a clear message and the rest of
  the class is graded. The submitted file itself is never changed.
- :class:`RobustExecute` runs the notebook like nbgrader's ``Execute``, with the kernel in
  the sandbox (:mod:`graders.sandbox`) and limits on time per cell, time per notebook and
  output per cell; a kernel that dies or hangs fails the cells that did not run instead of
  aborting the whole submission. Before the notebook's first cell it hands the kernel the
  submission's secret (:mod:`graders.hidden_inputs`, drawn and kept in the gradebook), from
  which the probes draw the hidden inputs.
- :class:`JudgeHiddenTests` decides every graded test cell on the trusted side
  (:mod:`graders.judge`), on the inputs of the secret kept in the gradebook, and rewrites
  its outputs before ``SaveAutoGrades`` reads them.
"""

from __future__ import annotations

import asyncio
import copy
import json
import math
import os
import time
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
from traitlets import Integer, Unicode

from graders import hidden_inputs
from graders.judge import CellVerdict, judge_cell, rewrite_outputs
from graders.sandbox import Sandbox, SandboxedKernelManager

#: Seconds between interrupts of a cell over its time that does not stop.
INTERRUPT_EVERY = 0.5

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
        info = (resources or {}).get("nbgrader")
        if info and _format_dest(self.parent, info) is not None:
            self._drop_linked_files(Path(filename).parent, info)
        try:
            if os.path.islink(filename):
                raise ValueError(
                    "the notebook is a symbolic link to another file on the grader's machine"
                )
            with open(filename, encoding="utf-8") as f:
                nb = nbformat.read(f, as_version=4)
            if not isinstance(nb.get("cells"), list):
                raise ValueError("it has no list of cells")
        except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same treatment
            if not info:
                raise
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]
            self.log.warning("Unreadable submission %s (%s); grading a stand-in", filename, reason)
            nb = stand_in_notebook(info["db_url"], info["assignment"], info["notebook"], reason)
        # As nbconvert's own from_filename: the kernel runs in the notebook's folder.
        resources = self._init_resources(resources)
        resources["metadata"]["name"] = os.path.splitext(os.path.basename(filename))[0]
        resources["metadata"]["path"] = os.path.dirname(os.path.abspath(filename))
        return self.from_notebook_node(nb, resources, **kw)

    def _drop_linked_files(self, submitted: Path, info: dict[str, Any]) -> None:
        """nbgrader copies a submission's other files with ``shutil.copy``, which follows
        symbolic links: a link to ``solutions/`` or the gradebook would reach the kernel as a
        plain file. Remove those copies (the submitted files stay as they are)."""
        dest = _format_dest(self.parent, info)
        if dest is None or Path(dest).resolve() == submitted.resolve():
            return
        for folder, dirs, files in os.walk(submitted):
            for name in [*files, *dirs]:
                path = Path(folder) / name
                if not path.is_symlink() or path.suffix == ".ipynb":
                    continue
                copy = Path(dest) / path.relative_to(submitted)
                if copy.is_file() or copy.is_symlink():
                    copy.unlink()
                self.log.warning("%s is a symbolic link: not given to the kernel", path)


def _format_dest(converter: Any, info: dict[str, Any]) -> str | None:
    """The folder nbgrader writes ``info``'s submission to, when converting one."""
    format_dest = getattr(converter, "_format_dest", None)
    if format_dest is None or not info.get("student") or not info.get("assignment"):
        return None
    return format_dest(info["assignment"], info["student"])


class RobustExecute(Execute):
    """nbgrader's Execute, in the sandbox and within limits; a dead or unresponsive kernel
    fails the cells that did not run.

    Limits (``c.RobustExecute.*``): ``timeout`` seconds per cell (the kernel is interrupted
    and the cell fails; later cells run), ``notebook_timeout`` seconds per notebook (cells
    after it are not run and fail), ``max_output_bytes`` of output per cell (past it the
    kernel is interrupted and further output of the cell is dropped).
    """

    notebook_timeout = Integer(
        900, help="Seconds a whole notebook may run; later cells are not run. -1: no limit."
    ).tag(config=True)
    max_output_bytes = Integer(
        16 * 1024 * 1024,
        help="Bytes of output kept per cell (text, images, records); past it the kernel is "
        "interrupted and the rest of the cell's output is dropped. -1: no limit.",
    ).tag(config=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sandbox = Sandbox(parent=self)
        if self.sandbox.enabled:
            self.kernel_manager_class = SandboxedKernelManager
        self._deadline: float | None = None
        self._output_sizes: dict[int, int] = {}
        self._running: str | None = None
        self._secret: int | None = None
        self._secret_given_to: Any = None  # the kernel client the secret was handed to

    def preprocess(self, nb: NotebookNode, resources: Any = None, km: Any = None):
        if not self.sandbox.enabled:
            self.log.warning(
                "Grading %s WITHOUT the sandbox (c.Sandbox.enabled = False): the student's "
                "code can read the solutions and the gradebook and use the network.",
                (resources or {}).get("nbgrader", {}).get("notebook", "a notebook"),
            )
        self._deadline = (
            time.monotonic() + self.notebook_timeout if self.notebook_timeout > 0 else None
        )
        self._output_sizes = {}
        self.timeout_func = self._cell_timeout
        info = (resources or {}).get("nbgrader", {})
        self._secret = None
        self._secret_given_to = None
        if info.get("db_url") and info.get("student") and info.get("assignment"):
            self._secret = hidden_inputs.secret_for(
                info["db_url"], info["assignment"], info["student"]
            )
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

    def process_message(self, msg: dict[str, Any], cell: NotebookNode, cell_index: int):
        # Which execution is running, for the interrupts after a timeout.
        parent = msg.get("parent_header", {}).get("msg_id")
        if msg.get("msg_type") == "execute_input":
            self._running = parent
        elif msg.get("msg_type") == "status" and msg["content"].get("execution_state") == "idle":
            if self._running == parent:
                self._running = None
        return super().process_message(msg, cell, cell_index)

    async def _async_handle_timeout(self, timeout: int, cell: NotebookNode | None = None):
        """A cell over its time: kill what it left running in the sandbox, interrupt the
        kernel as nbclient does, and again while the cell goes on (a KeyboardInterrupt can
        land where Python ignores it, such as in a fork handler)."""
        self._kill_strays()
        reply = await super()._async_handle_timeout(timeout, cell)
        if self.interrupt_on_timeout and self._running is not None:
            asyncio.ensure_future(self._interrupt_again(self._running))
        return reply

    def _kill_strays(self) -> None:
        if isinstance(self.km, SandboxedKernelManager):
            killed = self.km.kill_strays()
            if killed:
                self.log.warning("Killed %d processes left running by a timed-out cell", killed)

    async def _interrupt_again(self, execution: str) -> None:
        for _ in range(int(self.iopub_timeout / INTERRUPT_EVERY)):
            await asyncio.sleep(INTERRUPT_EVERY)
            if self._running != execution or self.km is None:
                return
            self._kill_strays()
            await _ensure_async(self.km.interrupt_kernel())

    def _cell_timeout(self, cell: NotebookNode) -> int | None:
        """Seconds for one cell: the per-cell limit, or what is left of the notebook's."""
        limits = [self.timeout] if self.timeout and self.timeout > 0 else []
        if self._deadline is not None:
            limits.append(max(1, math.ceil(self._deadline - time.monotonic())))
        return min(limits) if limits else None

    def _give_secret(self) -> None:
        """Hand the submission's secret to the kernel (the probes draw the hidden inputs from
        it): one silent line, before the notebook's first cell, in every new kernel. Nothing
        depends on it but the kernel's own records: without it they are refused."""
        if self._secret is None or self.kc is None or self._secret_given_to is self.kc:
            return
        self._secret_given_to = self.kc
        code = f"__import__('graders.probe').probe.use_secret({self._secret})"
        msg_id = self.kc.execute(code, silent=True, store_history=False, allow_stdin=False)
        reply = self.wait_for_reply(msg_id)
        if reply is None or reply.get("content", {}).get("status") != "ok":
            self.log.warning("The kernel did not take the hidden inputs' secret")

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int):
        self._give_secret()
        if (
            cell.cell_type == "code"
            and self._deadline is not None
            and time.monotonic() >= self._deadline
        ):
            problem = (
                f"The notebook ran longer than its limit of {self.notebook_timeout} s, so "
                "the cells after that were not run."
            )
            if problem not in resources.get(META_KEY, {}).get("problems", []):
                _add_problem(resources, problem)
                self.log.warning("Notebook time limit reached at cell %d", index)
            cell.outputs = []
            return cell, resources
        return super().preprocess_cell(cell, resources, index)

    def output(self, outs: list, msg: dict[str, Any], display_id: Any, cell_index: int):
        if self.max_output_bytes < 0:
            return super().output(outs, msg, display_id, cell_index)
        used = self._output_sizes.get(cell_index, 0)
        if used > self.max_output_bytes:
            return None  # already over: dropped
        size = len(json.dumps(msg.get("content", {}), default=str))
        self._output_sizes[cell_index] = used + size
        if used + size <= self.max_output_bytes:
            return super().output(outs, msg, display_id, cell_index)
        self.log.warning("Cell %d went over the output limit; interrupting", cell_index)
        note = nbformat.v4.new_output(
            "stream",
            name="stdout",
            text=f"\n[The output of this cell went over the limit of {self.max_output_bytes} "
            "bytes: the cell was interrupted and the rest of its output dropped.]\n",
        )
        outs.append(note)
        if self.km is not None:
            asyncio.ensure_future(_ensure_async(self.km.interrupt_kernel()))
        return None


async def _ensure_async(value: Any) -> Any:
    return await value if asyncio.iscoroutine(value) else value


class JudgeHiddenTests(NbGraderPreprocessor):
    """Decide every graded test cell from trusted computations; rewrite its outputs."""

    solutions_dir = Unicode(
        "", help="Folder holding <assignment>.py reference modules (default: <course>/solutions)"
    ).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]):
        info = resources["nbgrader"]
        assignment = info["assignment"]
        solutions = Path(self.solutions_dir or os.path.join(os.getcwd(), "solutions"))
        problems = list(nb.metadata.get(META_KEY, {}).get("problems", []))
        problems += resources.get(META_KEY, {}).get("problems", [])
        secret, missing = self._secret(info)
        for cell in nb.cells:
            if cell.cell_type != "code" or not is_grade(cell) or is_solution(cell):
                continue
            grade_id = cell.metadata["nbgrader"].get("grade_id", "?")
            outputs = [copy.deepcopy(dict(o)) for o in cell.get("outputs", [])]
            if missing:  # fail closed: no inputs to judge on
                verdict = CellVerdict(grade_id, results=[], problems=[missing])
            else:
                verdict = judge_cell(
                    grade_id, cell.source, outputs, assignment, solutions, problems, secret
                )
            cell.outputs = [nbformat.from_dict(o) for o in rewrite_outputs(outputs, verdict)]
            self.log.info("%s: %s", grade_id, "passed" if verdict.passed else "failed")
        return nb, resources

    def _secret(self, info: dict[str, Any]) -> tuple[int | None, str]:
        """The submission's secret kept in the gradebook, or why there is none."""
        try:
            secret = hidden_inputs.lookup(info["db_url"], info["assignment"], info["student"])
        except Exception as exc:  # noqa: BLE001 - fail closed, with the reason
            return None, f"The hidden inputs of this submission could not be read: {exc}"
        if secret is None:
            return None, (
                "No hidden inputs were drawn for this submission, so its hidden checks "
                "cannot be judged; grade it again."
            )
        return secret, ""
