"""Isolation by construction (docs/sandbox.md): nothing of one student's kernel outlives it,
whatever it does, and its limits hold for the kernel as a whole. Real sandboxed kernels,
cold (a new Python each) and warm (forks of one server, one student after the other).

A first student's kernel leaves everything it can: a process whose thread-group leader has
exited on its own (a zombie to ``/proc`` readers) while its other thread keeps running and
planting files; System V shared memory and a message queue; a POSIX message queue; keys in
its keyrings. The next student's kernel looks for all of it, and the host looks for the
survivor. The syscall filter and the control groups are checked by what they refuse.
"""

from __future__ import annotations

import ctypes
import json
import os
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from traitlets.config import Config

from graders import cgroups, sandbox, syscalls, warm

pytestmark = pytest.mark.skipif(
    sandbox.problem() is not None, reason=f"no sandbox here: {sandbox.problem()}"
)

MARK = "dlgrade-survivor"

#: Calls the kernel makes through libc; each returns the errno it got (0: it worked).
LIBC = r"""
import ctypes, errno, json, os
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def err(result):
    return ctypes.get_errno() if result == -1 else 0
"""

FIRST = (
    LIBC
    + r"""
import threading, time
MARK = "MARKTEXT"
# 1. A process whose leader exits alone (raw exit, not exit_group); its thread keeps going.
pid = os.fork()
if pid == 0:
    os.setsid()
    def plant():
        libc.prctl(15, MARK.encode(), 0, 0, 0)  # PR_SET_NAME: findable from the host
        while True:
            for folder in ("/tmp", "/dev/shm", "."):
                try:
                    open(os.path.join(folder, "planted.txt"), "w").write("from the first student")
                except OSError:
                    pass
            time.sleep(0.01)
    threading.Thread(target=plant, daemon=True).start()
    time.sleep(0.2)
    libc.syscall(60, 0)  # SYS_exit: only this thread
time.sleep(0.5)
state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
threads = len(os.listdir(f"/proc/{pid}/task"))
# 2. System V shared memory and a message queue, and a POSIX message queue, open to all.
shm = libc.shmget(0x5EED, 4096, 0o1666)
libc.shmat.restype = ctypes.c_void_p
addr = libc.shmat(shm, None, 0)
ctypes.memmove(addr, b"secret", 6)
msq = libc.msgget(0x5EED, 0o1666)
class Msg(ctypes.Structure):
    _fields_ = [("mtype", ctypes.c_long), ("mtext", ctypes.c_char * 16)]
sent = err(libc.msgsnd(msq, ctypes.byref(Msg(1, b"secret")), 16, 0))
rt = ctypes.CDLL("librt.so.1", use_errno=True)
mq = rt.mq_open(b"/dlgrade-mq", os.O_CREAT | os.O_RDWR, 0o666, None)
mq_sent = err(rt.mq_send(mq, b"secret", 6, 0))
# 3. Keys: in the session and user keyrings (add_key), and a look at the grader's session.
add_key = 248
session = err(libc.syscall(add_key, b"user", b"dlgrade-left", b"secret", 6, -3))
user = err(libc.syscall(add_key, b"user", b"dlgrade-left", b"secret", 6, -4))
print(json.dumps({"zombie_state": state, "threads": threads, "shm": shm >= 0,
                  "msgsnd": sent, "mq_send": mq_sent, "add_key_session": session,
                  "add_key_user": user}))
"""
)

SECOND = (
    LIBC
    + r"""
import time
time.sleep(0.3)  # time for a survivor to plant its files again
seen = {}
seen["planted"] = [f for f in ("/tmp/planted.txt", "/dev/shm/planted.txt", "planted.txt")
                   if os.path.exists(f)]
seen["shm"] = err(libc.shmget(0x5EED, 0, 0))
seen["msq"] = err(libc.msgget(0x5EED, 0))
rt = ctypes.CDLL("librt.so.1", use_errno=True)
seen["mq"] = err(rt.mq_open(b"/dlgrade-mq", os.O_RDONLY, 0, None))
keyctl = 250
seen["keyctl_session"] = err(libc.syscall(keyctl, 0, -3, 0))  # KEYCTL_GET_KEYRING_ID
seen["keyctl_user"] = err(libc.syscall(keyctl, 0, -4, 0))
seen["request_key"] = err(libc.syscall(249, b"user", b"dlgrade-instructor", None, 0))
seen["processes"] = sorted(p for p in os.listdir("/proc") if p.isdigit())
print(json.dumps(seen))
"""
)

