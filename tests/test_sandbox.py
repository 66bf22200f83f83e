"""The student's kernel in the sandbox: what it can reach, and its limits (real kernels).

One sandboxed kernel runs a notebook of probes in a folder that looks like a course (with
solutions, a gradebook and another student's work next to the submission); each test reads
what one probe printed. The end-to-end behaviour under `nbgrader autograde` is in
tests/test_corpus.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from traitlets.config import Config

from graders import course, sandbox
from graders.nbgrader_plugins import RobustExecute
from tests.corpus.listener import Listener

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    sandbox.problem() is not None, reason=f"no sandbox here: {sandbox.problem()}"
)

PROBES = {
    "identity": "import os; print(os.getuid(), os.getcwd())",
    "secrets": ("import os\nfor p in {paths!r}:\n    print(p, os.path.exists(p))"),
    "home": ("import os\nprint(sorted(os.listdir({home!r})) if os.path.isdir({home!r}) else [])"),
    "own_files": "print(open('data.txt').read().strip()); print(sorted(os.listdir('.')))",
    "own_files_read_only": (
        "try:\n    open('data.txt', 'a').write('x'); print('appended')\n"
        "except OSError as e: print('refused', e.errno)"
    ),
    "scratch": "open('scratch.txt', 'w').write('ok'); print(open('scratch.txt').read())",
    "graders": "import graders.probe, graders.cases; print('graders importable')",
    "network": (
        "import socket\ns = socket.socket(); s.settimeout(3)\n"
        "try:\n    s.connect(('127.0.0.1', {port})); s.sendall(b'leak'); print('connected')\n"
        "except OSError as e: print('no network', type(e).__name__)"
    ),
    "memory": (
        "try:\n    block = bytearray({memory_bytes}); print('allocated')\n"
        "except MemoryError: print('MemoryError')"
    ),
    "processes": (
        "import os, time\nchildren, error = [], None\n"
        "for _ in range(200):\n"
        "    try:\n        pid = os.fork()\n"
        "    except OSError as e:\n        error = e.errno; break\n"
        "    if pid == 0:\n        time.sleep(30); os._exit(0)\n"
        "    children.append(pid)\n"
        "for pid in children: os.kill(pid, 9); os.waitpid(pid, 0)\n"
        "print('forked', len(children), 'then errno', error)"
    ),
    "disk": (
        "import os\nwritten = 0\n"
        "try:\n    with open('fill.bin', 'wb') as f:\n"
        "        for _ in range(1000):\n"
        "            f.write(b'x' * 1048576); f.flush(); written += 1\n"
        "except OSError as e:\n    print('stopped at', written, 'MiB, errno', e.errno)\n"
        "os.remove('fill.bin')"
    ),
    "socket_folder": (
        "import os\nfrom ipykernel import get_connection_file\nwritten = 0\n"
        "here = os.path.dirname(get_connection_file())\n"
        "try:\n    with open(os.path.join(here, 'f'), 'wb') as f:\n"
        "        for _ in range(200):\n"
        "            f.write(b'x' * 1048576); f.flush(); written += 1\n"
        "except OSError as e:\n    print('stopped at', written, 'MiB, errno', e.errno)"
    ),
    "interrupted": "import time\nwhile True:\n    time.sleep(0.01)",
    "after_interrupt": "print('still alive')",
}
LIMITS = {"memory_mb": 1024, "max_processes": 48, "disk_mb": 16}
#: A warm kernel starts with the preloaded libraries mapped (about 1.3 GiB of address space).
WARM_LIMITS = {**LIMITS, "memory_mb": 3072, "warm_kernels": True}


@pytest.fixture(scope="module", params=["cold", "warm"])
def probed(request, tmp_path_factory):
    """Each probe's printed text, from one sandboxed kernel in a course-like folder: a cold
    kernel (a new Python), and a warm one (a fork of graders.warm's server)."""
    limits = WARM_LIMITS if request.param == "warm" else LIMITS
    root = tmp_path_factory.mktemp("sandbox") / "course"
    course.copy_course(ROOT, root, include=("solutions",))
    (root / "gradebook.db").write_bytes(b"SQLite format 3\x00")
    work = root / "autograded" / "alice" / "w1"
    work.mkdir(parents=True)
    (work / "data.txt").write_text("alice's data\n")
    other = root / "autograded" / "bob" / "w1"
    other.mkdir(parents=True)
    (other / "bob.txt").write_text("bob's answers")
    secrets = [
        str(root / "solutions" / "w1_broadcasting.py"),
        str(root / "gradebook.db"),
        str(other / "bob.txt"),
        str(ROOT / "solutions"),
        str(ROOT / "source"),
        str(ROOT / "gradebook.db"),
        str(Path(sandbox.__file__).parent),
    ]
    listener = Listener()
    sources = {
        name: code.format(
            paths=secrets,
            home=str(Path.home()),
            port=listener.port,
            memory_bytes=(limits["memory_mb"] + 1024) * 1024**2,
        )
        for name, code in PROBES.items()
    }
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources.values()])
    config = Config({"Sandbox": limits})
    client = NotebookClient(
        nb,
        timeout=5,
        startup_timeout=60,
        allow_errors=True,
        interrupt_on_timeout=True,
        kernel_manager_class=sandbox.SandboxedKernelManager,
        resources={"metadata": {"path": str(work)}},
        config=config,
    )
    client.execute()
    texts = {
        name: "".join("".join(o.get("text", "")) or o.get("ename", "") for o in cell.outputs)
        for name, cell in zip(sources, nb.cells, strict=True)
    }
    left_behind = (work / "scratch.txt").exists()
    return {
        "texts": texts,
        "secrets": secrets,
        "listener": listener,
        "left": left_behind,
        "warm": request.param == "warm",
    }


