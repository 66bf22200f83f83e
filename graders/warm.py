"""Warm kernels: a pristine fork server in the sandbox, one fresh kernel per notebook.

A cold kernel costs a Python start and the imports (TensorFlow alone about 4 s) before
any student code runs. With ``c.Sandbox.warm_kernels = True`` (dlgrade's workers turn it
on), a grading process starts one *fork server* inside a sandbox like a kernel's: it
imports ipykernel, numpy, TensorFlow, Keras, matplotlib and the kernel-side ``graders``
modules once, and never runs student code. Each kernel is a fresh ``fork()`` of it that
becomes ``python -m ipykernel_launcher`` in its own working folder. Nothing is shared
between students:

- the server is pristine: it holds imported libraries and nothing of any student; it is
  not dumpable, so no process of the sandbox can trace it or read its memory;
- one kernel at a time: before a kernel starts and after it ends, every other process in
  the sandbox is killed, and the writable folders (``/tmp``, ``/dev/shm``, the working
  folder) are emptied; the server stops (and a fresh one is started) if they cannot be;
- a kernel gets the submission's files from a folder only the server's uid can read, drops
  to an unprivileged uid of its own with the sandbox's limits (grading as root), and has
  no capabilities;
- only processes outside the sandbox may talk to the server (checked on every connection).

jupyter_client sees an ordinary kernel process: a small *stub* that hands its standard
streams to the server, forwards interrupts, and exits with the kernel's exit status; a
killed stub has its kernel killed. The same judge, limits and sandbox apply; only the
imports are paid once per grading process instead of once per notebook.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import importlib
import json
import os
import queue
import resource
import runpy
import selectors
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Any

#: Modules the server imports once (those the course's notebooks import).
PRELOAD = (
    "numpy",
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "matplotlib",
    "matplotlib.pyplot",
    "tensorflow",
    "keras",
    "graders.checks",
    "graders.probe",
    "graders.data",
)

#: Capabilities the server keeps when grading as root: to give each kernel its own uid,
#: and to kill and clean up what a kernel of another uid left behind. Kernels have none.
SERVER_CAPS = ("CAP_SETUID", "CAP_SETGID", "CAP_KILL", "CAP_DAC_OVERRIDE", "CAP_FOWNER")

#: The kernel process jupyter_client starts: hands its standard streams to the server,
#: forwards signals, and exits with the kernel's status. argv: socket request-json
STUB = """\
import json, signal, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
socket.send_fds(s, [sys.argv[2].encode() + b"\\n"], [0, 1, 2])
def forward(signum, frame):
    try:
        s.sendall(json.dumps({"op": "signal", "sig": signum}).encode() + b"\\n")
    except OSError:
        pass
for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(sig, forward)
code = 1
for line in s.makefile("rb"):
    msg = json.loads(line)
    if "exit" in msg:
        code = msg["exit"]
        break
    if "error" in msg:
        sys.stderr.write("warm kernel: " + msg["error"] + "\\n")
        break
sys.exit(code if code >= 0 else 128 - code)
"""

PR_SET_DUMPABLE = 4


class WarmKernelError(RuntimeError):
    """The fork server could not start or answer."""


# ============================================================================ in the sandbox


def _set_dumpable(on: bool) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, int(on), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE)")


def _processes() -> list[int]:
    """Live (not zombie) processes of this pid namespace."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in (b"Z", b"X"):
            pids.append(int(name))
    return pids


def kill_all(spare: set[int]) -> int:
    """SIGKILL every process of the sandbox but pid 1 (bubblewrap's), ourselves and
    ``spare``, until none is left (a fork bomb forks while it is killed); how many."""
    spare = spare | {1, os.getpid()}
    killed: set[int] = set()
    for _ in range(500):
        left = [pid for pid in _processes() if pid not in spare]
        if not left:
            break
        for pid in left:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
        time.sleep(0.002)
    return len(killed)


