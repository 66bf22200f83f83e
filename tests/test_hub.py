"""The course's JupyterHub, deployed for real: ``deploy/jupyterhub/hub.py start`` as root on a
free port, with real local accounts (an instructor and two students, logging in with their
passwords through PAM), driven in headless Chromium.

- The instructor logs in, opens the formgrader in JupyterLab (Nbgrader > Formgrader), sees the
  course's assignments, and releases w1 to the exchange with the formgrader's release button.
- A student logs in, finds w1 in the Assignments tab, fetches it and opens its notebook; the
  student has no formgrader of their own and is refused the instructor's.
- A student cannot read the instructor's course or another student's home, nor list the
  others' submissions, by the file system's permissions; the graders package the students
  get is its kernel side only.
- The student submits; ``nbgrader collect`` run as the instructor finds the submission, and
  ``dlgrade autograde`` grades it (sandboxed, as the instructor's account).
- Students added while the hub runs (``hub.py add-students``) get a generated password, can
  log in at once, and are in the gradebook.

The hub's environment (``/opt/dlgrade-hub``, or ``$DLGRADE_HUB_PREFIX``) is built once and
kept, like ``.venv``: its first build takes minutes. Everything else the module makes (the
accounts and their homes, the hub's state folder with the exchange) is removed at the end,
also when a test fails. Screenshots of every step go to ``artifacts/hub/``.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from tests.test_browser import ROOT, code_cell, headless_chromium, shot, wait_idle

HUB = ROOT / "deploy" / "jupyterhub" / "hub.py"
ARTIFACTS = Path(os.environ.get("DLGRADE_ARTIFACTS", ROOT / "artifacts")) / "hub"
PREFIX = Path(os.environ.get("DLGRADE_HUB_PREFIX", "/opt/dlgrade-hub"))
W1 = "w1_broadcasting"
INSTRUCTOR = "dlgtest-teach"
#: The class: account -> password (each a fresh local account, removed at the end).
STUDENTS = {"dlgtest-ada": "ada-Secret-1", "dlgtest-ben": "ben-Secret-2"}
PASSWORDS = {INSTRUCTOR: "teach-Secret-0", **STUDENTS}
ADA, BEN = STUDENTS
CYD = "dlgtest-cyd"  # added while the hub runs, with a password the hub makes

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="the hub is set up as root (accounts)"),
]


@dataclass
class Hub:
    """A running hub: its URL, its state folder and the process of ``hub.py start``."""

    url: str
    state: Path
    process: subprocess.Popen

    @property
    def course(self) -> Path:
        return Path(pwd.getpwnam(INSTRUCTOR).pw_dir) / "course"

    @property
    def exchange(self) -> Path:
        return self.state / "exchange" / "dlgrade"


def account_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def read_until(process: subprocess.Popen, pattern: str, timeout: float) -> re.Match:
    """Read ``process``'s output until a line matches ``pattern``; fail with the output so
    far when it exits or ``timeout`` seconds pass first."""
    seen: list[str] = []
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not selector.select(timeout=1):
            continue
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        found = re.search(pattern, line)
        if found:
            return found
    raise AssertionError(f"hub.py did not print {pattern!r}; it printed:\n{''.join(seen)}")


def remove_everything(state: Path) -> None:
    """Stop the hub and delete what it made, with hub.py's own ``remove``; then whatever that
    left (a failed start that recorded nothing, say). The hub's log is kept with the
    screenshots."""
    hub = [sys.executable, str(HUB)]
    subprocess.run([*hub, "stop", "--state", str(state)], capture_output=True, check=False)
    if (state / "jupyterhub.log").exists():
        shutil.copy2(state / "jupyterhub.log", ARTIFACTS / "jupyterhub.log")
    subprocess.run(
        [*hub, "remove", "--yes", "--state", str(state), "--prefix", str(PREFIX)],
        capture_output=True,
        check=False,
    )
    for name in [*PASSWORDS, CYD]:
        if account_exists(name):
            subprocess.run(["pkill", "-KILL", "-u", name], check=False)
            subprocess.run(["userdel", "--remove", name], capture_output=True, check=False)
    shutil.rmtree(state, ignore_errors=True)


@pytest.fixture(scope="module")
def hub() -> Iterator[Hub]:
    taken = [name for name in [*PASSWORDS, CYD] if account_exists(name)]
    assert not taken, f"accounts {taken} exist already; remove them (userdel -r) first"
    # Not under pytest's temporary folder (readable by root only): students reach the exchange.
    state = Path(tempfile.mkdtemp(prefix="dlgrade-hub-test-"))
    secrets_dir = Path(tempfile.mkdtemp(prefix="dlgrade-hub-test-secrets-"))
    roster = secrets_dir / "roster.csv"
    roster.write_text(
        "id,first_name,last_name,email,password\n"
        f"{ADA},Ada,Lovelace,ada@example.org,{STUDENTS[ADA]}\n"
        f"{BEN},Ben,Okri,ben@example.org,{STUDENTS[BEN]}\n"
    )
    (secrets_dir / "instructor").write_text(PASSWORDS[INSTRUCTOR])
    port = free_port()
    command = [
        sys.executable,
        HUB,
        "start",
        "--state",
        state,
        "--prefix",
        PREFIX,
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--instructor",
        INSTRUCTOR,
        "--instructor-password-file",
        secrets_dir / "instructor",
        "--students",
        roster,
    ]
    process = subprocess.Popen(
        [str(c) for c in command],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        # The first run builds the environment (minutes); later ones reuse it.
        found = read_until(process, r"JupyterHub is running at (\S+)", timeout=1800)
        yield Hub(url=found.group(1), state=state, process=process)
    finally:
        remove_everything(state)
        if process.poll() is None:
            os.killpg(process.pid, 9)
        process.wait()
        shutil.rmtree(secrets_dir, ignore_errors=True)
        left = [name for name in [*PASSWORDS, CYD] if account_exists(name)]
        assert not left and not state.exists(), f"left behind: {left} {state}"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with headless_chromium(ARTIFACTS) as chromium:
        yield chromium


def hub_shot(page, name: str) -> Path:
    return shot(page, name, folder=ARTIFACTS)


@pytest.fixture
def new_page(browser, request):
    """Open fresh browser tabs (each with its own cookies: one user per tab); a screenshot
    of each when the test fails."""
    contexts = []
    failed_before = request.session.testsfailed

    def open_tab():
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        contexts.append(context)
        tab = context.new_page()
        tab.set_default_timeout(60_000)
        return tab

    yield open_tab
    for i, context in enumerate(contexts):
        if request.session.testsfailed > failed_before:
            for tab in context.pages:
                hub_shot(tab, f"FAILED-{request.node.name}-{i}")
        context.close()


def log_in(page, hub: Hub, user: str, step: str) -> None:
    """Log in at the hub's page and wait for the user's JupyterLab (its server may take a
    while to start)."""
    page.goto(hub.url + "hub/login")
    page.locator("#username_input").fill(user)
    page.locator("#password_input").fill(PASSWORDS[user])
    hub_shot(page, f"{step}-login")
    page.locator("#login_submit").click()
    page.locator("#jp-main-dock-panel").wait_for(timeout=240_000)
    page.get_by_role("menuitem", name="Nbgrader", exact=True).wait_for()


def nbgrader_menu(page, item: str) -> None:
    page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
    page.get_by_role("menuitem", name=item, exact=True).click()


def as_user(user: str, *command: str) -> subprocess.CompletedProcess:
    """Run a command as ``user``, from the root folder (nothing of the caller's on its path)."""
    return subprocess.run(
        ["runuser", "-u", user, "--", *command],
        capture_output=True,
        text=True,
        check=False,
        cwd="/",
    )


def test_instructor_releases_w1_from_the_formgrader(hub, new_page):
    page = new_page()
    log_in(page, hub, INSTRUCTOR, "1-instructor-1")
    nbgrader_menu(page, "Formgrader")
    frame = page.frame_locator("#formgrader iframe")
    assignments = sorted(p.name for p in (ROOT / "source").iterdir() if p.is_dir())
    for name in assignments:
        frame.locator("table tbody tr td", has_text=re.compile(rf"^\s*{name}\s*$")).wait_for()
    hub_shot(page, "1-instructor-2-formgrader-assignments")
    # The panel shows because the instructor's server, alone, allows frames of its origin.
    headers = page.request.get(hub.url + f"user/{INSTRUCTOR}/formgrader").headers
    assert "frame-ancestors 'self'" in headers["content-security-policy"]

    row = frame.locator("table tbody tr").filter(has_text=W1)
    row.locator(".release a").click()
    modal = frame.locator("#success-modal")
    modal.wait_for(timeout=120_000)
    assert f"Successfully released '{W1}'." in modal.inner_text()
    hub_shot(page, "1-instructor-3-released")
    modal.get_by_role("button", name="OK").click()
    modal.wait_for(state="hidden")
    row.locator(".status", has_text="released").wait_for()
    hub_shot(page, "1-instructor-4-w1-released")
    assert (hub.exchange / "outbound" / W1 / f"{W1}.ipynb").is_file()


def test_a_student_fetches_w1_and_opens_the_notebook(hub, new_page):
    page = new_page()
    log_in(page, hub, ADA, "2-student-1")
    nbgrader_menu(page, "Assignment List")
    released = page.locator("#released_assignments_list .list_item").filter(has_text=W1)
    released.wait_for()
    hub_shot(page, "2-student-2-assignments")
    released.get_by_role("button", name="Fetch").click()
    fetched = page.locator("#fetched_assignments_list .list_item").filter(has_text=W1).first
    fetched.wait_for()
    hub_shot(page, "2-student-3-fetched")
    home = Path(pwd.getpwnam(ADA).pw_dir)
    notebook = home / W1 / f"{W1}.ipynb"
    assert notebook.is_file() and notebook.stat().st_uid == pwd.getpwnam(ADA).pw_uid

    fetched.locator(".assignment-notebooks-link").click()
    page.locator("#fetched_assignments_list .assignment-notebooks a", has_text=W1).first.click()
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()
    page.locator(".jp-Notebook").get_by_text("def sigmoid(").first.wait_for()
    hub_shot(page, "2-student-4-notebook-open")
    # The student's kernel has the kernel side of graders: the notebook's imports run.
    wait_idle(page)  # the kernel has started
    imports = code_cell(page, "from graders.probe import probe")
    imports.locator(".cm-content").click()
    page.keyboard.press("Shift+Enter")
    page.wait_for_function(
        "cell => /\\[\\d+\\]/.test(cell.querySelector('.jp-InputPrompt').textContent)",
        arg=imports.element_handle(),
        timeout=180_000,
    )
    wait_idle(page)
    hub_shot(page, "2-student-5-imports-run")
    assert imports.locator(".jp-OutputArea-output").all_inner_texts() == []


def test_a_student_has_no_formgrader_and_is_refused_the_instructors(hub, new_page):
    page = new_page()
    log_in(page, hub, BEN, "3-student-1")
    page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
    menu = page.locator(".lm-Menu").last
    menu.get_by_text("Assignment List").wait_for()
    assert menu.get_by_text("Formgrader", exact=True).count() == 0
    hub_shot(page, "3-student-2-nbgrader-menu")
    page.keyboard.press("Escape")

    # Students' servers keep JupyterHub's ban on frames; only the instructor's lifts it, for
    # the formgrader's panel (deploy/jupyterhub/README.md).
    lab = page.goto(hub.url + f"user/{BEN}/lab")
    assert "frame-ancestors 'none'" in lab.headers["content-security-policy"]
    own = page.goto(hub.url + f"user/{BEN}/formgrader")
    assert own.status == 404
    hub_shot(page, "3-student-3-own-formgrader-refused")
    theirs = page.goto(hub.url + f"user/{INSTRUCTOR}/formgrader")
    assert theirs.status in (403, 404)
    assert "formgrader" not in page.title().lower()
    hub_shot(page, "3-student-4-instructors-formgrader-refused")


def test_students_cannot_read_the_course_each_other_the_submissions_or_the_hubs_data(hub):
    bens_home = Path(pwd.getpwnam(BEN).pw_dir)
    (bens_home / "notes.txt").write_text("mine")
    for command in (
        ["cat", str(hub.course / "nbgrader_config.py")],
        ["ls", str(hub.course / "solutions")],
        ["ls", str(bens_home)],
        ["cat", str(bens_home / "notes.txt")],
        ["ls", str(hub.exchange / "inbound")],
        ["cat", str(hub.state / "jupyterhub.sqlite")],
        ["cat", str(hub.state / "jupyterhub.log")],
        ["touch", str(hub.exchange / "outbound" / W1 / "planted.txt")],
    ):
        result = as_user(ADA, *command)
        assert result.returncode != 0, command
        assert "Permission denied" in result.stderr, (command, result.stderr)
    python = str(PREFIX / "env" / "bin" / "python")
    assert as_user(ADA, python, "-c", "import graders.probe, graders.checks").returncode == 0
    for instructors_only in ("graders.judge", "graders.sandbox", "solutions"):
        result = as_user(ADA, python, "-c", f"import {instructors_only}")
        assert "ModuleNotFoundError" in result.stderr, instructors_only


def test_a_submission_reaches_the_instructor(hub, new_page):
    page = new_page()
    log_in(page, hub, ADA, "4-student-1")
    nbgrader_menu(page, "Assignment List")
    fetched = page.locator("#fetched_assignments_list .list_item").filter(has_text=W1).first
    fetched.get_by_role("button", name="Submit").click()
    submitted = page.locator("#submitted_assignments_list .list_item").filter(has_text=W1)
    submitted.first.wait_for(timeout=120_000)
    hub_shot(page, "4-student-2-submitted")

    collect = as_instructor(hub, "nbgrader", "collect", W1)
    assert collect.returncode == 0, collect.stdout + collect.stderr
    collected = hub.course / "submitted" / ADA / W1 / f"{W1}.ipynb"
    assert collected.is_file(), collect.stderr

    # The instructor grades it with the course's own tools, students' kernels sandboxed
    # as the instructor's account. Ada handed in the release unanswered: no marks.
    for command in (["dlgrade", "release", W1], ["dlgrade", "autograde", W1]):
        result = as_instructor(hub, *command)
        assert result.returncode == 0, result.stdout + result.stderr
    with Gradebook(f"sqlite:///{hub.course / 'gradebook.db'}") as gb:
        submission = gb.find_submission(W1, ADA)
        assert submission.score == 0 < submission.max_score


def test_students_added_later_can_log_in_and_are_in_the_gradebook(hub, new_page):
    roster = hub.state.parent / f"{hub.state.name}-more.csv"
    roster.write_text(f"id,first_name,last_name\n{CYD},Cyd,Charisse\n")
    try:
        added = subprocess.run(
            [sys.executable, HUB, "add-students", "--state", hub.state, roster],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        roster.unlink()
    assert added.returncode == 0, added.stdout + added.stderr
    # No password in the roster: a random one, for the instructor to hand out.
    generated = dict(
        line.split(",") for line in (hub.state / "initial-passwords.csv").read_text().split()
    )
    assert set(generated) == {"account", CYD}
    assert (hub.state / "initial-passwords.csv").stat().st_mode & 0o777 == 0o600
    PASSWORDS[CYD] = generated[CYD]
    with Gradebook(f"sqlite:///{hub.course / 'gradebook.db'}") as gb:
        assert {s.id for s in gb.students} >= {ADA, BEN, CYD}
    page = new_page()
    log_in(page, hub, CYD, "5-added-student-1")  # the hub was not restarted
    hub_shot(page, "5-added-student-2-lab")


def as_instructor(hub: Hub, *command: str) -> subprocess.CompletedProcess:
    """Run a command as the instructor, in the course folder, with the variables hub.py gives
    the instructor's server (and its terminals)."""
    saved = json.loads((hub.state / "settings.json").read_text())
    env = {"HOME": str(hub.course.parent), **saved["instructor_environment"]}
    return subprocess.run(
        ["runuser", "-u", INSTRUCTOR, "--", "env", *(f"{k}={v}" for k, v in env.items()), *command],
        cwd=hub.course,
        capture_output=True,
        text=True,
        check=False,
    )
