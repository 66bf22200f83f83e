"""The syscall filter of students' kernels, compiled on the trusted side with libseccomp.

Modelled on the system calls that Docker's default seccomp profile refuses: a kernel needs
none of them, and each either reaches past the kernel's namespaces (the keyrings, time,
modules, ``ptrace`` and other processes' memory, performance counters, ``bpf``,
``userfaultfd``, ``io_uring``) or would let it build a new sandbox around itself (new
namespaces, mounts). Refused calls fail with ``EPERM``; ``clone3`` with ``ENOSYS``, so that
the C library falls back to ``clone``, whose flags the filter can read. Calls for another
architecture (32-bit ABIs) are refused as a whole.

The filter is compiled here and handed to the sandbox as bytes (classic BPF);
:func:`graders.confine.install_filter` installs it in the kernel before any student code.
See ``docs/sandbox.md``.
"""

from __future__ import annotations

import errno
import functools
import tempfile

#: Refused outright (a name unknown on this machine's architecture is skipped).
REFUSED = (
    # keyrings are not namespaced: the grader's session, other kernels' keys
    "keyctl", "add_key", "request_key",
    # other processes' memory, and tracing
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    # kernel interfaces with a history of escapes, or global state
    "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
    "io_uring_register", "lookup_dcookie", "fanotify_init", "open_by_handle_at",
    "name_to_handle_at", "quotactl", "quotactl_fd", "syslog", "acct", "vhangup",
    "get_mempolicy", "set_mempolicy", "mbind", "move_pages",
    # namespaces and mounts: no sandbox inside the sandbox
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "move_mount",
    "open_tree", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
    # the machine: modules, time, power, swap, I/O ports
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
    "reboot", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "swapon",
    "swapoff", "iopl", "ioperm", "uselib", "nfsservctl",
)  # fmt: skip

#: ``clone`` flags that create namespaces (refused: a kernel makes threads and processes).
NAMESPACE_FLAGS = (
    0x00020000,  # CLONE_NEWNS
    0x02000000,  # CLONE_NEWCGROUP
    0x04000000,  # CLONE_NEWUTS
    0x08000000,  # CLONE_NEWIPC
    0x10000000,  # CLONE_NEWUSER
    0x20000000,  # CLONE_NEWPID
    0x40000000,  # CLONE_NEWNET
)


class FilterUnavailable(RuntimeError):
    """libseccomp (``libseccomp.so.2``) cannot be loaded, or the filter cannot be built."""


@functools.cache
def kernel_filter() -> bytes:
    """The kernel's filter as classic BPF (8 bytes an instruction), for this machine's
    architecture; raises :class:`FilterUnavailable` when libseccomp is missing."""
    try:
        import pyseccomp as sc
    except (ImportError, OSError) as exc:  # the package, or libseccomp.so.2 under it
        raise FilterUnavailable(f"libseccomp cannot be loaded: {exc}") from exc
    deny = sc.ERRNO(errno.EPERM)
    filt = sc.SyscallFilter(defaction=sc.ALLOW)
    for name in REFUSED:
        try:
            filt.add_rule(deny, name)
        except (ValueError, RuntimeError, OSError):
            continue  # not a system call of this architecture
    for flag in NAMESPACE_FLAGS:
        filt.add_rule(deny, "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    try:
        filt.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    except (ValueError, RuntimeError, OSError):
        pass
    with tempfile.TemporaryFile() as out:
        try:
            filt.export_bpf(out)
        except (RuntimeError, OSError) as exc:
            raise FilterUnavailable(f"the syscall filter could not be compiled: {exc}") from exc
        out.seek(0)
        return out.read()
