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
- each kernel lives in pid, IPC and mount namespaces of its own, made for it by a
  *supervisor* the server forks (which also joins the kernel's control groups, see
  :mod:`graders.cgroups`); their init (pid 1) starts the kernel and ends with it, and the
  operating system then kills every process left in them, whatever its state, and frees
  their IPC objects. Nothing here lists processes to decide what to kill;
- one kernel at a time: after a kernel's namespaces are gone, the writable folders
  (``/tmp``, ``/dev/shm``, the working folder) are emptied; the server stops (and a fresh
  one is started) if they cannot be;
- a kernel gets the submission's files from a folder only the server's uid can read, drops
  to an unprivileged uid of its own with the sandbox's limits (grading as root), a new
  session keyring, no capabilities and the syscall filter (:mod:`graders.confine`);
- only processes outside the sandbox may talk to the server (checked on every connection).

See ``docs/sandbox.md``.

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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from graders.confine import confine
from graders.trees import remove_folder, remove_tree

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

#: Capabilities the server keeps: to give each kernel its own uid, to make each kernel's
#: namespaces (CAP_SYS_ADMIN), and to kill and clean up what a kernel of another uid left
#: behind. Kernels have none (:func:`graders.confine.confine`).
SERVER_CAPS = (
    "CAP_SETUID", "CAP_SETGID", "CAP_KILL", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_SYS_ADMIN",
)  # fmt: skip

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
#: Size of the tmpfs of a server's kernel socket folders (grading as root).
KERNEL_FOLDERS_BYTES = 16 * 1024 * 1024
PR_SET_PDEATHSIG = 1
CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWPID = 0x00020000, 0x08000000, 0x20000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x8, 0x4000, 0x40000
MNT_DETACH = 2
#: In a kernel's pid namespace: its init, and the kernel (the init's first child).
INIT_PID, KERNEL_PID = 1, 2
_LIBC = ctypes.CDLL(None, use_errno=True)


class WarmKernelError(RuntimeError):
    """The fork server could not start or answer."""


# ============================================================================ in the sandbox


def _libc_check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _set_dumpable(on: bool) -> None:
    _libc_check(_LIBC.prctl(PR_SET_DUMPABLE, int(on), 0, 0, 0), "prctl(PR_SET_DUMPABLE)")


def _unshare(flags: int) -> None:
    _libc_check(_LIBC.unshare(flags), "unshare")


def _mount(source: str | None, target: str, fstype: str | None, flags: int) -> None:
    def arg(text: str | None) -> bytes | None:
        return None if text is None else text.encode()

    _libc_check(_LIBC.mount(arg(source), arg(target), arg(fstype), flags, None), f"mount {target}")


def alive(pid: int) -> bool:
    """Whether any thread of process ``pid`` still runs. A thread-group leader that has
    exited on its own shows as a zombie while its other threads keep running: it counts."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in (b"Z", b"X"):
            return True
    return False


def _processes() -> list[int]:
    """Processes of this pid namespace with a thread that still runs."""
    return [int(name) for name in os.listdir("/proc") if name.isdigit() and alive(int(name))]


def _nested_pid(pid: int) -> int | None:
    """The number of process ``pid`` in the pid namespace nested in ours (a kernel's), or
    None when it lives in ours."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("NSpid:"):
                    numbers = line.split()[1:]
                    return int(numbers[1]) if len(numbers) > 1 else None
    except (OSError, ValueError):
        return None
    return None


def _kill_until_gone(targets: Callable[[], list[int]]) -> int:
    """SIGKILL the processes ``targets()`` lists until it lists none (a fork bomb forks
    while it is killed); how many were killed."""
    killed: set[int] = set()
    for _ in range(500):
        left = targets()
        if not left:
            break
        for pid in left:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
        time.sleep(0.002)
    return len(killed)


def kill_strays_in_kernel() -> int:
    """SIGKILL every process of the current kernel's pid namespace except its init (1) and
    the kernel (2), until none is left; how many were killed."""
    return _kill_until_gone(
        lambda: [
            pid
            for pid in _processes()
            if (nested := _nested_pid(pid)) is not None and nested not in (INIT_PID, KERNEL_PID)
        ]
    )


def kill_all(spare: set[int]) -> int:
    """SIGKILL every process of the sandbox but pid 1 (bubblewrap's), ourselves and
    ``spare``, until none is left; how many."""
    spare = spare | {1, os.getpid()}
    return _kill_until_gone(lambda: [pid for pid in _processes() if pid not in spare])


def wipe(top: str, keep: set[str]) -> list[str]:
    """Empty the folder ``top`` without crossing into other file systems (bound folders)
    and without removing the folders in ``keep`` (which may hold bound ones); return what
    could not be removed. Any depth (see :func:`remove_tree`)."""
    dev = os.lstat(top).st_dev
    left: list[str] = []
    folders = [top]
    while folders:
        folder = folders.pop()
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            for name in os.listdir(fd):
                path = os.path.join(folder, name)
                try:
                    st = os.lstat(name, dir_fd=fd)
                except OSError:
                    continue
                if st.st_dev != dev:
                    continue  # a mount point: bound from outside
                if path in keep:
                    if stat.S_ISDIR(st.st_mode):
                        folders.append(path)
                    continue
                left += [os.path.join(folder, x) for x in remove_tree(fd, name, dev)]
        finally:
            os.close(fd)
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
            self.reply(conn, {"killed": kill_strays_in_kernel() if self.kernel else 0})
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

    # -- in the children: the kernel's supervisor (outside), its init, the kernel
    def become_kernel(self, msg: dict[str, Any], fds: list[int], conn: socket.socket) -> None:
        """The supervisor, the server's child: joins the kernel's control groups, makes the
        kernel's namespaces (pid, ipc, mount), starts their init, and exits with the
        kernel's status. Forwarding the signals the stub sends, it runs no student code."""
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
            for procs in msg.get("cgroups", []):
                with open(procs, "w") as f:
                    f.write("0")
            _unshare(CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWNS)
            init = os.fork()
            if init == 0:
                self.kernel_init(msg)
            code = _supervise(init)
        except BaseException:  # noqa: BLE001 - on the kernel's stderr
            traceback.print_exc()
        finally:
            os._exit(code)

    def kernel_init(self, msg: dict[str, Any]) -> None:
        """Pid 1 of the kernel's namespaces: its own ``/proc``, the submission's files in
        the working folder, then the kernel; when the kernel ends, so does this process, and
        with it, by the operating system, every process of the namespace."""
        code = 1
        try:
            _libc_check(_LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "pdeathsig")
            _mount(None, "/", None, MS_REC | MS_PRIVATE)
            _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
            for folder in self.spec.get("cgroup_binds", []):
                _libc_check(_LIBC.umount2(folder.encode(), MNT_DETACH), f"umount {folder}")
            _copy_files(msg["files"], self.spec["workdir"])
            kernel = os.fork()
            if kernel == 0:
                self.run_kernel(msg)
            code = _supervise(kernel, reap_all=True)
        except BaseException:  # noqa: BLE001 - on the kernel's stderr
            traceback.print_exc()
        finally:
            os._exit(code)

    def run_kernel(self, msg: dict[str, Any]) -> None:
        """The kernel: confined (:func:`graders.confine.confine`), then ipykernel."""
        code = 1
        try:
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, signal.SIG_DFL)
            workdir = self.spec["workdir"]
            bpf = bytes.fromhex(self.spec.get("seccomp", ""))
            confine(int(msg["uid"]), int(msg["nproc"]), int(msg["memory"]), bpf or None)
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


