"""Autograde a whole class in parallel: on this machine's cores, or on a Dask cluster.

The instructor's machine (the *client*) keeps the course folder and the one gradebook;
workers are stateless. Each task carries one student's submitted files and the secret of
the submission's hidden inputs (drawn and kept in the client's gradebook by
:mod:`graders.hidden_inputs`; the worker's copy of the gradebook keeps no secret). The course's
*grading kit* (``nbgrader_config.py``, ``solutions/``, the assignment's helper files from
``source/`` and a copy of the gradebook holding the assignments and no students) is sent
once to every worker.

A worker grades a submission in a private temporary course folder: nbgrader's autograde
with the course's own pipeline up to and including the judge (sanitize, execute in the
sandbox, judge), and sends back the judged notebooks. The client *lands* each one: nbgrader's
autograde on the real course, whose execution stage is replaced by :class:`ReplayExecution`
(the worker's notebook, after checking that it is the same submission cell by cell), so that
the gradebook and ``autograded/`` get what sequential grading writes.

Resumable: a judged notebook is staged under ``.dlgrade/staging`` before it is landed, and
every landed submission is recorded with the digest of its submitted files, so a new run
lands what is staged and grades only what is missing or changed. A worker that dies has its
tasks run again on another (Dask's scheduler does this); a task whose workers keep dying
fails alone, with a message, and the rest of the class is graded.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import resource
import shutil
import socket
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from graders import course, hidden_inputs, submissions, warm
from graders.course import CourseError, GradeResult

log = logging.getLogger("dlgrade.parallel")

#: Under the course root: judged notebooks waiting to be landed, and the landed digests.
STATE_DIR = ".dlgrade"


# ---------------------------------------------------------------------------- submissions


@dataclass
class Task:
    """One student's submission of one assignment, as plain data a worker can grade: the
    files :func:`graders.submissions.scan` keeps (read when the task is sent, one
    submission at a time), and notes on those it left out."""

    assignment: str
    student: str
    files: dict[str, bytes]  # relative path -> content (regular files)
    digest: str
    notebook_links: list[str] = field(default_factory=list)  # graded as unreadable
    notes: list[str] = field(default_factory=list)  # files left out, for the feedback
    secret: int | None = None  # of the hidden inputs, kept in the client's gradebook
    secret_version: str = ""  # the submission's version the secret was drawn for


@dataclass
class Executed:
    """What a worker sends back for one task."""

    student: str
    digest: str
    ok: bool
    notebooks: dict[str, str] = field(default_factory=dict)  # file name -> judged notebook
    error: str = ""
    seconds: float = 0.0
    worker: str = ""
    worker_peak_mb: float = 0.0  # the worker process's peak resident memory
    kernel_peak_mb: float = 0.0  # the largest finished child's (the kernel's) peak
    server_mb: float = 0.0  # the warm-kernel server's resident memory (shared with kernels)


def _folder(root: Path, assignment: str, student: str) -> Path:
    return Path(root) / "submitted" / student / assignment


def submission_digest(intake: submissions.Intake) -> str:
    """The digest of what is graded of a submission: the kept files' contents (read in
    chunks), the notebooks that are links, and the notes on the files left out."""
    digest = hashlib.sha256()
    for rel, _ in intake.files:
        file_digest = hashlib.sha256()
        with open(intake.folder / rel, "rb") as f:
            while chunk := f.read(1 << 20):
                file_digest.update(chunk)
        digest.update(b"F" + os.fsencode(rel) + b"\0" + file_digest.digest())
    for rel in intake.notebook_links:
        digest.update(b"L" + os.fsencode(rel) + b"\0")
    for rel, note in intake.left_out:
        digest.update(b"X" + os.fsencode(rel) + b"\0" + note.encode() + b"\0")
    return digest.hexdigest()


def scan_submission(
    root: Path, assignment: str, student: str, bounds: submissions.FileLimits | None = None
) -> tuple[submissions.Intake, str]:
    """``submitted/<student>/<assignment>/`` sorted by :func:`graders.submissions.scan`,
    and its digest; nothing is kept in memory. OSError when it cannot be read."""
    intake = submissions.scan(_folder(root, assignment, student), bounds)
    return intake, submission_digest(intake)


def read_submission(
    root: Path, assignment: str, student: str, bounds: submissions.FileLimits | None = None
) -> Task:
    """``submitted/<student>/<assignment>/`` as a :class:`Task`: its kept files' contents
    (links, pipes, devices, sockets and files over the limits are left out, with a note;
    a notebook that is a link is sent as a link to nothing). ValueError when the whole
    submission cannot be graded; OSError when it cannot be read."""
    intake = submissions.scan(_folder(root, assignment, student), bounds)
    if intake.error:
        raise ValueError(intake.error)
    files = {rel: (intake.folder / rel).read_bytes() for rel, _ in intake.files}
    digest = submission_digest(intake)
    return Task(assignment, student, files, digest, intake.notebook_links, intake.notes)


def _write_submission(task: Task, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    base = folder.resolve()
    for rel in [*task.files, *task.notebook_links]:
        path = (folder / rel).resolve() if not os.path.isabs(rel) else Path("/")
        if base not in path.parents:
            raise ValueError(
                f"a submitted path leaves the submission folder: {submissions.printable(rel)!r}"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        if rel in task.files:
            path.write_bytes(task.files[rel])
        else:  # graded as a notebook that is a link, pointing nowhere
            path.symlink_to(LINK_REMOVED)


#: Where a notebook that was submitted as a link points on a worker (nothing there).
LINK_REMOVED = ".dlgrade-link-target-removed"


# ---------------------------------------------------------------------------- state


def _state(root: Path, *parts: str) -> Path:
    return Path(root) / STATE_DIR / Path(*parts)


def landed_digest(root: Path, assignment: str, student: str) -> str | None:
    """The digest of the submission last landed for this student, if recorded."""
    path = _state(root, "landed", assignment, f"{student}.json")
    try:
        return json.loads(path.read_text())["digest"]
    except (OSError, ValueError, KeyError):
        return None


def record_landed(root: Path, assignment: str, student: str, digest: str) -> None:
    """Record (atomically) that the submission with ``digest`` is in the gradebook."""
    path = _state(root, "landed", assignment, f"{student}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps({"digest": digest, "landed": time.time()}))
    os.replace(tmp, path)


def is_up_to_date(root: Path, assignment: str, student: str, digest: str) -> bool:
    """Whether this exact submission is already graded: the recorded digest matches and
    the autograded notebooks are there. Without a record (graded by plain nbgrader), every
    autograded notebook must be newer than every submitted file."""
    graded = list((Path(root) / "autograded" / student / assignment).glob("*.ipynb"))
    if not graded:
        return False
    recorded = landed_digest(root, assignment, student)
    if recorded is not None:
        return recorded == digest
    return course._is_up_to_date(Path(root), assignment, student)


def _staging(root: Path, assignment: str, student: str) -> Path:
    return _state(root, "staging", assignment, student)


def stage(root: Path, assignment: str, executed: Executed) -> Path:
    """Keep a worker's judged notebooks on the instructor's disk until they are landed."""
    folder = _staging(root, assignment, executed.student)
    tmp = folder.with_name(f".{folder.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name, text in executed.notebooks.items():
        (tmp / Path(name).name).write_text(text, encoding="utf-8")
    (tmp / "digest").write_text(executed.digest)
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)
    return folder


def staged_digest(root: Path, assignment: str, student: str) -> str | None:
    try:
        return (_staging(root, assignment, student) / "digest").read_text().strip()
    except OSError:
        return None


# ---------------------------------------------------------------------------- the pipeline


class ReplayExecution(NbGraderPreprocessor):
    """Stands in for the execution stage (execute and judge) when landing a worker's
    result: returns the judged notebook staged for this submission, after checking that
    it has the same cells (type, source, grading metadata) as the one just sanitized."""

    staging_dir = Unicode("", help="Folder of staged notebooks (<assignment>/<student>/)").tag(
        config=True
    )

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]):
        info = resources["nbgrader"]
        path = Path(self.staging_dir, info["assignment"], info["student"])
        path = path / f"{info['notebook']}.ipynb"
        if not path.is_file():
            raise RuntimeError(f"no judged notebook from a worker at {path}")
        judged = nbformat.read(path, as_version=4)
        mismatch = _first_difference(nb, judged)
        if mismatch is not None:
            raise RuntimeError(
                f"the judged notebook from the worker does not match the submission "
                f"({mismatch}); grade it again"
            )
        return judged, resources


def _first_difference(a: NotebookNode, b: NotebookNode) -> str | None:
    """Where the judged notebook ``b`` differs from the sanitized ``a`` (the note that the
    execution stage puts at the top of ``b`` on the files left out is no difference)."""
    cells = [c for c in b.cells if submissions.FILES_NOTE_TAG not in c.metadata.get("tags", [])]
    if len(a.cells) != len(cells):
        return f"{len(a.cells)} cells against {len(cells)}"
    for i, (x, y) in enumerate(zip(a.cells, cells, strict=True)):
        same = (
            x.cell_type == y.cell_type
            and x.source == y.source
            and x.metadata.get("nbgrader") == y.metadata.get("nbgrader")
        )
        if not same:
            return f"cell {i}"
    return None


def split_pipeline(preprocessors: list[Any]) -> tuple[list[Any], list[Any]]:
    """The course's ``autograde_preprocessors`` cut after the judge: (what a worker runs,
    what the client runs after it)."""
    from graders.nbgrader_plugins import JudgeHiddenTests

    for i, pp in enumerate(preprocessors):
        if isinstance(pp, type) and issubclass(pp, JudgeHiddenTests):
            return list(preprocessors[: i + 1]), list(preprocessors[i + 1 :])
    raise CourseError(
        "nbgrader_config.py's c.Autograde.autograde_preprocessors has no JudgeHiddenTests: "
        "parallel grading cuts the pipeline after it"
    )


def _api(config: Any):
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    course.ensure_tools_on_path()
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def _course_config(config_root: Path, course_root: Path) -> Any:
    config = course.load_config(config_root)
    config.CourseDirectory.root = str(course_root)
    config.CourseDirectory.db_url = course.gradebook_url(course_root)
    return config


def land(root: Path, assignment: str, student: str) -> dict[str, Any]:
    """Land the staged judged notebooks of one submission: nbgrader's autograde on the
    course, with the execution stage replaced by :class:`ReplayExecution`. Returns
    nbgrader's outcome (``success``, ``log``, ``error``)."""
    root = Path(root).resolve()
    config = _course_config(root, root)
    _, rest = split_pipeline(list(config.Autograde.autograde_preprocessors))
    config.Autograde.autograde_preprocessors = [ReplayExecution, *rest]
    config.Autograde.pre_convert_hook = None  # nothing runs here: no sandbox needed
    config.ReplayExecution.staging_dir = str(_state(root, "staging"))
    return _api(config).autograde(assignment, student, force=True, create=True)