def test_kernel_runs_as_an_unprivileged_user_in_its_submission_folder(probed):
    uid, cwd = probed["texts"]["identity"].split()
    if probed["warm"]:  # a copy of the folder, in the fork server's sandbox
        assert Path(cwd).name == "work" and Path(cwd).parent.name.startswith("dlgrade-warm-")
    else:
        assert cwd.endswith("autograded/alice/w1")
    if os.geteuid() == 0:
        assert int(uid) >= 200000  # a uid of its own, not root
    else:
        assert int(uid) == os.getuid()


def test_kernel_cannot_see_solutions_gradebook_other_students_or_home(probed):
    lines = probed["texts"]["secrets"].splitlines()
    seen = dict(line.rsplit(" ", 1) for line in lines)
    graders_dir = probed["secrets"][-1]
    assert seen.pop(graders_dir) == "True"  # the public package is there
    assert seen and all(v == "False" for v in seen.values()), seen


def test_kernel_sees_of_the_instructors_home_only_the_way_to_python(probed):
    # Python may be installed under the home folder (pyenv), and the data cache lives in
    # ~/.cache/dlgrade by default: only the way to those is there.
    visible = eval(probed["texts"]["home"])  # a printed list of names
    wanted = [sys.prefix, sys.base_prefix, os.path.realpath(sys.executable)]
    wanted.append(str(Path.home() / ".cache" / "dlgrade"))
    needed = {
        Path(p).relative_to(Path.home()).parts[0]
        for p in wanted
        if Path(p).is_relative_to(Path.home())
    }
    assert set(visible) <= needed


def test_kernel_reads_its_own_files_but_cannot_change_them(probed):
    assert probed["texts"]["own_files"].startswith("alice's data")
    assert probed["texts"]["own_files_read_only"].startswith("refused")


def test_kernel_may_write_scratch_files_which_never_reach_the_course(probed):
    assert probed["texts"]["scratch"].strip() == "ok"
    assert not probed["left"]


def test_kernel_imports_the_graders_package(probed):
    assert probed["texts"]["graders"].strip() == "graders importable"


def test_kernel_has_no_network_not_even_the_hosts_loopback(probed):
    assert probed["texts"]["network"].startswith("no network")
    assert probed["listener"].connections == 0


def test_allocating_past_the_memory_limit_raises_memory_error(probed):
    assert probed["texts"]["memory"].strip() == "MemoryError"


def test_forking_past_the_process_limit_fails(probed):
    words = probed["texts"]["processes"].split()
    forked, errno = int(words[1]), words[-1]
    assert forked < LIMITS["max_processes"]
    assert errno == "11"  # EAGAIN


def test_writing_past_the_disk_limit_fails_with_no_space(probed):
    words = probed["texts"]["disk"].split()
    assert words[:2] == ["stopped", "at"] and int(words[2]) <= LIMITS["disk_mb"]
    assert words[-1] == "28"  # ENOSPC


@pytest.mark.skipif(os.geteuid() != 0, reason="the socket folder is a tmpfs when grading as root")
def test_the_one_host_folder_a_kernel_writes_to_cannot_fill_the_disk(probed):
    # The folder of the kernel's connection file and sockets: a small tmpfs.
    text = probed["texts"]["socket_folder"]
    assert text.startswith("stopped at") and text.strip().endswith("errno 28"), text
    assert int(text.split()[2]) <= 16


def test_a_cell_over_its_time_is_interrupted_and_the_kernel_goes_on(probed):
    assert "KeyboardInterrupt" in probed["texts"]["interrupted"]
    assert probed["texts"]["after_interrupt"].strip() == "still alive"


# ---------------------------------------------------------------------------- limits


