"""The instructor's course operations, thin over nbgrader's Python API.

Each function takes the course root (the folder holding ``nbgrader_config.py``) so that
tests and the demo can work on a copy of the course in a temporary folder.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader


class CourseError(RuntimeError):
    """An instructor-facing error, in plain words."""


@dataclass
class GradeResult:
    """The outcome of autograding one student's submission of one assignment."""

    student: str
    assignment: str
    ok: bool
    skipped: bool = False
    error: str = ""
    scores: dict[str, tuple[float, float]] = field(default_factory=dict)
    via: str = ""  # where it was graded: a worker, "staging" (landed after a restart)
    seconds: float = 0.0  # grading time on the worker
    worker_peak_mb: float = 0.0  # peak resident memory of the worker process so far
    kernel_peak_mb: float = 0.0  # and of its largest kernel so far
    server_mb: float = 0.0  # resident memory of the worker's warm-kernel server (shared)
    # Time the instructor's machine spent on it, one submission after another: reading and
    # sending it, and landing the judged notebooks in the gradebook (nbgrader's pipeline).
    client_seconds: float = 0.0


def ensure_tools_on_path() -> None:
    """nbgrader runs ``alembic`` and kernels by name: put this Python's bin folder first."""
    bindir = os.path.dirname(sys.executable)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != bindir:
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def run_nbgrader(
    course_dir: Path, *args: str, timeout: float | None = 3600
) -> subprocess.CompletedProcess:
    """Run nbgrader's own command line (``nbgrader <args>``) in ``course_dir`` and capture
    its output; a run over ``timeout`` seconds comes back with return code -9."""
    bindir = os.path.dirname(sys.executable)
    env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""))
    try:
        return subprocess.run(
            [os.path.join(bindir, "nbgrader"), *args],
            cwd=course_dir,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else exc.stderr or ""
        return subprocess.CompletedProcess(exc.cmd, -9, out, err + "\n(timed out)")


def sqlite_url(path: Path | str) -> str:
    """The SQLAlchemy URL of an SQLite database file (nbgrader's gradebook)."""
    return "sqlite:///" + str(path)


def gradebook_url(root: Path | str) -> str:
    """The URL of the course's gradebook, ``<root>/gradebook.db``."""
    return sqlite_url(Path(root) / "gradebook.db")


def load_config(root: Path) -> Config:
    """The course's nbgrader configuration, as nbgrader itself reads it in the course
    folder: the machine's and the user's ``nbgrader_config.py`` files on Jupyter's
    configuration path (a hub's exchange and course id, for example), then
    ``root/nbgrader_config.py``, which wins."""
    from jupyter_core.paths import jupyter_config_path

    root = Path(root).resolve()
    if not (root / "nbgrader_config.py").is_file():
        raise CourseError(f"{root} is not a course folder: nbgrader_config.py is missing")
    config = Config()
    for folder in reversed(jupyter_config_path()):  # lowest priority first
        if Path(folder, "nbgrader_config.py").is_file() and Path(folder) != root:
            config.merge(PyFileConfigLoader("nbgrader_config.py", path=folder).load_config())
    config.merge(PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config())
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.db_url = gradebook_url(root)
    return config


def api(root: Path, **overrides: Any):
    """An ``nbgrader.apps.NbGraderAPI`` for the course at ``root``."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    ensure_tools_on_path()
    config = load_config(root)
    for section, values in overrides.items():
        for key, value in values.items():
            config[section][key] = value
    coursedir = CourseDirectory(config=config)
    return NbGraderAPI(coursedir=coursedir, config=config)


def assignments_in(root: Path) -> list[str]:
    """Assignment ids found in ``root/source``."""
    source = Path(root) / "source"
    return sorted(p.name for p in source.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def choose_assignments(root: Path, names: Iterable[str] | None = None) -> list[str]:
    """The course's assignment ids in order, or only those in ``names``; a CourseError
    names any id the course does not have."""
    available = assignments_in(root)
    unknown = sorted(set(names or []) - set(available))
    if unknown:
        raise CourseError(
            f"no assignment {', '.join(unknown)} in {Path(root) / 'source'}; "
            f"choose from {', '.join(available)}"
        )
    wanted = set(names or [])
    return [a for a in available if not wanted or a in wanted]


def release(root: Path, assignments: Iterable[str] | None = None) -> list[Path]:
    """Generate ``release/<assignment>/`` from ``source/`` with nbgrader; return the folders.

    Also records the assignments in the gradebook, which autograding needs.
    """
    root = Path(root).resolve()
    out = []
    for assignment in assignments or assignments_in(root):
        result = api(root).generate_assignment(assignment, force=True, create=True)
        if not result["success"]:
            raise CourseError(
                f"could not release {assignment}:\n{result.get('log', '')}\n"
                f"{result.get('error', '')}"
            )
        out.append(root / "release" / assignment)
    return out


def submitted_students(root: Path, assignment: str) -> list[str]:
    """Students with a folder ``submitted/<student>/<assignment>``."""
    submitted = Path(root) / "submitted"
    if not submitted.is_dir():
        return []
    return sorted(p.name for p in submitted.iterdir() if (p / assignment).is_dir())


def cell_scores(root: Path, assignment: str, student: str) -> dict[str, tuple[float, float]]:
    """``grade_id -> (score, max_score)`` for one submission, read from the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    root = Path(root).resolve()
    out: dict[str, tuple[float, float]] = {}
    with Gradebook(gradebook_url(root)) as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            return out
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                if grade.max_score:
                    out[grade.name] = (float(grade.score), float(grade.max_score))
    return out


def autograde(
    root: Path,
    assignment: str,
    students: Iterable[str] | None = None,
    *,
    force: bool = False,
    progress: bool = True,
    sandbox: bool | None = None,
) -> list[GradeResult]:
    """Autograde submissions with nbgrader (the judge runs inside its pipeline).

    Resumable: a submission already autograded (the same files) is skipped unless ``force``.
    One failed submission never stops the batch; its error is in its result. Students'
    kernels run in the sandbox as nbgrader_config.py says; ``sandbox=False`` grades without
    it (a warning per notebook). A CourseError says why when the sandbox cannot start.
    """
    from tqdm import tqdm

    from graders import sandbox as box

    root = Path(root).resolve()
    config = load_config(root)  # fails in plain words when root is not a course folder
    overrides: dict[str, dict[str, Any]] = {}
    if sandbox is False:
        overrides = {"Sandbox": {"enabled": False}, "Autograde": {"pre_convert_hook": None}}
    else:
        try:
            box.require(box.Sandbox(config=config))
        except box.SandboxUnavailable as exc:
            raise CourseError(str(exc)) from None
    if not (root / "gradebook.db").exists() or not (root / "release" / assignment).is_dir():
        raise CourseError(f"{assignment} has not been released yet: run `dlgrade release` first")
    from graders import parallel, submissions

    bounds = submissions.limits(config)
    students = list(students) if students is not None else submitted_students(root, assignment)
    results = []
    bar = tqdm(students, desc=f"autograde {assignment}", unit="nb", disable=not progress)
    for student in bar:
        bar.set_postfix_str(student)
        try:  # a submission that cannot be read is graded: nbgrader says why it fails
            intake, digest = parallel.scan_submission(root, assignment, student, bounds)
        except OSError:
            intake, digest = None, ""
        if intake is None or intake.error:
            digest = ""
        if not force and parallel.is_up_to_date(root, assignment, student, digest):
            results.append(
                GradeResult(
                    student,
                    assignment,
                    ok=True,
                    skipped=True,
                    scores=cell_scores(root, assignment, student),
                )
            )
            continue
        outcome = api(root, **overrides).autograde(assignment, student, force=True, create=True)
        error = "" if outcome["success"] else _last_error(outcome)
        if outcome["success"] and digest:
            parallel.record_landed(root, assignment, student, digest)
        results.append(
            GradeResult(
                student,
                assignment,
                ok=bool(outcome["success"]),
                error=error,
                scores=cell_scores(root, assignment, student),
            )
        )
    return results


def _is_up_to_date(root: Path, assignment: str, student: str) -> bool:
    """Whether every autograded notebook is newer than every submitted file."""
    from graders.submissions import walk

    submitted = [
        st.st_mtime
        for _, st in walk(root / "submitted" / student / assignment)
        if st is not None and stat.S_ISREG(st.st_mode)
    ]
    graded = [
        p.stat().st_mtime for p in (root / "autograded" / student / assignment).glob("*.ipynb")
    ]
    return bool(graded) and max(submitted, default=0.0) <= min(graded)


def _last_error(outcome: dict[str, Any]) -> str:
    """The last error line nbgrader logged for a failed submission (or its last line)."""
    lines = f"{outcome.get('error') or ''}\n{outcome.get('log') or ''}".strip().splitlines()
    errors = [ln for ln in lines if "ERROR" in ln or "Error" in ln]
    return (errors or lines or ["failed"])[-1][:500]


def copy_course(
    root: Path, dest: Path, include: Iterable[str] = ("source", "solutions", "release")
) -> Path:
    """Copy the course's config and the folders in ``include`` into ``dest``."""
    root, dest = Path(root).resolve(), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(root / "nbgrader_config.py", dest / "nbgrader_config.py")
    for name in include:
        if (root / name).is_dir():
            shutil.copytree(
                root / name,
                dest / name,
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"),
            )
    return dest


@dataclass(frozen=True)
class SpecialFile:
    """A file that is not a regular file, for :func:`submit`: ``"fifo"`` (a named pipe),
    ``"socket"`` (a Unix socket) or ``"zero"`` (a character device reading as
    ``/dev/zero``; needs root), as a submission unpacked or copied carelessly may hold."""

    kind: str


def _make_special(path: Path, kind: str) -> None:
    import socket
    import stat

    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        # Bound through the folder's descriptor: a socket's path may hold only 107 bytes.
        folder = os.open(path.parent, os.O_PATH | os.O_DIRECTORY)
        try:
            with socket.socket(socket.AF_UNIX) as sock:
                sock.bind(f"/proc/self/fd/{folder}/{path.name}")
        finally:
            os.close(folder)
    elif kind == "zero":
        os.mknod(path, stat.S_IFCHR | 0o644, os.makedev(1, 5))
    else:
        raise ValueError(f"unknown special file {kind!r}")


def submit(root: Path, student: str, assignment: str, notebooks: dict[str | bytes, Any]) -> Path:
    """Place a submission in ``submitted/<student>/<assignment>/``.

    ``notebooks`` maps file names (text, or bytes for a name that is not UTF-8) to a
    notebook dict, text or bytes (bytes and text are written as they are, so broken files
    can be submitted too), to a ``Path``: a symbolic link to it (as a submission unpacked
    from an archive may hold), to a :class:`SpecialFile`, or to an ``int``: a file of that
    many bytes (sparse, reading as zeros).
    """
    folder = Path(root) / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in notebooks.items():
        path = folder / os.fsdecode(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            path.symlink_to(content)
        elif isinstance(content, SpecialFile):
            _make_special(path, content.kind)
        elif isinstance(content, bool):
            raise TypeError(f"cannot submit {content!r}")
        elif isinstance(content, int):
            with open(path, "wb") as f:
                f.truncate(content)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_text(json.dumps(content, indent=1), encoding="utf-8")
    return folder