# ---------------------------------------------------------------------------- the kit


def build_kit(root: Path, assignment: str) -> bytes:
    """What a worker needs to grade ``assignment``, as one gzipped tar: the course's
    nbgrader_config.py, solutions/, the assignment's helper files and a copy of the
    gradebook without students."""
    from nbgrader.api import Gradebook

    root = Path(root).resolve()
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="dlgrade-kit-") as tmp:
        skeleton = Path(tmp) / "gradebook.db"
        shutil.copy2(root / "gradebook.db", skeleton)
        with Gradebook(course.sqlite_url(skeleton)) as gb:
            for student in list(gb.students):
                gb.remove_student(student.id)
        hidden_inputs.forget_all(course.sqlite_url(skeleton))
        skip = ("__pycache__", ".ipynb_checkpoints")
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:

            def add(path: Path, name: str) -> None:
                info = tar.gettarinfo(str(path), arcname=name)
                info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
                with open(path, "rb") as f:
                    tar.addfile(info, f)

            add(root / "nbgrader_config.py", "nbgrader_config.py")
            add(skeleton, "gradebook.db")
            for folder, keep in (
                (root / "solutions", lambda p: True),
                (root / "source" / assignment, lambda p: p.suffix != ".ipynb"),
            ):
                for path in sorted(folder.rglob("*")):
                    if path.is_file() and not path.is_symlink() and keep(path):
                        if not any(part in skip for part in path.parts):
                            add(path, str(path.relative_to(root)))
            (Path(tmp) / "source" / assignment).mkdir(parents=True)
            tar.add(str(Path(tmp) / "source"), arcname="source", recursive=True)
    return buffer.getvalue()


