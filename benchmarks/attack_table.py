"""Grade the attack corpus with plain nbgrader 0.9 and with this course's pipeline; print a table.

    python benchmarks/attack_table.py --out /tmp/attack-table

Two course copies on this machine, the same submissions (tests/corpus/entries.py):

- ours: the course's own nbgrader_config.py (trusted judge, sandbox, limits), the whole
  corpus in ONE `nbgrader autograde --force` batch;
- plain: nbgrader 0.9's default autograde pipeline (only the CourseDirectory lines and the
  same ``c.Execute.timeout``), each student graded in its own `nbgrader autograde --student`
  run and its scores read at once (a submission that kills nbgrader, or rewrites the
  gradebook, then spoils only its own row).

Both copies get the corpus's short limits (``SHORT_LIMITS``: 10 s per cell; plain nbgrader
takes only that one).

Entries that would harm an unprotected machine (memory, processes, disk, the shared Python
environment) are not run in the plain copy ("not run: would harm the machine"), nor in ours
when the course's configuration has no sandbox. Columns: points on the attacked cells / their
maximum (for broken notebooks, on the whole notebook). A TCP listener on 127.0.0.1 counts
what the network attack sends in each copy.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graders import course  # noqa: E402
from tests.corpus import entries as corpus  # noqa: E402
from tests.corpus.listener import Listener  # noqa: E402

HARMFUL = "not run: would harm the machine"


def plain_config(ours: str) -> str:
    """nbgrader's defaults: only the CourseDirectory lines and our Execute.timeout."""
    keep = [
        line
        for line in ours.splitlines()
        if re.match(r"\s*(import os|here = |c = get_config|c\.CourseDirectory\.)", line)
    ]
    timeout = re.findall(r"^c\.RobustExecute\.timeout\s*=\s*(\d+)", ours, flags=re.M)
    return "\n".join(keep + [f"c.Execute.timeout = {t}" for t in timeout[-1:]]) + "\n"


def sandbox_configured(root: Path) -> bool:
    return (root / "graders" / "sandbox.py").is_file() and "c.Sandbox." in (
        root / "nbgrader_config.py"
    ).read_text()


def make_copy(dest: Path, config: str | None) -> Path:
    copy = course.copy_course(ROOT, dest, include=("source", "solutions"))
    if config is not None:
        (copy / "nbgrader_config.py").write_text(config)
    run = course.run_nbgrader(copy, "generate_assignment", corpus.ASSIGNMENT, "--force")
    if run.returncode != 0:
        raise SystemExit(f"generate_assignment failed in {copy}:\n{run.stderr[-3000:]}")
    return copy


def cell(copy: Path, entry: corpus.Entry, note: str = "") -> str:
    got = {g: s for g, (s, _) in course.cell_scores(copy, corpus.ASSIGNMENT, entry.student).items()}
    full = entry.expected  # for the maxima, the course's points
    points = corpus.full_points(copy)
    ids = entry.attacked(copy) or set(points)
    text = f"{sum(got.get(g, 0.0) for g in ids):g} / {sum(points[g] for g in ids):g}"
    ok = got == full(copy)
    return text + ("" if ok else " (!)") + (f"; {note}" if note else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the course copies")
    parser.add_argument("--only", nargs="*", help="student ids of the entries to run")
    args = parser.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    entries = [e for e in corpus.ENTRIES if not args.only or e.student in args.only]
    protected = sandbox_configured(ROOT)

    listener = Listener()
    os.environ[corpus.LISTENER_ENV] = str(listener.port)
    rows: dict[str, list[str]] = {e.student: [e.vector] for e in entries}
    try:
        # plain nbgrader 0.9, one student at a time
        ours_text = (ROOT / "nbgrader_config.py").read_text()
        plain = make_copy(out / "plain", plain_config(ours_text + corpus.SHORT_LIMITS))
        for e in entries:
            if e.dangerous:
                rows[e.student].append(HARMFUL)
                continue
            course.submit(plain, e.student, corpus.ASSIGNMENT, e.build(plain))
            before = listener.bytes_received
            run = course.run_nbgrader(
                plain, "autograde", corpus.ASSIGNMENT, "--force", "--student", e.student
            )
            notes = []
            if run.returncode < 0:
                notes.append(f"nbgrader itself died (exit {run.returncode})")
            elif run.returncode != 0:
                notes.append("nbgrader: error processing the submission")
            if listener.bytes_received > before:
                notes.append(f"listener got {listener.bytes_received - before} bytes")
            rows[e.student].append(cell(plain, e, "; ".join(notes)))

        # ours, one batch
        ours = make_copy(out / "ours", ours_text + corpus.SHORT_LIMITS)
        ran = []
        for e in entries:
            if e.dangerous and not protected:
                continue
            course.submit(ours, e.student, corpus.ASSIGNMENT, e.build(ours))
            ran.append(e.student)
        before = listener.bytes_received
        run = course.run_nbgrader(ours, "autograde", corpus.ASSIGNMENT, "--force")
        (out / "ours_autograde.log").write_text(run.stdout + run.stderr)
        batch_note = "" if run.returncode == 0 else f"batch exit {run.returncode}"
        for e in entries:
            if e.student not in ran:
                rows[e.student].append(HARMFUL + " (no sandbox configured)")
                continue
            rows[e.student].append(cell(ours, e, batch_note))
        if listener.bytes_received > before:
            print(
                f"WARNING: the listener received {listener.bytes_received - before} bytes from ours"
            )
    finally:
        listener.close()

    print("| vector | plain nbgrader 0.9 (points on the attacked cells / max) | ours |")
    print("|---|---|---|")
    for e in entries:
        print("| " + " | ".join(rows[e.student]) + " |")
    print()
    print(
        "Points on the attacked cells (the wrong answers) / their maximum; for broken "
        "notebooks, the whole notebook. (!) marks a result that differs from the entry's "
        "expected outcome (with the sandbox on)."
    )


if __name__ == "__main__":
    main()
