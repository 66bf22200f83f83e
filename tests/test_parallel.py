"""Grading a class in parallel on Dask workers (graders/parallel.py).

The fast tests check the pieces (submissions as data, the kit, the replay of a worker's
result); the slow ones grade small classes of ``w1_broadcasting`` on a real LocalCluster of
two worker processes, with real sandboxed kernels, and compare with sequential grading.
"""

from __future__ import annotations

import os
import signal
import tarfile
import threading
import time
from pathlib import Path

import nbformat
import pytest

from graders import course, golden, hidden_inputs, parallel
from graders.nbgrader_plugins import JudgeHiddenTests, RobustExecute

ROOT = Path(__file__).resolve().parents[1]
A = "w1_broadcasting"
NB = f"{A}.ipynb"
#: A small class: honest, wrong, broken and hostile submissions.
KINDS = ("correct", "partly_wrong", "blank", "not_json", "kernel_dies", "tamper")


def _course(tmp: Path, kinds=KINDS) -> Path:
    copy = course.copy_course(ROOT, tmp, include=("source", "solutions"))
    course.release(copy, [A])
    for kind in kinds:
        course.submit(copy, kind, A, {NB: golden.build(kind, copy, A, NB)})
    return copy


def _expected(copy: Path, kind: str) -> dict[str, float]:
    return golden.expected_scores(kind, copy, A, NB)


def _scores(copy: Path, student: str) -> dict[str, float]:
    return {g: s for g, (s, _) in course.cell_scores(copy, A, student).items()}


def _verdicts(copy: Path, student: str) -> dict[str, list[tuple[str, str]]]:
    """What the feedback says of each graded cell: its outputs' kinds (stream name, error
    name), a run of stream outputs counted once (how text is split into outputs depends on
    timing)."""
    nb = nbformat.read(copy / "autograded" / student / A / NB, as_version=4)
    out = {}
    for cell in nb.cells:
        if cell.cell_type != "code" or not cell.metadata.get("nbgrader", {}).get("grade"):
            continue
        kinds: list[tuple[str, str]] = []
        for o in cell.outputs:
            kind = (o.output_type, o.get("name", o.get("ename", "")))
            if not (kinds and kind == kinds[-1] and o.output_type == "stream"):
                kinds.append(kind)
        out[cell.metadata["nbgrader"]["grade_id"]] = kinds
    return out


# ---------------------------------------------------------------------------- fast


def test_a_submission_is_read_as_data_without_its_links(tmp_path):
    course.submit(tmp_path, "ann", A, {NB: "{}", "data/x.txt": "1", "ref.py": Path("/etc/hosts")})
    task = parallel.read_submission(tmp_path, A, "ann")
    assert task.files == {NB: b"{}", "data/x.txt": b"1"}
    assert task.notes == ["`ref.py` is a symbolic link, not a file: it was left out."]
    (tmp_path / "submitted" / "ann" / A / "data" / "x.txt").write_text("2")
    assert parallel.read_submission(tmp_path, A, "ann").digest != task.digest


def test_a_notebook_that_is_a_link_reaches_the_worker_as_a_link_to_nothing(tmp_path):
    course.submit(tmp_path, "ann", A, {NB: Path("/etc/hosts")})
    task = parallel.read_submission(tmp_path, A, "ann")
    assert (task.files, task.notebook_links) == ({}, [NB])
    parallel._write_submission(task, tmp_path / "w")
    assert os.readlink(tmp_path / "w" / NB) == parallel.LINK_REMOVED
    assert not (tmp_path / "w" / NB).exists()


def test_a_file_name_that_is_not_utf8_is_sent_and_written_as_it_is(tmp_path):
    name = b"r\xe9sum\xe9.txt"
    course.submit(tmp_path, "ann", A, {NB: "{}", name: b"cv"})
    task = parallel.read_submission(tmp_path, A, "ann")
    assert task.files[os.fsdecode(name)] == b"cv"
    assert task.digest == parallel.read_submission(tmp_path, A, "ann").digest
    parallel._write_submission(task, tmp_path / "w")
    assert (tmp_path / "w" / os.fsdecode(name)).read_bytes() == b"cv"


def test_a_worker_refuses_paths_that_leave_the_submission_folder(tmp_path):
    task = parallel.Task(A, "ann", {"../../escape.txt": b"x"}, "d")
    with pytest.raises(ValueError, match="leaves the submission folder"):
        parallel._write_submission(task, tmp_path / "sub")
    assert not (tmp_path / "escape.txt").exists()


def test_the_pipeline_is_cut_after_the_judge():
    config = course.load_config(ROOT)
    worker, client = parallel.split_pipeline(list(config.Autograde.autograde_preprocessors))
    assert worker[0] is RobustExecute and worker[-1] is JudgeHiddenTests
    assert "SaveAutoGrades" in [pp.__name__ for pp in client]
    with pytest.raises(course.CourseError, match="no JudgeHiddenTests"):
        parallel.split_pipeline(worker[:1] + client)


