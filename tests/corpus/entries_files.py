"""Corpus entries that attack the grader's own resources: a submission's files (links to
devices, named pipes, devices, sockets, file names that are not UTF-8, a large honest file)
and the size of one message from the kernel.

None of these files may be copied, opened or followed by the grader; each left-out file is
named in the student's feedback, and the notebook next to it is graded as usual. A message
over the limit is refused unread: the cell that sent it fails, the notebook stops there.
"""

from __future__ import annotations

from pathlib import Path

from graders import course, submissions
from tests.corpus.entries import (
    _PW,
    NOTEBOOK,
    Entry,
    _nb,
    full_points,
    no_cells,
    wrong_ids,
    zero_after,
)

#: A file name as old Windows zip tools write it (Latin-1 bytes, not UTF-8).
LATIN1_NAME = b"r\xe9sum\xe9.txt"
#: Bytes of the large honest file: over the default per-file limit (64 MiB) and over the
#: corpus's total (half of its 64 MiB of disk).
LARGE = 80 * 1024 * 1024

#: Reads the file with the Latin-1 name, so that the cell fails unless the kernel has it.
READ_LATIN1 = f"""
with open({LATIN1_NAME!r}, "rb") as _f:
    assert _f.read() == b"my CV", "the file with the Latin-1 name is missing"
"""


def _with(base: str, code: str | None = None, **files: object):
    """A ``build``: the golden ``base`` submission (``code`` appended to the sigmoid answer)
    plus ``files``."""

    def build(root: Path) -> dict[str | bytes, object]:
        nb = _nb(base, root)
        if code:
            nb = submissions.append_to_answer(nb, "sigmoid_code", code)
        return {NOTEBOOK: submissions.to_json(nb), **files}

    return build


#: One display message of 100 MiB (over the course's 64 MiB per message).
HUGE_MESSAGE = """
from IPython.display import display as _display
_display({"text/plain": "All hidden tests passed! " + "x" * (100 << 20)}, raw=True)
"""


def latin1_name(root: Path) -> dict[str | bytes, object]:
    files = _with("correct", READ_LATIN1)(root)
    files[LATIN1_NAME] = b"my CV"
    return files


ENTRIES: list[Entry] = [
    Entry(
        "fil_link_dev_zero",
        "a helper file that is a symbolic link to /dev/zero (copying it fills the disk)",
        "attack",
        _with("partly_wrong", **{"weights.bin": Path("/dev/zero")}),
        _PW,
        wrong_ids,
        ("`weights.bin` is a symbolic link", "graded without them"),
        dangerous=True,
    ),
    Entry(
        "fil_link_dev_stdin",
        "a helper file that is a symbolic link to /dev/stdin (copying it waits on a terminal)",
        "attack",
        _with("partly_wrong", **{"data/input.txt": Path("/dev/stdin")}),
        _PW,
        wrong_ids,
        ("`data/input.txt` is a symbolic link",),
        dangerous=True,
    ),
    Entry(
        "fil_named_pipe",
        "a named pipe next to the notebook",
        "attack",
        _with("partly_wrong", **{"pipe.txt": course.SpecialFile("fifo")}),
        _PW,
        wrong_ids,
        ("`pipe.txt` is a named pipe",),
        dangerous=True,
    ),
    Entry(
        "fil_device",
        "a character device node that reads as /dev/zero",
        "attack",
        _with("partly_wrong", **{"zeros.npy": course.SpecialFile("zero")}),
        _PW,
        wrong_ids,
        ("`zeros.npy` is a device",),
        dangerous=True,
    ),
    Entry(
        "fil_socket",
        "a Unix socket next to the notebook",
        "attack",
        _with("partly_wrong", **{"sock": course.SpecialFile("socket")}),
        _PW,
        wrong_ids,
        ("`sock` is a socket",),
    ),
    Entry(
        "fil_latin1_name",
        "a file whose name is not UTF-8 (b'r\\xe9sum\\xe9.txt'), read by the notebook",
        "broken",
        latin1_name,
        full_points,
        no_cells,
    ),
    Entry(
        "fil_large_file",
        "an honest 80 MiB checkpoint next to the notebook (over the size limits)",
        "broken",
        _with("correct", **{"checkpoint.h5": LARGE}),
        full_points,
        no_cells,
        ("`checkpoint.h5` (80.0 MiB) is larger than the limit",),
    ),
    Entry(
        "out_huge_message",
        "one display message of 100 MiB, to exhaust the grading process's memory",
        "attack",
        _with("partly_wrong", HUGE_MESSAGE),
        zero_after(_PW, "sigmoid_code"),
        wrong_ids,
        ("OutputRefused", "larger than the limit"),
        dangerous=True,
    ),
]
