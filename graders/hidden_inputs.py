"""Per-submission secrets of the hidden inputs, kept in the course's gradebook.

A hidden check's inputs are drawn from its name and a secret (:meth:`graders.cases.Check.cases`).
The trusted side draws the secret for a submission when it is first graded (64 random bits
from :mod:`secrets`), hands it to the student's kernel for that run only, and keeps it here, in
a table of this project's own in the gradebook's database, keyed by assignment and student,
with the *version* of the submission it was drawn for (its ``timestamp.txt``, which nbgrader's
exchange writes at every submission): a regrade of the same submission gets the same inputs,
scores and feedback; a resubmission gets new inputs, so that a table of answers built from a
student's own feedback does not pass either; and no two students share inputs, so a table
built from one run's inputs (or from the expected values in its feedback) is worth nothing for
the next submission.

Runs on the trusted side only; the kernel never reads the gradebook.
"""

from __future__ import annotations

import secrets
import stat
from pathlib import Path

import sqlalchemy as sa

#: The table, in the same database as nbgrader's gradebook (nbgrader ignores it).
TABLE = "dlgrade_hidden_inputs"
_METADATA = sa.MetaData()
_TABLE = sa.Table(
    TABLE,
    _METADATA,
    sa.Column("assignment", sa.String(128), primary_key=True),
    sa.Column("student", sa.String(128), primary_key=True),
    sa.Column("secret", sa.String(32), nullable=False),  # hexadecimal: SQLite's ints are signed
    sa.Column("version", sa.String(128), nullable=False, default=""),
)
#: Bytes of ``timestamp.txt`` read for a submission's version.
VERSION_BYTES = 128


def submission_version(folder: Path) -> str:
    """The version of the submission in ``folder``: its ``timestamp.txt`` (written by
    nbgrader's exchange at every submission, and copied along to the graded folder), or ""
    when it has none (a resubmission then keeps its inputs)."""
    path = Path(folder) / "timestamp.txt"
    try:
        if not stat.S_ISREG(path.lstat().st_mode):
            return ""
        with open(path, "rb") as f:
            return f.read(VERSION_BYTES).decode("utf-8", "replace").strip()
    except OSError:
        return ""


def draw() -> int:
    """A fresh secret: 64 random bits."""
    return secrets.randbits(64)


def _engine(db_url: str) -> sa.Engine:
    engine = sa.create_engine(db_url)
    _METADATA.create_all(engine)
    return engine


def lookup(db_url: str, assignment: str, student: str) -> int | None:
    """The secret kept for ``student``'s submission of ``assignment``, or None."""
    engine = _engine(db_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                sa.select(_TABLE.c.secret).where(
                    _TABLE.c.assignment == assignment, _TABLE.c.student == student
                )
            ).first()
    finally:
        engine.dispose()
    return None if row is None else int(row[0], 16)


def store(db_url: str, assignment: str, student: str, secret: int, version: str = "") -> None:
    """Keep ``secret`` for ``student``'s submission of ``assignment`` in its ``version``
    (replacing any)."""
    if not isinstance(secret, int) or not 0 <= secret < 1 << 64:
        raise ValueError("a secret is an integer of 64 bits")
    engine = _engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.delete(_TABLE).where(
                    _TABLE.c.assignment == assignment, _TABLE.c.student == student
                )
            )
            conn.execute(
                sa.insert(_TABLE).values(
                    assignment=assignment,
                    student=student,
                    secret=f"{secret:016x}",
                    version=version,
                )
            )
    finally:
        engine.dispose()


def secret_for(db_url: str, assignment: str, student: str, version: str = "") -> int:
    """The secret of ``student``'s submission of ``assignment`` in its ``version``: the one
    kept for that version, else a fresh one, kept from now on in place of any other."""
    engine = _engine(db_url)
    try:
        with engine.begin() as conn:
            where = (_TABLE.c.assignment == assignment, _TABLE.c.student == student)
            row = conn.execute(sa.select(_TABLE.c.secret, _TABLE.c.version).where(*where)).first()
            if row is not None and row[1] == version:
                return int(row[0], 16)
            secret = draw()
            conn.execute(sa.delete(_TABLE).where(*where))
            conn.execute(
                sa.insert(_TABLE).values(
                    assignment=assignment,
                    student=student,
                    secret=f"{secret:016x}",
                    version=version,
                )
            )
            return secret
    finally:
        engine.dispose()


def forget_all(db_url: str) -> None:
    """Remove every kept secret (from a copy of the gradebook that leaves the course)."""
    engine = _engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.delete(_TABLE))
    finally:
        engine.dispose()
