"""Removing what a student's kernel wrote, whatever it wrote.

A kernel may leave a tree of folders of any depth in the folders it can write to (thousands
deep, with paths far longer than a path may be). ``shutil.rmtree`` recurses (Python 3.11) and
stops at the recursion limit with an error that its ``ignore_errors`` does not cover, which
would stop the grading process or the warm fork server and with it the next student's
kernel. These walk without recursion, relative to open folders. Standard library only: the
fork server inside the sandbox uses them too.
"""

from __future__ import annotations

import contextlib
import os
import stat


def remove_tree(parent_fd: int, name: str, dev: int | None = None) -> list[str]:
    """Remove the entry ``name`` of the folder open as ``parent_fd``, and everything in it.

    A kernel may leave a tree of any depth (thousands of folders, paths far longer than a
    path may be): this walks it without recursion and without building paths, holding one
    folder open at a time (it climbs back with ``..``), so neither the depth, the length of
    the paths nor the number of open files stops it. Folders on another file system than
    ``dev`` (mount points) are not entered. Returns the names that could not be removed."""
    left: list[str] = []
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    try:
        st = os.lstat(name, dir_fd=parent_fd)
    except OSError:
        return left
    if not stat.S_ISDIR(st.st_mode):
        try:
            os.unlink(name, dir_fd=parent_fd)
        except OSError:
            left.append(name)
        return left
    if dev is not None and st.st_dev != dev:
        return [name]
    stuck: set[tuple[int, int]] = set()  # folders that could not be emptied or removed
    path = [name]
    with contextlib.suppress(OSError):
        os.chmod(name, 0o700, dir_fd=parent_fd, follow_symlinks=False)
    fd = os.open(name, flags, dir_fd=parent_fd)
    try:
        while path:
            down = None
            for child in os.listdir(fd):
                try:
                    cst = os.lstat(child, dir_fd=fd)
                except OSError:
                    continue
                if not stat.S_ISDIR(cst.st_mode):
                    try:
                        os.unlink(child, dir_fd=fd)
                    except OSError:
                        left.append("/".join([*path, child])[-300:])
                    continue
                if (cst.st_dev, cst.st_ino) in stuck:
                    continue
                if dev is not None and cst.st_dev != dev:
                    stuck.add((cst.st_dev, cst.st_ino))
                    left.append("/".join([*path, child])[-300:])
                    continue
                down = child
                break
            if down is not None:
                with contextlib.suppress(OSError):
                    os.chmod(down, 0o700, dir_fd=fd, follow_symlinks=False)
                try:
                    inner = os.open(down, flags, dir_fd=fd)
                except OSError:
                    st_down = os.lstat(down, dir_fd=fd)
                    stuck.add((st_down.st_dev, st_down.st_ino))
                    left.append("/".join([*path, down])[-300:])
                    continue
                os.close(fd)
                fd = inner
                path.append(down)
                continue
            here = os.fstat(fd)
            done = path.pop()
            up = os.open("..", flags, dir_fd=fd) if path else parent_fd
            os.close(fd)
            fd = up
            try:
                os.rmdir(done, dir_fd=fd)
            except OSError:
                stuck.add((here.st_dev, here.st_ino))
                left.append("/".join([*path, done])[-300:])
    finally:
        if fd != parent_fd:
            os.close(fd)
    return left


def remove_folder(path: str | os.PathLike[str]) -> list[str]:
    """Remove a folder a kernel may have written to, whatever it holds (any depth: see
    :func:`remove_tree`; ``shutil.rmtree`` recurses and stops at Python's recursion
    limit). Returns what could not be removed; a missing folder is no error."""
    parent, name = os.path.split(os.path.abspath(path))
    try:
        fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return []
    try:
        return remove_tree(fd, name)
    finally:
        os.close(fd)
