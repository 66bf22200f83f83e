"""The student's kernel in a sandbox: bubblewrap, no network, resource limits.

During autograding every student kernel is started through :class:`SandboxedKernelManager`
(registered by :class:`graders.nbgrader_plugins.RobustExecute`), the way nbgrader starts
any kernel, only wrapped in ``bwrap``. Inside, the kernel sees:

- the Python environment and the ``graders`` package, read-only;
- its working directory: a private, size-limited, writable copy of the submission's folder
  (``autograded/<student>/<assignment>``), whose files are bound read-only;
- a private, size-limited ``/tmp`` (also ``$HOME``) and ``/dev/shm``;
- the data cache (``$DLGRADE_CACHE``), read-only, when it exists.

Nothing else of the machine: not ``source/``, ``solutions/``, ``gradebook.db``, other
students' folders or the instructor's home. It has its own network namespace (no network at
all, not even the host's loopback), its own process namespace, and talks to the grader over
Unix sockets in a private folder. When the grader runs as root, the kernel runs as an
unprivileged uid of its own; otherwise as the instructor's uid. Limits per kernel (see
:class:`Sandbox`): address space per process, number of processes and threads, size of
its writable folders. Time and output limits are kept by the executing client
(:class:`graders.nbgrader_plugins.RobustExecute`).

With ``c.Sandbox.warm_kernels = True`` a kernel is instead a fresh fork of a server that
runs in such a sandbox and has imported the libraries once (:mod:`graders.warm`); what the
kernel sees and its limits are the same.

The trusted side (the judge) is unchanged: the sandbox only narrows what the kernel reaches.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Integer, List, Unicode
from traitlets.config import Configurable

from graders.trees import remove_folder

#: Environment variables passed from the grader to the kernel (all others are dropped).
PASSED_ENV = (
    "LANG",
    "LC_ALL",
    "TZ",
    "PYTHONHASHSEED",
    "TF_CPP_MIN_LOG_LEVEL",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NBGRADER_EXECUTION",
)

#: How to grade without the sandbox, said with every reason it cannot start.
OPT_OUT = (
    "To grade without the sandbox anyway (students' code can then read the "
    "solutions and the gradebook), set `c.Sandbox.enabled = False` in nbgrader_config.py "
    "or pass `--Sandbox.enabled=False`; every notebook graded then logs a warning."
)

#: What to do for each kind of reason the sandbox cannot start (see :func:`fix_for`).
FIXES = {
    "bwrap": "How to fix: install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`) "
    "or set `c.Sandbox.bwrap` to its path.",
    "userns": "How to fix: allow user namespaces (`sysctl -w "
    "kernel.unprivileged_userns_clone=1` and `sysctl -w user.max_user_namespaces=10000`; in "
    "a container, run it with user namespaces allowed).",
    "disk": "How to fix: free space in the temporary folder named above, or point TMPDIR at "
    "a folder with room (grading keeps each kernel's sockets and files there).",
    "memory": "How to fix: free memory on this machine, or raise `c.Sandbox.memory_mb` "
    "(the address space each kernel may map) if it is below what Python needs.",
    "limit": "How to fix: a limit on processes or threads was hit; raise it (`ulimit -u`, "
    "the pids limit of the container or cgroup, `c.Sandbox.max_processes`) or end "
    "processes left running.",
    "other": "How to fix: see the reason above; bubblewrap must be installed and allowed to "
    "create user namespaces (`apt-get install bubblewrap`; `sysctl -w "
    "kernel.unprivileged_userns_clone=1`).",
}

#: What to do when the sandbox cannot start because bubblewrap is missing or refused.
FIX_HINT = f"{FIXES['bwrap']} {FIXES['userns']} {OPT_OUT}"

#: Words of a failure (bubblewrap's, the kernel's or an errno's), in the order they are
#: tested, and the kind of reason each means. ENOSPC from creating a namespace is the
#: namespace count (user.max_user_namespaces), not the disk.
_SIGNS = (
    ("userns", ("creating new namespace failed", "new namespace", "uid map", "setting up uid")),
    ("disk", ("no space left on device", "disk quota exceeded", "enospc")),
    ("memory", ("cannot allocate memory", "memoryerror", "failed to map segment", "enomem")),
    ("limit", ("resource temporarily unavailable", "eagain", "too many processes")),
    ("userns", ("operation not permitted", "permission denied")),
)


def classify(reason: str) -> str:
    """The kind of a reason the sandbox cannot start: ``bwrap`` (not installed),
    ``userns`` (user namespaces refused or used up), ``disk`` (no space in the temporary
    folder), ``memory``, ``limit`` (processes or threads) or ``other``."""
    text = reason.lower()
    if "is not installed" in text:
        return "bwrap"
    if "new namespace" in text and "no space left" in text:
        return "userns"
    for kind, words in _SIGNS:
        if any(w in text for w in words):
            return kind
    return "other"


def fix_for(reason: str) -> str:
    """What to do about ``reason`` (from :func:`problem`), and how to opt out."""
    return f"{FIXES[classify(reason)]} {OPT_OUT}"


#: Runs inside the sandbox before the kernel: confine it (graders/confine.py, loaded by
#: path before anything else is imported), then exec the kernel.
#: argv: confine.py uid max_processes memory_bytes seccomp-hex -- command...  (-1: as it is)
LAUNCHER = """\
import importlib.util, os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
spec = importlib.util.spec_from_file_location("dlgrade_confine", sys.argv[1])
confine = importlib.util.module_from_spec(spec)
spec.loader.exec_module(confine)
uid, nproc, memory = (int(a) for a in sys.argv[2:5])
bpf = bytes.fromhex(sys.argv[5])
command = sys.argv[7:]
confine.confine(uid, nproc, memory, bpf or None)
os.execv(command[0], command)
"""


#: Starts bwrap on the host, in the kernel's control groups (argv: N, N ``cgroup.procs``
#: files, the command), with SIGINT ignored: jupyter interrupts a kernel by signalling its
#: process group, which would end bwrap (and the kernel with it); the kernel gets SIGINT back.
HOST_LAUNCH = """\
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
n = int(sys.argv[1])
for procs in sys.argv[2:2 + n]:
    with open(procs, "w") as f:
        f.write("0")
