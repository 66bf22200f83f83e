"""Test-run hooks shared by ``tests/`` and the source notebooks (run under nbval)."""

from __future__ import annotations

import pytest


def _escaped(text: str) -> str:
    """``text`` with lone surrogates (a file name that is not UTF-8, as Python decodes it)
    written as escapes."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # A test worker (pytest-xdist) sends each report to the controller as UTF-8: captured
    # output that logs a file name of other bytes (tests/test_parallel.py hands one in)
    # would stop the worker, and the run with it.
    report.sections = [(title, _escaped(content)) for title, content in report.sections]
