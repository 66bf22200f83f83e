"""A submission's files are data (graders/submissions.py): only regular files within the
size limits reach the kernel, nbgrader's own copy included; links, pipes, devices and
sockets are left out before anything opens them, each with a note for the student."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import pytest
from traitlets.config import Config

from graders import course, submissions

ROOT = Path(__file__).resolve().parents[1]
MIB = submissions.MIB
NB = "w1_broadcasting.ipynb"


def _hostile(tmp_path: Path) -> Path:
    """A submission holding one of each kind of file that is not a regular file."""
    return course.submit(
        tmp_path,
        "eve",
        "a1",
        {
            NB: "{}",
            "ok.txt": "fine",
            "zero.bin": Path("/dev/zero"),
            "stdin.txt": Path("/dev/stdin"),
            "data/solutions.py": ROOT / "solutions" / "w1_broadcasting.py",
            "pipe": course.SpecialFile("fifo"),
            "sock": course.SpecialFile("socket"),
            "dev": course.SpecialFile("zero"),
            b"r\xe9sum\xe9.txt": b"cv",
        },
    )


def test_only_regular_files_are_kept_and_each_left_out_file_gets_a_note(tmp_path):
    intake = submissions.scan(_hostile(tmp_path))
    assert [rel for rel, _ in intake.files] == ["ok.txt", os.fsdecode(b"r\xe9sum\xe9.txt"), NB]
    assert dict(intake.left_out) == {
        "data/solutions.py": "`data/solutions.py` is a symbolic link, not a file: it was left out.",
        "dev": "`dev` is a device, not a file: it was left out.",
        "pipe": "`pipe` is a named pipe, not a file: it was left out.",
        "sock": "`sock` is a socket, not a file: it was left out.",
        "stdin.txt": "`stdin.txt` is a symbolic link, not a file: it was left out.",
        "zero.bin": "`zero.bin` is a symbolic link, not a file: it was left out.",
    }
    assert not intake.error


def test_a_name_that_is_not_utf8_is_shown_escaped():
    assert submissions.printable(os.fsdecode(b"r\xe9sum\xe9.txt")) == "r\\xe9sum\\xe9.txt"
    note = submissions.files_note(["`r\\xe9sum\\xe9.txt` is a socket"])
    assert note.source.encode("utf-8")  # a note can always be saved


def test_files_over_the_limits_are_left_out_in_name_order(tmp_path):
    folder = course.submit(
        tmp_path, "ann", "a1", {NB: "{}", "a.bin": 3 * MIB, "b.bin": 3 * MIB, "c.bin": 9 * MIB}
    )
    intake = submissions.scan(folder, submissions.FileLimits(per_file=8 * MIB, total=5 * MIB))
    assert [rel for rel, _ in intake.files] == ["a.bin", NB]
    notes = dict(intake.left_out)
    assert "past the limit of 5.0 MiB in all" in notes["b.bin"]
    assert "(9.0 MiB) is larger than the limit of 8.0 MiB per file" in notes["c.bin"]


def test_the_limits_come_from_the_course_and_leave_room_in_the_kernels_disk():
    config = Config()
    config.SubmittedFiles.max_file_mb = 300
    config.SubmittedFiles.max_total_mb = 400
    config.Sandbox.disk_mb = 512
    assert submissions.limits(config) == submissions.FileLimits(256 * MIB, 256 * MIB)
    config.Sandbox.enabled = False
    assert submissions.limits(config) == submissions.FileLimits(300 * MIB, 400 * MIB)
    defaults = course.load_config(ROOT)
    assert submissions.limits(defaults) == submissions.FileLimits(64 * MIB, 128 * MIB)


@pytest.mark.parametrize("kind", ["fifo", "zero"])
def test_a_notebook_that_is_a_pipe_or_device_fails_the_submission(tmp_path, kind):
    folder = course.submit(tmp_path, "eve", "a1", {NB: course.SpecialFile(kind)})
    assert "is a" in submissions.scan(folder).error


def test_a_submission_folder_that_is_a_link_is_refused(tmp_path):
    (tmp_path / "submitted" / "eve").mkdir(parents=True)
    (tmp_path / "submitted" / "eve" / "a1").symlink_to(ROOT / "solutions")
    assert "symbolic link" in submissions.scan(tmp_path / "submitted" / "eve" / "a1").error


def test_nbgraders_own_copy_lists_regular_files_only(tmp_path):
    """The course's nbgrader_config.py makes the listing nbgrader copies from (with
    ``shutil.copy``, following links) keep regular files alone: reading the listing must
    not block on the pipe, and nothing outside the submission is listed."""
    course.load_config(ROOT)  # runs nbgrader_config.py
    from nbgrader.converters import base

    folder = _hostile(tmp_path)
    listed: list[str] = []
    lister = threading.Thread(target=lambda: listed.extend(base.find_all_files(str(folder))))
    lister.start()
    lister.join(timeout=30)
    assert not lister.is_alive()
    names = sorted(os.path.relpath(p, folder) for p in listed)
    assert names == sorted([NB, "ok.txt", os.fsdecode(b"r\xe9sum\xe9.txt")])
    linked = tmp_path / "submitted" / "mallory"
    linked.mkdir()
    (linked / "a1").symlink_to(ROOT / "solutions")
    assert base.find_all_files(str(linked / "a1")) == []


def _deep(folder: Path, depth: int, request: pytest.FixtureRequest) -> None:
    """Folders nested ``depth`` deep under ``folder``, a file at the bottom (made through
    relative steps: the full path is longer than a path may be), removed after the test by
    ``rm`` (Python's own ``shutil.rmtree`` is recursive, and so is pytest's clean-up)."""
    request.addfinalizer(lambda: subprocess.run(["rm", "-rf", str(folder / "d")], check=True))
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=fd)
            inner = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
        with open(os.open("bottom.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "w") as f:
            f.write("deep")
    finally:
        os.close(fd)


@pytest.mark.parametrize("depth", [40, 3000])
def test_folders_nested_too_deep_are_left_out_not_walked(tmp_path, depth, request):
    """A submission thousands of folders deep must not exhaust the walk of the scan or of
    nbgrader's own copy (a recursive walk stops at Python's recursion limit, and the class
    with it): what lies deeper than the limit is left out with a note."""
    folder = course.submit(tmp_path, "deep", "a1", {NB: "{}", "ok.txt": "fine"})
    _deep(folder, depth, request)
    intake = submissions.scan(folder)
    assert sorted(rel for rel, _ in intake.files) == ["ok.txt", NB]
    assert len(intake.notes) == 1 and "nested deeper than 32 folders" in intake.notes[0]
    course.load_config(ROOT)  # runs nbgrader_config.py
    from nbgrader.converters import base

    assert sorted(os.path.relpath(p, folder) for p in base.find_all_files(str(folder))) == [
        "ok.txt",
        NB,
    ]


@pytest.mark.slow
def test_a_deep_submission_is_graded_one_notebook_at_a_time_as_well(tmp_path, request):
    """The sequential path (and plain nbgrader's copy) walks a deep submission too."""
    from graders import golden

    A = "w1_broadcasting"
    root = course.copy_course(ROOT, tmp_path / "c", include=("source", "solutions"))
    course.release(root, [A])
    folder = course.submit(root, "deep", A, {NB: golden.build("correct", root, A, NB)})
    _deep(folder, 3000, request)
    for _ in range(2):  # graded, then found up to date
        (result,) = course.autograde(root, A, progress=False)
        assert result.ok, result.error
    assert result.skipped
    assert sum(s for s, _ in result.scores.values()) == sum(m for _, m in result.scores.values())
    graded = (root / "autograded" / "deep" / A / NB).read_text(encoding="utf-8")
    assert "is nested deeper than 32 folders" in graded
    # Graded by plain nbgrader (no record of dlgrade's): up to date by the files' times.
    from graders import parallel

    (root / ".dlgrade" / "landed" / A / "deep.json").unlink()
    assert parallel.is_up_to_date(root, A, "deep", digest="not recorded")