def wipe(top: str, keep: set[str]) -> list[str]:
    """Empty the folder ``top`` without crossing into other file systems (bound folders)
    and without removing the folders in ``keep`` (which may hold bound ones); return what
    could not be removed."""
    dev = os.lstat(top).st_dev
    left: list[str] = []

    def remove(path: str) -> None:
        st = os.lstat(path)
        if stat.S_ISDIR(st.st_mode):
            with contextlib.suppress(OSError):
                os.chmod(path, 0o700)
            for entry in os.scandir(path):
                remove(entry.path)
        try:
            (os.rmdir if stat.S_ISDIR(st.st_mode) else os.unlink)(path)
        except OSError:
            left.append(path)

    def clear(folder: str) -> None:
        for entry in os.scandir(folder):
            st = os.lstat(entry.path)
            if st.st_dev != dev:
                continue  # a mount point: bound from outside
            if entry.path in keep:
                if stat.S_ISDIR(st.st_mode):
                    clear(entry.path)
                continue
            remove(entry.path)

    clear(top)
    return left


def _copy_files(source: str, target: str) -> None:
    """The submission's regular files and folders (never links), read-only for the kernel
    (owned by us, in a sticky folder the kernel may add files to)."""
    for entry in os.scandir(source):
        dest = os.path.join(target, entry.name)
        if entry.is_symlink():
            continue
        if entry.is_dir():
            os.mkdir(dest, 0o755)
            _copy_files(entry.path, dest)
        elif entry.is_file():
            shutil.copyfile(entry.path, dest)
            os.chmod(dest, 0o444)


