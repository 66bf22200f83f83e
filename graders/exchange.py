"""nbgrader's exchange for a course on a shared machine (JupyterHub): publish and collect.

The exchange is a folder every account writes to (``c.Exchange.root``, by default
nbgrader's ``/usr/local/share/nbgrader/exchange``, mode ``1777``): the instructor publishes a
release into ``<course>/outbound/``, students hand in into ``<course>/inbound/`` as
``<student>+<assignment>+<time>+<random>`` folders, and the instructor collects from there
into ``submitted/``.

Anything in ``inbound/`` is written by students, so the collection treats it as data,
not as instructions (:class:`GuardedCollect`, which the course's ``nbgrader_config.py``
registers, so that plain ``nbgrader collect`` uses it too):

- a hand-in named for one student but owned by another account is refused (with local
  accounts a student cannot hand in as, or over, someone else);
- an entry whose name nbgrader cannot read is skipped with a message, instead of stopping
  the collection for the whole class;
- the time of a hand-in is the last change the file system recorded to it (``ctime``,
  which no user can set back or forward), not the time its name or ``timestamp.txt``
  claims; the claim is kept when it lies within ``clock_grace_s`` before that change (the
  copy of an honest hand-in takes a moment). So a late hand-in cannot claim to be early,
  nor one from an attacker claim to be the latest;
- only regular files are copied (opened without following links, within the limits of
  ``c.SubmittedFiles``): a link to the instructor's files, a pipe or a device in a
  hand-in is left out and named, never followed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import pwd
import re
import shutil
import stat
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.exchange.default.collect import ExchangeCollect
from nbgrader.exchange.default.exchange import Exchange as _NbgraderExchange
from nbgrader.utils import parse_utc
from traitlets import Float

from graders import course, submissions

#: nbgrader's own default exchange folder, used when nothing configures one.
DEFAULT_ROOT = str(_NbgraderExchange.root.default_value)
#: A student id as a hand-in may name it: an account name or an e-mail address (never a
#: path such as ``..``, never bytes that are not text).
_PLAIN_ID = re.compile(r"[A-Za-z0-9_@-][A-Za-z0-9_.@-]{0,127}")


def utc_now() -> dt.datetime:
    """Now, as a naive UTC datetime like nbgrader's times."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _when(path: str) -> dt.datetime:
    """The latest ``ctime`` in a folder (itself, its folders and files, links not followed,
    as deep as a submission is read), as a naive UTC datetime like nbgrader's."""
    latest = os.lstat(path).st_ctime
    for _, st in submissions.walk(path):
        if st is not None:
            latest = max(latest, st.st_ctime)
    return dt.datetime.fromtimestamp(latest, dt.UTC).replace(tzinfo=None)


def _owner(path: str) -> str | None:
    try:
        return pwd.getpwuid(os.lstat(path).st_uid).pw_name
    except (KeyError, OSError):
        return None