def _supervise(child: int, reap_all: bool = False) -> int:
    """Forward SIGINT, SIGTERM and SIGHUP to ``child``, wait for it (reaping every other
    child that ends meanwhile when ``reap_all``), and return an exit status for it: its
    code, or 128 + the signal that ended it."""

    def forward(signum: int, _frame: Any) -> None:
        with contextlib.suppress(OSError):
            os.kill(child, signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, forward)
    while True:
        pid, status = os.wait() if reap_all else os.waitpid(child, 0)
        if pid == child:
            code = os.waitstatus_to_exitcode(status)
            return code if code >= 0 else 128 - code


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
            if (folder / "kernels").is_mount():
                from graders import sandbox as box

                box.unmount(folder / "kernels")
            remove_folder(folder)
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
        # Kernels' socket folders: the one place of the host a kernel writes to, a tmpfs.
        self.kernels = self.dir / "kernels"
        self.kernels.mkdir()
        self.kernels_tmpfs = box.mount_tmpfs(self.kernels, KERNEL_FOLDERS_BYTES, 0o711)
        self.files = self.dir / "files"
        self.files.mkdir(mode=0o711)
        self.workdir = self.dir / "work"
        self.workdir.mkdir()
        self.dir.chmod(0o711)
        self.kernels.chmod(0o711)
        # Kernels join control groups of this grading process's (graders/cgroups.py).
        self.cgroup_binds = box.cgroup_folders() if settings.cgroups else []
        args = box.bwrap_args(
            settings, self.workdir, self.dir, env, as_root, SERVER_CAPS, self.cgroup_binds
        )
        keep = {str(p) for p in box.bound_paths(settings, self.dir)}
        keep |= {str(a) for p in list(keep) for a in Path(p).parents}
        spec = {
            "preload": list(PRELOAD),
            "keep": sorted(keep),
            "wipe": ["/tmp", "/dev/shm", str(self.workdir)],
            "workdir": str(self.workdir),
            "cgroup_binds": [str(p) for p in self.cgroup_binds],
            "seccomp": box.kernel_filter().hex(),
        }
        bwrap = shutil.which(settings.bwrap) or settings.bwrap
        command = [*box.host_launch([]), bwrap, *args, "--"]
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

    def files_folder(self, box: Path) -> Path:
        """Where the submission's files of the kernel of ``box`` wait for the server (only
        the server's uid reads them)."""
        return self.files / box.name

    def kernel_command(
        self,
        argv: list[str],
        files: Path,
        uid: int,
        nproc: int,
        memory: int,
        cgroups: list[str] | None = None,
    ) -> list[str]:
        """The command that starts one warm kernel (``python -m ipykernel_launcher ARGV``)
        whose working folder holds a copy of ``files``, in the control groups whose
        ``cgroup.procs`` files are ``cgroups`` (under this server's bound folders)."""
        request = {"op": "kernel", "argv": argv, "files": str(files), "uid": uid,
                   "nproc": nproc, "memory": memory, "cgroups": cgroups or []}  # fmt: skip
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
        if self.kernels_tmpfs:
            from graders import sandbox as box

            box.unmount(self.kernels)
        remove_folder(self.dir)


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
        settings.cgroups, tuple(sorted(env.items())),
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