class _Server:
    """The fork server's loop (inside the sandbox). One kernel at a time."""

    def __init__(self, listener: socket.socket, spec: dict[str, Any]) -> None:
        self.listener = listener
        self.spec = spec
        self.keep = set(spec["keep"])
        self.selector = selectors.DefaultSelector()
        self.selector.register(listener, selectors.EVENT_READ, ("accept", None))
        self.buffers: dict[socket.socket, bytes] = {}
        self.kernel: tuple[int, int, socket.socket] | None = None  # pid, pidfd, its stub
        self.peak_kb = 0

    # -- helpers
    def reply(self, conn: socket.socket, msg: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):
            conn.sendall(json.dumps(msg).encode() + b"\n")

    def drop(self, conn: socket.socket) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(conn)
        self.buffers.pop(conn, None)
        conn.close()

    def clean(self) -> None:
        """Kill every process but the current kernel; with no kernel, empty the writable
        folders too. Exit when something is left (the host starts a fresh server)."""
        kill_all({self.kernel[0]} if self.kernel else set())
        if self.kernel is None:
            left: list[str] = []
            for top in self.spec["wipe"]:
                left += wipe(top, self.keep)
            if left:
                sys.stderr.write(f"fork server: cannot empty {left[:5]}; stopping\n")
                os._exit(3)

    # -- the loop
    def run(self) -> None:
        while True:
            for key, _ in self.selector.select():
                kind, data = key.data
                if kind == "accept":
                    self.accept()
                elif kind == "conn":
                    self.read(key.fileobj)  # type: ignore[arg-type]
                elif kind == "exit":
                    self.reap()

    def accept(self) -> None:
        conn, _ = self.listener.accept()
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
        pid = int.from_bytes(creds[:4], sys.byteorder, signed=True)
        if pid != 0:  # a process of this sandbox (outside ones have no pid here)
            conn.close()
            return
        self.buffers[conn] = b""
        self.selector.register(conn, selectors.EVENT_READ, ("conn", None))

    def read(self, conn: socket.socket) -> None:
        try:
            data, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
        except OSError:
            data, fds = b"", []
        if not data:
            for fd in fds:
                os.close(fd)
            if self.kernel is not None and self.kernel[2] is conn:
                # The stub is gone (killed): so is its kernel (reaped when it has ended).
                self.selector.unregister(conn)
                with contextlib.suppress(OSError):
                    os.kill(self.kernel[0], signal.SIGKILL)
            else:
                self.drop(conn)
            return
        self.buffers[conn] += data
        while b"\n" in self.buffers.get(conn, b""):
            line, self.buffers[conn] = self.buffers[conn].split(b"\n", 1)
            self.handle(conn, json.loads(line), fds)
            fds = []
        for fd in fds:
            os.close(fd)

    def handle(self, conn: socket.socket, msg: dict[str, Any], fds: list[int]) -> None:
        op = msg.get("op")
        if op == "kernel":
            self.start_kernel(conn, msg, fds)
        elif op == "signal":
            if self.kernel is not None and self.kernel[2] is conn:
                with contextlib.suppress(OSError):
                    os.kill(self.kernel[0], int(msg["sig"]))
        elif op == "strays":
            spare = {self.kernel[0]} if self.kernel else set()
            self.reply(conn, {"killed": kill_all(spare)})
            self.drop(conn)
        elif op == "stats":
            self.reply(conn, {"peak_kb": self.peak_kb})
            self.drop(conn)
        else:
            self.reply(conn, {"error": f"unknown request {op!r}"})
            self.drop(conn)

    def start_kernel(self, conn: socket.socket, msg: dict[str, Any], fds: list[int]) -> None:
        if len(fds) != 3:
            self.reply(conn, {"error": "a kernel needs three standard streams"})
            for fd in fds:
                os.close(fd)
            self.drop(conn)
            return
        if self.kernel is not None:  # one kernel at a time: the old one goes first
            os.kill(self.kernel[0], signal.SIGKILL)
            self.reap()
        self.clean()
        pid = os.fork()
        if pid == 0:
            self.become_kernel(msg, fds, conn)
        for fd in fds:
            os.close(fd)
        pidfd = os.pidfd_open(pid)
        self.selector.register(pidfd, selectors.EVENT_READ, ("exit", None))
        self.kernel = (pid, pidfd, conn)
        self.reply(conn, {"pid": pid})

    def reap(self) -> None:
        assert self.kernel is not None
        pid, pidfd, conn = self.kernel
        _, status, usage = os.wait4(pid, 0)
        self.peak_kb = max(self.peak_kb, usage.ru_maxrss)
        self.selector.unregister(pidfd)
        os.close(pidfd)
        self.kernel = None
        self.clean()
        self.reply(conn, {"exit": os.waitstatus_to_exitcode(status)})
        self.drop(conn)

    # -- in the child
    def become_kernel(self, msg: dict[str, Any], fds: list[int], conn: socket.socket) -> None:
        code = 1
        try:
            os.setsid()
            for number, fd in enumerate(fds):
                os.dup2(fd, number)
            for fd in fds:
                if fd > 2:
                    os.close(fd)
            # Nothing of the server's: its sockets, its selector, the other connections.
            for other in list(self.buffers):
                other.close()
            if self.kernel is not None:
                os.close(self.kernel[1])
            self.selector.close()
            self.listener.close()
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            workdir = self.spec["workdir"]
            _copy_files(msg["files"], workdir)
            memory = int(msg["memory"])
            if memory >= 0:
                resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            uid = int(msg["uid"])
            if uid >= 0:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)  # drops every capability
            nproc = int(msg["nproc"])
            if nproc >= 0:
                resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
            _set_dumpable(True)
            os.chdir(workdir)
            # As `python -m ipykernel_launcher ARGS` in the working folder.
            sys.path[0] = workdir
            sys.argv = ["ipykernel_launcher", *msg["argv"]]
            runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:  # noqa: BLE001 - the kernel's own failure, on its stderr
            traceback.print_exc()
        finally:
            with contextlib.suppress(BaseException):
                import atexit as _atexit

                _atexit._run_exitfuncs()
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)


