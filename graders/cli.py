"""``dlgrade``: the instructor's command line, a thin layer over plain functions.

dlgrade release [ASSIGNMENT ...] [--publish [--due TIME]]   generate release/; publish to
                                          the exchange (JupyterHub) with a due date
dlgrade collect ASSIGNMENT [--zip FILE]   hand-ins from the exchange, or a Canvas download
dlgrade autograde ASSIGNMENT [--student S] [--force] [--no-sandbox]
                  [--workers N | --scheduler ADDRESS]   in parallel, or on a Dask cluster
dlgrade export [--csv FILE] [--gradescope DIR] [--canvas FILE [--canvas-id A=ID ...]]
dlgrade report [--out FILE]
dlgrade validate [--assignment A]         reference full marks, blank zero, mutants, release
dlgrade feedback ASSIGNMENT [--student S] [--show values|hints|none] [--release]
dlgrade similarity ASSIGNMENT [--out FILE] [--threshold T]   suspiciously alike answers
dlgrade demo [--out DIR] [--students N] [--assignment A]   a simulated class, graded
dlgrade pretrain face_encoder|mobilenet [--out FILE]      regenerate shipped weights
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from graders import course


def _course_root(args: argparse.Namespace) -> Path:
    return Path(args.course).resolve()


def cmd_release(args: argparse.Namespace) -> int:
    if args.due and not args.publish:
        raise course.CourseError("--due goes with --publish (the due date of the exchange)")
    folders = course.release(_course_root(args), args.assignments or None)
    for folder in folders:
        print(f"released {folder}")
    if args.publish:
        from nbgrader.utils import parse_utc

        from graders import exchange

        try:
            due = parse_utc(args.due) if args.due else None
        except (ValueError, OverflowError) as exc:
            raise course.CourseError(f"--due {args.due!r} is not a time: {exc}") from None
        for folder in folders:
            out = exchange.publish(_course_root(args), folder.name, due)
            when = f", due {due:%Y-%m-%d %H:%M} UTC" if due else ""
            print(f"published {folder.name} to {out}{when}")
    return 0


def cmd_collect(args: argparse.Namespace) -> int:
    root = _course_root(args)
    if args.zip:
        from graders import lms

        got = lms.collect_zip(root, args.assignment, Path(args.zip))
        print(f"kept the download as {got.kept}")
        for student in got.students:
            late = "  (late, says Canvas)" if student in got.late else ""
            print(f"{student:>16}  collected{late}")
        for why in got.skipped:
            print(f"not filed: {why}")
        for note in got.renamed:
            print(f"renamed: {note}")
        print(f"{len(got.students)} students collected, {len(got.skipped)} files not filed")
        return 0
    from graders import exchange

    done = exchange.collect(root, args.assignment)
    for student in done.students:
        print(f"{student:>16}  collected")
        for note in done.left_out.get(student, []):
            print(f"{'':>16}  {note}")
    for why in done.refused:
        print(f"refused: {why}")
    for student in done.not_on_roster:
        print(f"note: {student} is not on the roster (added when graded; nbgrader db student add)")
    print(f"{len(done.students)} students collected, {len(done.refused)} hand-ins refused")
    return 0


def cmd_autograde(args: argparse.Namespace) -> int:
    sandbox = False if args.no_sandbox else None
    if not args.no_sandbox and not args.scheduler:
        from graders.sandbox import limits_in_force

        print(f"students' kernels: {limits_in_force()}")
    if args.workers == 0 and not args.scheduler:
        results = course.autograde(
            _course_root(args), args.assignment, args.student or None, force=args.force,
            sandbox=sandbox,
        )  # fmt: skip
    else:
        from graders import parallel

        results = parallel.autograde_parallel(
            _course_root(args),
            args.assignment,
            args.student or None,
            workers=args.workers,
            scheduler=args.scheduler,
            force=args.force,
            sandbox=sandbox,
        )
    failed = [r for r in results if not r.ok]
    for r in results:
        total = sum(s for s, _ in r.scores.values())
        possible = sum(m for _, m in r.scores.values())
        state = (
            "skipped (up to date)" if r.skipped else ("graded" if r.ok else f"FAILED: {r.error}")
        )
        print(f"{r.student:>16}  {total:5.1f} / {possible:5.1f}  {state}")
    print(f"{len(results)} submissions, {len(failed)} failed")
    return 1 if failed else 0


def cmd_export(args: argparse.Namespace) -> int:
    from graders import export, feedback

    root = _course_root(args)
    db_url = course.gradebook_url(root)
    csv_path = export.export_csv(db_url, Path(args.csv))
    print(f"grades CSV: {csv_path}")
    if args.canvas:
        from graders import lms

        ids = dict(_pair(text) for text in args.canvas_id or [])
        path = lms.export_canvas(db_url, Path(args.canvas), args.assignment, ids)
        print(f"Canvas gradebook import: {path}")
    if args.gradescope:
        show = feedback.configured_show(root)
        for assignment in args.assignment or course.assignments_in(root):
            paths = export.export_gradescope(
                db_url, root / "autograded", Path(args.gradescope), assignment, show
            )
            print(f"Gradescope results for {assignment}: {len(paths)} files in {args.gradescope}")
    return 0


def _pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name or not value:
        raise course.CourseError(f"--canvas-id {text!r}: write ASSIGNMENT=CANVAS_ID")
    return name, value


def cmd_report(args: argparse.Namespace) -> int:
    from graders import report

    root = _course_root(args)
    path = report.build_report(course.gradebook_url(root), Path(args.out), root / "autograded")
    print(f"report: {path}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from graders import validate

    problems = validate.validate(_course_root(args), args.assignment)
    for p in problems:
        print(f"FAIL {p}")
    print("validate: " + ("all checks passed" if not problems else f"{len(problems)} problems"))
    return 1 if problems else 0


def cmd_feedback(args: argparse.Namespace) -> int:
    from graders import feedback

    written = feedback.generate(
        _course_root(args), args.assignment, args.student or None, args.show, args.release
    )
    for path in written:
        print(path)
    what = "generated and released" if args.release else "generated"
    print(f"feedback {what} for {len(written)} notebooks")
    return 0


def cmd_similarity(args: argparse.Namespace) -> int:
    from graders import similarity

    root = _course_root(args)
    if not (root / "release" / args.assignment).is_dir():
        raise course.CourseError(f"no release/{args.assignment} in {root}: release it first")
    out = Path(args.out or f"similarity-{args.assignment}.html")
    hits = similarity.similarity(root, args.assignment, out, args.threshold)
    for pair in hits:
        print(
            f"{pair.first:>16}  {pair.second:<16}  {pair.overlap_first:4.0%} / "
            f"{pair.overlap_second:4.0%} of their answer code shared"
        )
    print(f"{len(hits)} pairs at or above {args.threshold:.0%}; side by side in {out}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from graders import demo

    demo.run_demo(
        _course_root(args),
        Path(args.out),
        n_students=args.students,
        assignments=args.assignment,
        workers=args.workers,
    )
    return 0


def cmd_pretrain(args: argparse.Namespace) -> int:
    from graders import pretrain

    options = ["--seed", str(args.seed)]
    options += ["--out", args.out] if args.out else []
    options += ["--steps", str(args.steps)] if args.steps else []
    options += ["--epochs", str(args.epochs)] if args.epochs else []
    return pretrain.main([args.what, *options])


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``dlgrade``."""
    parser = argparse.ArgumentParser(prog="dlgrade", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--course",
        default=os.environ.get("DLGRADE_COURSE", "."),
        help="course folder holding nbgrader_config.py (default: .)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", help="generate release/ from source/")
    p.add_argument("assignments", nargs="*")
    p.add_argument("--publish", action="store_true", help="also release to nbgrader's exchange")
    p.add_argument(
        "--due",
        metavar="TIME",
        help="due date of a published assignment, e.g. '2026-12-01 17:00 Europe/Paris' "
        "(UTC when no zone is given); later hand-ins get the course's late penalty",
    )
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("collect", help="hand-ins from the exchange, or a Canvas download zip")
    p.add_argument("assignment")
    p.add_argument("--zip", metavar="FILE", help="a Canvas 'Download Submissions' zip")
    p.set_defaults(func=cmd_collect)

    p = sub.add_parser("autograde", help="grade submitted/<student>/<assignment>")
    p.add_argument("assignment")
    p.add_argument("--student", action="append", help="only this student (repeatable)")
    p.add_argument("--force", action="store_true", help="regrade even if up to date")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="grade on this many worker processes on this machine (default: one per core); "
        "0 grades one notebook at a time in this process",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="grade on the workers of this Dask scheduler (e.g. tcp://10.0.0.5:8786)",
    )
    p.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run students' kernels unsandboxed (they can read solutions/ and the "
        "gradebook); a warning is logged for every notebook",
    )
    p.set_defaults(func=cmd_autograde)

    p = sub.add_parser("export", help="grades as CSV and Gradescope results JSON")
    p.add_argument("--csv", default="grades.csv")
    p.add_argument("--gradescope", metavar="DIR", help="also write Gradescope results here")
    p.add_argument("--assignment", action="append")
    p.add_argument("--canvas", metavar="FILE", help="also write a Canvas gradebook import CSV")
    p.add_argument(
        "--canvas-id",
        action="append",
        metavar="ASSIGNMENT=ID",
        help="the Canvas assignment id to fill with ASSIGNMENT's scores (repeatable); "
        "without one, Canvas creates an assignment of that name",
    )
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("report", help="an HTML page of scores and per-question pass rates")
    p.add_argument("--out", default="report.html")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("validate", help="the course's own checks (docs/architecture.md)")
    p.add_argument("--assignment", action="append", help="only this assignment (repeatable)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("feedback", help="students' feedback, hidden tests removed; --release")
    p.add_argument("assignment")
    p.add_argument("--student", action="append", help="only this student (repeatable)")
    p.add_argument(
        "--show",
        choices=["values", "hints", "none"],
        help="what a failed hidden check shows (default: c.RedactFeedback.show)",
    )
    p.add_argument("--release", action="store_true", help="release it to nbgrader's exchange")
    p.set_defaults(func=cmd_feedback)

    p = sub.add_parser("similarity", help="pairs of submissions with suspiciously alike answers")
    p.add_argument("assignment")
    p.add_argument("--out", help="the page of flagged pairs (default: similarity-A.html)")
    p.add_argument(
        "--threshold",
        type=float,
        default=0.6,
        help="flag a pair when this share (0 to 1) of one's answer tokens is in the other",
    )
    p.set_defaults(func=cmd_similarity)

    p = sub.add_parser("demo", help="grade a simulated class end to end")
    p.add_argument("--out", default="demo-output")
    p.add_argument("--students", type=int, default=12)
    p.add_argument("--assignment", action="append", help="only this assignment (repeatable)")
    p.add_argument("--workers", type=int, help="worker processes (default: one per core)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("pretrain", help="regenerate the weights the course ships")
    p.add_argument("what", choices=["face_encoder", "mobilenet"])
    p.add_argument("--out", help="weights file to write (default: the shipped one)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, help="face_encoder: optimisation steps")
    p.add_argument("--epochs", type=int, help="mobilenet: epochs")
    p.set_defaults(func=cmd_pretrain)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; errors are reported in plain words, without a traceback."""
    args = build_parser().parse_args(argv)
    course.ensure_tools_on_path()
    try:
        return args.func(args)
    except course.CourseError as exc:
        print(f"dlgrade: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