def _is_account(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


class GuardedCollect(ExchangeCollect):
    """``nbgrader collect`` that reads the students' hand-ins as data (module docstring)."""

    clock_grace_s = Float(
        120.0,
        help="How far before the file system's last change to a hand-in its claimed time "
        "may lie and still be believed (the copy takes a moment; an exchange on another "
        "machine's disk has that machine's clock).",
    ).tag(config=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.check_owner = False  # nbgrader's check only warns; _record refuses
        self.refused: list[str] = []
        self.left_out: dict[str, list[str]] = {}
        self._trusted: dict[str, dt.datetime] = {}

    def _record(self, path: str) -> dict[str, Any] | None:
        """nbgrader's record of a hand-in (student, folder name, time), or None when it is
        refused (with the reason in ``refused``)."""
        try:
            return self._read_record(path)
        except OSError as exc:  # e.g. a folder in it that this account may not read
            shown = submissions.printable(os.path.basename(path))
            self.refused.append(f"{shown}: cannot be read ({exc.strerror or exc})")
            return None

    def _read_record(self, path: str) -> dict[str, Any] | None:
        name = os.path.basename(path)
        parts = name.rsplit("+", 3)
        shown = submissions.printable(name)
        if len(parts) < 3:
            self.refused.append(f"{shown}: not named <student>+<assignment>+<time>+<id>")
            return None
        try:
            claimed = parse_utc(parts[2])
        except (ValueError, OverflowError, TypeError) as exc:
            self.refused.append(f"{shown}: its time {parts[2]!r} cannot be read ({exc})")
            return None
        st = os.lstat(path)
        if not stat.S_ISDIR(st.st_mode):
            self.refused.append(f"{shown}: not a folder")
            return None
        student, owner = parts[0], _owner(path)
        if not _PLAIN_ID.fullmatch(student):
            self.refused.append(f"{shown}: {submissions.printable(student)!r} is not a student id")
            return None
        if _is_account(student) and owner != student:
            self.refused.append(
                f"{shown}: handed in as {student} by the account {owner}; not collected"
            )
            return None
        changed = _when(path)
        grace = dt.timedelta(seconds=self.clock_grace_s)
        trusted = claimed if changed - grace <= claimed <= changed else changed
        if trusted != claimed:
            self.log.warning(
                "%s claims %s; the file system last changed it at %s, which counts",
                shown, claimed, changed,
            )  # fmt: skip
        self._trusted[path] = trusted
        return {"username": student, "filename": name, "timestamp": trusted}

    def init_src(self) -> None:
        """nbgrader's, with every hand-in read as :meth:`_record` says."""
        if self.coursedir.course_id == "":
            self.fail("No course id specified. Re-run with --course flag.")
        self.course_path = os.path.join(self.root, self.coursedir.course_id)
        self.inbound_path = os.path.join(self.course_path, "inbound")
        if not os.path.isdir(self.inbound_path):
            self.fail(f"Course not found: {self.inbound_path}")
        wanted_student = self.coursedir.student_id
        wanted_student = None if wanted_student in ("", "*") else wanted_student
        groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
        prefix_end = f"+{self.coursedir.assignment_id}+"
        for entry in sorted(os.listdir(self.inbound_path)):
            if prefix_end not in entry:
                continue
            if wanted_student and not entry.startswith(wanted_student + prefix_end):
                continue
            record = self._record(os.path.join(self.inbound_path, entry))
            if record is not None:
                groups[record["username"]].append(record)
        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
            try:
                self.duedate = gb.find_assignment(self.coursedir.assignment_id).duedate
            except MissingEntry:
                self.duedate = None
        self.src_records = []
        for records in groups.values():
            ordered = self._sort_by_timestamp(records)
            if self.duedate is not None and self.before_duedate:
                on_time = [r for r in ordered if r["timestamp"] <= self.duedate]
                ordered = on_time or ordered
            self.src_records.append(ordered[0])

    def do_copy(self, src: str, dest: str, log: Any = None) -> None:
        """Copy a hand-in's regular files (links not followed), within the course's
        limits; write the trusted time to ``timestamp.txt``."""
        who = os.path.basename(src).rsplit("+", 3)[0]
        try:
            self._copy(src, dest, who)
        except Exception as exc:  # noqa: BLE001 - one hand-in fails alone, the class goes on
            shutil.rmtree(dest, ignore_errors=True)
            with contextlib.suppress(OSError):  # the student's folder, if nothing else is in it
                os.rmdir(os.path.dirname(dest))
            shown = submissions.printable(os.path.basename(src))
            self.refused.append(f"{shown}: not collected ({type(exc).__name__}: {exc})")
            self.log.error("%s", self.refused[-1])

    def _copy(self, src: str, dest: str, who: str) -> None:
        intake = submissions.scan(Path(src), submissions.limits(self.config))
        if intake.error:
            raise RuntimeError(intake.error)
        notes = list(intake.notes) + [
            f"`{submissions.printable(n)}` is a symbolic link: it was left out."
            for n in intake.notebook_links
        ]
        os.makedirs(dest)
        for rel, _ in intake.files:
            if rel in ("timestamp.txt",):
                continue
            target = os.path.join(dest, rel)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if not _copy_regular(os.path.join(src, rel), target):
                shown = submissions.printable(rel)
                notes.append(f"`{shown}` changed while it was copied: left out.")
        trusted = self._trusted.get(src) or _when(src)
        Path(dest, "timestamp.txt").write_text(f"{trusted.isoformat(' ')} UTC")
        if notes:
            self.left_out[who] = notes
            for note in notes:
                self.log.warning("%s: %s", submissions.printable(os.path.basename(src)), note)


def _copy_regular(src: str, dest: str) -> bool:
    """Copy one file if it is still a regular file when opened (never a link's target)."""
    try:
        fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return False
        with open(dest, "wb") as out:
            while chunk := f.read(1 << 20):
                out.write(chunk)
    return True


# ---------------------------------------------------------------------------- commands


def file_renamed_notebook(folder: Path, released: list[str]) -> str | None:
    """When a submission lacks exactly one of the released notebooks and holds exactly one
    notebook the release does not have (``w1 (1).ipynb`` from a browser's download, a
    ``-Copy1`` from JupyterLab), give that notebook the released name, so that it is graded
    rather than scored as missing; returns a note saying so, or None."""
    present = sorted(p.name for p in Path(folder).glob("*.ipynb") if p.is_file())
    missing = [name for name in released if name not in present]
    strangers = [name for name in present if name not in released]
    if len(missing) != 1 or len(strangers) != 1:
        return None
    (Path(folder) / strangers[0]).rename(Path(folder) / missing[0])
    return f"{submissions.printable(strangers[0])} was graded as {missing[0]}"


def exchange_root(root: Path) -> Path:
    """The course's exchange folder (``c.Exchange.root``)."""
    config = course.load_config(root)
    return Path(config.Exchange.root if "root" in config.Exchange else DEFAULT_ROOT)


def check_exchange(path: Path) -> None:
    """Raise a CourseError saying how to fix it when ``path`` is not an exchange every
    account can hand in to (a folder of mode ``1777``, as nbgrader wants)."""
    fix = f"as root: mkdir -p {path} && chmod 1777 {path} (or set c.Exchange.root)"
    if not path.is_dir():
        raise course.CourseError(f"the exchange folder {path} does not exist; {fix}")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o777 != 0o777:
        raise course.CourseError(
            f"the exchange folder {path} has mode {mode:o}: students cannot hand in there; {fix}"
        )
    if not os.access(path, os.W_OK | os.X_OK):
        raise course.CourseError(f"this account cannot write to the exchange folder {path}; {fix}")


def set_due_date(root: Path, assignment: str, due: dt.datetime | None) -> None:
    """Record (or, with None, remove) ``assignment``'s due date (naive UTC) in the
    gradebook, where collection and the late policy read it."""
    with Gradebook(course.gradebook_url(Path(root))) as gb:
        gb.update_or_create_assignment(assignment, duedate=due)


def publish(root: Path, assignment: str, due: dt.datetime | None = None) -> Path:
    """Release ``assignment`` to the exchange, where students fetch it; with ``due``
    (naive UTC), record its due date first (late hand-ins get the course's late penalty).
    Returns the published folder."""
    root = Path(root).resolve()
    check_exchange(exchange_root(root))
    if due is not None:
        set_due_date(root, assignment, due)
    result = course.api(root).release_assignment(assignment)
    if not result.get("success"):
        raise course.CourseError(
            f"{assignment} could not be published: {result.get('error') or result.get('log')}"
        )
    config = course.load_config(root)
    return exchange_root(root) / str(config.CourseDirectory.course_id) / "outbound" / assignment


@dataclass
class Collected:
    """What :func:`collect` did."""

    students: list[str] = field(default_factory=list)  # whose hand-in is now in submitted/
    refused: list[str] = field(default_factory=list)  # hand-ins not collected, and why
    left_out: dict[str, list[str]] = field(default_factory=dict)  # student: notes on files
    not_on_roster: list[str] = field(default_factory=list)


def collect(root: Path, assignment: str) -> Collected:
    """Collect the latest hand-in of every student from the exchange into
    ``submitted/<student>/<assignment>/`` (earlier hand-ins stay in the exchange)."""
    from nbgrader.coursedir import CourseDirectory

    root = Path(root).resolve()
    check_exchange(exchange_root(root))
    config = course.load_config(root)
    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id = assignment
    collector = GuardedCollect(coursedir=coursedir, config=config)
    collector.update = True
    try:
        collector.start()
    except Exception as exc:  # noqa: BLE001 - nbgrader's fail() raises its own error
        raise course.CourseError(f"{assignment} could not be collected: {exc}") from exc
    students = sorted(
        {r["username"] for r in collector.src_records}
        & {p.parent.name for p in (root / "submitted").glob(f"*/{assignment}")}
    )
    released = sorted(p.name for p in (root / "release" / assignment).glob("*.ipynb"))
    for student in students:
        note = file_renamed_notebook(root / "submitted" / student / assignment, released)
        if note:
            collector.left_out.setdefault(student, []).append(note)
    with Gradebook(course.gradebook_url(root)) as gb:
        known = {s.id for s in gb.students}
    return Collected(
        students=students,
        refused=collector.refused,
        left_out=collector.left_out,
        not_on_roster=[s for s in students if s not in known],
    )