def run_limited(tmp_path: Path, cells: list[str], **limits) -> tuple[nbformat.NotebookNode, dict]:
    """Run ``cells`` with RobustExecute (sandboxed) and the given limits."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    resources = {"metadata": {"path": str(tmp_path)}, "nbgrader": {"notebook": "limits"}}
    executor = RobustExecute(config=Config({"RobustExecute": limits}))
    return executor.preprocess(nb, resources)


def test_output_past_the_limit_is_dropped_and_the_cell_interrupted(tmp_path):
    started = time.monotonic()
    nb, _ = run_limited(
        tmp_path,
        ["while True:\n    print('x' * 1000)", "print('next cell runs')"],
        max_output_bytes=200_000,
        timeout=60,
    )
    flood, after = nb.cells
    kept = sum(len("".join(o.get("text", ""))) for o in flood.outputs)
    assert kept < 250_000
    assert any("went over the limit" in "".join(o.get("text", "")) for o in flood.outputs)
    assert "".join(after.outputs[0]["text"]) == "next cell runs\n"
    assert time.monotonic() - started < 50  # interrupted, not timed out


def test_cells_after_the_notebook_time_limit_are_not_run(tmp_path):
    nb, resources = run_limited(
        tmp_path,
        ["import time; time.sleep(1.0); print('one')", "time.sleep(3); print('two')", "print(3)"],
        notebook_timeout=2,
        timeout=30,
    )
    assert "".join(nb.cells[0].outputs[0]["text"]) == "one\n"
    assert nb.cells[1].outputs[-1]["output_type"] == "error"  # interrupted at the limit
    assert nb.cells[2].outputs == []
    assert any("longer than its limit of 2 s" in p for p in resources["dlgrade"]["problems"])


# ---------------------------------------------------------------------------- no sandbox


def test_missing_bubblewrap_stops_grading_with_the_reason_and_the_fix():
    settings = sandbox.Sandbox(config=Config({"Sandbox": {"bwrap": "/nonexistent/bwrap"}}))
    with pytest.raises(sandbox.SandboxUnavailable) as caught:
        sandbox.require(settings)
    message = str(caught.value)
    assert "bubblewrap ('/nonexistent/bwrap') is not installed" in message
    assert "apt-get install bubblewrap" in message and "c.Sandbox.enabled = False" in message


def test_opting_out_needs_no_bubblewrap():
    settings = sandbox.Sandbox(
        config=Config({"Sandbox": {"bwrap": "/nonexistent/bwrap", "enabled": False}})
    )
    sandbox.require(settings)  # no error: the instructor opted out


def test_plain_nbgrader_stops_before_touching_anything_when_the_sandbox_cannot_start(tmp_path):
    copy = course.copy_course(ROOT, tmp_path / "course", include=("source", "solutions"))

    def run(*args: str) -> subprocess.CompletedProcess:
        return course.run_nbgrader(copy, *args, timeout=600)

    assert run("generate_assignment", "w1_broadcasting", "--force").returncode == 0
    release = copy / "release" / "w1_broadcasting" / "w1_broadcasting.ipynb"
    for student in ("ann", "ben"):
        course.submit(copy, student, "w1_broadcasting", {release.name: release.read_text()})
    db_before = (copy / "gradebook.db").read_bytes()

    stopped = run("autograde", "w1_broadcasting", "--Sandbox.bwrap=/nonexistent/bwrap")
    assert stopped.returncode != 0
    assert "the sandbox for students' kernels cannot start" in stopped.stderr + stopped.stdout
    assert not (copy / "autograded").exists()
    assert (copy / "gradebook.db").read_bytes() == db_before

    opted_out = run(
        "autograde",
        "w1_broadcasting",
        "--Sandbox.bwrap=/nonexistent/bwrap",
        "--Sandbox.enabled=False",
    )
    assert opted_out.returncode == 0, opted_out.stderr[-2000:]
    warnings = [ln for ln in opted_out.stderr.splitlines() if "WITHOUT the sandbox" in ln]
    assert len(warnings) == 2  # one per notebook graded
    assert set(course.cell_scores(copy, "w1_broadcasting", "ann")) == set(
        course.cell_scores(copy, "w1_broadcasting", "ben")
    )


def test_dlgrade_autograde_says_why_the_sandbox_cannot_start(tmp_path):
    copy = course.copy_course(ROOT, tmp_path / "course", include=())
    with open(copy / "nbgrader_config.py", "a", encoding="utf-8") as f:
        f.write("\nc.Sandbox.bwrap = '/nonexistent/bwrap'\n")
    with pytest.raises(course.CourseError, match="cannot start on this machine"):
        course.autograde(copy, "w1_broadcasting", progress=False)
    # Opting out gets past the sandbox check (to the next one: nothing is released here).
    with pytest.raises(course.CourseError, match="has not been released yet"):
        course.autograde(copy, "w1_broadcasting", progress=False, sandbox=False)