#: Refused by the syscall filter: name -> (syscall number on x86_64, arguments).
REFUSED_CALLS = {
    "ptrace": (101, (0, 0, 0, 0)),  # PTRACE_TRACEME
    "unshare_user": (272, (0x10000000,)),
    "setns": (308, (0, 0)),
    "bpf": (321, (0, 0, 0)),
    "perf_event_open": (298, (0, 0, -1, -1, 0)),
    "userfaultfd": (323, (0,)),
    "keyctl": (250, (0, -3, 0)),
    "mount": (165, (None, None, None, 0, None)),
    "io_uring_setup": (425, (1, None)),
    "process_vm_readv": (310, (1, None, 0, None, 0, 0)),
}

FILTERED = (
    LIBC
    + "calls = "
    + repr(REFUSED_CALLS)
    + r"""
got = {name: err(libc.syscall(number, *args)) for name, (number, args) in calls.items()}
import subprocess, sys
thread_ok = subprocess.run([sys.executable, "-c", "import threading; t = threading.Thread("
    "target=print, args=('thread',)); t.start(); t.join()"], capture_output=True, text=True)
got["threads_and_processes"] = thread_ok.stdout.strip()
print(json.dumps(got))
"""
)


def run(code: str, folder: Path, config: Config, **kw) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    client = NotebookClient(
        nb,
        timeout=60,
        kernel_manager_class=sandbox.SandboxedKernelManager,
        resources={"metadata": {"path": str(folder)}},
        config=config,
        **kw,
    )
    client.execute()
    return nb


def printed(nb: nbformat.NotebookNode) -> dict:
    outputs = nb.cells[0].outputs
    text = "".join(o.get("text", "") for o in outputs if o.get("name") == "stdout")
    assert text, outputs
    return json.loads(text.strip().splitlines()[-1])


def host_threads_named(name: str) -> list[str]:
    """Threads anywhere on this machine with the name ``name``."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            for tid in os.listdir(f"/proc/{pid}/task"):
                comm = Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()
                if comm == name[:15]:
                    found.append(f"{pid}/{tid}")
        except OSError:
            continue
    return found


def add_instructor_key() -> int:
    """A key in this (the grading) process's session keyring, as an instructor's session
    may hold one; returns its serial."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    serial = libc.syscall(248, b"user", b"dlgrade-instructor", b"instructor secret", 17, -3)
    assert serial > 0, os.strerror(ctypes.get_errno())
    return serial


MODES = {
    "cold": Config({"Sandbox": {"disk_mb": 64}}),
    "warm": Config({"Sandbox": {"disk_mb": 64, "warm_kernels": True}}),
}


@pytest.fixture(scope="module", params=list(MODES))
def two_students(request, tmp_path_factory):
    """What the first student's kernel did, what was left of it on the host once it was
    done, and what the next student's kernel (from the same server, when warm) found."""
    config = MODES[request.param]
    add_instructor_key()
    first, second = tmp_path_factory.mktemp("alice"), tmp_path_factory.mktemp("bob")
    did = printed(run(FIRST.replace("MARKTEXT", MARK), first, config))
    time.sleep(0.5)
    left_on_host = host_threads_named(MARK)
    found = printed(run(SECOND, second, config))
    return {"did": did, "left_on_host": left_on_host, "found": found, "second": second}


def test_the_first_kernel_really_left_a_running_zombie_leader(two_students):
    # The attack works inside the kernel: the leader is a zombie, its thread runs on.
    did = two_students["did"]
    assert (did["zombie_state"], did["threads"]) == ("Z", 2)


def test_no_thread_of_a_finished_kernel_runs_anywhere_on_the_machine(two_students):
    assert two_students["left_on_host"] == []


def test_nothing_is_planted_for_the_next_student(two_students):
    assert two_students["found"]["planted"] == []
    assert not (two_students["second"] / "planted.txt").exists()


def test_ipc_objects_do_not_outlive_the_kernel(two_students):
    did, found = two_students["did"], two_students["found"]
    assert (did["shm"], did["msgsnd"], did["mq_send"]) == (True, 0, 0)  # they existed
    assert (found["shm"], found["msq"], found["mq"]) == (2, 2, 2)  # ENOENT: gone


def test_keyrings_are_out_of_reach(two_students):
    did, found = two_students["did"], two_students["found"]
    assert (did["add_key_session"], did["add_key_user"]) == (1, 1)  # EPERM
    assert (found["keyctl_session"], found["keyctl_user"], found["request_key"]) == (1, 1, 1)


def test_the_next_kernel_sees_only_its_own_processes(two_students):
    # Its own pid namespace: the sandbox's init (cold: bubblewrap's; warm: the kernel's
    # init) and the kernel, nothing of the first student or of the server.
    assert len(two_students["found"]["processes"]) <= 3, two_students["found"]["processes"]


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="syscall numbers of x86_64")
@pytest.mark.parametrize("mode", list(MODES))
def test_dangerous_syscalls_are_refused_and_ordinary_work_goes_on(mode, tmp_path):
    got = printed(run(FILTERED, tmp_path, MODES[mode]))
    assert got.pop("threads_and_processes") == "thread"
    assert got == dict.fromkeys(REFUSED_CALLS, 1)  # EPERM, every one