_KITS: dict[str, Path] = {}
_KIT_LOCK = threading.Lock()


def materialize_kit(kit: bytes) -> Path:
    """The kit unpacked in this machine's temporary folder (once per kit and process)."""
    digest = hashlib.sha256(kit).hexdigest()[:16]
    with _KIT_LOCK:
        if digest in _KITS and _KITS[digest].is_dir():
            return _KITS[digest]
        target = Path(tempfile.gettempdir()) / f"dlgrade-kit-{os.getuid()}-{digest}"
        if not (target / ".complete").is_file():
            tmp = Path(tempfile.mkdtemp(prefix=f"dlgrade-kit-{digest}-"))
            with tarfile.open(fileobj=io.BytesIO(kit), mode="r:gz") as tar:
                tar.extractall(tmp, filter="data")
            (tmp / ".complete").write_text("")
            try:
                os.rename(tmp, target)
            except OSError:  # another worker on this machine unpacked it first
                shutil.rmtree(tmp, ignore_errors=True)
        _KITS[digest] = target
        return target


# ---------------------------------------------------------------------------- the worker


def execute_submission(kit: bytes, task: Task, sandbox: bool = True) -> Executed:
    """On a worker: grade ``task`` in a private temporary course, up to and including the
    judge, and return the judged notebooks, on the hidden inputs of ``task.secret`` (which
    the client keeps; a task without one is refused). Never raises: a failure is in the
    result."""
    start = time.monotonic()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    if task.secret is None:
        error = "the task came without the secret of its hidden inputs"
        return _executed(task, start, worker, ok=False, error=error)
    try:
        kit_dir = materialize_kit(kit)
        with tempfile.TemporaryDirectory(prefix="dlgrade-task-") as tmp:
            root = Path(tmp)
            shutil.copy2(kit_dir / "gradebook.db", root / "gradebook.db")
            db_url = course.gradebook_url(root)
            hidden_inputs.store(
                db_url, task.assignment, task.student, task.secret, task.secret_version
            )
            for name in ("source", "solutions"):
                (root / name).symlink_to(kit_dir / name)
            _write_submission(task, root / "submitted" / task.student / task.assignment)
            config = _course_config(kit_dir, root)
            stage_pps, _ = split_pipeline(list(config.Autograde.autograde_preprocessors))
            config.Autograde.autograde_preprocessors = stage_pps
            config.RobustExecute.submission_notes = list(task.notes)
            if not sandbox:
                config.Sandbox.enabled = False
                config.Autograde.pre_convert_hook = None
            elif "warm_kernels" not in config.Sandbox:  # unless the course says otherwise
                config.Sandbox.warm_kernels = True
            try:
                outcome = _api(config).autograde(
                    task.assignment, task.student, force=True, create=True
                )
            except SystemExit as exc:  # the sandbox cannot start on this worker
                return _executed(task, start, worker, ok=False, error=str(exc))
            done = root / "autograded" / task.student / task.assignment
            notebooks = {p.name: p.read_text(encoding="utf-8") for p in done.glob("*.ipynb")}
        error = "" if outcome["success"] else course._last_error(outcome)
        return _executed(task, start, worker, ok=bool(outcome["success"]), error=error,
                         notebooks=notebooks)  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - reported to the client, never lost
        return _executed(task, start, worker, ok=False, error=f"{type(exc).__name__}: {exc}")