os.execv(sys.argv[2 + n], sys.argv[2 + n:])
"""


def host_launch(procs_files: list[str]) -> list[str]:
    """The prefix of a sandbox's command: join ``procs_files``' groups, ignore SIGINT."""
    return [sys.executable, "-I", "-S", "-c", HOST_LAUNCH, str(len(procs_files)), *procs_files]


class SandboxUnavailable(SystemExit):
    """The sandbox cannot start here. A SystemExit, so that nbgrader stops the whole run
    (rather than failing every student one by one); raised before any file is touched."""


class Sandbox(Configurable):
    """Settings of the student kernel's sandbox (``c.Sandbox.*`` in nbgrader_config.py)."""

    enabled = Bool(
        True,
        help="Run student kernels in the sandbox. False grades without it (not recommended: "
        "students' code can then read solutions/ and the gradebook) and logs a warning for "
        "every notebook graded.",
    ).tag(config=True)
    bwrap = Unicode("bwrap", help="The bubblewrap executable.").tag(config=True)
    memory_mb = Integer(
        6144,
        help="Address space per kernel process, in MiB (RLIMIT_AS). TensorFlow maps about "
        "2.5 GiB of address space for a small model (a warm kernel starts with about "
        "1.3 GiB mapped); allocations past the limit raise MemoryError. -1: no limit.",
    ).tag(config=True)
    max_processes = Integer(
        256,
        help="Processes and threads the kernel may have at once (RLIMIT_NPROC, counted for "
        "the kernel's own uid when grading as root, else added to the instructor's current "
        "count). -1: no limit.",
    ).tag(config=True)
    disk_mb = Integer(
        512, help="Size of each writable folder of the kernel (working folder, /tmp), in MiB."
    ).tag(config=True)
    uid = Integer(
        -1,
        help="When grading as root: the uid (and gid) the kernel runs as. -1: an unprivileged "
        "uid of its own per kernel (from 200000 up), so that no two kernels share a process "
        "count.",
    ).tag(config=True)
    warm_kernels = Bool(
        False,
        help="Start kernels as fresh forks of a sandboxed server that has imported the "
        "libraries once (graders/warm.py), instead of a new Python per notebook: the same "
        "sandbox and limits, nothing shared between students, the imports paid once per "
        "grading process. dlgrade's parallel workers turn it on.",
    ).tag(config=True)
    kernel_log_bytes = Integer(
        1024 * 1024,
        help="What a kernel writes to its own stdout and stderr (not to the notebook), kept "
        "in <notebook folder>.kernel.log next to the notebook's folder, up to this many "
        "bytes; the rest is dropped. It never reaches the grader's terminal.",
    ).tag(config=True)
    cgroups = Bool(
        True,
        help="Give each kernel control groups of its own (CPU share, memory and processes "
        "of the kernel as a whole) where the host allows it (graders/cgroups.py).",
    ).tag(config=True)
    read_only_paths = List(
        Unicode(),
        help="Extra host paths the kernel may read (bound read-only at the same place).",
    ).tag(config=True)