def test_the_filter_is_compiled_for_this_machine():
    bpf = syscalls.kernel_filter()
    assert len(bpf) % 8 == 0 and len(bpf) > 8 * len(syscalls.REFUSED) // 2


# ---------------------------------------------------------------------------- control groups

needs_cgroups = pytest.mark.skipif(
    not cgroups.support().available, reason=f"{cgroups.support().describe()}"
)

#: COUNT processes of BLOCK MiB each: each within the per-process limit, not together.
MEMORY_HOG = r"""
import os, signal, time
children = []
for _ in range(COUNT):
    pid = os.fork()
    if pid == 0:
        try:
            block = bytearray(BLOCK * 1024 * 1024)
            for i in range(0, len(block), 4096):
                block[i] = 1
            time.sleep(3)
        finally:
            os._exit(0)
    children.append(pid)
ends = [os.waitpid(pid, 0)[1] for pid in children]
print("killed", sum(os.WIFSIGNALED(s) and os.WTERMSIG(s) == signal.SIGKILL for s in ends))
"""

CPU_HOG = r"""
import os, time
for _ in range(12):
    if os.fork() == 0:
        os.setsid()
        while True:
            pass
time.sleep(0.5)
print("started")
"""


@needs_cgroups
@pytest.mark.parametrize("mode", list(MODES))
def test_memory_is_limited_for_the_kernel_as_a_whole(mode, tmp_path):
    # A warm kernel starts with about 1.3 GiB of address space mapped, a cold one less.
    limit_mb, count, block_mb = (2048, 3, 1200) if mode == "cold" else (3072, 4, 1000)
    config = Config({"Sandbox": {"disk_mb": 64, "memory_mb": limit_mb}})
    config.Sandbox.warm_kernels = mode == "warm"
    hog = MEMORY_HOG.replace("BLOCK", str(block_mb)).replace("COUNT", str(count))
    nb = run(hog, tmp_path, config, allow_errors=True)
    text = "".join(o.get("text", "") for o in nb.cells[0].outputs)
    # Without a group per kernel all three children finish; with it, some are killed (or
    # the kernel itself, whose cell then shows no count).
    assert "killed 0" not in text, nb.cells[0].outputs


@needs_cgroups
@pytest.mark.parametrize("mode", list(MODES))
def test_all_processes_of_a_kernel_share_one_cpu_share_and_are_gone_after(mode, tmp_path):
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(CPU_HOG), nbformat.v4.new_code_cell("print('next')")]
    )
    client = NotebookClient(
        nb,
        timeout=60,
        kernel_manager_class=sandbox.SandboxedKernelManager,
        resources={"metadata": {"path": str(tmp_path)}},
        config=MODES[mode],
    )
    with client.setup_kernel():
        client.execute_cell(nb.cells[0], 0)
        group = client.km._group
        in_group = group.pids()
        shares = (group.folders[0] / "cpu.shares").read_text().strip()
        folders = list(group.folders)
        client.execute_cell(nb.cells[1], 1)
    assert len(in_group) >= 13, in_group  # the kernel and its twelve busy children
    assert shares == str(cgroups.CPU_SHARES)
    assert not any(folder.exists() for folder in folders)  # removed, and all in it killed
    assert not [p for p in in_group if warm.alive(p)]


# ---------------------------------------------------------------------------- the grader's terminal

FLOOD = r"""
import os, sys
os.write(2, b"\x1b[2J\x1b[Hforged progress 100%\n")
for _ in range(80):
    os.write(1, b"o" * 65536)
    os.write(2, b"e" * 65536)
sys.__stderr__.write("end of flood\n"); sys.__stderr__.flush()
print("done")
"""


@pytest.mark.parametrize("mode", list(MODES))
def test_a_kernels_own_output_goes_to_a_capped_log_never_to_the_graders_terminal(
    mode, tmp_path, capfd
):
    folder = tmp_path / "alice"
    folder.mkdir()
    config = MODES[mode].copy()
    config.Sandbox.kernel_log_bytes = 100_000
    nb = run(FLOOD, folder, config)
    assert "done" in "".join(o.get("text", "") for o in nb.cells[0].outputs)
    captured = capfd.readouterr()
    assert "forged progress" not in captured.err + captured.out
    assert "e" * 1000 not in captured.err
    log = sandbox.kernel_log_path(folder).read_bytes()
    assert b"\x1b[2J\x1b[Hforged progress 100%\n" in log
    assert 100_000 <= len(log) < 100_200  # the limit, and one line saying what was dropped
    assert b"more bytes dropped" in log


