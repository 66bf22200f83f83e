"""A course on a learning management system (Canvas): submissions in, grades out.

Instructor side only; nothing here runs student code.

- **Submissions in.** Canvas's "Download Submissions" gives one zip of the class's files,
  each named ``<name>_<user id>_<file id>_<file name as uploaded>`` (``<name>_LATE_...``
  when handed in after the due date; Canvas appends ``-1``, ``-2`` to a file uploaded again
  under the same name). :func:`collect_zip` files them under ``submitted/<student>/<assignment>/``
  with nbgrader's ``zip_collect`` and two plugins of this module: :class:`BoundedExtractor`
  (members read as plain data within size limits: nothing but regular files, no archive
  inside the archive unpacked, no path outside the folder) and :class:`CanvasCollector`
  (the Canvas user id matched to the student through the roster's ``lms_user_id``). A file
  from someone the roster does not know is not filed, and is named; the zip is kept under
  ``downloaded/<assignment>/collected/`` so that nothing is lost.
- **Grades out.** :func:`export_canvas` writes the gradebook CSV that Canvas's gradebook
  import reads as it is: ``Student, ID, SIS User ID, SIS Login ID, Section`` then one column
  per assignment, a ``Points Possible`` row, a student per row (matched by the Canvas user
  id, or by the SIS user id, which is the nbgrader student id), late penalties deducted.
"""

from __future__ import annotations

import csv
import logging
import os
import re
import shutil
import stat
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import ExtractorPlugin, FileNameCollectorPlugin
from traitlets import Dict as DictTrait
from traitlets import Integer

from graders import course
from graders.exchange import file_renamed_notebook
from graders.export import format_number, open_gradebook
from graders.submissions import MIB, printable

#: Canvas's name for a downloaded submission file: the student's sortable name squeezed to
#: letters, ``LATE`` when it came after the due date, the Canvas user id, the id of the
#: uploaded file, and the name the student gave the file.
CANVAS_PATTERN = re.compile(
    r"^(?P<name>[^_/]*)_(?:(?P<late>LATE)_)?(?P<user_id>\d+)_(?P<file>\d+)_(?P<original>.+)$"
)
_log = logging.getLogger("dlgrade.collect")

#: A suffix Canvas adds to a file uploaded again under the same name (``w1-1.ipynb``).
_RENAMED = re.compile(r"^(?P<stem>.+)-\d+$")


