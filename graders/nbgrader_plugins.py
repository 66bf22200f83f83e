"""Wiring of the trusted judge into nbgrader's autograde pipeline.

Registered in ``nbgrader_config.py``, so plain ``nbgrader autograde`` uses them:

- :class:`TolerantNotebookExporter` reads a submission that is not a valid notebook (not
  JSON, not a notebook, unreadable bytes, JSON whose cells or metadata have the wrong shape,
  or a notebook that nbgrader's own sanitizing steps cannot process) as a stand-in notebook
  holding only the graded test cells and a note, so every graded cell fails with a clear
  message and the rest of the class is graded. The submitted file itself is never changed.
- :class:`RobustExecute` runs the notebook like nbgrader's ``Execute``, with the kernel in
  the sandbox (:mod:`graders.sandbox`) and limits on time per cell, time per notebook and
  output per cell; a kernel that dies or hangs fails the cells that did not run instead of
  aborting the whole submission. Before the notebook's first cell it hands the kernel the
  submission's secret (:mod:`graders.hidden_inputs`, drawn and kept in the gradebook), from
  which the probes draw the hidden inputs.
- :class:`JudgeHiddenTests` decides every graded test cell on the trusted side
  (:mod:`graders.judge`), on the inputs of the secret kept in the gradebook, and rewrites
  its outputs before ``SaveAutoGrades`` reads them, within a time limit per notebook
  (``c.JudgeHiddenTests.timeout``); whatever a cell's outputs hold, it gets a verdict with a
  message.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import nbformat
import zmq
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync
from nbconvert.exporters import NotebookExporter
from nbformat.notebooknode import NotebookNode
from nbgrader.api import Gradebook
from nbgrader.nbgraderformat import MetadataValidator
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from nbgrader.preprocessors.execute import UnresponsiveKernelError
from nbgrader.utils import is_grade, is_solution
from sqlalchemy.exc import SQLAlchemyError
from traitlets import Float, Integer, List, Unicode
from zmq.utils.monitor import parse_monitor_message

from graders import hidden_inputs, submissions
from graders.judge import CellVerdict, judge_cell, nesting_exceeds, rewrite_outputs
from graders.sandbox import Sandbox, SandboxedKernelManager

#: Seconds between interrupts of a cell over its time that does not stop.
INTERRUPT_EVERY = 0.5

#: Key under ``resources`` and notebook metadata where notebook-level problems are kept.
META_KEY = "dlgrade"
#: Levels of nesting a submitted notebook, or one output of a cell, may have (widget state
#: and rich outputs need a few dozen; deeper structures break JSON readers and writers).
MAX_NESTING = 100
_CELL_TYPES = ("code", "markdown", "raw")
_NBGRADER_FLAGS = ("grade", "solution", "locked", "task")


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


def _is_text(value: Any) -> bool:
    """A cell source or output text: a string, or a list of strings."""
    return isinstance(value, str) or (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
    )


def _cell_shape_problem(cell: Any) -> str | None:
    """What is wrong with the shape of one cell, or None (see :func:`notebook_shape_problem`)."""
    if not isinstance(cell, dict):
        return f"it is a {type(cell).__name__}, not a cell"
    if cell.get("cell_type") not in _CELL_TYPES:
        return f"its cell_type is {str(cell.get('cell_type'))[:40]!r}"
    if not _is_text(cell.get("source", "")):
        return "its source is neither text nor a list of lines"
    if "id" in cell and not isinstance(cell["id"], str):
        return "its id is not a string"
    meta = cell.get("metadata", {})
    if not isinstance(meta, dict):
        return "its metadata is not an object"
    if "tags" in meta and not (
        isinstance(meta["tags"], list) and all(isinstance(t, str) for t in meta["tags"])
    ):
        return "its tags are not a list of strings"
    grading = meta.get("nbgrader", {})
    if not isinstance(grading, dict):
        return "its grading metadata (nbgrader) is not an object"
    if "grade_id" in grading and not isinstance(grading["grade_id"], str):
        return "its grade id is not a string"
    if any(k in grading and not isinstance(grading[k], bool) for k in _NBGRADER_FLAGS):
        return "its grading flags (grade, solution, locked, task) are not true or false"
    points = grading.get("points", 0)
    if isinstance(points, bool) or not isinstance(points, (int, float, str)):
        return "its points are not a number"
    if any(k in grading and not isinstance(grading[k], str) for k in ("checksum", "cell_type")):
        return "its grading metadata has a checksum or cell type that is not a string"
    if "attachments" in cell and not isinstance(cell["attachments"], dict):
        return "its attachments are not an object"
    if cell["cell_type"] == "code":
        count = cell.get("execution_count")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
            return "its execution count is not a number"
        outputs = cell.get("outputs", [])
        if not isinstance(outputs, list) or not all(isinstance(o, dict) for o in outputs):
            return "its outputs are not a list of outputs"
    return None


def notebook_shape_problem(nb: Any) -> str | None:
    """What keeps ``nb`` (a notebook read as nbformat 4) from being graded, or None.

    Checks, before any grading step reads it, the shapes that nbgrader's sanitizing steps,
    :class:`graders.intake.RepairGradingMetadata` and the judge rely on: the notebook, its
    metadata and every cell are objects; ``cells`` is a list; a cell's type is code, markdown
    or raw, its source text, its metadata an object whose grading metadata (``nbgrader``), when
    present, is an object with a string grade id, true-or-false flags and numeric points; a
    code cell's outputs are a list of objects; nothing is nested deeper than
    :data:`MAX_NESTING` levels. The cost is linear in the notebook's size.
    """
    if not isinstance(nb, dict):
        return f"it is a {type(nb).__name__}, not a notebook"
    if nesting_exceeds(nb, MAX_NESTING):
        return f"it is nested more than {MAX_NESTING} levels deep"
    minor = nb.get("nbformat_minor", 0)
    if nb.get("nbformat") != 4 or isinstance(minor, bool) or not isinstance(minor, int):
        return "its nbformat version is not 4.x"
    metadata = nb.get("metadata", {})
    if not isinstance(metadata, dict):
        return "its metadata is not an object"
    for key in ("kernelspec", "language_info"):
        if key in metadata and not isinstance(metadata[key], dict):
            return f"its {key} metadata is not an object"
    cells = nb.get("cells")
    if not isinstance(cells, list):
        return "it has no list of cells"
    for i, cell in enumerate(cells):
        problem = _cell_shape_problem(cell)
        if problem is not None:
            return f"cell {i} is malformed: {problem}"
    return None


def read_submission(filename: str) -> NotebookNode:
    """A submitted notebook, read as nbformat 4; raises ValueError (or the reader's error)
    for anything that is not a notebook that can be graded.

    A UTF-8 byte order mark (written by some editors on Windows) is accepted.
    """
    if os.path.islink(filename):
        raise ValueError("the notebook is a symbolic link to another file on the grader's machine")
    with open(filename, encoding="utf-8-sig") as f:
        text = f.read()
    try:
        raw = json.loads(text)
    except RecursionError:
        raise ValueError(f"it is nested more than {MAX_NESTING} levels deep") from None
    # Checked as written first (nbformat's own reading fails on some shapes with errors
    # that do not say what is wrong), then as read.
    if isinstance(raw, dict) and raw.get("nbformat") == 4:
        problem = notebook_shape_problem(raw)
        if problem is not None:
            raise ValueError(f"it is not a valid notebook: {problem}")
    nb = nbformat.reads(text, as_version=4)
    problem = notebook_shape_problem(nb)
    if problem is not None:
        raise ValueError(f"it is not a valid notebook: {problem}")
    return nb


def _reason(exc: BaseException) -> str:
    """An exception's type and first line, for the note of a stand-in notebook."""
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]


