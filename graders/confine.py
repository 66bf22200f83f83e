"""The last steps before a student's kernel runs, inside the sandbox (standard library only).

:func:`confine` is called by the process that is about to become the kernel (the cold
kernel's launcher, or a warm kernel forked from the fork server, :mod:`graders.warm`). In
this order, it:

1. sets the per-process limits (address space, no core files);
2. joins a new, empty session keyring, so that nothing the grading process's session
   holds is reachable (the syscall filter then forbids the keyring calls altogether);
3. drops to the kernel's uid (grading as root) and sets its process limit;
4. drops every capability that is left (a kernel has none, with or without a user
   namespace) and sets ``no_new_privs``;
5. installs the syscall filter (compiled on the trusted side, see
   :mod:`graders.syscalls`), which the kernel and everything it starts inherit.

Plain ``ctypes``, ``os`` and ``resource`` only: the cold launcher loads this file by path
before any other import. See ``docs/sandbox.md``.
"""

from __future__ import annotations

import ctypes
import os
import resource

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
KEYCTL_JOIN_SESSION_KEYRING = 1
#: ``keyctl`` and ``capset`` by machine (``os.uname().machine``).
SYSCALLS = {"x86_64": {"keyctl": 250, "capset": 126}, "aarch64": {"keyctl": 219, "capset": 91}}
_LINUX_CAPABILITY_VERSION_3 = 0x20080522


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _syscall_number(name: str) -> int:
    machine = os.uname().machine
    if machine not in SYSCALLS:
        raise OSError(f"unsupported machine {machine!r} for the kernel's confinement")
    return SYSCALLS[machine][name]


def new_session_keyring() -> None:
    """Replace the session keyring with a new, empty, anonymous one."""
    libc = _libc()
    keyctl = _syscall_number("keyctl")
    serial = libc.syscall(keyctl, KEYCTL_JOIN_SESSION_KEYRING, None, 0, 0, 0)
    if serial < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"keyctl(JOIN_SESSION_KEYRING): {os.strerror(errno)}")


def drop_capabilities() -> None:
    """Clear the effective, permitted and inheritable capability sets, and forbid gaining
    privileges by ``execve`` (set-user-ID programs, file capabilities)."""
    libc = _libc()
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(libc.syscall(_syscall_number("capset"), ctypes.byref(header), data), "capset")
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")


def install_filter(bpf: bytes) -> None:
    """Install a compiled seccomp filter (classic BPF, 8 bytes an instruction) on this
    thread; every process and thread it starts inherits it."""
    if not bpf or len(bpf) % 8:
        raise ValueError("a seccomp filter is a non-empty multiple of 8 bytes")
    libc = _libc()
    buffer = ctypes.create_string_buffer(bpf, len(bpf))
    program = _SockFprog(len(bpf) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
    _check(
        libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(program), 0, 0),
        "prctl(SECCOMP)",
    )


def confine(uid: int, nproc: int, memory: int, bpf: bytes | None) -> None:
    """Everything above, in order. ``uid``, ``nproc``, ``memory`` (bytes): -1 leaves it as
    it is; ``bpf``: the compiled syscall filter, or None for none."""
    if memory >= 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    new_session_keyring()
    if uid >= 0:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    if nproc >= 0:
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    drop_capabilities()
    if bpf:
        install_filter(bpf)