# ---------------------------------------------------------------------------- layout


def _python_paths() -> list[Path]:
    """Folders the kernel's Python needs: the environment and its base installation."""
    paths = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}
    paths.add(Path(os.path.realpath(sys.executable)).parent.parent)
    return sorted(paths)


def _package_paths() -> list[Path]:
    """Installed-in-place packages the kernel imports (``graders``, editable installs)."""
    import graders

    return [Path(graders.__file__).resolve().parent]


def _cache_path() -> Path | None:
    preferred = os.environ.get("DLGRADE_CACHE")
    path = Path(preferred) if preferred else Path.home() / ".cache" / "dlgrade"
    return path.resolve() if path.is_dir() else None


def _ancestors(path: Path) -> list[Path]:
    """``/a``, ``/a/b`` for ``/a/b/c``: folders to create (mode 755) before binding ``path``."""
    return [p for p in reversed(path.parents) if p != Path("/")]


def _premounted(path: Path) -> bool:
    """Whether ``path`` is inside the sandbox already (read-only /usr, or a mount point)."""
    return path in (Path("/tmp"), Path("/dev")) or Path("/usr") in (path, *path.parents)


def _system_binds() -> list[str]:
    """Binaries, libraries and configuration of the system, read-only."""
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    args += ["--ro-bind", "/etc", "/etc"]
    return args


def bound_paths(settings: Sandbox, ipc_dir: Path) -> list[Path]:
    """Host folders bound into the sandbox at the same place (all read-only but ``ipc_dir``)."""
    paths = [*_python_paths(), *_package_paths()]
    cache = _cache_path()
    if cache is not None:
        paths.append(cache)
    paths += [Path(extra).resolve() for extra in settings.read_only_paths]
    return [*paths, ipc_dir]


