"""Kernel-side probe: run a hidden check's cases on the student's functions and report.

A hidden-test cell calls ``probe("softmax_values", softmax)``. The probe builds the check's
inputs (from the submission's secret, which the grader hands to the kernel with
:func:`use_secret` before the notebook's first cell; without it, the public inputs),
calls the student's function on each, and emits the outputs as one display output of MIME
type :data:`graders.encoding.RECORD_MIME`. It decides nothing: the judge, on the
trusted side, regenerates the inputs, computes reference outputs and compares. Whatever
happens here (a patched probe, a faked record) can only make a check fail.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from graders.cases import get_check, inputs_id
from graders.encoding import RECORD_MIME, EncodingError, encode

RECORD_VERSION = 1

#: The secret of this run's hidden inputs (None: not given, the public inputs).
_SECRET: list[int | None] = [None]


def use_secret(secret: int) -> None:
    """Draw the hidden inputs of this kernel's probes from ``secret``. The grader calls it
    once, before the notebook's first cell; a kernel without it records the public inputs,
    which the judge refuses."""
    if not isinstance(secret, int) or isinstance(secret, bool) or secret < 0:
        raise ValueError("a secret is a non-negative integer")
    _SECRET[0] = secret


#: Errors whose own message does not say what to change: words all found in the message,
#: and the hint added to it.
ERROR_HINTS = (
    (
        ("invalid dimension", "float"),
        "Layer sizes (filters, units, kernel sizes, strides) are integers in Keras 3: write 8, "
        "not 8.0 or 16 / 2 (use 16 // 2).",
    ),
)


def _error_text(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = ""
    if frames:
        last = frames[-1]
        where = f" (line {last.lineno}: {(last.line or '').strip()[:80]})"
    text = f"{type(exc).__name__}: {exc}"[:400] + where
    message = str(exc).lower()
    hints = [hint for words, hint in ERROR_HINTS if all(w in message for w in words)]
    return (text + "".join(f" Hint: {h}" for h in hints))[:700]


def collect(name: str, *functions: Callable[..., Any], secret: int | None = None) -> dict[str, Any]:
    """Run every case of check ``name`` (its inputs for ``secret``; None: the public ones)
    on ``functions`` and return the record (plain data)."""
    check = get_check(name)
    results: list[dict[str, Any]] = []
    for case in check.cases(secret):
        try:
            out = check.run_case(case, functions)
            results.append({"ok": True, "out": encode(out)})
        except EncodingError as exc:
            results.append({"ok": False, "error": f"the result is not plain data: {exc}"})
        except Exception as exc:  # noqa: BLE001 - a student's error is a result
            results.append({"ok": False, "error": _error_text(exc)})
    return {"v": RECORD_VERSION, "check": name, "inputs": inputs_id(secret), "cases": results}


def probe(name: str, *functions: Callable[..., Any]) -> None:
    """Run hidden check ``name`` on the given functions and emit its record for the judge."""
    from IPython.display import display

    record = collect(name, *functions, secret=_SECRET[0])
    errors = [r["error"] for r in record["cases"] if not r["ok"]]
    summary = f"Hidden check '{name}': {len(record['cases'])} cases recorded"
    if errors:
        summary += f", {len(errors)} raised an error (first: {errors[0]})"
    summary += "; they are judged when the notebook is graded."
    display({"text/plain": summary, RECORD_MIME: record}, raw=True)
