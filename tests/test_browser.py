"""The student's and the instructor's day in a real browser: JupyterLab on loopback, driven
in headless Chromium (Debian's ``chromium``) by Playwright.

- A student opens the released w1 notebook, types a wrong ``sigmoid`` into its cell, runs
  the notebook and reads the public test's message and hint on the page; nbgrader's
  Validate button reports the failure. The right answer then shows a pass, and Validate
  reports success.
- The whole w4 notebook (Keras), answered, runs in the browser: every public test passes,
  nothing shows in red, and every plot renders at a readable size.
- An instructor opens the formgrader from JupyterLab's Nbgrader menu on an autograded class
  and reads each student's score from the page; they match the gradebook.
- The class report written by ``dlgrade report`` opens in the same browser and its plots
  render.

Every step leaves a screenshot under ``artifacts/browser/`` (or ``$DLGRADE_ARTIFACTS``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from playwright.sync_api import sync_playwright

from graders import cli, course, golden, submissions

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("DLGRADE_ARTIFACTS", ROOT / "artifacts")) / "browser"
W1 = "w1_broadcasting"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",  # containers often have a small /dev/shm
]
#: JupyterLab settings for the test servers: no news or update pop-ups, and every cell kept
#: in the page (not only those scrolled into view) so that cells can be found by content.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"checkForUpdates": False, "fetchNews": "false"},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}
WRONG_SIGMOID = "def sigmoid(x):\n    return 1 / (1 + np.exp(x))\n"
RIGHT_SIGMOID = "def sigmoid(x):\n    return 1 / (1 + np.exp(-x))\n"

pytestmark = pytest.mark.slow


def chromium_path() -> str:
    """Debian's Chromium (``./run setup`` installs it)."""
    path = os.environ.get("DLGRADE_CHROMIUM") or shutil.which("chromium")
    if not path:
        pytest.fail(
            "Chromium is not installed: `./run setup` installs it "
            "(Debian/Ubuntu: apt-get install chromium), or set DLGRADE_CHROMIUM"
        )
    return path


@contextlib.contextmanager
def headless_chromium(artifacts: Path) -> Iterator[object]:
    """Headless Chromium driven by Playwright; ``artifacts``, the folder of this run's
    screenshots, is emptied of older ones first."""
    artifacts.mkdir(parents=True, exist_ok=True)
    for old in artifacts.glob("*.png"):
        old.unlink()
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with headless_chromium(ARTIFACTS) as chromium:
        yield chromium


@pytest.fixture
def page(browser, request):
    """A fresh tab; when the test fails, a screenshot of where it stood."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    failed_before = request.session.testsfailed
    yield tab
    if request.session.testsfailed > failed_before:
        shot(tab, f"FAILED-{request.node.name}")
    context.close()


def shot(page, name: str, full_page: bool = False, folder: Path = ARTIFACTS) -> Path:
    """Save a screenshot of the page as a test artefact (in ``folder``)."""
    path = folder / f"{name}.png"
    page.screenshot(path=path, full_page=full_page)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def jupyter_lab(root: Path, state: Path) -> Iterator[str]:
    """A JupyterLab server on loopback serving ``root`` (also its working folder, where
    nbgrader reads nbgrader_config.py); yields the URL that logs in. Its settings,
    workspaces and runtime files live under ``state``."""
    token = secrets.token_hex(16)
    port = _free_port()
    settings = state / "settings"
    for plugin, values in LAB_SETTINGS.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    # Not pytest's variables: with PYTEST_CURRENT_TEST set, ipykernel stops showing what
    # native code writes to stderr, which a student's notebook does show.
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")},
        "JUPYTER_CONFIG_DIR": str(state / "config"),
        "JUPYTER_DATA_DIR": str(state / "data"),
        "JUPYTER_RUNTIME_DIR": str(state / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(state / "workspaces"),
    }
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = (state / "server.log").open("w")
    server = subprocess.Popen(
        command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"JupyterLab exited:\n{(state / 'server.log').read_text()}")
            try:
                request = urllib.request.Request(
                    f"{base}/api/status", headers={"Authorization": f"token {token}"}
                )
                with urllib.request.urlopen(request, timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("JupyterLab did not start within 90 s") from None
                time.sleep(0.5)
        yield f"{base}/lab?token={token}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
            server.wait()
        log.close()


# --- the student's day ---------------------------------------------------------------


def student_workspace(folder: Path) -> Path:
    """What a student has: the released w1 notebook (helper files alongside), every graded
    function answered except ``sigmoid``, which is still the release's stub."""
    shutil.copytree(ROOT / "release" / W1, folder / W1)
    notebook = folder / W1 / f"{W1}.ipynb"
    release_nb = submissions.read(notebook)
    answered = submissions.with_reference_answers(
        submissions.read(ROOT / "source" / W1 / f"{W1}.ipynb"), release_nb
    )
    stub = next(c.source for c in release_nb.cells if submissions.grade_id(c) == "sigmoid_code")
    notebook.write_text(submissions.to_json(submissions.set_answer(answered, "sigmoid_code", stub)))
    return notebook