def bwrap_args(
    settings: Sandbox,
    workdir: Path,
    ipc_dir: Path,
    env: dict[str, str],
    as_root: bool,
    caps: tuple[str, ...] = ("CAP_SETUID", "CAP_SETGID"),
    writable: list[Path] | None = None,
) -> list[str]:
    """The ``bwrap`` options (before ``--``) for a kernel whose working folder is
    ``workdir`` (bound as a private writable copy) and whose sockets are in ``ipc_dir``.
    The sandbox's first process has only the capabilities ``caps`` (a kernel drops them all,
    :mod:`graders.confine`); ``writable``: more host folders bound writable (a warm kernels'
    server's control groups)."""
    disk = str(max(1, settings.disk_mb) * 1024 * 1024)
    args = [
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent",
        "--hostname",
        "sandbox",
    ]
    args += ["--cap-drop", "ALL", *[a for cap in caps for a in ("--cap-add", cap)]]
    if not as_root:
        args += ["--unshare-user"]
    args += _system_binds()
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--size", disk, "--perms", "1777", "--tmpfs", "/tmp"]
    args += ["--size", disk, "--perms", "1777", "--tmpfs", "/dev/shm"]
    made: set[Path] = set()

    def bind(path: Path, how: str = "--ro-bind", source: Path | None = None) -> list[str]:
        out = []
        for parent in _ancestors(path):
            if parent not in made and not _premounted(parent):
                out += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
        made.add(path)
        return out + [how, str(source or path), str(path)]

    *read_only, ipc = bound_paths(settings, ipc_dir)
    for path in read_only:
        args += bind(path)
    args += bind(ipc, "--bind")
    for path in writable or []:
        args += bind(path, "--bind")
    # The working folder: a private tmpfs holding the submission's files, read-only.
    for parent in _ancestors(workdir):
        if parent not in made and not _premounted(parent):
            args += ["--perms", "0755", "--dir", str(parent)]
            made.add(parent)
    args += ["--size", disk, "--perms", "1777", "--tmpfs", str(workdir)]
    if workdir.is_dir():
        for entry in sorted(workdir.iterdir()):
            if entry.is_symlink():  # bound, it would show its target from outside
                continue
            args += ["--ro-bind", str(entry), str(workdir / entry.name)]
    args += ["--chdir", str(workdir), "--clearenv"]
    for key, value in sorted(env.items()):
        args += ["--setenv", key, value]
    return args


def kernel_env(parent_env: dict[str, str] | None) -> dict[str, str]:
    """The kernel's environment: a few variables from the grader, the rest fixed."""
    source = dict(os.environ if parent_env is None else parent_env)
    env = {k: source[k] for k in PASSED_ENV if k in source}
    cache = _cache_path()
    env.update(
        PATH=os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"]),
        HOME="/tmp",
        TMPDIR="/tmp",
        MPLCONFIGDIR="/tmp/.matplotlib",
        KERAS_HOME="/tmp/.keras",
        MPLBACKEND="agg",
        PYTHONDONTWRITEBYTECODE="1",
        DLGRADE_SANDBOXED="1",
    )
    if cache is not None:
        env["DLGRADE_CACHE"] = str(cache)
    return env


# ---------------------------------------------------------------------------- checks

_AVAILABLE: dict[tuple[str, bool], str | None] = {}
_LOCK = threading.RLock()


def problem(settings: Sandbox | None = None, cached: bool = True) -> str | None:
    """None when a sandboxed Python starts here; else why not, in plain words, naming the
    cause (cached unless ``cached`` is False; :func:`fix_for` says what to do)."""
    settings = settings or Sandbox()
    as_root = os.geteuid() == 0
    key = (settings.bwrap, as_root)
    with _LOCK:
        if key not in _AVAILABLE or not cached:
            _AVAILABLE[key] = _try_sandbox(settings, as_root)
        return _AVAILABLE[key]


#: Bytes the check writes in the temporary folder, as a kernel's files there would take.
CHECK_WRITE_BYTES = 256 * 1024


def _try_sandbox(settings: Sandbox, as_root: bool) -> str | None:
    bwrap = shutil.which(settings.bwrap)
    if bwrap is None:
        return f"bubblewrap ({settings.bwrap!r}) is not installed or not on PATH."
    try:
        with tempfile.TemporaryDirectory(prefix="dlgrade-check-") as tmp:
            work, ipc = Path(tmp) / "work", Path(tmp) / "ipc"
            work.mkdir()
            ipc.mkdir()
            # A kernel's sockets and connection file, and a warm kernel's copy of the
            # submission, are written here: a full disk must show now, as what it is.
            (ipc / "room").write_bytes(b"\0" * CHECK_WRITE_BYTES)
            (ipc / "room").unlink()
            uid = _kernel_uid(settings) if as_root else -1
            if as_root:
                os.chown(ipc, uid, uid)
            cmd = [bwrap, *bwrap_args(settings, work, ipc, kernel_env(None), as_root), "--"]
            cmd += _launcher(settings, uid, as_root)
            cmd += [sys.executable, "-c", "import graders; open('ok', 'w').write('ok')"]
            run = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return "bubblewrap did not start a sandboxed Python within 60 s."
    except OSError as exc:
        where = tempfile.gettempdir()
        return (
            f"the sandbox could not be set up in the temporary folder {where}: {_errno_text(exc)}"
        )
    if run.returncode != 0:
        said = (run.stderr.strip() or run.stdout.strip() or "no message").splitlines()
        return f"bubblewrap failed (exit {run.returncode}): {' / '.join(said[-3:])[:400]}"
    return None


