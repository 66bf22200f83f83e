"""Warm kernels (graders/warm.py): forks of one sandboxed server, nothing shared between
students. Real kernels: one student's kernel leaves what it can behind (a detached process,
files in every writable folder), and the next student's kernel, from the same server, looks
for it, and for a way into the server. The sandbox's own guarantees for warm kernels are in
tests/test_sandbox.py (run cold and warm)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from traitlets.config import Config

from graders import sandbox, warm

pytestmark = pytest.mark.skipif(
    sandbox.problem() is not None, reason=f"no sandbox here: {sandbox.problem()}"
)

CONFIG = Config({"Sandbox": {"warm_kernels": True, "disk_mb": 64}})

FIRST = """
import os, subprocess, sys
open('/tmp/left.txt', 'w').write('secret of the first student')
open('/dev/shm/left.txt', 'w').write('secret of the first student')
open('left.txt', 'w').write('secret of the first student')
os.makedirs('/tmp/locked/deeper'); os.chmod('/tmp/locked', 0)
# A detached process that outlives the kernel (double fork, new session).
subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'],
                 start_new_session=True)
print(os.getpid())
"""

SECOND = """
import json, os, socket
seen = {}
seen['files'] = [p for p in ('/tmp/left.txt', '/dev/shm/left.txt', 'left.txt', '/tmp/locked')
                 if os.path.exists(p)]
seen['own'] = sorted(os.listdir('.'))
me = os.getpid()
others = {}
for pid in os.listdir('/proc'):
    if pid.isdigit() and int(pid) != me:
        try:
            line = open(f'/proc/{pid}/cmdline', 'rb').read()
            others[int(pid)] = line.replace(b'\\0', b' ').decode()
        except OSError:
            pass
seen['processes'] = others
server = next(p for p, c in others.items() if 'graders.warm' in c)
reads = {}
for name in ('mem', 'environ', 'maps'):
    try:
        open(f'/proc/{server}/{name}', 'rb').read(16); reads[name] = 'read'
    except OSError as e:
        reads[name] = type(e).__name__
seen['server_reads'] = reads
try:
    os.kill(server, 0); seen['signal'] = 'allowed'
except OSError as e:
    seen['signal'] = type(e).__name__
sock = SOCKET
try:
    s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sock)
    s.sendall(b'{"op": "stats"}\\n'); seen['socket'] = s.recv(100).decode() or 'closed'
except OSError as e:
    seen['socket'] = type(e).__name__
from ipykernel import get_connection_file
box = os.path.dirname(os.path.dirname(get_connection_file()))
files = os.path.join(os.path.dirname(os.path.dirname(box)), 'files', os.path.basename(box))
try:
    os.listdir(files); seen['box'] = 'listed'
except OSError as e:
    seen['box'] = type(e).__name__
written = 0
try:
    with open(os.path.join(os.path.dirname(get_connection_file()), 'fill'), 'wb') as f:
        for _ in range(200):
            f.write(b'x' * 1048576); f.flush(); written += 1
except OSError as e:
    pass
seen['socket_folder_mib'] = written
print(json.dumps(seen))
"""


def run(code: str, folder: Path, **kw) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    client = NotebookClient(
        nb,
        timeout=60,
        kernel_manager_class=sandbox.SandboxedKernelManager,
        resources={"metadata": {"path": str(folder)}},
        config=CONFIG,
        **kw,
    )
    client.execute()
    return nb


def text(nb: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in nb.cells[0].outputs)


@pytest.fixture(scope="module")
def second_saw(tmp_path_factory):
    """What the second student's kernel saw after the first one's, from one server."""
    first, second = tmp_path_factory.mktemp("alice"), tmp_path_factory.mktemp("bob")
    (first / "alice.txt").write_text("alice's")
    (second / "bob.txt").write_text("bob's")
    run(FIRST, first)
    server = warm.server_for(
        sandbox.Sandbox(config=CONFIG), sandbox.kernel_env(dict(os.environ)), os.geteuid() == 0
    )
    code = SECOND.replace("SOCKET", repr(str(server.socket)))
    return json.loads(text(run(code, second))), server


def test_nothing_the_previous_student_left_in_writable_folders_remains(second_saw):
    seen, _ = second_saw
    assert seen["files"] == []
    assert seen["own"] == ["bob.txt"]


def test_no_process_of_the_previous_student_survives(second_saw):
    seen, _ = second_saw
    # The kernel's own pid namespace: its init (a fork of the server) and the kernel itself.
    assert list(seen["processes"]) == ["1"], seen["processes"]
    assert "graders.warm" in seen["processes"]["1"]


def test_a_kernel_cannot_read_signal_or_talk_to_the_server(second_saw):
    seen, _ = second_saw
    assert set(seen["server_reads"].values()) == {"PermissionError"}
    if os.geteuid() == 0:
        assert seen["signal"] == "PermissionError"
    assert seen["socket"] in ("PermissionError", "closed", "ConnectionResetError")


def test_a_kernel_cannot_read_the_copy_of_its_files_kept_for_the_server(second_saw):
    seen, _ = second_saw
    if os.geteuid() == 0:  # otherwise the kernel runs as the instructor, who owns it
        assert seen["box"] == "PermissionError"


def test_the_kernels_socket_folder_cannot_fill_the_hosts_disk(second_saw):
    seen, _ = second_saw
    if os.geteuid() == 0:  # as root, kernels' socket folders are a small tmpfs
        assert seen["socket_folder_mib"] <= warm.KERNEL_FOLDERS_BYTES // 2**20


def test_the_server_is_the_same_one_for_both_students(second_saw):
    _, server = second_saw
    assert server.alive()
    assert server.peak_kb() > 100 * 1024  # two kernels, each with TensorFlow mapped


def test_a_kernel_that_dies_fails_its_notebook_and_the_next_kernel_starts(tmp_path):
    with pytest.raises(DeadKernelError):
        run("import os; os._exit(3)", tmp_path)
    assert text(run("print(6 * 7)", tmp_path)).strip() == "42"


def test_folders_of_servers_whose_grading_process_died_are_swept(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / f"{warm.FOLDER_PREFIX}{dead.pid}-abc123"
    (stale / "kernels" / "kernel-x").mkdir(parents=True)
    live = tmp_path / f"{warm.FOLDER_PREFIX}{os.getpid()}-def456"
    live.mkdir()
    other = tmp_path / f"{warm.FOLDER_PREFIX}notapid"
    other.mkdir()
    assert warm.sweep_stale_folders(tmp_path) == [stale]
    assert not stale.exists() and live.exists() and other.exists()