def _executed(task: Task, start: float, worker: str, **kw: Any) -> Executed:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    kids = max(kids, warm.peak_kb() / 1024)  # warm kernels are the fork server's children
    return Executed(
        task.student,
        task.digest,
        seconds=time.monotonic() - start,
        worker=worker,
        worker_peak_mb=own,
        kernel_peak_mb=kids,
        server_mb=warm.server_rss_kb() / 1024,
        **kw,
    )


def worker_sandbox_problem(settings: dict[str, Any] | None) -> str | None:
    """On a worker: None when a sandboxed kernel can start there with the course's
    ``c.Sandbox`` settings (None: grading without the sandbox), else why not."""
    if settings is None:
        return None
    from traitlets.config import Config

    from graders import sandbox as box

    return box.problem(box.Sandbox(config=Config({"Sandbox": settings})))


# ---------------------------------------------------------------------------- the client


@contextlib.contextmanager
def dask_client(workers: int | None = None, scheduler: str | None = None) -> Iterator[Any]:
    """A Dask client: connected to ``scheduler`` when given, else to a LocalCluster of
    ``workers`` single-threaded worker processes on this machine (default: one per core)."""
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler, timeout="30s") as client:
            yield client
        return
    n = workers or os.cpu_count() or 1
    with (
        LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            memory_limit=0,  # kernels are the workers' children: limits are the sandbox's
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def autograde_parallel(
    root: Path,
    assignment: str,
    students: Iterable[str] | None = None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    client: Any = None,
    force: bool = False,
    progress: bool = True,
    sandbox: bool | None = None,
    on_landed: Callable[[GradeResult], None] | None = None,
) -> list[GradeResult]:
    """Autograde ``assignment`` on Dask workers and land every grade in the course's one
    gradebook; the same scores as :func:`graders.course.autograde`.

    ``client``: a ``distributed.Client`` to use; else one to ``scheduler``, else a
    LocalCluster of ``workers`` processes. Submissions already graded (same files) are
    skipped unless ``force``; judged notebooks staged by an interrupted run are landed
    without grading them again. ``on_landed`` is called after each submission lands.
    """
    root = Path(root).resolve()
    config = course.load_config(root)
    if not (root / "gradebook.db").exists() or not (root / "release" / assignment).is_dir():
        raise CourseError(f"{assignment} has not been released yet: run `dlgrade release` first")
    use_sandbox = sandbox is not False and bool(config.Sandbox.get("enabled", True))
    names = list(students) if students is not None else course.submitted_students(root, assignment)
    bounds = submissions.limits(config)
    results: dict[str, GradeResult] = {}
    refused: list[GradeResult] = []
    pending: list[tuple[str, str]] = []  # (student, digest) to grade on a worker
    staged: list[str] = []
    for student in names:
        try:
            intake, digest = scan_submission(root, assignment, student, bounds)
        except OSError as exc:
            refused.append(_refused(student, assignment, f"its files cannot be read ({exc})"))
            continue
        if intake.error:
            refused.append(_refused(student, assignment, intake.error))
        elif not force and is_up_to_date(root, assignment, student, digest):
            scores = course.cell_scores(root, assignment, student)
            results[student] = GradeResult(
                student, assignment, ok=True, skipped=True, scores=scores
            )
        elif staged_digest(root, assignment, student) == digest:
            staged.append(student)
        else:
            pending.append((student, digest))

    total = len(pending) + len(staged) + len(refused)
    bar = _Progress(total, f"autograde {assignment}", progress)
    for result in refused:
        log.error("Not graded: %s/%s: %s", result.student, assignment, result.error)
        results[result.student] = result
        bar.update(result)

    sending: dict[str, float] = {}  # seconds the client spent reading and sending each

    def finish(student: str, digest: str, executed: Executed | None, via: str) -> None:
        start = time.perf_counter()
        result = _land_one(root, assignment, student, digest, executed, via, use_sandbox)
        result.client_seconds = sending.get(student, 0.0) + time.perf_counter() - start
        results[student] = result
        bar.update(result)
        if on_landed is not None:
            on_landed(result)

    for student in staged:
        finish(student, staged_digest(root, assignment, student) or "", None, "staging")
    if pending:
        with contextlib.ExitStack() as stack:
            if client is None:
                client = stack.enter_context(dask_client(workers, scheduler))
            settings = dict(config.Sandbox) if use_sandbox else None
            _require_sandbox_on_workers(client, settings)
            kit = client.scatter(build_kit(root, assignment), broadcast=True, hash=False)

            db_url = course.gradebook_url(root)

            def send(student: str) -> Any:
                start = time.perf_counter()
                try:
                    return _send(student)
                finally:
                    sending[student] = time.perf_counter() - start

            def _send(student: str) -> Any:
                task = read_submission(root, assignment, student, bounds)
                task.secret_version = hidden_inputs.submission_version(
                    _folder(root, assignment, student)
                )
                task.secret = hidden_inputs.secret_for(
                    db_url, assignment, student, task.secret_version
                )
                return client.submit(
                    execute_submission,
                    kit,
                    task,
                    use_sandbox,
                    key=f"grade-{assignment}-{student}-{task.digest[:12]}",
                    pure=False,
                )

            window = max(2, 2 * sum(client.nthreads().values()))
            _stream(pending, send, finish, window)
    bar.close()
    return [results[s] for s in names if s in results]


def _refused(student: str, assignment: str, why: str) -> GradeResult:
    return GradeResult(
        student, assignment, ok=False, error=f"the submission was not graded: {why}"[:500]
    )


def _stream(
    pending: list[tuple[str, str]],
    send: Callable[[str], Any],
    finish: Callable[[str, str, Executed | None, str], None],
    window: int,
) -> None:
    """Send submissions to the workers, at most ``window`` at a time (each is read from
    disk when it is sent, so the client never holds the whole class), and land every
    result as it arrives; a submission that cannot be read, or whose workers kept dying,
    fails alone."""
    from distributed import as_completed

    queue = iter(pending)
    running: dict[Any, tuple[str, str]] = {}
    arrived = as_completed()

    def send_next() -> None:
        for student, digest in queue:
            try:
                future = send(student)
            except (OSError, ValueError) as exc:
                why = f"its files cannot be read ({type(exc).__name__}: {exc})"[:500]
                finish(student, digest, Executed(student, digest, ok=False, error=why), "client")
                continue
            running[future] = (student, digest)
            arrived.add(future)
            return

    try:
        for _ in range(window):
            send_next()
        for future in arrived:
            student, digest = running.pop(future)
            try:
                executed = future.result()
            except Exception as exc:  # noqa: BLE001 - KilledWorker, lost data, cancelled
                executed = Executed(
                    student,
                    digest,
                    ok=False,
                    error=f"the workers grading it failed ({type(exc).__name__}: {exc})"[:500],
                )
            finish(student, executed.digest, executed, executed.worker or "worker")
            send_next()
    finally:
        for future in running:  # interrupted: what is not landed is graded next time
            future.cancel()


def _land_one(
    root: Path,
    assignment: str,
    student: str,
    digest: str,
    executed: Executed | None,
    via: str,
    sandbox: bool,
) -> GradeResult:
    """Stage a worker's result (if any), land what is staged, record it."""
    if executed is not None and not executed.ok and not executed.notebooks:
        return GradeResult(student, assignment, ok=False, error=executed.error, via=via)
    if executed is not None:
        stage(root, assignment, executed)
    if not sandbox:
        log.warning(
            "Graded %s/%s WITHOUT the sandbox: the student's code could read the solutions "
            "and the gradebook and use the network.",
            student,
            assignment,
        )
    outcome = land(root, assignment, student)
    ok = bool(outcome["success"]) and (executed is None or executed.ok)
    error = ""
    if not outcome["success"]:
        error = course._last_error(outcome)
    elif executed is not None and not executed.ok:
        error = executed.error
    if outcome["success"]:
        record_landed(root, assignment, student, digest)
        shutil.rmtree(_staging(root, assignment, student), ignore_errors=True)
    scores = course.cell_scores(root, assignment, student)
    return GradeResult(
        student,
        assignment,
        ok=ok,
        error=error,
        scores=scores,
        via=via,
        seconds=executed.seconds if executed is not None else 0.0,
        worker_peak_mb=executed.worker_peak_mb if executed is not None else 0.0,
        kernel_peak_mb=executed.kernel_peak_mb if executed is not None else 0.0,
        server_mb=executed.server_mb if executed is not None else 0.0,
    )


def _require_sandbox_on_workers(client: Any, settings: dict[str, Any] | None) -> None:
    """Stop before grading when a worker cannot start sandboxed kernels."""
    problems = client.run(worker_sandbox_problem, settings)
    bad = {worker: why for worker, why in problems.items() if why}
    if bad:
        from graders.sandbox import fix_for

        lines = "\n".join(f"  {worker}: {why}" for worker, why in sorted(bad.items()))
        fixes = "\n".join(dict.fromkeys(fix_for(why) for _, why in sorted(bad.items())))
        raise CourseError(
            "Autograding stopped: the sandbox for students' kernels cannot start on "
            f"{len(bad)} of {len(problems)} workers:\n{lines}\n{fixes}"
        )


class _Progress:
    """A progress bar of submissions: done, failed and remaining, with the time left."""

    def __init__(self, total: int, desc: str, enabled: bool) -> None:
        from tqdm import tqdm

        self.done = self.failed = 0
        self.total = total
        self.bar = tqdm(total=total, desc=desc, unit="nb", disable=not enabled or not total)
        self._show()

    def _show(self) -> None:
        left = self.total - self.done - self.failed
        self.bar.set_postfix_str(f"done {self.done}, failed {self.failed}, remaining {left}")

    def update(self, result: GradeResult) -> None:
        if result.ok:
            self.done += 1
        else:
            self.failed += 1
        self._show()
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()