def _errno_text(exc: OSError) -> str:
    """An OSError in words with its errno's name (``No space left on device (ENOSPC)``)."""
    import errno

    name = errno.errorcode.get(exc.errno or 0, "")
    return f"{exc.strerror or exc} ({name})" if name else str(exc)


def require(settings: Sandbox | None = None) -> None:
    """Raise :class:`SandboxUnavailable`, with the reason and the fix that matches it,
    when sandboxed grading is switched on and cannot start here."""
    settings = settings or Sandbox()
    if not settings.enabled:
        return
    reason = problem(settings)
    if reason:
        raise SandboxUnavailable(
            "Autograding stopped: the sandbox for students' kernels cannot start on this "
            f"machine. {reason}\n{fix_for(reason)}"
        )


class SandboxCheck:
    """nbgrader's ``Autograde.pre_convert_hook``: checked before each student's files are
    touched, so an unusable sandbox stops the run and changes nothing.

    ``config`` is the course's file configuration (``c`` in nbgrader_config.py); when
    nbgrader runs as a command, its own configuration (with command-line options such as
    ``--Sandbox.enabled=False``) is used instead.
    """

    def __init__(self, config: Any = None) -> None:
        self.config = config

    def __call__(self, **_: Any) -> None:
        from traitlets.config import Application

        app = Application.instance() if Application.initialized() else None
        require(Sandbox(config=app.config if app is not None else self.config))


# ---------------------------------------------------------------------------- socket folders

#: Size of the tmpfs that holds a kernel's connection file and sockets (grading as root):
#: the one folder of the host a kernel may write to, so it must not reach the host's disk.
SOCKET_FOLDER_BYTES = 1024 * 1024
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MNT_DETACH = 0x2, 0x4, 0x8, 2


#: The tmpfs mounts this process made and has not unmounted yet (all are at exit).
_MOUNTED: set[str] = set()
#: A cold kernel's folder is ``<tmp>/dlgrade-kernel-<pid of the grading process>-<random>``.
KERNEL_FOLDER_PREFIX = "dlgrade-kernel-"


def mount_tmpfs(path: Path, size: int, mode: int) -> bool:
    """Mount a tmpfs of ``size`` bytes on the folder ``path`` when grading as root, so that
    what is written there stays in memory and within ``size``; whether it was mounted."""
    if os.geteuid() != 0:
        return False
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    options = f"size={size},mode={mode:o}".encode()
    flags = _MS_NOSUID | _MS_NODEV | _MS_NOEXEC
    if libc.mount(b"tmpfs", str(path).encode(), b"tmpfs", flags, options) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mount tmpfs on {path}: {os.strerror(errno)}")
    with _LOCK:
        _MOUNTED.add(str(path))
    return True


def unmount(path: Path) -> None:
    """Detach what is mounted on ``path`` (nothing when nothing is)."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).umount2(str(path).encode(), _MNT_DETACH)
    with _LOCK:
        _MOUNTED.discard(str(path))


@atexit.register
def _unmount_all() -> None:
    for path in list(_MOUNTED):
        unmount(Path(path))


def sweep_stale_kernel_folders(tmp: Path | None = None) -> list[Path]:
    """Remove the cold kernels' folders (and their socket mounts) of grading processes that
    are gone (killed before they could clean up); only this user's. The folders removed."""
    removed = []
    for folder in Path(tmp or tempfile.gettempdir()).glob(f"{KERNEL_FOLDER_PREFIX}*-*"):
        pid = folder.name[len(KERNEL_FOLDER_PREFIX) :].split("-", 1)[0]
        try:
            if not pid.isdigit() or folder.lstat().st_uid != os.getuid():
                continue
            os.kill(int(pid), 0)
        except ProcessLookupError:
            with contextlib.suppress(OSError):
                if (folder / "ipc").is_mount():
                    unmount(folder / "ipc")
            remove_folder(folder)
            removed.append(folder)
        except OSError:
            continue
    return removed


