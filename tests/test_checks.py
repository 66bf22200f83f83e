"""Public checks: the message a student reads under a failed test cell."""

from __future__ import annotations

import re

import numpy as np
import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from graders.checks import CheckFailed, check_shape, check_value

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_a_value_mismatch_names_the_check_then_the_arrays_then_the_hint_on_short_lines():
    with pytest.raises(CheckFailed) as failed:
        check_value(
            "sigmoid",
            np.array([0.26894142, 0.11920292, 0.04742587]),
            np.array([0.7310585786, 0.880797078, 0.9525741268]),
            hint="mind the minus sign.",
        )
    lines = str(failed.value).splitlines()
    assert lines[0].startswith("sigmoid: result: 3 of 3 values differ at index (2,)")
    assert (
        lines[1]
        == "  whole result: expected [0.73106 0.8808 0.95257], got [0.26894 0.1192 0.04743]"
    )
    assert lines[2] == "  tolerance rtol=1e-05, atol=1e-07"
    assert lines[-1] == "Hint: mind the minus sign."
    assert max(map(len, lines)) <= 110


def test_ipython_shows_a_failed_check_as_its_message_without_a_traceback():
    shell = InteractiveShell.instance()
    cell = (
        "import numpy as np\n"
        "from graders.checks import check_shape\n"
        "check_shape('softmax', np.zeros((2, 3)), (3, 2), hint='Sum over axis=1.')\n"
    )
    with capture_output() as captured:
        result = shell.run_cell(cell)
    assert isinstance(result.error_in_exec, CheckFailed)
    shown = ANSI.sub("", captured.stdout + captured.stderr).strip().splitlines()
    assert shown == [
        "CheckFailed: softmax: shape (2, 3), expected (3, 2)",
        "Hint: Sum over axis=1.",
    ]


def test_outside_ipython_a_failed_check_is_an_assertion_error():
    with pytest.raises(AssertionError, match="shape"):
        check_shape("f", np.zeros(2), (3,))