class TolerantNotebookExporter(NotebookExporter):
    """nbconvert's notebook exporter, but an unreadable submission becomes a stand-in.

    A submission is unreadable when it is not a notebook (see :func:`read_submission`) or
    when nbgrader's sanitizing steps fail on it (a shape no check foresaw): either way, the
    stand-in (:func:`stand_in_notebook`) is graded in its place, with the reason in its note.
    """

    def from_filename(self, filename: str, resources: dict[str, Any] | None = None, **kw: Any):
        info = (resources or {}).get("nbgrader")
        if info and _format_dest(self.parent, info) is not None:
            self._drop_linked_files(Path(filename).parent, info)
        original = copy.deepcopy(resources)
        reason = None
        try:
            nb = read_submission(filename)
        except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same treatment
            if not info:
                raise
            reason = _reason(exc)
        if reason is None and info and getattr(self.parent, "_sanitizing", False) is True:
            # The student's file: only the trusted side writes this project's metadata.
            nb.metadata.pop(META_KEY, None)
            # nbgrader's sanitizing steps read the student's cells and metadata as they are;
            # what breaks them fails this submission only.
            try:
                return self._convert(nb, filename, resources, **kw)
            except (OSError, SQLAlchemyError):
                raise  # the grader's own files or gradebook: not the submission's fault
            except Exception as exc:  # noqa: BLE001 - as an unreadable file
                reason = f"its cells could not be prepared for grading ({_reason(exc)})"
                resources = copy.deepcopy(original)
        if reason is not None:
            self.log.warning("Unreadable submission %s (%s); grading a stand-in", filename, reason)
            nb = stand_in_notebook(info["db_url"], info["assignment"], info["notebook"], reason)
        return self._convert(nb, filename, resources, **kw)

    def _convert(
        self, nb: NotebookNode, filename: str, resources: dict[str, Any] | None, **kw: Any
    ):
        # As nbconvert's own from_filename: the kernel runs in the notebook's folder.
        resources = self._init_resources(resources)
        resources["metadata"]["name"] = os.path.splitext(os.path.basename(filename))[0]
        resources["metadata"]["path"] = os.path.dirname(os.path.abspath(filename))
        return self.from_notebook_node(nb, resources, **kw)

    def _drop_linked_files(self, submitted: Path, info: dict[str, Any]) -> None:
        """Before a submission is read: refuse it when a notebook is a pipe or a device
        (opening it would block, reading it would not end), and remove from the folder the
        kernel gets whatever :func:`graders.submissions.scan` leaves out (links, special
        files, files over the size limits), should nbgrader have copied it. nbgrader's
        own copy skips links and special files (``submissions.guard_nbgrader_copies``,
        called by nbgrader_config.py); the submitted files stay as they are."""
        intake = submissions.scan(submitted, submissions.limits(self.config))
        if intake.error:
            raise ValueError(f"the submission cannot be graded: {intake.error}")
        dest = _format_dest(self.parent, info)
        if dest is None or Path(dest).resolve() == submitted.resolve():
            return
        for rel, note in intake.left_out:
            copy = Path(dest) / rel
            if copy.is_file() or copy.is_symlink():
                copy.unlink()
            self.log.warning("%s", note)


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
    kernel is interrupted and further output of the cell is dropped),
    ``max_notebook_output_bytes`` per notebook (past it the cell fails and later output is
    dropped).

    Bounded before read: every socket of the kernel client refuses a message larger than
    ``max_message_bytes`` as it arrives (ZeroMQ's ``MAXMSGSIZE``: the connection is
    dropped, nothing is buffered or decoded). The cell that was running then fails with a
    message, and the notebook stops there. Smaller messages are kept within the per-cell
    and per-notebook limits (a flood of ``print`` reaches the grader as messages of what
    the kernel wrote in a fraction of a second: those are cut by the per-cell limit, and
    the notebook goes on).
    """

    notebook_timeout = Integer(
        900, help="Seconds a whole notebook may run; later cells are not run. -1: no limit."
    ).tag(config=True)
    max_output_bytes = Integer(
        16 * 1024 * 1024,
        help="Bytes of output kept per cell (text, images, records); past it the kernel is "
        "interrupted and the rest of the cell's output is dropped. -1: no limit.",
    ).tag(config=True)
    max_message_bytes = Integer(
        64 * 1024 * 1024,
        help="Bytes one message from the kernel may have (each part); a larger one is "
        "refused unread, the cell fails and the notebook stops. -1: no limit.",
    ).tag(config=True)
    max_notebook_output_bytes = Integer(
        64 * 1024 * 1024,
        help="Bytes of output kept per notebook; the cell that goes past it fails with a "
        "message, the kernel is interrupted and later output is dropped. -1: no limit.",
    ).tag(config=True)
    submission_notes = List(
        Unicode(),
        help="Notes on files of the submission that were left out, put at the top of the "
        "graded notebook with those found in the submitted folder (dlgrade's workers, which "
        "receive only the files kept, are given them here).",
    ).tag(config=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sandbox = Sandbox(parent=self)
        if self.sandbox.enabled:
            self.kernel_manager_class = SandboxedKernelManager
        self._deadline: float | None = None
        self._output_sizes: dict[int, int] = {}
        self._notebook_output = 0
        self._over_notebook_limit: int | None = None  # the cell that crossed it
        self._interrupted_cells: set[int] = set()  # cells interrupted for their output
        self._running: str | None = None
        self._cell_index = -1
        self._monitors: list[Any] = []
        self._dropped = False
        self._secret: int | None = None
        self._secret_given_to: Any = None  # the kernel client the secret was handed to

    def preprocess(self, nb: NotebookNode, resources: Any = None, km: Any = None):
        if not self.sandbox.enabled:
            self.log.warning(
                "Grading %s WITHOUT the sandbox (c.Sandbox.enabled = False): the student's "
                "code can read the solutions and the gradebook and use the network.",
                (resources or {}).get("nbgrader", {}).get("notebook", "a notebook"),
            )
        # The notebook's time starts with its first cell, not with the kernel's start (which
        # a busy grading machine slows down, through no fault of the student's).
        self._deadline = None
        self._output_sizes = {}
        self._notebook_output = 0
        self._over_notebook_limit = None
        self._interrupted_cells = set()
        self._cell_index = -1
        self._dropped = False
        self.timeout_func = self._cell_timeout
        info = (resources or {}).get("nbgrader", {})
        self._secret = None
        self._secret_given_to = None
        if info.get("db_url") and info.get("student") and info.get("assignment"):
            # The submission's version is its timestamp.txt, copied along with its files.
            folder = Path((resources or {}).get("metadata", {}).get("path") or ".")
            self._secret = hidden_inputs.secret_for(
                info["db_url"],
                info["assignment"],
                info["student"],
                hidden_inputs.submission_version(folder),
            )
        try:
            nb, resources = super().preprocess(nb, resources, km=km)
        except (DeadKernelError, UnresponsiveKernelError, CellTimeoutError) as exc:
            if not isinstance(exc, DeadKernelError) and self._refused():
                self._fail_refused(nb, resources)
            else:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                _add_problem(
                    resources,
                    f"The notebook stopped running ({type(exc).__name__}: {first[:200]}): "
                    "the kernel died or stopped answering, so later cells did not run.",
                )
                self.log.warning("Execution stopped early: %s", type(exc).__name__)
        except self.MessageRefused:
            self._fail_refused(nb, resources)
        finally:
            self._close_monitors()
        if self._over_notebook_limit is not None:
            _add_problem(
                resources,
                f"The notebook's output went over its limit of {self.max_notebook_output_bytes}"
                f" bytes in cell {self._over_notebook_limit}: later output was dropped.",
            )
        notes = [*self.submission_notes, *self._left_out(resources)]
        if notes:
            note = submissions.files_note(notes)
            if nb.get("nbformat_minor", 0) < 5:
                note.pop("id", None)
            nb.cells.insert(0, note)
        return nb, resources

    def _left_out(self, resources: Any) -> list[str]:
        """Notes on the files :func:`graders.submissions.scan` leaves out of the submitted
        folder this notebook comes from (when nbgrader's converter says which it is)."""
        info = (resources or {}).get("nbgrader", {})
        coursedir = getattr(getattr(self.parent, "parent", None), "coursedir", None)
        if coursedir is None or not info.get("student") or not info.get("assignment"):
            return []
        folder = coursedir.format_path(
            coursedir.submitted_directory, info["student"], info["assignment"]
        )
        if not os.path.isdir(folder):
            return []
        try:
            return submissions.scan(Path(folder), submissions.limits(self.config)).notes
        except OSError as exc:
            return [f"The submission's files could not all be listed ({exc})."]

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
        if cell.cell_type == "code" and self._deadline is None and self.notebook_timeout > 0:
            self._deadline = time.monotonic() + self.notebook_timeout
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
        self._cell_index = index
        cell, resources = super().preprocess_cell(cell, resources, index)
        if self._refused():
            raise self.MessageRefused(index)
        return cell, resources

    # -------------------------------------------------------------------- bounded before read

    def message_limit(self) -> int | None:
        """Bytes a message from the kernel may have (each part), or None for no limit."""
        return self.max_message_bytes if self.max_message_bytes >= 0 else None

    def create_kernel_manager(self) -> Any:
        """The kernel manager, whose clients' sockets refuse messages over
        :meth:`message_limit` (set on the client's own ZeroMQ context before any socket of
        it is created, so before it connects)."""
        km = super().create_kernel_manager()
        limit = self.message_limit()
        if limit is not None:
            make_client = km.client

            def client(**kwargs: Any) -> Any:
                kc = make_client(**kwargs)
                kc.context.setsockopt(zmq.MAXMSGSIZE, limit)
                return kc

            km.client = client
        return km

    async def async_start_new_kernel_client(self) -> Any:
        kc = await super().async_start_new_kernel_client()
        self._close_monitors()
        if self.message_limit() is not None:
            context = zmq.Context.shadow(kc.context.underlying)  # read without an event loop
            for channel in (kc.iopub_channel, kc.shell_channel):
                address = f"inproc://dlgrade-monitor-{id(channel.socket)}"
                channel.socket.monitor(address, zmq.EVENT_DISCONNECTED)
                monitor = context.socket(zmq.PAIR)
                monitor.connect(address)
                self._monitors.append((channel.socket, monitor))
        return kc

    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    async def _async_cleanup_kernel(self) -> None:
        self._refused()  # what the monitors saw, kept
        self._close_monitors()  # before the client's context ends: it waits for its sockets
        await super()._async_cleanup_kernel()

    _cleanup_kernel = run_sync(_async_cleanup_kernel)

    def _refused(self) -> bool:
        """Whether a socket to the kernel dropped its connection since the kernel started
        while the kernel's process lived on: a message over the limit (a kernel that dies
        drops it too, and is told apart as a dead kernel)."""
        for _, monitor in self._monitors:
            while not monitor.closed and monitor.poll(0):
                event = parse_monitor_message(monitor.recv_multipart())
                if event["event"] == zmq.EVENT_DISCONNECTED and self._kernel_alive(self.km):
                    self._dropped = True
        return self._dropped

    def _fail_refused(self, nb: NotebookNode, resources: Any) -> None:
        limit = self.message_limit()
        text = (
            f"The kernel sent a message larger than the limit of {limit} bytes: the grader "
            "refused it unread and stopped running this notebook, so later cells did not run."
        )
        _add_problem(resources, text)
        self.log.warning("Cell %d: a message over %s bytes was refused", self._cell_index, limit)
        if 0 <= self._cell_index < len(nb.cells):
            cell = nb.cells[self._cell_index]
            cell.outputs.append(
                nbformat.v4.new_output(
                    "error",
                    ename="OutputRefused",
                    evalue=text,
                    traceback=[f"OutputRefused: {text}"],
                )
            )

    def _close_monitors(self) -> None:
        for socket, monitor in self._monitors:
            with contextlib.suppress(zmq.ZMQError):
                socket.disable_monitor()
            monitor.close(linger=0)
        self._monitors = []

    def output(self, outs: list, msg: dict[str, Any], display_id: Any, cell_index: int):
        if nesting_exceeds(msg.get("content"), MAX_NESTING):
            # Copying or measuring it would recurse past Python's limit: a note instead.
            self.log.warning("Cell %d sent an output nested too deeply; replaced", cell_index)
            outs.append(
                nbformat.v4.new_output(
                    "stream",
                    name="stdout",
                    text=f"\n[An output of this cell was nested more than {MAX_NESTING} "
                    "levels deep: it was left out.]\n",
                )
            )
            return None
        per_cell, per_notebook = self.max_output_bytes, self.max_notebook_output_bytes
        if per_cell < 0 and per_notebook < 0:
            return super().output(outs, msg, display_id, cell_index)
        if self._over_notebook_limit is not None:
            if cell_index == self._over_notebook_limit:
                self._interrupt_once(cell_index)
            return None  # the notebook is over its limit: dropped
        used = self._output_sizes.get(cell_index, 0)
        if 0 <= per_cell < used:
            self._interrupt_once(cell_index)
            return None  # already over: dropped
        size = len(json.dumps(msg.get("content", {}), default=str))
        self._output_sizes[cell_index] = used + size
        self._notebook_output += size
        if 0 <= per_notebook < self._notebook_output:
            return self._over_notebook(outs, cell_index)
        if per_cell < 0 or used + size <= per_cell:
            return super().output(outs, msg, display_id, cell_index)
        self.log.warning("Cell %d went over the output limit", cell_index)
        note = nbformat.v4.new_output(
            "stream",
            name="stdout",
            text=f"\n[The output of this cell went over the limit of {self.max_output_bytes} "
            "bytes: the rest of its output was dropped (and the cell interrupted if it went "
            "on).]\n",
        )
        outs.append(note)
        return None

    def _interrupt_once(self, cell_index: int) -> None:
        """Interrupt the kernel for a cell that sends more output after going over a limit.

        Not at the message that crossed the limit: the cell may be done by then, and an
        interrupt that reaches the kernel outside the student's code (while it sends the
        cell's reply) loses the reply, so that the cell waits out its time limit. A cell
        still sending output is still running its code."""
        if cell_index in self._interrupted_cells or self.km is None:
            return
        self._interrupted_cells.add(cell_index)
        asyncio.ensure_future(_ensure_async(self.km.interrupt_kernel()))

    def _over_notebook(self, outs: list, cell_index: int) -> None:
        """The output of the notebook went over its limit in this cell: the cell fails, and
        every later output is dropped (the kernel is interrupted if the cell sends more)."""
        self._over_notebook_limit = cell_index
        self.log.warning("Cell %d went over the notebook's output limit", cell_index)
        text = (
            f"The notebook's output went over its limit of {self.max_notebook_output_bytes} "
            "bytes in this cell: later output was dropped (and the cell interrupted if it "
            "went on)."
        )
        outs.append(
            nbformat.v4.new_output(
                "error", ename="OutputLimitExceeded", evalue=text, traceback=[text]
            )
        )
        return None

    class MessageRefused(RuntimeError):
        """A message from the kernel went over the limit and was refused."""

    @staticmethod
    def _kernel_alive(km: Any) -> bool:
        """Whether the kernel's process (as its provisioner started it) is still running."""
        process = getattr(getattr(km, "provisioner", None), "process", None)
        return process is None or process.poll() is None


async def _ensure_async(value: Any) -> Any:
    return await value if asyncio.iscoroutine(value) else value


def _bounded_outputs(cell: NotebookNode) -> None:
    """Replace each output of a code cell nested deeper than :data:`MAX_NESTING` levels by a
    note (JSON readers and writers, and copying, recurse once per level)."""
    outputs = cell.get("outputs", [])
    if not isinstance(outputs, list):
        cell.outputs = []
        return
    for i, out in enumerate(outputs):
        if nesting_exceeds(out, MAX_NESTING):
            cell.outputs[i] = nbformat.v4.new_output(
                "stream",
                name="stdout",
                text=f"[An output nested more than {MAX_NESTING} levels deep was dropped.]\n",
            )


def _context_problems(nb: NotebookNode, resources: dict[str, Any]) -> list[str]:
    """Notebook-level problems (unreadable file, dead kernel, time limit) as a list of text."""
    found: list[str] = []
    for holder in (nb.metadata.get(META_KEY), resources.get(META_KEY)):
        problems = holder.get("problems") if isinstance(holder, dict) else None
        if isinstance(problems, list):
            found += [p[:300] for p in problems if isinstance(p, str)]
    return found


class JudgeHiddenTests(NbGraderPreprocessor):
    """Decide every graded test cell from trusted computations; rewrite its outputs.

    Fails closed in bounded time: every cell is judged inside the failure handling (a cell
    that cannot be judged fails with a message, the next cell is judged), outputs nested too
    deeply are dropped before anything reads them, and checks not reached within ``timeout``
    seconds of the notebook's start fail with a message saying the grader's time ran out.
    """

    solutions_dir = Unicode(
        "", help="Folder holding <assignment>.py reference modules (default: <course>/solutions)"
    ).tag(config=True)
    timeout = Float(
        300.0,
        help="Seconds the trusted side may spend judging one notebook; checks not judged in "
        "time fail with a message. 0 or less: no limit.",
    ).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]):
        info = resources["nbgrader"]
        assignment = info["assignment"]
        solutions = Path(self.solutions_dir or os.path.join(os.getcwd(), "solutions"))
        problems = _context_problems(nb, resources)
        deadline = time.monotonic() + self.timeout if self.timeout > 0 else None
        secret, missing = self._secret(info)
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            _bounded_outputs(cell)
            if not is_grade(cell) or is_solution(cell):
                continue
            grade_id = str(cell.metadata["nbgrader"].get("grade_id", "?"))[:200]
            try:
                outputs = [copy.deepcopy(dict(o)) for o in cell.get("outputs", [])]
                if missing:  # fail closed: no inputs to judge on
                    verdict = CellVerdict(grade_id, results=[], problems=[*problems, missing])
                else:
                    verdict = judge_cell(
                        grade_id, cell.source, outputs, assignment, solutions, problems,
                        secret=secret, deadline=deadline,
                    )  # fmt: skip
                rewritten = rewrite_outputs(outputs, verdict)
            except Exception as exc:  # noqa: BLE001 - the cell fails, the next one is judged
                problem = f"The grader could not judge this cell ({type(exc).__name__})."
                verdict = CellVerdict(grade_id, results=[], problems=[*problems, problem])
                rewritten = rewrite_outputs([], verdict)
            cell.outputs = [nbformat.from_dict(o) for o in rewritten]
            self.log.info("%s: %s", grade_id, "passed" if verdict.passed else "failed")
        if deadline is not None and time.monotonic() >= deadline:
            self.log.warning("Judging stopped at its time limit of %g s", self.timeout)
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


def check_metadata_with_one_validator() -> None:
    """Make nbgrader's check of grading metadata build its JSON-schema validator once.

    nbgrader checks every graded cell's metadata with ``jsonschema.validate(metadata,
    schema)``, which checks the schema itself before each cell: a tenth of a second per
    notebook, twice per notebook graded (when a submission is sanitised and after it is
    graded), on the instructor's machine for every submission landed. Called from the
    course's nbgrader_config.py, this gives nbgrader a ``validate`` that checks each schema
    once and raises the same error ``jsonschema.validate`` would (its best match).
    Idempotent."""
    import types

    import jsonschema
    from nbgrader.nbgraderformat import common

    if getattr(common.jsonschema, "dlgrade_cached", False):
        return
    built: dict[int, tuple[Any, Any]] = {}  # id(schema) -> (schema, validator)

    def validate(instance: Any, schema: Any) -> None:
        entry = built.get(id(schema))
        if entry is None or entry[0] is not schema:
            cls = jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            entry = built[id(schema)] = (schema, cls(schema))
        error = jsonschema.exceptions.best_match(entry[1].iter_errors(instance))
        if error is not None:
            raise error

    common.jsonschema = types.SimpleNamespace(validate=validate, dlgrade_cached=True)
