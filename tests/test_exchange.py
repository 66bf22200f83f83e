"""nbgrader's exchange, as a course on a shared machine uses it: the instructor publishes,
students hand in (anything in the inbound folder is written by students), the instructor
collects. Real nbgrader release and collect on a real folder; the hand-ins are laid out as
``nbgrader submit`` lays them out, some of them by an attacker."""

from __future__ import annotations

import datetime as dt
import os
import pwd
import secrets
import shutil
from pathlib import Path

import pytest

from graders import cli, course, exchange

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "w1_broadcasting"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
SECRET_TEXT = "the instructor's secret"


_now = exchange.utc_now


@pytest.fixture
def released(released_w1):
    return released_w1


@pytest.fixture
def course_with_exchange(released, tmp_path, monkeypatch):
    """A fresh copy of the released course, and an exchange folder of mode 1777 named by
    the course's configuration (``DLGRADE_EXCHANGE``)."""
    box = tmp_path / "exchange"
    box.mkdir()
    box.chmod(0o1777)
    monkeypatch.setenv("DLGRADE_EXCHANGE", str(box))
    root = tmp_path / "course"
    shutil.copytree(released, root)
    return root, box


def hand_in(
    box: Path,
    student: str,
    files: dict[str, str | Path | None],
    claimed: dt.datetime | None = None,
    owner: str | None = None,
) -> Path:
    """A hand-in folder as ``nbgrader submit`` writes it (``timestamp.txt`` holding the
    claimed time); a Path value becomes a symbolic link to it, None a named pipe."""
    claimed = claimed or _now()
    stamp = f"{claimed.isoformat(' ')} UTC"
    inbound = box / "dlgrade" / "inbound"
    inbound.mkdir(parents=True, exist_ok=True)
    folder = inbound / f"{student}+{ASSIGNMENT}+{stamp}+{secrets.token_hex(4)}"
    folder.mkdir()
    (folder / "timestamp.txt").write_text(stamp)
    for name, content in files.items():
        path = folder / name
        if isinstance(content, Path):
            path.symlink_to(content)
        elif content is None:
            os.mkfifo(path)
        else:
            path.write_text(content)
    if owner is not None:
        uid = pwd.getpwnam(owner).pw_uid
        for path in [folder, *folder.iterdir()]:
            os.lchown(path, uid, -1)
    return folder


def _notebook(root: Path, marker: str) -> str:
    text = (root / "release" / ASSIGNMENT / NOTEBOOK).read_text()
    return text.replace('"cells": [', f'"cells": [{{"cell_type": "markdown", "id": "m-{marker}", '
                        f'"metadata": {{}}, "source": "{marker}"}},', 1)  # fmt: skip


def test_publishing_puts_the_release_in_the_exchange_with_its_due_date(course_with_exchange):
    root, box = course_with_exchange
    due = dt.datetime(2026, 12, 1, 16, 0)
    assert cli.main(["--course", str(root), "release", ASSIGNMENT, "--publish", "--due",
                     "2026-12-01 17:00 Europe/Paris"]) == 0  # fmt: skip
    assert (box / "dlgrade" / "outbound" / ASSIGNMENT / NOTEBOOK).is_file()
    from nbgrader.api import Gradebook

    with Gradebook(course.gradebook_url(root)) as gb:
        assert gb.find_assignment(ASSIGNMENT).duedate == due


@pytest.mark.parametrize("problem", ["missing", "not shared"])
def test_an_exchange_students_cannot_use_is_named_with_its_fix(course_with_exchange, problem):
    root, box = course_with_exchange
    if problem == "missing":
        box.rmdir()
    else:
        box.chmod(0o755)
    with pytest.raises(course.CourseError, match=r"chmod 1777") as err:
        exchange.publish(root, ASSIGNMENT)
    assert str(box) in str(err.value)
    assert not (root / "submitted").exists()