@needs_cgroups
def test_groups_of_a_grading_process_that_died_are_swept():
    import subprocess

    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = [cgroups.ROOT / c / cgroups.TOP / str(dead.pid) / "k1" for c in cgroups.CONTROLLERS]
    for folder in stale:
        folder.mkdir(parents=True)
    mine = cgroups.KernelGroup(256 * 1024 * 1024, 16)
    try:
        assert not any(folder.exists() or folder.parent.exists() for folder in stale)
        assert all(folder.is_dir() for folder in mine.folders)
        limit = (mine.folders[1] / "memory.limit_in_bytes").read_text().strip()
        assert (limit, (mine.folders[2] / "pids.max").read_text().strip()) == (
            str(256 * 1024 * 1024),
            "16",
        )
    finally:
        mine.remove()
    assert not any(folder.exists() for folder in mine.folders)


WORK = r"""
import time
import numpy as np
a = np.random.default_rng(0).standard_normal((200, 200))
start = time.perf_counter()
for _ in range(ROUNDS):
    a = np.tanh(a @ a / 200.0)
print("seconds", time.perf_counter() - start)
"""

HOG_BESIDE = r"""
import os, time
for _ in range(32):
    if os.fork() == 0:
        os.setsid()
        while True:
            pass
print("started", flush=True)
time.sleep(SECONDS)
"""


def work_seconds(config: Config, folder: Path, rounds: int) -> float:
    text = "".join(
        o.get("text", "")
        for o in run(WORK.replace("ROUNDS", str(rounds)), folder, config).cells[0].outputs
    )
    return float(text.split("seconds", 1)[1].split()[0])


@needs_cgroups
def test_an_honest_kernel_keeps_its_pace_beside_a_kernel_with_many_busy_processes(
    tmp_path, monkeypatch
):
    import threading

    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(name, "1")
    config = MODES["cold"]
    rounds = 400
    alone = work_seconds(config, tmp_path, rounds)
    while alone < 1.0:  # enough work to be measured
        rounds *= 2
        alone = work_seconds(config, tmp_path, rounds)
    hog_folder = tmp_path / "hog"
    hog_folder.mkdir()
    hog_code = HOG_BESIDE.replace("SECONDS", str(int(alone * 8) + 15))
    hog = threading.Thread(target=run, args=(hog_code, hog_folder, config), daemon=True)
    hog.start()
    time.sleep(5)  # the hog's kernel is up and its 32 processes busy
    beside = work_seconds(config, tmp_path, rounds)
    hog.join()
    # One kernel against another, whatever the number of processes: the honest one keeps its
    # share. Without a group per kernel (c.Sandbox.cgroups = False) it shares the machine
    # with 32 busy processes: 7.7 times slower in one run on two cores, and this fails.
    assert beside < 4 * alone, (alone, beside)


@pytest.mark.skipif(os.geteuid() != 0, reason="socket folders are mounts when grading as root")
def test_kernel_folders_of_a_grading_process_that_died_are_unmounted_and_swept(tmp_path):
    import subprocess

    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / f"{sandbox.KERNEL_FOLDER_PREFIX}{dead.pid}-abc"
    (stale / "ipc").mkdir(parents=True)
    assert sandbox.mount_tmpfs(stale / "ipc", 1 << 20, 0o700)
    live = tmp_path / f"{sandbox.KERNEL_FOLDER_PREFIX}{os.getpid()}-def"
    live.mkdir()
    assert sandbox.sweep_stale_kernel_folders(tmp_path) == [stale]
    assert not stale.exists() and live.exists()
    assert str(stale / "ipc") not in Path("/proc/self/mounts").read_text()


DEEP_TREES = r"""
import os
def deep(base, n):
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(n):
        os.mkdir("q", dir_fd=fd)
        inner = os.open("q", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = inner
    os.close(fd)
made = []
for folder in ("/tmp", "/dev/shm", ".", os.path.expanduser("~")):
    try:
        deep(folder, 3000)
        made.append(folder)
    except OSError as exc:
        pass
print(json.dumps(made))
"""


@pytest.mark.parametrize("mode", list(MODES))
def test_folders_nested_thousands_deep_do_not_stop_the_next_kernel(mode, tmp_path):
    """A kernel leaves trees 3000 folders deep (paths longer than a path may be) wherever it
    can write. Removing them must not stop the grader or the warm server (a recursive
    removal stops at Python's recursion limit): the next kernel starts, on an empty /tmp,
    and the first kernel's folder on the host can be removed."""
    from graders import trees

    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    try:
        made = printed(run("import json\n" + DEEP_TREES, first, MODES[mode]))
        assert "/tmp" in made and "." in made, made
        found = printed(run("import json, os\nprint(json.dumps(os.listdir('/tmp')))", second,
                            MODES[mode]))  # fmt: skip
        assert "q" not in found
    finally:
        assert trees.remove_folder(first) == []
    assert not first.exists()
