"""The trusted side: decide every graded test cell from values it computes itself.

Runs in the grading process, never in the student's kernel. For each graded test cell it
reads the names of the hidden checks from the cell's own source (restored from the
gradebook by nbgrader, so the student cannot change it), regenerates each check's inputs
(from its name and the submission's secret),
runs the reference from ``solutions/<assignment>.py`` and compares with the record the
kernel emitted in that cell. The cell's outputs are then rewritten by the trusted side, so
nothing the kernel printed, raised or displayed can turn a failing cell into a passing one.

The judge fails closed in bounded time: a record is bounded (nesting, items, string lengths,
array shapes) before any work is done on it, every step of judging one check runs inside the
failure handling, so a hostile record fails its own check and nothing else, and a deadline
(``deadline``, a :func:`time.monotonic` value) fails the checks not reached in time.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from graders.cases import Check, assignment_of, get_check, inputs_id
from graders.compare import compare
from graders.encoding import RECORD_MIME, EncodingError, check_bounds, decode

PROBE_FUNCTION = "probe"
MAX_PROBLEMS_SHOWN = 4
#: Levels of nesting of a record around a case's value: record, ``cases``, case, ``out``.
_RECORD_LEVELS = 3
#: Characters of a record sent as JSON text (a record is bounded by the output limit too).
MAX_RECORD_TEXT = 64 * 1024 * 1024
#: What a check not reached before the deadline is told.
TIME_RAN_OUT = (
    "the grader's time for this notebook ran out before this check was judged "
    "(an unusually large or slow result); it fails"
)


def nesting_exceeds(value: Any, limit: int) -> bool:
    """Whether JSON-like ``value`` (dicts and lists) nests more than ``limit`` levels deep.

    Iterative (safe at any depth) and linear in the size of ``value``; strings and numbers
    are not looked into.
    """
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth >= limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _expired(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() >= deadline


def _failure(exc: BaseException) -> str:
    """An exception in a few words, for a message (its text cut to 200 characters)."""
    return f"{type(exc).__name__}: {str(exc)[:200]}"


@dataclass
class CheckResult:
    """The verdict on one hidden check."""

    name: str
    passed: bool
    problems: list[str] = field(default_factory=list)
    hint: str = ""


@dataclass
class CellVerdict:
    """The verdict on one graded test cell: it passes only if every check passed."""

    grade_id: str
    results: list[CheckResult]
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems and all(r.passed for r in self.results)

    def headline(self) -> str:
        """One line naming the first thing that went wrong."""
        if self.problems:
            return self.problems[0][:240]
        for r in self.results:
            if not r.passed:
                return f"hidden check '{r.name}': {r.problems[0] if r.problems else 'failed'}"[:240]
        return ""

    def message(self) -> str:
        """A plain-words account of what failed, for the student's feedback."""
        lines = list(self.problems)
        for r in self.results:
            if r.passed:
                continue
            lines.append(f"Hidden check '{r.name}' failed:")
            lines += [f"  - {p}" for p in r.problems[:MAX_PROBLEMS_SHOWN]]
            if len(r.problems) > MAX_PROBLEMS_SHOWN:
                lines.append(f"  - ... and {len(r.problems) - MAX_PROBLEMS_SHOWN} more")
            if r.hint:
                lines.append(f"  Hint: {r.hint}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------- references

_MODULES: dict[Path, ModuleType] = {}
#: Reference outputs by (reference module, check, inputs): the inputs are those drawn for a
#: secret, named by their digest (so a check whose inputs do not depend on the secret, such
#: as a model structure, is computed once), or by the secret where they cannot be digested.
#: Those of the public inputs are kept; of other inputs only the last few (each secret is
#: used once per submission, and a class would fill the memory).
_REFERENCE_CACHE: OrderedDict[tuple[Path, str, str], list[Any]] = OrderedDict()
_PUBLIC_KEYS: set[tuple[Path, str, str]] = set()
SECRET_ENTRIES_KEPT = 32


def load_reference(assignment: str, solutions_dir: Path) -> ModuleType:
    """Import ``solutions_dir/<assignment>.py`` by path (not from the student's sys.path)."""
    path = (solutions_dir / f"{assignment}.py").resolve()
    if path not in _MODULES:
        if not path.is_file():
            raise FileNotFoundError(f"no reference solutions at {path}")
        spec = importlib.util.spec_from_file_location(f"_dlgrade_reference_{assignment}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _MODULES[path] = module
    return _MODULES[path]


def inputs_digest(cases: Any) -> str | None:
    """A digest of a check's cases (arrays, numbers, strings, and lists, tuples and dicts of
    them), or None for anything else."""
    digest = hashlib.sha256()

    def walk(value: Any) -> None:
        if isinstance(value, np.ndarray) and value.dtype != object:
            digest.update(f"A{value.dtype.str}{value.shape}".encode())
            digest.update(np.ascontiguousarray(value).tobytes())
        elif isinstance(value, list | tuple):
            digest.update(f"{type(value).__name__}{len(value)}".encode())
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            digest.update(f"dict{len(value)}".encode())
            for key in sorted(value, key=repr):
                walk(key)
                walk(value[key])
        elif value is None or isinstance(value, bool | int | float | str | np.generic):
            digest.update(f"{type(value).__name__}:{value!r};".encode())
        else:
            raise TypeError(type(value).__name__)

    try:
        walk(cases)
    except TypeError:
        return None
    return digest.hexdigest()


def reference_outputs(
    check: Check, module: ModuleType, secret: int | None = None, cases: list[Any] | None = None
) -> list[Any]:
    """The reference's outputs on every case of ``check`` for ``secret`` (None: the public
    inputs), cached per process by the inputs; ``cases``: those cases, when already built."""
    cases = check.cases(secret) if cases is None else cases
    inputs = inputs_digest(cases) or f"secret:{secret}"
    key = (Path(module.__file__ or "").resolve(), check.name, inputs)
    if key not in _REFERENCE_CACHE:
        functions = [getattr(module, f) for f in check.functions]
        _REFERENCE_CACHE[key] = [check.run_case(case, functions) for case in cases]
    if secret is None:
        _PUBLIC_KEYS.add(key)
    _REFERENCE_CACHE.move_to_end(key)
    others = [k for k in _REFERENCE_CACHE if k not in _PUBLIC_KEYS]
    for old in others[: max(0, len(others) - SECRET_ENTRIES_KEPT)]:
        del _REFERENCE_CACHE[old]
    return _REFERENCE_CACHE[key]


# ---------------------------------------------------------------------------- judging


def probe_calls(source: str) -> list[str]:
    """Names of the hidden checks a test cell's source calls, in order.

    Only calls written ``probe("<name>", ...)`` with a string literal count. Raises
    ValueError when the source is not valid Python (IPython magics are blanked first).
    """
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError as exc:
        raise ValueError(f"test cell is not valid Python: {exc}") from exc
    names = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == PROBE_FUNCTION
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.append((node.lineno, node.col_offset, node.args[0].value))
    return [name for _, _, name in sorted(names)]


def judge_record(
    check: Check,
    record: Any,
    module: ModuleType,
    secret: int | None = None,
    deadline: float | None = None,
) -> CheckResult:
    """Compare one kernel record (raw JSON data) with the reference on the trusted side, on
    the inputs of ``secret`` (the submission's; None: the public inputs).

    Never raises for anything in ``record``: a record that is malformed, too large or that
    makes a comparison fail fails the check with a message. Cases not reached before
    ``deadline`` (a :func:`time.monotonic` value) fail the check too.
    """
    result = CheckResult(check.name, passed=False, hint=check.hint)
    try:
        _judge_record(check, record, module, deadline, result, secret)
    except Exception as exc:  # noqa: BLE001 - a hostile record fails its check, nothing more
        result.problems.append(f"the recorded result could not be judged ({_failure(exc)})")
    result.passed = not result.problems
    return result


def _judge_record(
    check: Check,
    record: Any,
    module: ModuleType,
    deadline: float | None,
    result: CheckResult,
    secret: int | None = None,
) -> None:
    if isinstance(record, EncodingError):
        result.problems.append(f"the recorded result was refused: {record}")
        return
    try:
        check_bounds(record, max_depth=_RECORD_LEVELS + 8)
    except EncodingError as exc:
        result.problems.append(f"the recorded result was refused: {exc}")
        return
    cases = check.cases(secret)
    if not isinstance(record, dict) or record.get("check") != check.name:
        result.problems.append("the recorded result is malformed")
        return
    if record.get("inputs", inputs_id(None)) != inputs_id(secret):  # none claimed: public
        result.problems.append(
            "the result was recorded on other inputs than this submission's hidden inputs "
            "(the notebook did not run with the grader's setup)"
        )
        return
    entries = record.get("cases")
    if not isinstance(entries, list) or len(entries) != len(cases):
        result.problems.append(f"expected results for {len(cases)} cases in the record")
        return
    if _expired(deadline):
        result.problems.append(TIME_RAN_OUT)
        return
    expected_all = (
        reference_outputs(check, module, secret, cases)
        if check.compare_values
        else [None] * len(cases)
    )
    for i, (case, entry, expected) in enumerate(zip(cases, entries, expected_all, strict=True)):
        if _expired(deadline):
            result.problems.append(f"case {i}: {TIME_RAN_OUT}")
            break
        if not isinstance(entry, dict) or not entry.get("ok"):
            error = entry.get("error") if isinstance(entry, dict) else None
            result.problems.append(f"case {i}: raised {str(error)[:300] or 'an error'}")
            continue
        try:
            got = decode(entry.get("out"))
        except Exception as exc:  # noqa: BLE001 - EncodingError, or anything a record provokes
            reason = exc if isinstance(exc, EncodingError) else _failure(exc)
            result.problems.append(f"case {i}: unreadable result ({reason})")
            continue
        if check.comparator is not None:
            try:
                result.problems += [f"case {i}: {p}" for p in check.comparator(got, expected)]
            except Exception as exc:  # noqa: BLE001 - a malformed student value must fail
                result.problems.append(f"case {i}: result could not be compared ({_failure(exc)})")
        elif check.compare_values:
            try:
                result.problems += compare(
                    got, expected, rtol=check.rtol, atol=check.atol, path=f"case {i}"
                )
            except Exception as exc:  # noqa: BLE001 - a malformed student value must fail
                result.problems.append(f"case {i}: result could not be compared ({_failure(exc)})")
        if check.verify is not None:
            try:
                result.problems += [
                    f"case {i}: {p}" for p in check.verify(got, expected, case, module)
                ]
            except Exception as exc:  # noqa: BLE001 - a bad student value must fail, not crash
                result.problems.append(f"case {i}: result could not be verified ({_failure(exc)})")


def find_records(outputs: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Records in a cell's display outputs, grouped by the check name they claim.

    A record is bounded (:func:`graders.encoding.check_bounds`) before it is read: one that
    is too large, nested too deeply or unreadable JSON text is kept as an EncodingError,
    under the name it claims when it can be read, so that its check fails with the reason.
    """
    found: dict[str, list[Any]] = {}
    for out in outputs:
        if not isinstance(out, dict) or not isinstance(out.get("data"), dict):
            continue
        bundle = out["data"]
        if out.get("output_type") != "display_data":
            continue
        data = bundle.get(RECORD_MIME)
        if data is None:
            continue
        name: Any = None
        try:
            if isinstance(data, str):  # some writers store JSON MIME data as text
                if len(data) > MAX_RECORD_TEXT:
                    raise EncodingError(f"a record of {len(data)} characters is too large")
                try:
                    data = json.loads(data)
                except (ValueError, RecursionError) as exc:
                    raise EncodingError(f"unreadable record ({_failure(exc)})") from None
            if isinstance(data, dict):
                name = data.get("check")
            check_bounds(data, max_depth=_RECORD_LEVELS + 8)
        except EncodingError as exc:
            data = exc
        key = name if isinstance(name, str) and len(name) <= 200 else str(None)
        found.setdefault(key, []).append(data)
    return found


def judge_cell(
    grade_id: str,
    source: str,
    outputs: list[dict[str, Any]],
    assignment: str,
    solutions_dir: Path,
    context_problems: list[str] | None = None,
    secret: int | None = None,
    deadline: float | None = None,
) -> CellVerdict:
    """Decide one graded test cell.

    ``outputs`` are the kernel's outputs for the cell; ``context_problems`` are
    notebook-level problems (unreadable file, dead kernel) that explain missing records;
    ``secret`` is the submission's (:mod:`graders.hidden_inputs`; None: the public inputs);
    checks not reached before ``deadline`` (a :func:`time.monotonic` value) fail. Never
    raises for anything in ``outputs``: the cell fails with a message instead.
    """
    verdict = CellVerdict(grade_id, results=[])
    try:
        _judge_cell(verdict, source, outputs, assignment, solutions_dir, deadline, secret)
    except Exception as exc:  # noqa: BLE001 - whatever the outputs hold, the cell fails
        verdict.problems.append(f"The grader could not judge this cell ({_failure(exc)}).")
    if context_problems and not verdict.passed:
        verdict.problems = list(context_problems) + verdict.problems
    return verdict


def _judge_cell(
    verdict: CellVerdict,
    source: str,
    outputs: list[dict[str, Any]],
    assignment: str,
    solutions_dir: Path,
    deadline: float | None,
    secret: int | None = None,
) -> None:
    grade_id = verdict.grade_id
    outputs = [o for o in outputs if isinstance(o, dict)]
    errors = [o for o in outputs if o.get("output_type") == "error"]
    if errors:
        first = errors[0]
        ename = str(first.get("ename", "an error"))[:100]
        evalue = str(first.get("evalue", ""))[:300]
        if evalue:
            verdict.problems.append(f"The cell raised {ename}: {evalue}")
        elif ename == "NotImplementedError":
            verdict.problems.append(
                "The cell raised NotImplementedError: a function it uses still has the "
                "release's `raise NotImplementedError()` in place of an answer."
            )
        else:
            verdict.problems.append(f"The cell raised {ename}.")
    try:
        names = probe_calls(source)
    except ValueError as exc:
        verdict.problems.append(str(exc))
        return
    if not names:
        verdict.problems.append(
            f"Graded cell '{grade_id}' has no hidden check, so it cannot be judged "
            "(an instructor's error: every graded test cell must call probe)."
        )
        return
    records = find_records(outputs)
    # Records refused before their check's name could be read.
    unreadable = [r for r in records.get(str(None), []) if isinstance(r, EncodingError)]
    try:
        module = load_reference(assignment, solutions_dir)
    except Exception as exc:  # noqa: BLE001
        verdict.problems.append(f"The reference solutions could not be loaded: {exc}")
        return
    for name in names:
        if _expired(deadline):
            verdict.results.append(CheckResult(name, False, [TIME_RAN_OUT]))
            continue
        try:
            check = get_check(name)
            owner = assignment_of(name)
        except KeyError as exc:
            verdict.results.append(CheckResult(name, False, [str(exc)]))
            continue
        if owner != assignment:
            verdict.results.append(CheckResult(name, False, [f"check belongs to {owner}"]))
            continue
        found = records.get(name, [])
        if not found and unreadable:
            reason = f"no readable result was recorded (a record was refused: {unreadable[0]})"
            verdict.results.append(CheckResult(name, False, [reason], check.hint))
        elif not found:
            reason = "no result was recorded (the cell stopped before the check ran)"
            verdict.results.append(CheckResult(name, False, [reason], check.hint))
        elif len(found) > 1 or names.count(name) > 1:
            verdict.results.append(CheckResult(name, False, ["more than one result was recorded"]))
        else:
            verdict.results.append(judge_record(check, found[0], module, secret, deadline))


def rewrite_outputs(outputs: list[dict[str, Any]], verdict: CellVerdict) -> list[dict[str, Any]]:
    """The outputs the gradebook sees for a judged cell, written by the trusted side.

    Kept: stdout text and rich displays (for feedback), the kernel's own errors. Dropped:
    stderr (noise must not cost points), ``execute_result`` (nbgrader would read a number
    there as a partial grade) and records. Appended: the verdict, as text when the cell
    passes, as an error output when it fails.
    """
    kept = []
    stderr_lines = 0
    for out in outputs:
        if not isinstance(out, dict):
            continue
        kind = out.get("output_type")
        if kind == "stream" and out.get("name") == "stderr":
            text = out.get("text", "")
            text = "".join(map(str, text)) if isinstance(text, list) else str(text)
            stderr_lines += len(text.splitlines())
        elif kind == "stream" and out.get("name") == "stdout":
            kept.append(out)
        elif kind == "display_data" and isinstance(out.get("data"), dict):
            data = {k: v for k, v in out["data"].items() if k != RECORD_MIME}
            if data:
                kept.append({**out, "data": data})
        elif kind == "error":
            kept.append(out)
    names = ", ".join(r.name for r in verdict.results)
    if stderr_lines:
        kept.append(
            {
                "output_type": "stream",
                "name": "stdout",
                "text": f"({stderr_lines} lines on stderr, such as library warnings, "
                "were set aside; they do not count.)\n",
            }
        )
    if verdict.passed:
        kept.append(
            {"output_type": "stream", "name": "stdout", "text": f"Hidden checks passed: {names}\n"}
        )
    else:
        message = verdict.message()
        kept.append(
            {
                "output_type": "error",
                "ename": "HiddenCheckFailed",
                "evalue": verdict.headline() or "hidden checks failed",
                "traceback": [
                    "HiddenCheckFailed: the trusted grader rejected this cell.",
                    *message.splitlines(),
                ],
            }
        )
    return kept
