"""Adversarial and broken submissions, graded through one real `nbgrader autograde` batch (slow).

Every entry of ``tests/corpus/entries.py`` is handed in together with the honest golden
submissions, in a copy of the course whose nbgrader_config.py gets short limits, and graded
in ONE `nbgrader autograde w1_broadcasting --force` run with the course's own configuration
(the trusted judge and the kernel sandbox). Each entry must earn exactly its expected cell
scores; honest work must be graded as usual; a grade recorded before the batch must survive
it; nothing may reach the network; submitted files must not change.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from graders import course, golden
from tests.corpus import entries as corpus
from tests.corpus.listener import Listener

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = corpus.ASSIGNMENT
NOTEBOOK = corpus.NOTEBOOK
HONEST = ("correct", "partly_wrong", "blank", "tf_noise")
EARLY = "honest_early"


pytestmark = pytest.mark.slow


def sandbox_configured(root: Path) -> bool:
    """Whether the course's configuration runs kernels in the sandbox."""
    config = (root / "nbgrader_config.py").read_text()
    return (root / "graders" / "sandbox.py").is_file() and "c.Sandbox." in config


def _hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module", params=["cold", "warm"])
def batch(request, tmp_path_factory):
    """The corpus and the honest submissions, graded in one batch after one early grade:
    with a new Python per kernel, and with warm kernels (forks of one server, one student
    after another: what one attack leaves behind must not reach the next submission)."""
    tmp = tmp_path_factory.mktemp("corpus")
    copy = course.copy_course(ROOT, tmp / "course", include=("source", "solutions"))
    with open(copy / "nbgrader_config.py", "a", encoding="utf-8") as f:
        f.write(corpus.SHORT_LIMITS)
        f.write(f"\nc.Sandbox.warm_kernels = {request.param == 'warm'}\n")
    run = course.run_nbgrader(copy, "generate_assignment", ASSIGNMENT, "--force")
    assert run.returncode == 0, run.stderr[-3000:]

    # A grade already in the gradebook before the batch: its submission is then taken
    # away, so the batch does not regrade it and any change must come from an attack.
    course.submit(
        copy, EARLY, ASSIGNMENT, {NOTEBOOK: golden.build("correct", copy, ASSIGNMENT, NOTEBOOK)}
    )
    early_run = course.run_nbgrader(copy, "autograde", ASSIGNMENT, "--force", "--student", EARLY)
    assert early_run.returncode == 0, early_run.stderr[-3000:]
    early_scores = course.cell_scores(copy, ASSIGNMENT, EARLY)
    shutil.move(copy / "submitted" / EARLY, tmp / EARLY)

    safe = sandbox_configured(ROOT)
    graded = [e for e in corpus.ENTRIES if safe or not e.dangerous]
    listener = Listener()
    old_port = os.environ.get(corpus.LISTENER_ENV)
    os.environ[corpus.LISTENER_ENV] = str(listener.port)
    try:
        for entry in graded:
            course.submit(copy, entry.student, ASSIGNMENT, entry.build(copy))
        for kind in HONEST:
            course.submit(
                copy,
                f"golden_{kind}",
                ASSIGNMENT,
                {NOTEBOOK: golden.build(kind, copy, ASSIGNMENT, NOTEBOOK)},
            )
        before = _hashes(copy / "submitted")
        run = course.run_nbgrader(copy, "autograde", ASSIGNMENT, "--force")
        after = _hashes(copy / "submitted")
    finally:
        listener.close()
        if old_port is None:
            os.environ.pop(corpus.LISTENER_ENV, None)
        else:
            os.environ[corpus.LISTENER_ENV] = old_port
    return {
        "copy": copy,
        "run": run,
        "graded": {e.student for e in graded},
        "early": early_scores,
        "listener": listener,
        "hashes": (before, after),
    }


def _scores(copy: Path, student: str) -> dict[str, float]:
    return {g: s for g, (s, _) in course.cell_scores(copy, ASSIGNMENT, student).items()}


def _require_graded(batch, entry) -> None:
    if entry.student not in batch["graded"]:
        pytest.fail(
            f"{entry.student} was not run: the course's nbgrader_config.py has no sandbox, "
            "and this entry would harm an unprotected machine"
        )


def test_the_batch_completes(batch):
    run = batch["run"]
    assert run.returncode == 0, run.stderr[-4000:]


@pytest.mark.parametrize("entry", corpus.ENTRIES, ids=lambda e: e.student)
def test_entry_gets_exactly_its_expected_scores(batch, entry):
    _require_graded(batch, entry)
    copy = batch["copy"]
    assert _scores(copy, entry.student) == entry.expected(copy)


@pytest.mark.parametrize("entry", corpus.ENTRIES, ids=lambda e: e.student)
def test_attacked_cells_earn_nothing(batch, entry):
    _require_graded(batch, entry)
    copy = batch["copy"]
    scores = _scores(copy, entry.student)
    attacked = entry.attacked(copy)
    assert attacked <= set(scores)
    assert {g: scores[g] for g in attacked} == dict.fromkeys(attacked, 0.0)


@pytest.mark.parametrize(
    "entry", [e for e in corpus.ENTRIES if e.feedback], ids=lambda e: e.student
)
def test_entry_feedback_explains_the_outcome(batch, entry):
    _require_graded(batch, entry)
    path = batch["copy"] / "autograded" / entry.student / ASSIGNMENT / NOTEBOOK
    text = path.read_text(encoding="utf-8", errors="replace")
    missing = [s for s in entry.feedback if s not in text]
    assert not missing


@pytest.mark.parametrize("kind", HONEST)
def test_honest_submissions_are_graded_as_usual(batch, kind):
    copy = batch["copy"]
    assert _scores(copy, f"golden_{kind}") == golden.expected_scores(
        kind, copy, ASSIGNMENT, NOTEBOOK
    )


def test_a_grade_recorded_before_the_batch_is_unchanged(batch):
    copy = batch["copy"]
    assert batch["early"] == golden_scores_with_max(copy, "correct")
    assert course.cell_scores(copy, ASSIGNMENT, EARLY) == batch["early"]


def golden_scores_with_max(copy: Path, kind: str) -> dict[str, tuple[float, float]]:
    full = golden.expected_scores("correct", copy, ASSIGNMENT, NOTEBOOK)
    got = golden.expected_scores(kind, copy, ASSIGNMENT, NOTEBOOK)
    return {g: (got[g], full[g]) for g in full}


def test_nothing_reaches_the_network(batch):
    listener = batch["listener"]
    assert "atk_network" in batch["graded"]
    assert (listener.connections, b"".join(listener.received)) == (0, b"")


def test_submitted_files_are_unchanged(batch):
    before, after = batch["hashes"]
    assert after == before


def test_no_file_was_planted_in_the_python_environment(batch):
    import site
    import sysconfig

    dirs = {sysconfig.get_paths()["purelib"], *site.getsitepackages()}
    assert not [d for d in dirs if (Path(d) / "zz_dlgrade_attack.pth").exists()]
