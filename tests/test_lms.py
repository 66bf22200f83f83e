"""The class loop with an LMS: a Canvas "Download Submissions" zip filed under the roster's
students, a due date and the late policy applied end to end (publish, hand in, collect,
``dlgrade autograde``), and the grades written as the CSV that Canvas's gradebook imports."""

from __future__ import annotations

import csv
import secrets
import shutil
import stat
import zipfile
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from graders import cli, course, exchange, feedback, golden, lms

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "w1_broadcasting"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
ROSTER = {  # student id: (first name, last name, Canvas user id)
    "alice": ("Alice", "Liddell", "1001"),
    "bob": ("Bob", "Stone", "1002"),
    "carol": ("Carol", "Ng", "1003"),
    "dave": ("Dave", "Okafor", ""),
}


def _roster(root: Path) -> None:
    with Gradebook(course.gradebook_url(root)) as gb:
        for student, (first, last, lms_id) in ROSTER.items():
            gb.update_or_create_student(
                student, first_name=first, last_name=last, lms_user_id=lms_id or None
            )


_now = exchange.utc_now


@pytest.fixture(scope="module")
def released(released_w1):
    """The released course with the roster (Canvas user ids)."""
    _roster(released_w1)
    return released_w1


def _canvas_zip(path: Path, members: dict[str, bytes | tuple[int, bytes]]) -> Path:
    """A zip as Canvas's download writes it; a (mode, bytes) value sets the member's Unix
    file type and mode (a link's bytes are its target)."""
    with zipfile.ZipFile(path, "w") as z:
        for name, content in members.items():
            if isinstance(content, tuple):
                info = zipfile.ZipInfo(name)
                info.external_attr = content[0] << 16
                z.writestr(info, content[1])
            else:
                z.writestr(name, content)
    return path


def test_a_canvas_download_is_filed_under_the_roster_students(released, tmp_path, capsys):
    root = tmp_path / "course"
    shutil.copytree(released, root)
    right = golden.build("correct", root, ASSIGNMENT, NOTEBOOK).encode()
    inner = tmp_path / "inner.zip"
    _canvas_zip(inner, {"bomb.txt": b"0" * 1000})
    download = _canvas_zip(tmp_path / "submissions.zip", {
        f"liddellalice_1001_555_{NOTEBOOK}": right,
        "liddellalice_1001_556_data.csv": b"x,y\n1,2\n",
        f"stonebob_LATE_1002_557_{ASSIGNMENT}-1.ipynb": right,  # uploaded twice: renamed
        f"ngcarol_1003_558_{ASSIGNMENT} (1).ipynb": right,  # renamed by a browser
        "ngcarol_1003_559_work.zip": inner.read_bytes(),  # kept as a file, not unpacked
        "ngcarol_1003_560_passwd": (stat.S_IFLNK | 0o777, b"/etc/passwd"),
        "../../../okafordave_1001_561_evil.txt": b"lands in alice's folder, by name only",
        f"strangerjo_4242_562_{NOTEBOOK}": right,  # not on the roster
        "README.txt": b"not a Canvas name",
    })  # fmt: skip
    assert cli.main(["--course", str(root), "collect", ASSIGNMENT, "--zip", str(download)]) == 0
    printed = capsys.readouterr().out
    submitted = root / "submitted"
    assert sorted(p.name for p in submitted.iterdir()) == ["alice", "bob", "carol"]
    files = {s: sorted(p.name for p in (submitted / s / ASSIGNMENT).iterdir()) for s in ROSTER
             if (submitted / s).exists()}  # fmt: skip
    assert files == {
        "alice": ["data.csv", "evil.txt", NOTEBOOK],
        "bob": [NOTEBOOK],
        "carol": [NOTEBOOK, "work.zip"],
    }
    assert (submitted / "bob" / ASSIGNMENT / NOTEBOOK).read_bytes() == right
    assert not list(root.rglob("passwd")) and not (root.parent / "evil.txt").exists()
    assert "(late, says Canvas)" in next(line for line in printed.splitlines() if "bob" in line)
    assert "Canvas user 4242 (strangerjo) is not in the roster" in printed
    assert f"carol: {ASSIGNMENT} (1).ipynb was graded as {NOTEBOOK}" in printed
    assert "README.txt: not named as Canvas names submissions" in printed
    assert "passwd: not a regular file in the zip" in printed
    kept = list((root / "downloaded" / ASSIGNMENT / "collected").iterdir())
    assert [k.read_bytes() for k in kept] == [download.read_bytes()]


def test_a_later_download_replaces_a_students_files_and_every_download_is_kept(released, tmp_path):
    root = tmp_path / "course"
    shutil.copytree(released, root)
    first = _canvas_zip(tmp_path / "a.zip", {f"liddellalice_1001_1_{NOTEBOOK}": b'{"v": 1}'})
    lms.collect_zip(root, ASSIGNMENT, first)
    second = _canvas_zip(tmp_path / "b.zip", {f"liddellalice_1001_2_{NOTEBOOK}": b'{"v": 2}',
                                              "liddellalice_1001_3_extra.txt": b"x"})  # fmt: skip
    got = lms.collect_zip(root, ASSIGNMENT, second)
    assert got.students == ["alice"]
    folder = root / "submitted" / "alice" / ASSIGNMENT
    assert (folder / NOTEBOOK).read_bytes() == b'{"v": 2}'
    assert len(list((root / "downloaded" / ASSIGNMENT / "collected").iterdir())) == 2