def code_cell(page, text: str):
    """The notebook's code cell whose source contains ``text``."""
    return page.locator(".jp-Notebook .jp-CodeCell").filter(has_text=text)


def wait_idle(page) -> None:
    """Wait until no cell is queued or running and the kernel is idle."""
    page.wait_for_function(
        r"""() => {
            const prompts = [...document.querySelectorAll('.jp-Notebook .jp-InputPrompt')];
            const status = document.querySelector('#jp-main-statusbar');
            return prompts.length > 0 && !prompts.some(p => p.textContent.includes('*'))
                && status && /\| Idle/.test(status.textContent);
        }""",
        timeout=300_000,  # a kernel that starts or runs on a loaded machine
    )


def type_answer(page, marker: str, source: str) -> None:
    """Replace the text of the cell containing ``marker`` with ``source``, as typed."""
    editor = code_cell(page, marker).locator(".cm-content")
    editor.click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.insert_text(source)
    assert editor.inner_text().strip() == source.strip()


def run_all(page, watch: str) -> None:
    """Run every cell (Run > Run All Cells); wait until the cell containing ``watch`` has
    run and the kernel is idle again."""
    cell = code_cell(page, watch)
    before = cell.locator(".jp-InputPrompt").inner_text()
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    # The cell is run once it shows a new execution count.
    page.wait_for_function(
        """([cell, before]) => {
            const p = cell.querySelector('.jp-InputPrompt').textContent;
            return /\\[\\d+\\]/.test(p) && p !== before;
        }""",
        arg=[cell.element_handle(), before],
        # A whole notebook (w4 trains two networks): minutes on a loaded two-core machine.
        timeout=300_000,
    )
    wait_idle(page)


def output_of(page, marker: str) -> str:
    """The output text of the cell containing ``marker``, scrolled into view."""
    cell = code_cell(page, marker)
    cell.scroll_into_view_if_needed()
    return cell.locator(".jp-OutputArea").inner_text()


def validate(page, name: str) -> str:
    """Press nbgrader's Validate button; return the dialog's text (screenshot saved)."""
    page.locator(".validate-button").first.click()
    dialog = page.locator(".jp-Dialog").filter(has_text="Validation Results")
    dialog.wait_for(timeout=180_000)
    text = dialog.inner_text()
    shot(page, name)
    dialog.get_by_role("button", name="Ok").click()
    dialog.wait_for(state="detached")
    return text


def test_student_reads_the_public_test_message_and_validates(page, tmp_path):
    notebook = student_workspace(tmp_path / "student")
    with jupyter_lab(tmp_path / "student", tmp_path / "lab") as url:
        page.goto(url.replace("/lab?", f"/lab/tree/{W1}/{notebook.name}?"))
        page.locator(".jp-Notebook").wait_for()
        wait_idle(page)
        shot(page, "student-1-notebook-open")

        type_answer(page, "def sigmoid(x):", WRONG_SIGMOID)
        run_all(page, 'all_passed("sigmoid")')
        output = output_of(page, 'all_passed("sigmoid")')
        shot(page, "student-2-wrong-answer")
        assert output.startswith("CheckFailed: sigmoid: result: 3 of 3 values differ")
        assert "Traceback" not in output
        assert "Hint: sigmoid(x) = 1 / (1 + np.exp(-x)); mind the minus sign." in output
        assert "all public tests passed" not in output

        text = validate(page, "student-3-validate-wrong")
        assert "CheckFailed: sigmoid: result: 3 of 3 values differ" in text
        assert "Hint: sigmoid(x) = 1 / (1 + np.exp(-x)); mind the minus sign." in text
        assert "Traceback" not in text
        assert "Success!" not in text

        type_answer(page, "def sigmoid(x):", RIGHT_SIGMOID)
        run_all(page, 'all_passed("pairwise_sq_distances")')
        output = output_of(page, 'all_passed("sigmoid")')
        shot(page, "student-4-right-answer")
        assert output.strip() == "sigmoid: all public tests passed."
        last = output_of(page, 'all_passed("pairwise_sq_distances")')
        assert last.strip() == "pairwise_sq_distances: all public tests passed."

        text = validate(page, "student-5-validate-right")
        assert "Success! Your notebook passes all the tests." in text