def test_the_kit_holds_the_assignment_and_no_student(tmp_path):
    copy = _course(tmp_path / "c", kinds=("correct",))
    course.autograde(copy, A, progress=False)
    kit = parallel.build_kit(copy, A)
    unpacked = parallel.materialize_kit(kit)
    assert (unpacked / "solutions" / f"{A}.py").is_file()
    assert (unpacked / "source" / A).is_dir()
    assert not list((unpacked / "source").rglob("*.ipynb"))  # the workers need no notebook
    with tarfile.open(fileobj=__import__("io").BytesIO(kit)) as tar:
        assert not [m for m in tar.getnames() if m.startswith(("submitted", "autograded"))]
    from nbgrader.api import Gradebook

    with Gradebook(course.gradebook_url(unpacked)) as gb:
        assert gb.students == [] and gb.find_assignment(A).notebooks
    # Nor any secret of hidden inputs (the course keeps the one it drew).
    assert hidden_inputs.lookup(course.gradebook_url(copy), A, "correct")
    assert hidden_inputs.lookup(course.gradebook_url(unpacked), A, "correct") is None


def test_a_replayed_notebook_must_match_the_submission():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    same = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    other = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 2")])
    assert parallel._first_difference(nb, same) is None
    assert parallel._first_difference(nb, other) == "cell 0"


# ---------------------------------------------------------------------------- slow


@pytest.fixture(scope="module")
def client():
    """A LocalCluster of two single-threaded worker processes, shared by the slow tests."""
    with parallel.dask_client(workers=2) as c:
        yield c


@pytest.mark.slow
def test_parallel_grades_equal_sequential_grades(tmp_path, client):
    sequential = _course(tmp_path / "seq")
    par = _course(tmp_path / "par")
    seq_results = course.autograde(sequential, A, progress=False)
    par_results = parallel.autograde_parallel(par, A, client=client, progress=False)
    assert [r.student for r in par_results] == sorted(KINDS)
    assert all(r.ok for r in seq_results + par_results)
    assert len({r.via for r in par_results}) == 2  # both workers graded
    assert all(r.server_mb > 100 for r in par_results)  # warm kernels, forked from a server
    assert all(r.server_mb == 0 for r in seq_results)  # cold kernels, as plain nbgrader's
    # The instructor's machine's own time on each (sending and landing) is measured, and is a
    # share of the worker's.
    assert all(0 < r.client_seconds < r.seconds for r in par_results)
    for kind in KINDS:
        assert _scores(par, kind) == _scores(sequential, kind) == _expected(par, kind), kind
        assert _verdicts(par, kind) == _verdicts(sequential, kind), kind
        assert not (par / ".dlgrade" / "staging" / A / kind).exists()
    again = parallel.autograde_parallel(par, A, client=client, progress=False)
    assert all(r.skipped for r in again)


@pytest.mark.slow
def test_a_killed_worker_has_its_submission_graded_elsewhere(tmp_path, client):
    copy = _course(tmp_path / "c", kinds=("correct", "partly_wrong", "blank"))
    killed: list[str] = []

    def kill_a_busy_worker():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            busy = [w for w, keys in client.processing().items() if keys]
            if busy:
                pid = client.run(os.getpid, workers=busy[:1])[busy[0]]
                os.kill(pid, signal.SIGKILL)
                killed.append(f"{pid}")
            time.sleep(0.05)

    killer = threading.Thread(target=kill_a_busy_worker)
    killer.start()
    results = parallel.autograde_parallel(copy, A, client=client, progress=False)
    killer.join()
    assert killed, "no worker was busy"
    assert all(r.ok for r in results), [r.error for r in results]
    assert not any(r.via.endswith(f":{killed[0]}") for r in results)
    for kind in ("correct", "partly_wrong", "blank"):
        assert _scores(copy, kind) == _expected(copy, kind)
    client.wait_for_workers(2, timeout=120)


@pytest.mark.slow
def test_an_interrupted_run_grades_only_what_is_missing(tmp_path, client):
    kinds = ("correct", "partly_wrong", "blank", "tamper")
    copy = _course(tmp_path / "c", kinds=kinds)
    # A judged result a previous run staged and did not land: landed without a worker.
    task = parallel.read_submission(copy, A, "tamper")
    task.secret = hidden_inputs.secret_for(course.gradebook_url(copy), A, "tamper")
    parallel.stage(copy, A, parallel.execute_submission(parallel.build_kit(copy, A), task))
    landed: list[str] = []

    def interrupt(result):
        landed.append(result.student)
        if len(landed) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        parallel.autograde_parallel(copy, A, client=client, progress=False, on_landed=interrupt)
    assert landed[0] == "tamper"  # staged work is landed first
    results = {r.student: r for r in parallel.autograde_parallel(copy, A, client=client)}
    assert {s for s, r in results.items() if r.skipped} == set(landed)
    assert all(r.ok for r in results.values())
    for kind in kinds:
        assert _scores(copy, kind) == _expected(copy, kind)
    # A changed submission is graded again.
    course.submit(copy, "blank", A, {NB: golden.build("correct", copy, A, NB)})
    results = {r.student: r for r in parallel.autograde_parallel(copy, A, client=client)}
    assert [s for s, r in results.items() if not r.skipped] == ["blank"]
    assert _scores(copy, "blank") == _expected(copy, "correct")


