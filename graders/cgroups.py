"""One control group per student kernel: its CPU share, memory and processes, as a whole.

Limits per process (``RLIMIT_AS``, ``RLIMIT_NPROC``) do not stop a kernel that starts many
medium processes, or a hundred busy ones: it holds more than its memory, starves the other
students' kernels of CPU, and on a small machine makes the OOM killer pick the grader. So
every kernel, with everything it starts, runs in a control group of its own, created by the
grading process before the kernel starts and removed (after killing whatever is left in it)
when the kernel is done:

- ``cpu.shares`` equal for every kernel: two kernels on one machine get the same CPU time
  under contention, whatever the number of processes in each;
- ``memory.limit_in_bytes``: the kernel's resident memory, all processes together;
  past it the kernel's own processes are killed, not the grader's;
- ``pids.max``: processes and threads of the kernel, all together.

Control groups version 1 (``/sys/fs/cgroup/{cpu,memory,pids}``, writable by root) are used
where the host has them. Where it has none that this process may write (grading as a user,
an unprivileged container, a version-2-only host), grading goes on with the per-process
limits only, and :func:`support` says so in plain words. See ``docs/sandbox.md``.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
#: The version-1 hierarchies a kernel's group is made in.
CONTROLLERS = ("cpu", "memory", "pids")
#: All groups of this project live under ``<hierarchy>/dlgrade/<grading pid>/``.
TOP = "dlgrade"
CPU_SHARES = 1024


@dataclass(frozen=True)
class Support:
    """Whether per-kernel control groups can be used here, and why not."""

    available: bool
    reason: str = ""

    def describe(self) -> str:
        """The limits that hold, in plain words."""
        if self.available:
            return (
                "per-kernel limits by control groups (v1): CPU share, memory and processes "
                "of each kernel as a whole"
            )
        return (
            f"no per-kernel control groups ({self.reason}): memory is limited per process "
            "(RLIMIT_AS) and processes per kernel uid (RLIMIT_NPROC); a kernel's CPU share "
            "is not limited"
        )


def _is_v1(path: Path) -> bool:
    """Whether ``path`` is a mounted version-1 hierarchy of its name's controller."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8") as f:
            for line in f:
                fields = line.split()
                sep = fields.index("-")
                if fields[4] == str(path) and fields[sep + 1] == "cgroup":
                    return path.name in fields[sep + 3].split(",")
    except (OSError, ValueError, IndexError):
        return False
    return False


@functools.cache
def support() -> Support:
    """Whether this process can make per-kernel groups (checked once)."""
    if os.geteuid() != 0:
        return Support(False, "grading as a user other than root")
    missing = [c for c in CONTROLLERS if not _is_v1(ROOT / c)]
    if missing:
        v2 = (ROOT / "cgroup.controllers").exists()
        what = "a version-2-only host" if v2 else "no version-1 hierarchy"
        return Support(False, f"{what} for {', '.join(missing)}")
    try:
        for controller in CONTROLLERS:
            (ROOT / controller / TOP).mkdir(exist_ok=True)
    except OSError as exc:
        return Support(False, f"control groups are not writable here: {exc.strerror}")
    return Support(True)


def _process_folder(controller: str, pid: int | None = None) -> Path:
    return ROOT / controller / TOP / str(pid if pid is not None else os.getpid())


_COUNTER = itertools.count(1)


class KernelGroup:
    """The control groups (one per controller) of one kernel."""

    def __init__(self, memory_bytes: int, max_processes: int) -> None:
        """Create the groups with their limits; -1: no limit of that kind. Raises OSError
        when they cannot be made (check :func:`support` first)."""
        sweep()
        name = f"k{next(_COUNTER)}"
        self.folders = [_process_folder(c) / name for c in CONTROLLERS]
        for folder in self.folders:
            folder.mkdir(parents=True, exist_ok=True)
        self._write("cpu", "cpu.shares", CPU_SHARES)
        if memory_bytes > 0:
            self._write("memory", "memory.limit_in_bytes", memory_bytes)
            swap = self._folder("memory") / "memory.memsw.limit_in_bytes"
            if swap.exists():  # no swapping past the limit either
                swap.write_text(str(memory_bytes))
        if max_processes > 0:
            self._write("pids", "pids.max", max_processes)

    def _folder(self, controller: str) -> Path:
        return self.folders[CONTROLLERS.index(controller)]

    def _write(self, controller: str, name: str, value: int) -> None:
        (self._folder(controller) / name).write_text(str(value))

    @property
    def procs_files(self) -> list[str]:
        """The ``cgroup.procs`` files a process writes ``0`` to, to join the groups."""
        return [str(f / "cgroup.procs") for f in self.folders]

    def pids(self) -> set[int]:
        """Processes in the groups now (as this process's pid namespace numbers them)."""
        found: set[int] = set()
        for folder in self.folders:
            with contextlib.suppress(OSError):
                found |= {int(p) for p in (folder / "cgroup.procs").read_text().split()}
        return found

    def kill(self, timeout: float = 10.0) -> int:
        """SIGKILL everything in the groups until nothing is left; how many were killed."""
        killed: set[int] = set()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            left = self.pids()
            if not left:
                break
            for pid in left:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
                    killed.add(pid)
            time.sleep(0.01)
        return len(killed)

    def peak_memory_bytes(self) -> int:
        """The most memory the kernel held at once, all processes together."""
        try:
            return int((self._folder("memory") / "memory.max_usage_in_bytes").read_text())
        except (OSError, ValueError):
            return 0

    def remove(self) -> None:
        """Kill what is left and remove the groups (a group goes once it is empty)."""
        self.kill()
        for folder in self.folders:
            for _ in range(200):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # processes still exiting
                    time.sleep(0.01)


def process_folders() -> list[Path]:
    """This grading process's folder in each hierarchy (made when missing): a warm kernels'
    server binds them so that its kernels can join their groups."""
    folders = [_process_folder(c) for c in CONTROLLERS]
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    return folders


def sweep() -> list[Path]:
    """Remove the groups of grading processes that are gone (killed before they could);
    returns the folders removed."""
    removed = []
    for controller in CONTROLLERS:
        top = ROOT / controller / TOP
        with contextlib.suppress(OSError):
            for folder in top.iterdir():
                if not folder.is_dir() or not folder.name.isdigit():
                    continue
                try:
                    os.kill(int(folder.name), 0)
                    continue
                except ProcessLookupError:
                    pass
                except OSError:
                    continue
                for child in [*folder.iterdir(), folder]:
                    if child.is_dir():
                        with contextlib.suppress(OSError):
                            for pid in (child / "cgroup.procs").read_text().split():
                                os.kill(int(pid), signal.SIGKILL)
                        with contextlib.suppress(OSError):
                            child.rmdir()
                            removed.append(child)
    return removed
