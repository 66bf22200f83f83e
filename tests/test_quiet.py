"""Quiet imports: native writes to stderr hidden in a block, shown when the block fails."""

from __future__ import annotations

import os
import sys

import pytest

from graders.quiet import quiet_stderr


def test_native_writes_to_stderr_inside_the_block_are_hidden(capfd):
    with quiet_stderr():
        os.write(2, b"I0000 port.cc:153] oneDNN custom operations are on.\n")
    os.write(2, b"after the block\n")
    print("python's own stderr", file=sys.stderr)
    err = capfd.readouterr().err
    assert "oneDNN" not in err
    assert "after the block" in err and "python's own stderr" in err


def test_when_the_block_raises_its_hidden_lines_are_shown(capfd):
    with pytest.raises(ImportError), quiet_stderr():
        os.write(2, b"libtensorflow.so: cannot open shared object file\n")
        raise ImportError("no tensorflow")
    assert "cannot open shared object file" in capfd.readouterr().err
    os.write(2, b"stderr works again\n")
    assert "stderr works again" in capfd.readouterr().err