# --- the instructor's day ------------------------------------------------------------

#: The class: student id -> what they handed in for w1 (see graders.golden).
CLASS = {"ada": "correct", "ben": "partly_wrong", "cyd": "blank"}
ROSTER = (
    "id,first_name,last_name,email\n"
    "ada,Ada,Lovelace,ada@example.org\n"
    "ben,Ben,Okri,ben@example.org\n"
    "cyd,Cyd,Charisse,cyd@example.org\n"
)


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory) -> Path:
    """A copy of the course with the class roster imported, w1 released and a class of
    three autograded (sandboxed)."""
    copy = course.copy_course(
        ROOT, tmp_path_factory.mktemp("class") / "course", include=("source", "solutions")
    )
    (copy / "roster.csv").write_text(ROSTER)
    imported = course.run_nbgrader(copy, "db", "student", "import", "roster.csv")
    assert imported.returncode == 0, imported.stdout + imported.stderr
    course.release(copy, [W1])
    for student, kind in CLASS.items():
        course.submit(copy, student, W1, golden.submission(kind, ROOT, W1))
    results = course.autograde(copy, W1, progress=False)
    assert [r.ok for r in results] == [True] * len(CLASS), [r.error for r in results]
    return copy


def gradebook_scores(root: Path) -> dict[str, dict]:
    """Per student: total score, the w1 submission's score, and its notebook's cell scores,
    as the gradebook holds them."""
    with Gradebook(course.gradebook_url(root)) as gb:
        totals = {s["id"]: (s["score"], s["max_score"]) for s in gb.student_dicts()}
        scores = {}
        for student in CLASS:
            submission = gb.find_submission(W1, student)
            scores[student] = {
                "total": totals[student],
                "w1": (submission.score, submission.max_score),
            }
    return scores


def row_with(frame, cell_text: str):
    """The row of the formgrader's table with a cell whose whole text is ``cell_text``."""
    cell = frame.locator("td", has_text=re.compile(rf"^\s*{re.escape(cell_text)}\s*$"))
    return frame.locator("table tbody tr").filter(has=cell)


def score_text(score: float, max_score: float) -> str:
    """A score as the formgrader writes it (rounded to two places, no trailing zeros)."""
    return f"{round(score, 2):g} / {round(max_score, 2):g}"