class CanvasCollector(FileNameCollectorPlugin):
    """nbgrader ``zip_collect`` plugin: a Canvas download's file name to the student and file.

    ``roster`` maps Canvas user ids to nbgrader student ids (from the gradebook's
    ``lms_user_id``; :func:`collect_zip` fills it). A file that is not named the Canvas way,
    or whose user the roster does not know, is skipped and remembered in ``skipped``.
    """

    roster = DictTrait(help="Canvas user id -> nbgrader student id").tag(config=True)
    released = DictTrait(help="notebook file names of the release, keyed by their stem").tag(
        config=True
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.skipped: list[str] = []
        self.late: set[str] = set()

    def collect(self, submitted_file: str) -> dict[str, str] | None:
        """``{"student_id", "file_id"}`` of one extracted file, or None to skip it."""
        name = os.path.basename(submitted_file)
        match = CANVAS_PATTERN.match(name)
        if match is None:
            self.skipped.append(f"{printable(name)}: not named as Canvas names submissions")
            return None
        student = self.roster.get(match["user_id"])
        if student is None:
            self.skipped.append(
                f"{printable(name)}: Canvas user {match['user_id']} ({match['name']}) is not "
                "in the roster (nbgrader db student add ID --lms-user-id "
                f"{match['user_id']}), so this file was not filed"
            )
            return None
        original = match["original"]
        stem, ext = os.path.splitext(original)
        renamed = _RENAMED.match(stem)
        if stem not in self.released and renamed and renamed["stem"] in self.released:
            original = renamed["stem"] + ext
        if match["late"]:
            self.late.add(student)
        return {"student_id": student, "file_id": original}


class BoundedExtractor(ExtractorPlugin):
    """nbgrader ``zip_collect`` plugin: unpack the downloaded zips as plain data.

    Only regular files are written (a member that is a link is written as nothing), within
    ``max_file_mb`` each and ``max_total_mb`` per zip (members past a limit are named in
    ``left_out``); names are reduced to their last part, so nothing lands outside the
    folder; an archive inside the archive is kept as a file, not unpacked.
    """

    max_file_mb = Integer(64, help="largest member written, in MiB").tag(config=True)
    max_total_mb = Integer(4096, help="most bytes written per downloaded zip, in MiB").tag(
        config=True
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.left_out: list[str] = []

    def extract(self, archive_path: str, extracted_path: str) -> None:
        """Unpack every ``*.zip`` of ``archive_path`` into ``extracted_path``."""
        for entry in sorted(os.listdir(archive_path)):
            path = os.path.join(archive_path, entry)
            if not entry.endswith(".zip") or not stat.S_ISREG(os.lstat(path).st_mode):
                self.left_out.append(f"{printable(entry)}: not a zip file")
                continue
            target = os.path.join(extracted_path, os.path.splitext(entry)[0])
            os.makedirs(target, exist_ok=True)
            self._unpack(path, target)

    def _unpack(self, path: str, target: str) -> None:
        total = 0
        try:
            archive = zipfile.ZipFile(path)
        except (OSError, zipfile.BadZipFile) as exc:
            self.left_out.append(f"{printable(os.path.basename(path))}: not a readable zip ({exc})")
            return
        with archive:
            for info in archive.infolist():
                name = os.path.basename(info.filename.replace("\\", "/"))
                mode = info.external_attr >> 16
                if info.is_dir() or not name:
                    continue
                if stat.S_IFMT(mode) not in (0, stat.S_IFREG):  # 0: written without a type
                    self.left_out.append(f"{printable(name)}: not a regular file in the zip")
                    continue
                if info.file_size > self.max_file_mb * MIB:
                    self.left_out.append(
                        f"{printable(name)}: {info.file_size / MIB:.1f} MiB, over the "
                        f"{self.max_file_mb} MiB per file"
                    )
                    continue
                if total + info.file_size > self.max_total_mb * MIB:
                    self.left_out.append(f"{printable(name)}: past {self.max_total_mb} MiB in all")
                    continue
                dest = os.path.join(target, name)
                if os.path.lexists(dest):
                    self.left_out.append(f"{printable(name)}: twice in the zip, first kept")
                    continue
                written = _copy_bounded(archive, info, dest, self.max_file_mb * MIB)
                if written is None:
                    self.left_out.append(f"{printable(name)}: larger than the zip said")
                    continue
                total += written


def _copy_bounded(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, dest: str, limit: int
) -> int | None:
    """Write one member, reading at most ``limit`` bytes (a member may lie about its size);
    None, and nothing written, when it is larger."""
    written = 0
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as out, archive.open(info) as member:
        while chunk := member.read(1 << 20):
            written += len(chunk)
            if written > limit:
                break
            out.write(chunk)
    if written > limit:
        os.unlink(dest)
        return None
    return written


@dataclass
class ZipCollected:
    """What :func:`collect_zip` did."""

    students: list[str] = field(default_factory=list)  # filed under submitted/
    late: list[str] = field(default_factory=list)  # of those, marked late by Canvas
    skipped: list[str] = field(default_factory=list)  # files not filed, and why
    renamed: list[str] = field(default_factory=list)  # notebooks graded under another name
    kept: Path | None = None  # the copy of the zip kept in the course


def roster_lms_ids(root: Path) -> dict[str, str]:
    """Canvas user id -> nbgrader student id, from the gradebook's roster."""
    with Gradebook(course.gradebook_url(Path(root))) as gb:
        return {str(s.lms_user_id): s.id for s in gb.students if s.lms_user_id}


def collect_zip(root: Path, assignment: str, zip_path: Path) -> ZipCollected:
    """File a Canvas "Download Submissions" zip under ``submitted/<student>/<assignment>/``.

    Through nbgrader's ``zip_collect`` with :class:`BoundedExtractor` and
    :class:`CanvasCollector`. A student already collected is replaced by this download
    (Canvas gives each student's latest submission); every zip collected stays under
    ``downloaded/<assignment>/collected/`` with the time it was collected.
    """
    from nbgrader.apps.zipcollectapp import ZipCollectApp
    from nbgrader.coursedir import CourseDirectory

    root = Path(root).resolve()
    zip_path = Path(zip_path)
    if not zipfile.is_zipfile(zip_path):
        raise course.CourseError(f"{zip_path} is not a zip file (Canvas: Download Submissions)")
    if not (root / "release" / assignment).is_dir():
        raise course.CourseError(f"no release/{assignment} in {root}: release it first")
    roster = roster_lms_ids(root)
    released = {p.stem: p.name for p in (root / "release" / assignment).glob("*.ipynb")}
    base = root / "downloaded" / assignment
    (base / "collected").mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    kept = base / "collected" / f"{stamp}-{zip_path.name}"
    n = 1
    while kept.exists():  # two downloads collected within one second
        n += 1
        kept = base / "collected" / f"{stamp}-{n}-{zip_path.name}"
    shutil.copyfile(zip_path, kept)
    archive = base / "archive"
    if archive.exists():
        shutil.rmtree(archive)
    archive.mkdir()
    shutil.copyfile(kept, archive / zip_path.name)

    config = course.load_config(root)
    config.ZipCollectApp.force = True
    config.ZipCollectApp.strict = False
    config.ZipCollectApp.extractor_plugin = BoundedExtractor
    config.ZipCollectApp.collector_plugin = CanvasCollector
    config.CanvasCollector.roster = roster
    config.CanvasCollector.released = released
    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id = assignment
    # A logger of our own: an Application left to make its default one reconfigures the
    # whole process's logging (dictConfig), closing every handler already there.
    app = ZipCollectApp(coursedir=coursedir, config=config, log=_log)
    app.init_plugins()
    app.extract_archive_files()
    extracted = app._format_collect_path(app.extracted_directory)  # noqa: SLF001
    src = sorted(str(p) for p in Path(extracted).rglob("*") if p.is_file())
    collector: CanvasCollector = app.collector_plugin_inst
    extractor: BoundedExtractor = app.extractor_plugin_inst
    data = app._collect_files(src)  # noqa: SLF001 - zip_collect's own two steps
    app._transfer_files(data)  # noqa: SLF001
    renamed = []
    for student in sorted(data):
        note = file_renamed_notebook(
            root / "submitted" / student / assignment, list(released.values())
        )
        if note:
            renamed.append(f"{student}: {note}")
    return ZipCollected(
        students=sorted(data),
        late=sorted(collector.late & set(data)),
        skipped=extractor.left_out + collector.skipped,
        renamed=renamed,
        kept=kept,
    )


# ---------------------------------------------------------------------------- grades out


def _canvas_name(first: str | None, last: str | None, student_id: str) -> str:
    if last and first:
        return f"{last}, {first}"
    return last or first or student_id


def canvas_rows(
    db_url: str, assignments: list[str] | None
) -> tuple[list[str], list[list[str]], list[str]]:
    """The header, rows and assignments of the Canvas gradebook CSV (see
    :func:`export_canvas`); all the gradebook's assignments when ``assignments`` is None."""
    header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    rows: list[list[str]] = []
    with open_gradebook(db_url) as gb:
        if assignments is None:
            assignments = sorted(a.name for a in gb.assignments)
        possible = []
        for name in assignments:
            try:
                possible.append(format_number(gb.find_assignment(name).max_score))
            except MissingEntry:
                raise course.CourseError(f"the gradebook has no assignment {name}") from None
        rows.append(["    Points Possible", "", "", "", "", *possible])
        for student in sorted(gb.students, key=lambda s: s.id):
            cells = []
            for name in assignments:
                try:
                    sub = gb.find_submission(name, student.id)
                except MissingEntry:
                    cells.append("")  # no submission: left for the instructor to decide
                    continue
                earned = max(0.0, float(sub.score) - float(sub.late_submission_penalty or 0))
                cells.append(format_number(earned))
            rows.append(
                [
                    _canvas_name(student.first_name, student.last_name, student.id),
                    str(student.lms_user_id or ""),
                    student.id,
                    "",
                    "",
                    *cells,
                ]
            )
    return header, rows, assignments


def export_canvas(
    db_url: str,
    out_path: Path,
    assignments: list[str] | None = None,
    canvas_ids: dict[str, str] | None = None,
) -> Path:
    """Write the class's grades as a CSV that Canvas's gradebook import reads as it is.

    Columns: ``Student`` ("Last, First"), ``ID`` (the Canvas user id: the roster's
    ``lms_user_id``), ``SIS User ID`` (the nbgrader student id, which Canvas matches when
    the Canvas id is empty), ``SIS Login ID``, ``Section`` (empty), then one column per
    assignment, named ``<assignment> (<Canvas assignment id>)`` when ``canvas_ids`` gives
    one (Canvas then fills that assignment) or by its name (Canvas creates it). The second
    row is ``Points Possible``. A score is the submission's total less its late penalty; a
    student without a submission has an empty cell (Canvas leaves that grade as it is).
    """
    canvas_ids = canvas_ids or {}
    header, rows, assignments = canvas_rows(db_url, assignments)
    header += [f"{a} ({canvas_ids[a]})" if a in canvas_ids else a for a in assignments]
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with out_path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)
    return out_path