# ---------------------------------------------------------------------------- kernels

_NEXT_UID = [0]


def _kernel_uid(settings: Sandbox) -> int:
    """A uid for the next kernel when grading as root (see :attr:`Sandbox.uid`)."""
    if settings.uid >= 0:
        return settings.uid
    with _LOCK:
        _NEXT_UID[0] += 1
        return 200000 + (os.getpid() % 10000) * 100 + _NEXT_UID[0] % 100


def _own_process_count() -> int:
    """Processes and threads of this uid now (RLIMIT_NPROC counts them all)."""
    uid, count = os.getuid(), 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += len(list((entry / "task").iterdir()))
            except OSError:
                continue
    return count


def _limits(settings: Sandbox, as_root: bool) -> tuple[int, int]:
    """RLIMIT_NPROC and RLIMIT_AS (bytes) for the next kernel; -1: none."""
    nproc = settings.max_processes
    if nproc >= 0 and not as_root:
        nproc += _own_process_count()
    memory = settings.memory_mb * 1024 * 1024 if settings.memory_mb > 0 else -1
    return nproc, memory


def _launcher(settings: Sandbox, uid: int, as_root: bool) -> list[str]:
    nproc, memory = _limits(settings, as_root)
    confine_py = str(Path(__file__).resolve().parent / "confine.py")
    limits = [str(uid), str(nproc), str(memory), kernel_filter().hex()]
    return [sys.executable, "-I", "-S", "-c", LAUNCHER, confine_py, *limits, "--"]


# ---------------------------------------------------------------------------- confinement

_WARNED: set[str] = set()


def _warn_once(key: str, text: str) -> None:
    import logging

    with _LOCK:
        if key in _WARNED:
            return
        _WARNED.add(key)
    logging.getLogger("dlgrade.sandbox").warning(text)


def kernel_filter() -> bytes:
    """The kernel's syscall filter (:mod:`graders.syscalls`), or empty bytes (with one
    warning per process) when libseccomp is missing here."""
    from graders import syscalls

    try:
        return syscalls.kernel_filter()
    except syscalls.FilterUnavailable as exc:
        _warn_once(
            "seccomp",
            f"Students' kernels run without a syscall filter: {exc}. Install libseccomp "
            "(Debian/Ubuntu: `apt-get install libseccomp2`); see docs/sandbox.md.",
        )
        return b""


def cgroup_folders() -> list[Path]:
    """This grading process's control-group folders, when per-kernel groups can be used
    here; else none (and one warning per process saying which limits hold)."""
    from graders import cgroups

    support = cgroups.support()
    if not support.available:
        _warn_once("cgroups", f"Sandbox limits: {support.describe()}; see docs/sandbox.md.")
        return []
    return cgroups.process_folders()


def limits_in_force() -> str:
    """Which of the sandbox's limits hold on this machine, in plain words."""
    from graders import cgroups

    filtered = "with" if kernel_filter() else "WITHOUT"
    return f"{cgroups.support().describe()}; {filtered} the syscall filter"


def _ipykernel_args(cmd: list[str]) -> list[str] | None:
    """``ARGS`` of a ``PYTHON -m ipykernel_launcher ARGS`` kernel command, else None."""
    if len(cmd) >= 3 and cmd[1:3] == ["-m", "ipykernel_launcher"]:
        return cmd[3:]
    return None


def _is_kernel(cmdline: list[str]) -> bool:
    """Whether a command line is the kernel's own (not bwrap's, whose arguments name it)."""
    return (
        bool(cmdline)
        and "bwrap" not in os.path.basename(cmdline[0])
        and ("ipykernel_launcher" in cmdline)
    )