def test_formgrader_shows_each_students_scores_as_the_gradebook_holds_them(
    page, graded_class, tmp_path
):
    expected = gradebook_scores(graded_class)
    assert expected["ada"]["w1"][0] == expected["ada"]["w1"][1] > 0
    assert 0 < expected["ben"]["w1"][0] < expected["ben"]["w1"][1]
    assert expected["cyd"]["w1"][0] == 0
    with jupyter_lab(graded_class, tmp_path / "lab") as url:
        page.goto(url)
        page.locator("#jp-main-dock-panel").wait_for()
        page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
        page.get_by_role("menuitem", name="Formgrader", exact=True).click()
        frame = page.frame_locator("#formgrader iframe")
        frame.get_by_role("link", name="Manage Students").click()
        for student in CLASS:
            row_with(frame, student).locator(".score").filter(has_text="/").wait_for()
        shot(page, "instructor-1-formgrader-students")
        for student, scores in expected.items():
            cell = row_with(frame, student).locator(".score")
            assert cell.inner_text().strip() == score_text(*scores["total"]), student

        row_with(frame, "ben").get_by_role("link", name="Okri, Ben").click()
        row = row_with(frame, W1)
        row.locator(".score").filter(has_text="/").wait_for()
        shot(page, "instructor-2-formgrader-one-student")
        assert row.locator(".score").inner_text().strip() == score_text(*expected["ben"]["w1"])
        assert row.locator(".code-score").inner_text().strip() == score_text(*expected["ben"]["w1"])

        row.get_by_role("link", name=W1).click()
        frame.locator("ol.breadcrumb li.active", has_text=W1).wait_for()  # the next page
        row = row_with(frame, W1)
        row.locator(".score").filter(has_text="/").wait_for()
        shot(page, "instructor-3-formgrader-notebook")
        assert row.locator(".score").inner_text().strip() == score_text(*expected["ben"]["w1"])

        row.get_by_role("link", name=W1).click()
        cells = course.cell_scores(graded_class, W1, "ben")
        frame.locator("input.score[placeholder]").first.wait_for()
        failed = next(grade_id for grade_id, (score, _max) in cells.items() if score == 0)
        frame.locator(f"input.score#{failed}").scroll_into_view_if_needed()
        shot(page, "instructor-4-formgrader-cell-scores")
        shown = {
            box.get_attribute("id"): float(box.get_attribute("placeholder"))
            for box in frame.locator("input.score").all()
        }
        assert shown == {grade_id: score for grade_id, (score, _max) in cells.items()}
        assert 0 in shown.values() and any(v > 0 for v in shown.values())


def test_the_class_report_page_renders_its_plots(page, graded_class, tmp_path):
    out = tmp_path / "report.html"
    assert cli.main(["--course", str(graded_class), "report", "--out", str(out)]) == 0
    page.goto(out.as_uri())
    plots = page.locator("img")
    assert plots.count() == 2  # w1's score histogram and its per-question pass rates
    for plot in plots.all():
        plot.scroll_into_view_if_needed()
        size = plot.evaluate(
            "img => img.complete ? [img.naturalWidth, img.getBoundingClientRect().width] : [0, 0]"
        )
        assert size[0] > 200 and size[1] > 200, size
    assert page.get_by_role("heading", name=W1).count() == 1
    shot(page, "instructor-5-class-report", full_page=True)


W4 = "w4_cnn_build"


def test_a_keras_notebook_runs_in_the_browser_with_readable_plots(page, tmp_path):
    """The whole w4 notebook, answered with the reference, run in JupyterLab: every public
    test passes, no warning or error shows in red, and every plot renders at a readable
    size."""
    workspace = tmp_path / "student"
    shutil.copytree(ROOT / "release" / W4, workspace / W4)
    (workspace / W4 / f"{W4}.ipynb").write_text(golden.build("correct", ROOT, W4, f"{W4}.ipynb"))
    tests = submissions.read(workspace / W4 / f"{W4}.ipynb").cells
    n_tests = sum("all_passed(" in c.source for c in tests if c.cell_type == "code")
    with jupyter_lab(workspace, tmp_path / "lab") as url:
        page.goto(url.replace("/lab?", f"/lab/tree/{W4}/{W4}.ipynb?"))
        page.locator(".jp-Notebook").wait_for()
        wait_idle(page)
        last = page.locator(".jp-Notebook .jp-CodeCell").last.locator(".cm-content")
        run_all(page, last.inner_text().splitlines()[0])

        passed = page.locator(".jp-OutputArea-output").filter(has_text="all public tests passed")
        assert passed.count() == n_tests == 5
        for kind in ("stderr", "error"):
            shown = page.locator(
                f'.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.{kind}"]'
            )
            assert shown.all_inner_texts() == [], kind
        plots = page.locator(".jp-RenderedImage img")
        assert plots.count() >= 4
        for i, plot in enumerate(plots.all()):
            plot.scroll_into_view_if_needed()
            shot(page, f"student-keras-plot-{i + 1}")
            natural_w, natural_h, shown_w = plot.evaluate(
                "img => img.complete ? [img.naturalWidth, img.naturalHeight,"
                " img.getBoundingClientRect().width] : [0, 0, 0]"
            )
            assert natural_h >= 200 and shown_w >= 400 and shown_w >= 0.9 * natural_w, i
