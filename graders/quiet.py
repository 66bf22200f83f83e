"""Quiet imports for the notebooks: TensorFlow's start-up log lines kept out of sight.

TensorFlow's C++ core writes a few lines straight to the process's stderr when it is
imported ("All log messages before absl::InitializeLog() is called are written to STDERR",
oneDNN, CPU features), before ``TF_CPP_MIN_LOG_LEVEL`` is read. Jupyter shows them in red
under the notebook's first cell, where they look like an error to a student. The setup cells
import Keras inside :func:`quiet_stderr`::

    with quiet_stderr():
        import keras
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator

__all__ = ["quiet_stderr"]


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Hide what native code writes to file descriptor 2 inside the block.

    What is written there is kept in a temporary file and shown on ``sys.stderr`` after all
    when the block raises, so that a failed import still explains itself. Python's own
    ``sys.stderr`` (warnings, tracebacks) is not touched.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no file descriptor 2: nothing to hide
        yield
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            sys.stderr.write(sink.read().decode("utf-8", errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
