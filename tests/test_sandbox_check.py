"""Why the sandbox cannot start, said as it is (graders/sandbox.py's check): a missing
bubblewrap, refused user namespaces, a full temporary folder, short memory or a process
limit each get their own reason and their own fix. Real failures where this machine can
make them (a nonexistent bubblewrap, a full tmpfs as TMPDIR, too little address space)."""

from __future__ import annotations

import os
import subprocess
import tempfile

import pytest
from traitlets.config import Config

from graders import sandbox

pytestmark = pytest.mark.skipif(
    sandbox.problem() is not None, reason=f"no sandbox here: {sandbox.problem()}"
)


def _settings(**values) -> sandbox.Sandbox:
    return sandbox.Sandbox(config=Config({"Sandbox": values}))


def _refusal(settings: sandbox.Sandbox) -> str:
    reason = sandbox.problem(settings, cached=False)
    assert reason
    with pytest.raises(sandbox.SandboxUnavailable) as caught:
        sandbox.require(settings)
    return str(caught.value)


@pytest.fixture
def full_tmpdir(tmp_path, monkeypatch):
    """TMPDIR on a 1 MiB tmpfs filled but for a few KiB (room for Python's own probe of the
    folder, none for a kernel's files)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "full"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)])
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        with open(mount / "fill", "wb") as f:
            f.write(b"x" * (1024 - 24) * 1024)
        monkeypatch.setenv("TMPDIR", str(mount))
        monkeypatch.setattr(tempfile, "tempdir", None)
        assert tempfile.gettempdir() == str(mount)
        yield mount
    finally:
        monkeypatch.setattr(tempfile, "tempdir", None)
        subprocess.run(["umount", str(mount)], check=True)
    sandbox.problem(cached=False)  # the next check sees this machine as it is


def test_a_missing_bubblewrap_says_to_install_it():
    message = _refusal(_settings(bwrap="/nonexistent/bwrap"))
    assert "bubblewrap ('/nonexistent/bwrap') is not installed" in message
    assert "apt-get install bubblewrap" in message and "sysctl" not in message
    assert "c.Sandbox.enabled = False" in message


def test_a_full_temporary_folder_is_named_as_such(full_tmpdir):
    message = _refusal(_settings())
    assert f"temporary folder {full_tmpdir}: No space left on device (ENOSPC)" in message
    assert "free space in the temporary folder" in message
    assert "install bubblewrap" not in message and "user namespaces" not in message


def test_too_little_memory_is_named_as_such():
    message = _refusal(_settings(memory_mb=1))
    assert sandbox.classify(message) == "memory"
    assert "raise `c.Sandbox.memory_mb`" in message and "install bubblewrap" not in message
    sandbox.problem(cached=False)


@pytest.mark.parametrize(
    ("said", "kind"),
    [
        # bubblewrap's own words for each failure (bubblewrap 0.8).
        ("bwrap: Creating new namespace failed: No space left on device", "userns"),
        ("bwrap: Creating new namespace failed: Operation not permitted", "userns"),
        ("bwrap: No permissions to creating new namespace, likely because the kernel "
         "does not allow non-privileged user namespaces.", "userns"),
        ("bwrap: setting up uid map: Permission denied", "userns"),
        ("bwrap: Can't mkdir /tmp/x: No space left on device", "disk"),
        ("bwrap: Can't fork: Cannot allocate memory", "memory"),
        ("bwrap: Can't fork: Resource temporarily unavailable", "limit"),
        ("OSError: [Errno 11] Resource temporarily unavailable (EAGAIN)", "limit"),
        ("error while loading shared libraries: failed to map segment from shared object",
         "memory"),
    ],
)  # fmt: skip
def test_each_failure_gets_the_fix_that_matches(said, kind):
    assert sandbox.classify(f"bubblewrap failed (exit 1): {said}") == kind
    assert sandbox.FIXES[kind] in sandbox.fix_for(said)