@pytest.mark.slow
def test_grading_stops_when_a_worker_cannot_start_the_sandbox(tmp_path, client):
    copy = _course(tmp_path / "c", kinds=("correct",))
    with open(copy / "nbgrader_config.py", "a", encoding="utf-8") as f:
        f.write('\nc.Sandbox.bwrap = "/nonexistent/bwrap"\n')
    with pytest.raises(course.CourseError, match="cannot start on 2 of 2 workers"):
        parallel.autograde_parallel(copy, A, client=client, progress=False)
    assert not (copy / "autograded").exists()


@pytest.mark.slow
def test_the_command_grades_on_local_workers(tmp_path, capsys):
    from graders import cli

    copy = _course(tmp_path / "c", kinds=("correct", "blank"))
    assert cli.main(["--course", str(copy), "autograde", A, "--workers", "2"]) == 0
    out = capsys.readouterr()
    assert "2 submissions, 0 failed" in out.out
    assert "remaining 0" in out.err  # the progress bar
    assert _scores(copy, "correct") == _expected(copy, "correct")


@pytest.mark.slow
def test_bad_files_fail_alone_and_honest_students_keep_their_scores(tmp_path, client, request):
    """A class with the corpus's file attacks (links to devices, a pipe, a device, a socket,
    a Latin-1 file name, a large honest file, folders nested 3000 deep), a notebook that is a
    pipe and a submission
    folder that is a link, graded on the workers: nothing is followed or opened, each
    left-out file is named in the feedback, the pipe notebook and the linked folder fail
    alone with a message, and every other student gets the scores sequential grading
    gives."""
    from tests.corpus import entries as corpus

    copy = _course(tmp_path / "c", kinds=("correct", "partly_wrong"))
    entries = {e.student: e for e in corpus.ENTRIES if e.student.startswith("fil_")}
    assert len(entries) == 7
    for entry in entries.values():
        course.submit(copy, entry.student, A, entry.build(copy))
    # An honest 600 MiB checkpoint (sparse): over the default limits, never read.
    course.submit(copy, "big", A, {NB: golden.build("correct", copy, A, NB), "ckpt.h5": 600 << 20})
    course.submit(copy, "pipe_nb", A, {NB: course.SpecialFile("fifo")})
    # An honest notebook beside folders nested 3000 deep (past any recursive walk).
    from tests.test_submitted_files import _deep

    deep = course.submit(copy, "deep", A, {NB: golden.build("correct", copy, A, NB)})
    _deep(deep, 3000, request)
    (copy / "submitted" / "linked").mkdir()
    (copy / "submitted" / "linked" / A).symlink_to(copy / "solutions")
    results = {r.student: r for r in parallel.autograde_parallel(copy, A, client=client)}
    assert not results["pipe_nb"].ok and "named pipe" in results["pipe_nb"].error
    assert not results["linked"].ok and "symbolic link" in results["linked"].error
    assert not (copy / "autograded" / "linked").exists()
    for kind in ("correct", "partly_wrong"):
        assert results[kind].ok and _scores(copy, kind) == _expected(copy, kind)
    assert results["big"].ok and _scores(copy, "big") == _expected(copy, "correct")
    big = (copy / "autograded" / "big" / A / NB).read_text(encoding="utf-8")
    assert "`ckpt.h5` (600.0 MiB) is larger than the limit of 64.0 MiB per file" in big
    assert not (copy / "autograded" / "big" / A / "ckpt.h5").exists()
    assert results["deep"].ok and _scores(copy, "deep") == _expected(copy, "correct")
    deep = (copy / "autograded" / "deep" / A / NB).read_text(encoding="utf-8")
    assert "is nested deeper than 32 folders: it was left out." in deep
    for student, entry in entries.items():
        assert results[student].ok, (student, results[student].error)
        assert _scores(copy, student) == entry.expected(copy), student
        text = (copy / "autograded" / student / A / NB).read_text(encoding="utf-8")
        assert all(s in text for s in entry.feedback), student
    again = parallel.autograde_parallel(copy, A, client=client, progress=False)
    assert {r.student for r in again if not r.skipped} == {"pipe_nb", "linked"}


@pytest.mark.slow
def test_the_client_sends_a_few_submissions_at_a_time(client):
    """Submissions are read when they are sent, at most ``window`` ahead of the results."""
    sent: list[str] = []
    landed: list[tuple[str, int]] = []

    def send(student: str):
        sent.append(student)
        return client.submit(parallel.Executed, student, "d", True, key=student, pure=False)

    def finish(student, digest, executed, via):
        landed.append((student, len(sent)))

    pending = [(f"s{i}", "d") for i in range(12)]
    parallel._stream(pending, send, finish, window=3)
    assert sorted(s for s, _ in landed) == sorted(s for s, _ in pending)
    assert all(n - i <= 3 for i, (_, n) in enumerate(landed))