class KernelLog:
    """A kernel's own stdout and stderr (not its notebook's output): kept in ``path`` up to
    ``limit`` bytes, the rest counted and dropped, read by a thread of the grading process
    so that the kernel never blocks on a full pipe and never reaches the grader's terminal.
    """

    def __init__(self, path: Path | None, limit: int) -> None:
        self.path, self.limit = path, max(0, limit)
        self.read_fd, self.write_fd = os.pipe()
        self.thread = threading.Thread(target=self._drain, name="dlgrade-kernel-log", daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        kept = dropped = 0
        out = None
        if self.path is not None:
            try:
                out = open(self.path, "wb")
            except OSError:
                out = None
        try:
            while chunk := os.read(self.read_fd, 1 << 16):
                room = self.limit - kept if out is not None else 0
                if room > 0:
                    out.write(chunk[:room])  # type: ignore[union-attr]
                    kept += min(room, len(chunk))
                dropped += len(chunk) - max(0, min(room, len(chunk)))
            if out is not None and dropped:
                out.write(f"\n[{dropped} more bytes dropped: over {self.limit} bytes]\n".encode())
        except OSError:
            pass
        finally:
            os.close(self.read_fd)
            if out is not None:
                out.close()

    def launched(self) -> None:
        """The kernel has its copy of the pipe: the grading process lets go of its own."""
        if self.write_fd >= 0:
            os.close(self.write_fd)
            self.write_fd = -1


def kernel_log_path(notebook_folder: Path) -> Path:
    """Where a kernel's own output is kept: ``<folder>.kernel.log`` beside the folder."""
    return notebook_folder.parent / f"{notebook_folder.name}.kernel.log"


class SandboxedKernelManager(AsyncKernelManager):
    """jupyter_client's kernel manager, with the kernel started inside the sandbox.

    Talks to the kernel over Unix sockets (``transport = "ipc"``) in a private folder, so
    the kernel needs no network at all.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = Sandbox(parent=self)
        self._box: Path | None = None
        self._as_root = os.geteuid() == 0
        self._uid = -1
        self._server: Any = None  # graders.warm.ForkServer with warm kernels
        self._group: Any = None  # graders.cgroups.KernelGroup where the host has them
        self._log: KernelLog | None = None
        self._ipc_tmpfs = False

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        try:
            await super()._async_launch_kernel(kernel_cmd, **kw)
        finally:
            if self._log is not None:
                self._log.launched()

    def _kernel_group(self) -> list[str]:
        """A new control group for the kernel about to start (graders/cgroups.py); the
        ``cgroup.procs`` files its first process joins, or none where groups are missing."""
        from graders import cgroups

        self._remove_group()
        if not self.settings.cgroups or not cgroup_folders():
            return []
        memory = self.settings.memory_mb * 1024 * 1024 if self.settings.memory_mb > 0 else -1
        self._group = cgroups.KernelGroup(memory, self.settings.max_processes)
        return self._group.procs_files

    def _remove_group(self) -> None:
        if self._group is not None:
            self._group.remove()
            self._group = None

    def _warm_server(self, env: dict[str, str]) -> Any:
        """The fork server for warm kernels, or None (cold kernels)."""
        if not self.settings.warm_kernels:
            return None
        from graders import warm

        try:
            return warm.server_for(self.settings, env, self._as_root)
        except (warm.WarmKernelError, OSError) as exc:
            self.log.warning("Warm kernels unavailable (%s); starting a cold kernel", exc)
            return None

    async def _async_pre_start_kernel(self, **kw: Any):
        require(self.settings)
        kw.setdefault("env", dict(os.environ))
        env = kernel_env(kw.get("env"))
        if self._box is None:
            self._server = self._warm_server(env)
            if self._server is not None:
                self._box = self._server.kernel_box()
            else:
                sweep_stale_kernel_folders()
                prefix = f"{KERNEL_FOLDER_PREFIX}{os.getpid()}-"
                self._box = Path(tempfile.mkdtemp(prefix=prefix))
            ipc = self._box / "ipc"
            ipc.mkdir()
            if self._server is None:  # a warm server's kernel folders are one tmpfs already
                self._ipc_tmpfs = mount_tmpfs(ipc, SOCKET_FOLDER_BYTES, 0o700)
            self._uid = _kernel_uid(self.settings) if self._as_root else -1
            if self._as_root:
                os.chown(ipc, self._uid, self._uid)
            self.transport = "ipc"
            self.ip = str(ipc / "kernel")
            self.connection_file = str(ipc / "connection.json")
        cmd, kw = await super()._async_pre_start_kernel(**kw)
        if self._as_root:
            os.chown(self.connection_file, self._uid, self._uid)
        # The notebook's folder; never the grader's own (the course root) by default.
        workdir = Path(kw["cwd"]).resolve() if kw.get("cwd") else self._box / "work"
        workdir.mkdir(exist_ok=True)
        # What the kernel writes to its own stdout and stderr (not to the notebook) is not
        # the grader's: ipykernel's banner, library warnings, or a student flooding them.
        log_path = kernel_log_path(workdir) if kw.get("cwd") else None
        self._log = KernelLog(log_path, self.settings.kernel_log_bytes)
        kw["stdout"] = kw["stderr"] = self._log.write_fd
        args = _ipykernel_args(cmd)
        env = kernel_env(kw.get("env"))
        procs = self._kernel_group()
        if self._server is not None and args is not None and env == self._server.env:
            kw["cwd"] = str(self._box)
            return self._warm_command(args, workdir, procs), kw
        bwrap = shutil.which(self.settings.bwrap) or self.settings.bwrap
        ipc = Path(self.connection_file).parent
        wrapped = [*host_launch(procs), bwrap]
        wrapped += [*bwrap_args(self.settings, workdir, ipc, env, self._as_root), "--"]
        wrapped += _launcher(self.settings, self._uid, self._as_root)
        kw["cwd"] = str(self._box)
        return wrapped + cmd, kw

    def _warm_command(self, args: list[str], workdir: Path, procs: list[str]) -> list[str]:
        """A warm kernel's command: the submission's files (links left out) go to a folder
        only the fork server reads, from which the kernel's working folder is filled."""
        assert self._box is not None
        files = self._server.files_folder(self._box)
        remove_folder(files)
        shutil.copytree(workdir, files, symlinks=True)
        files.chmod(0o700)
        nproc, memory = _limits(self.settings, self._as_root)
        return self._server.kernel_command(args, files, self._uid, nproc, memory, procs)

    def kill_strays(self) -> int:
        """Kill every process in the sandbox except the kernel itself (its children, theirs,
        such as a fork bomb's); return how many were killed. Called when a cell runs out of
        time, so that what it left running cannot starve the cells after it."""
        import psutil

        if self._server is not None:
            return self._server.kill_strays()
        process = getattr(self.provisioner, "process", None)
        if process is None:
            return 0
        try:
            tree = psutil.Process(process.pid).children(recursive=True)
            kernels = {p.pid: p for p in tree if _is_kernel(p.cmdline())}
            # The kernel, not a process it forked (those run the same command line).
            kernel = next(p for p in kernels.values() if p.ppid() not in kernels)
        except (psutil.Error, StopIteration):
            return 0
        killed: list[Any] = []
        for _ in range(100):  # a fork bomb forks while it is being killed
            try:
                strays = kernel.children(recursive=True)
            except psutil.Error:
                break
            if not strays:
                break
            for stray in strays:
                try:
                    stray.kill()
                    killed.append(stray)
                except psutil.Error:
                    pass
        psutil.wait_procs(killed, timeout=2)
        return len(killed)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        try:
            await super()._async_cleanup_resources(restart=restart)
        finally:
            self._cleanup_sandbox(restart)

    def _cleanup_sandbox(self, restart: bool) -> None:
        """Remove the kernel's control groups, and unless it restarts its folder (and the
        socket folder's mount)."""
        self._remove_group()
        if not restart and self._box is not None:
            if self._ipc_tmpfs:
                unmount(self._box / "ipc")
                self._ipc_tmpfs = False
            if self._server is not None:
                remove_folder(self._server.files_folder(self._box))
            remove_folder(self._box)
            self._box = None