def serve(argv: list[str]) -> None:
    """The fork server's entry point (``python -m graders.warm SOCKET SPEC``)."""
    path, spec = argv[0], json.loads(argv[1])
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in spec["preload"]:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - a kernel imports it again, and says why
            sys.stderr.write(f"fork server: could not preload {name}: {exc}\n")
    _set_dumpable(False)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(16)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    _Server(listener, spec).run()


# ============================================================================ on the host


#: A server's folder is ``<tmp>/dlgrade-warm-<pid of the grading process>-<random>``.
FOLDER_PREFIX = "dlgrade-warm-"


def sweep_stale_folders(tmp: Path | None = None) -> list[Path]:
    """Remove the folders of servers whose grading process is gone (killed, so it could
    not clean up); only this user's. Returns the folders removed."""
    removed = []
    for folder in Path(tmp or tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}*-*"):
        pid = folder.name[len(FOLDER_PREFIX) :].split("-", 1)[0]
        try:
            if not pid.isdigit() or folder.lstat().st_uid != os.getuid():
                continue
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
        except OSError:  # alive under another user (EPERM), or the folder vanished
            continue
    return removed


class ForkServer:
    """Host side of one fork server: starts it in the sandbox, hands out kernel commands."""

    def __init__(self, settings: Any, env: dict[str, str], as_root: bool) -> None:
        from graders import sandbox as box

        self.settings, self.env, self.as_root = settings, env, as_root
        sweep_stale_folders()
        self.dir = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-"))
        self.socket = self.dir / "ctl" / "server.sock"
        self.socket.parent.mkdir(mode=0o700)
        self.kernels = self.dir / "kernels"
        self.kernels.mkdir()
        self.workdir = self.dir / "work"
        self.workdir.mkdir()
        self.dir.chmod(0o711)
        self.kernels.chmod(0o711)
        args = box.bwrap_args(settings, self.workdir, self.dir, env, as_root, SERVER_CAPS)
        keep = {str(p) for p in box.bound_paths(settings, self.dir)}
        keep |= {str(a) for p in list(keep) for a in Path(p).parents}
        spec = {
            "preload": list(PRELOAD),
            "keep": sorted(keep),
            "wipe": ["/tmp", "/dev/shm", str(self.workdir)],
            "workdir": str(self.workdir),
        }
        bwrap = shutil.which(settings.bwrap) or settings.bwrap
        command = [sys.executable, "-I", "-S", "-c", box.IGNORE_SIGINT, bwrap, *args, "--"]
        command += [sys.executable, "-m", "graders.warm", str(self.socket), json.dumps(spec)]
        self.log = self.dir / "server.log"
        with open(self.log, "wb") as log:
            self.process = _spawn(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
                cwd=self.dir, start_new_session=True,
            )  # fmt: skip
        self._wait_ready(timeout=300)

    def _wait_ready(self, timeout: float) -> None:
        assert self.process.stdout is not None
        ready = selectors.DefaultSelector()
        ready.register(self.process.stdout, selectors.EVENT_READ)
        line = b""
        if ready.select(timeout):
            line = self.process.stdout.readline()
        ready.close()
        if line.strip() != b"ready":
            self.close()
            tail = self.log.read_text(errors="replace").strip().splitlines()[-3:]
            raise WarmKernelError(
                "the warm-kernel server did not start: " + (" / ".join(tail) or "no message")
            )

    def alive(self) -> bool:
        return self.process.poll() is None

    def call(self, msg: dict[str, Any], timeout: float = 60) -> dict[str, Any]:
        """One request, one answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(timeout)
            conn.connect(str(self.socket))
            conn.sendall(json.dumps(msg).encode() + b"\n")
            answer = conn.makefile("rb").readline()
        if not answer:
            raise WarmKernelError("the warm-kernel server did not answer")
        return json.loads(answer)

    def kernel_box(self) -> Path:
        """A private folder for one kernel's sockets and files, under the server's (its
        ipc folder is reached from the sandbox, so others may pass through it)."""
        box = Path(tempfile.mkdtemp(prefix="kernel-", dir=self.kernels))
        box.chmod(0o711)
        return box

    def kernel_command(
        self, argv: list[str], files: Path, uid: int, nproc: int, memory: int
    ) -> list[str]:
        """The command that starts one warm kernel (``python -m ipykernel_launcher ARGV``)
        whose working folder holds a copy of ``files``."""
        request = {"op": "kernel", "argv": argv, "files": str(files), "uid": uid,
                   "nproc": nproc, "memory": memory}  # fmt: skip
        return [sys.executable, "-I", "-S", "-c", STUB, str(self.socket), json.dumps(request)]

    def kill_strays(self) -> int:
        """Kill every process in the sandbox but the kernel; how many."""
        try:
            return int(self.call({"op": "strays"}).get("killed", 0))
        except (OSError, WarmKernelError, ValueError):
            return 0

    def peak_kb(self) -> int:
        """The largest peak resident memory of a finished kernel, in KiB."""
        try:
            return int(self.call({"op": "stats"}, timeout=5).get("peak_kb", 0))
        except (OSError, WarmKernelError, ValueError):
            return 0

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


_LOCK = threading.RLock()


def _spawn(command: list[str], **kw: Any) -> subprocess.Popen:
    """Popen from a thread that lives as long as this process: bubblewrap's
    ``--die-with-parent`` ends the sandbox when the thread that started it ends."""
    if threading.current_thread() is threading.main_thread():
        return subprocess.Popen(command, **kw)
    with _LOCK:
        if _SPAWNER[0] is None:
            _SPAWNER[0] = threading.Thread(target=_spawn_loop, name="dlgrade-warm", daemon=True)
            _SPAWNER[0].start()
    done: queue.Queue = queue.Queue()
    _REQUESTS.put((command, kw, done))
    ok, value = done.get()
    if not ok:
        raise value
    return value


def _spawn_loop() -> None:
    while True:
        command, kw, done = _REQUESTS.get()
        try:
            done.put((True, subprocess.Popen(command, **kw)))
        except Exception as exc:  # noqa: BLE001 - raised in the caller's thread
            done.put((False, exc))


_REQUESTS: queue.Queue = queue.Queue()
_SPAWNER: list[threading.Thread | None] = [None]
_SERVERS: dict[tuple, ForkServer] = {}


def server_for(settings: Any, env: dict[str, str], as_root: bool) -> ForkServer:
    """This process's fork server for these sandbox settings and kernel environment,
    started on first use and again whenever it has stopped."""
    key = (
        settings.bwrap, settings.disk_mb, tuple(settings.read_only_paths), as_root,
        tuple(sorted(env.items())),
    )  # fmt: skip
    with _LOCK:
        server = _SERVERS.get(key)
        if server is None or not server.alive():
            if server is not None:
                server.close()
            server = _SERVERS[key] = ForkServer(settings, env, as_root)
        return server


def peak_kb() -> int:
    """The largest peak of a kernel started by this process's fork servers, in KiB."""
    return max((s.peak_kb() for s in list(_SERVERS.values()) if s.alive()), default=0)


def server_rss_kb() -> int:
    """Resident memory of this process's fork servers (their Python processes), in KiB;
    their pages are shared with the kernels forked from them."""
    import psutil

    total = 0
    for server in list(_SERVERS.values()):
        with contextlib.suppress(psutil.Error):
            for proc in psutil.Process(server.process.pid).children(recursive=True):
                if "graders.warm" in proc.cmdline():
                    total += proc.memory_info().rss // 1024
    return total


@atexit.register
def _close_all() -> None:
    for server in list(_SERVERS.values()):
        server.close()
    _SERVERS.clear()


if __name__ == "__main__":
    serve(sys.argv[1:])