def test_the_latest_hand_in_is_collected_and_the_earlier_one_is_kept(course_with_exchange):
    root, box = course_with_exchange
    first = hand_in(box, "alice", {NOTEBOOK: _notebook(root, "first")},
                    claimed=_now() - dt.timedelta(seconds=30))  # fmt: skip
    hand_in(box, "alice", {NOTEBOOK: _notebook(root, "second")})
    done = exchange.collect(root, ASSIGNMENT)
    assert done.students == ["alice"] and done.refused == []
    submitted = root / "submitted" / "alice" / ASSIGNMENT
    assert "second" in (submitted / NOTEBOOK).read_text()
    assert "first" in (first / NOTEBOOK).read_text()  # still in the exchange
    assert done.not_on_roster == ["alice"]


def test_a_hand_in_in_another_students_name_is_refused(course_with_exchange):
    """With local accounts, the owner of a hand-in is its author: a hand-in named for the
    account ``daemon`` but written by another account is not collected (it would replace
    daemon's own work), while daemon's own is."""
    root, box = course_with_exchange
    hand_in(box, "daemon", {NOTEBOOK: _notebook(root, "own work")}, owner="daemon",
            claimed=_now() - dt.timedelta(seconds=5))  # fmt: skip
    hand_in(box, "daemon", {NOTEBOOK: _notebook(root, "forged")}, owner="nobody")
    done = exchange.collect(root, ASSIGNMENT)
    assert done.students == ["daemon"]
    assert len(done.refused) == 1 and "by the account nobody" in done.refused[0]
    assert "own work" in (root / "submitted" / "daemon" / ASSIGNMENT / NOTEBOOK).read_text()


def test_a_link_in_a_hand_in_is_never_followed(course_with_exchange, tmp_path):
    """A student links the instructor's files into a hand-in; the instructor's collection
    would read them with the instructor's rights and give them to the student's kernel."""
    root, box = course_with_exchange
    secret = tmp_path / "instructor_only.txt"
    secret.write_text(SECRET_TEXT)
    secret.chmod(0o600)
    os.mkfifo(box / "pipe")
    hand_in(box, "mallory", {
        NOTEBOOK: _notebook(root, "mallory"),
        "notes.txt": secret,
        "solutions.py": root / "solutions" / f"{ASSIGNMENT}.py",
        "stuck": box / "pipe",  # a pipe nobody writes to: reading it would never end
        "also_stuck": None,
    })  # fmt: skip
    done = exchange.collect(root, ASSIGNMENT)
    folder = root / "submitted" / "mallory" / ASSIGNMENT
    assert sorted(p.name for p in folder.iterdir()) == ["timestamp.txt", NOTEBOOK]
    notes = done.left_out["mallory"]
    assert len(notes) == 4
    assert sum("symbolic link" in note for note in notes) == 3
    assert sum("named pipe" in note for note in notes) == 1
    assert not any(SECRET_TEXT in p.read_text() for p in folder.iterdir())


def test_a_hand_in_nbgrader_cannot_read_does_not_stop_the_class(course_with_exchange):
    """Badly named hand-ins, a file where a folder should be, a student id that is a path,
    and a notebook that is a pipe: each is named and refused, and the others collected."""
    root, box = course_with_exchange
    inbound = box / "dlgrade" / "inbound"
    inbound.mkdir(parents=True)
    (inbound / f"x+{ASSIGNMENT}+not a time+1").mkdir()
    (inbound / f"y+{ASSIGNMENT}+2026-13-45 99:00:00 UTC+2").mkdir()
    (inbound / f"z+{ASSIGNMENT}+2026-11-20 10:00:00 UTC+3").write_text("a file, not a folder")
    hand_in(box, "..", {NOTEBOOK: _notebook(root, "up")})  # would land in the course folder
    os.mkfifo(hand_in(box, "carl", {}) / NOTEBOOK)  # a notebook that is a pipe
    hand_in(box, "bob", {NOTEBOOK: _notebook(root, "bob")})
    done = exchange.collect(root, ASSIGNMENT)
    assert done.students == ["bob"]
    assert len(done.refused) == 5 and "named pipe" in done.refused[-1]
    assert not (root / ASSIGNMENT).exists() and not (root / "submitted" / "carl").exists()