def test_a_file_that_is_not_a_zip_is_named(released, tmp_path):
    bad = tmp_path / "grades.zip"
    bad.write_text("not a zip")
    with pytest.raises(course.CourseError, match="is not a zip file"):
        lms.collect_zip(released, ASSIGNMENT, bad)


# ------------------------------------------------------------- due date, late policy, Canvas


def _hand_in(box: Path, student: str, text: str) -> None:
    stamp = f"{_now().isoformat(' ')} UTC"
    folder = box / "dlgrade" / "inbound" / f"{student}+{ASSIGNMENT}+{stamp}+{secrets.token_hex(4)}"
    folder.mkdir(parents=True)
    (folder / "timestamp.txt").write_text(stamp)
    (folder / "submission_secret.txt").write_text(secrets.token_hex(16))  # as nbgrader submit
    (folder / NOTEBOOK).write_text(text)


@pytest.fixture(scope="module")
def late_class(released, tmp_path_factory):
    """w1 published; alice hands in right answers before the due date, bob the same after
    it, dave a renamed notebook with right answers on time, carol nothing; collected and
    graded with ``dlgrade autograde`` (sandboxed, parallel workers)."""
    tmp = tmp_path_factory.mktemp("late")
    root = tmp / "course"
    shutil.copytree(released, root)
    box = tmp / "exchange"
    box.mkdir()
    box.chmod(0o1777)
    with open(root / "nbgrader_config.py", "a", encoding="utf-8") as f:
        f.write(f"\nc.Exchange.root = {str(box)!r}\n")
    exchange.publish(root, ASSIGNMENT)
    right = golden.build("correct", root, ASSIGNMENT, NOTEBOOK)
    assert isinstance(right, str)
    _hand_in(box, "alice", right)
    _hand_in(box, "dave", right)
    inbound = box / "dlgrade" / "inbound"
    dave = next(inbound.glob("dave+*"))
    (dave / NOTEBOOK).rename(dave / f"{ASSIGNMENT}-Copy1.ipynb")
    # The instructor sets the due date between the two hand-ins (the first is on time).
    exchange.set_due_date(root, ASSIGNMENT, _now())
    _hand_in(box, "bob", right)
    assert cli.main(["--course", str(root), "collect", ASSIGNMENT]) == 0
    assert cli.main(["--course", str(root), "autograde", ASSIGNMENT, "--workers", "2"]) == 0
    return root


def test_a_late_hand_in_loses_the_share_of_the_late_policy(late_class):
    with Gradebook(course.gradebook_url(late_class)) as gb:
        full = gb.find_assignment(ASSIGNMENT).max_score
        got = {
            s: (gb.find_submission(ASSIGNMENT, s).score,
                gb.find_submission(ASSIGNMENT, s).late_submission_penalty)
            for s in ("alice", "bob", "dave")
        }  # fmt: skip
    assert got["alice"] == (full, 0)
    assert got["dave"] == (full, 0)  # the renamed notebook was graded
    assert got["bob"] == (full, pytest.approx(0.1 * full))  # one started day late: 10 %


def test_the_canvas_gradebook_file_is_what_canvas_imports(late_class, tmp_path):
    out = tmp_path / "canvas.csv"
    assert cli.main(["--course", str(late_class), "export", "--csv", str(tmp_path / "g.csv"),
                     "--canvas", str(out), "--canvas-id", f"{ASSIGNMENT}=98765"]) == 0  # fmt: skip
    raw = out.read_bytes()
    assert raw.startswith(b"Student,ID,SIS User ID,SIS Login ID,Section,") and b"\r\n" in raw
    rows = list(csv.reader(out.open(newline="", encoding="utf-8")))
    with Gradebook(course.gradebook_url(late_class)) as gb:
        full = gb.find_assignment(ASSIGNMENT).max_score
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                       f"{ASSIGNMENT} (98765)"]  # fmt: skip
    assert rows[1][0].strip() == "Points Possible" and float(rows[1][5]) == full
    by_sis = {row[2]: row for row in rows[2:]}
    assert by_sis["alice"][:2] == ["Liddell, Alice", "1001"]
    assert float(by_sis["alice"][5]) == full
    assert float(by_sis["bob"][5]) == pytest.approx(0.9 * full)
    assert by_sis["carol"][5] == ""  # no submission: Canvas keeps what it has
    assert by_sis["dave"][1] == "" and float(by_sis["dave"][5]) == full  # matched by SIS id


def test_feedback_of_exchange_hand_ins_is_released_to_each_student(late_class):
    """Collected hand-ins keep their submission secret, so nbgrader's exchange can hand each
    student their own feedback."""
    written = [
        p.parent.parent.name for p in feedback.generate(late_class, ASSIGNMENT, release=True)
    ]
    assert written == ["alice", "bob", "dave"]
    box = Path(course.load_config(late_class).Exchange.root)
    pages = sorted((box / "dlgrade" / "feedback").glob("*.html"))
    assert len(pages) == 3