def test_the_time_of_a_hand_in_is_the_file_systems_not_the_claimed_one(course_with_exchange):
    """A student hands in late but names the hand-in (and its timestamp.txt) three days
    earlier; another claims a time in the future to pass for the latest hand-in."""
    root, box = course_with_exchange
    before = _now() - dt.timedelta(seconds=2)
    hand_in(box, "carol", {NOTEBOOK: _notebook(root, "carol")},
            claimed=_now() - dt.timedelta(days=3))  # fmt: skip
    hand_in(box, "dave", {NOTEBOOK: _notebook(root, "dave")},
            claimed=_now() + dt.timedelta(days=30))  # fmt: skip
    exchange.collect(root, ASSIGNMENT)
    after = _now() + dt.timedelta(seconds=2)
    from nbgrader.utils import parse_utc

    for student in ("carol", "dave"):
        stamp = (root / "submitted" / student / ASSIGNMENT / "timestamp.txt").read_text()
        assert before <= parse_utc(stamp) <= after, (student, stamp)


def test_plain_nbgrader_collect_guards_the_hand_ins_too(course_with_exchange, tmp_path):
    root, box = course_with_exchange
    secret = tmp_path / "instructor_only.txt"
    secret.write_text(SECRET_TEXT)
    hand_in(box, "mallory", {NOTEBOOK: _notebook(root, "m"), "notes.txt": secret})
    done = course.run_nbgrader(root, "collect", ASSIGNMENT, timeout=300)
    assert done.returncode == 0, done.stderr
    folder = root / "submitted" / "mallory" / ASSIGNMENT
    assert (folder / NOTEBOOK).is_file() and not (folder / "notes.txt").exists()
    assert "symbolic link" in done.stderr


def test_the_exchange_folder_of_the_machines_jupyter_configuration_is_used(
    released, tmp_path, monkeypatch
):
    """On the course's hub the exchange is set in the environment's Jupyter configuration
    (deploy/jupyterhub); the course's own configuration does not override it."""
    monkeypatch.delenv("DLGRADE_EXCHANGE", raising=False)
    assert exchange.exchange_root(released) == Path(exchange.DEFAULT_ROOT)
    machine = tmp_path / "etc-jupyter"
    machine.mkdir()
    (machine / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.Exchange.root = {str(tmp_path / 'hub-exchange')!r}\n"
    )
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(machine))
    assert exchange.exchange_root(released) == tmp_path / "hub-exchange"
    monkeypatch.setenv("DLGRADE_EXCHANGE", str(tmp_path / "chosen"))
    assert exchange.exchange_root(released) == tmp_path / "chosen"


def test_a_hand_in_the_instructor_may_not_read_is_refused_alone(course_with_exchange, monkeypatch):
    """On a hub the instructor is no root: a student may hand in a folder holding a folder
    of mode 000. Reading it fails for that hand-in alone (simulated here: the tests run as
    root, who may read anything)."""
    root, box = course_with_exchange
    closed = hand_in(box, "dora", {NOTEBOOK: _notebook(root, "dora")})
    hand_in(box, "bob", {NOTEBOOK: _notebook(root, "bob")})
    when = exchange._when

    def refuse_dora(path: str):
        if Path(path) == closed:
            raise PermissionError(13, "Permission denied", str(closed / "private"))
        return when(path)

    monkeypatch.setattr(exchange, "_when", refuse_dora)
    done = exchange.collect(root, ASSIGNMENT)
    assert done.students == ["bob"]
    assert len(done.refused) == 1 and "Permission denied" in done.refused[0]
