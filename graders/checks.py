"""Public checks: the student's instant feedback in the visible test cells.

They run in the student's kernel and take well under a second. Each check looks at the
type, then the shape, then the values, and fails with a message that names the check, the
expected and received values (abridged), the tolerance and a hint. They decide no grade:
grades come from the hidden checks judged on the trusted side (:mod:`graders.judge`).
"""

from __future__ import annotations

from typing import Any

from graders.compare import compare, describe_type
from graders.models import describe_model, structure_problems


class CheckFailed(AssertionError):
    """A public test failed; the message says what, where and why.

    In a notebook the message is all the student sees under the cell: IPython shows it
    with a red heading and no traceback, since the frames would only point into this
    module and push the hint out of sight. Elsewhere it is a plain AssertionError.
    """

    def _render_traceback_(self) -> list[str]:
        """IPython's hook for an exception that shows itself: its lines, without frames."""
        heading, *rest = str(self).splitlines() or [""]
        return [f"\x1b[1;31m{type(self).__name__}\x1b[0m: {heading}", *rest]


def _fail(name: str, problems: list[str], hint: str) -> None:
    # A problem's clauses ("...; expected [...], got [...]") go on lines of their own, so
    # that no line runs past the width of a notebook's output or nbgrader's Validate dialog.
    parts = [clause for p in problems[:4] for clause in p.split("; ")]
    lines = [f"{name}: {parts[0]}"] + [f"  {p}" for p in parts[1:]]
    if hint:
        lines.append(f"Hint: {hint}")
    raise CheckFailed("\n".join(lines))


def check_type(name: str, got: Any, types: type | tuple[type, ...], hint: str = "") -> None:
    """Fail unless ``got`` is an instance of ``types``."""
    if not isinstance(got, types):
        wanted = (
            types.__name__ if isinstance(types, type) else " or ".join(t.__name__ for t in types)
        )
        _fail(name, [f"expected a {wanted}, got {describe_type(got)}"], hint)


def check_shape(name: str, got: Any, shape: tuple[int, ...], hint: str = "") -> None:
    """Fail unless ``got`` has a ``.shape`` equal to ``shape``."""
    actual = getattr(got, "shape", None)
    if actual is None:
        _fail(name, [f"expected an array of shape {shape}, got {describe_type(got)}"], hint)
    if tuple(actual) != tuple(shape):
        _fail(name, [f"shape {tuple(actual)}, expected {tuple(shape)}"], hint)


def check_value(
    name: str,
    got: Any,
    expected: Any,
    *,
    rtol: float = 1e-5,
    atol: float = 1e-7,
    hint: str = "",
) -> None:
    """Fail unless ``got`` matches ``expected``: same structure, same shapes, close values.

    Works on numbers, arrays, and tuples, lists or dicts of them (see
    :func:`graders.compare.compare` for the rules).
    """
    problems = compare(got, expected, rtol=rtol, atol=atol, path="result")
    if problems:
        _fail(name, problems, hint)


def check_at_least(name: str, got: float, minimum: float, what: str, hint: str = "") -> None:
    """Fail unless the number ``got`` (e.g. an accuracy) is at least ``minimum``."""
    if not got >= minimum:
        _fail(name, [f"{what} is {got:.4g}, expected at least {minimum:.4g}"], hint)


def check_at_most(name: str, got: float, maximum: float, what: str, hint: str = "") -> None:
    """Fail unless the number ``got`` (e.g. a mean absolute error) is at most ``maximum``."""
    if not got <= maximum:
        _fail(name, [f"{what} is {got:.4g}, expected at most {maximum:.4g}"], hint)


def check_model(name: str, model: Any, expected: list[tuple], hint: str = "") -> None:
    """Fail unless the Keras ``model`` has the expected layers.

    Each row of ``expected`` is ``(class, output_shape, params)`` or ``(class, output_shape,
    params, {attribute: value})``, e.g. ``("Conv2D", (None, 64, 64, 32), 4736, {"padding":
    "valid"})``; only what a row states is compared (see :func:`graders.models.describe_model`
    for the names, and for how activation layers are merged into the layer before them).
    """
    try:
        got = describe_model(model)
    except TypeError as exc:
        _fail(name, [str(exc)], hint)
    rows = []
    for row in expected:
        kind, shape, params, *rest = row
        attributes = {key: _as_lists(value) for key, value in (rest[0] if rest else {}).items()}
        rows.append(
            {"class": kind, "output_shape": _as_lists(shape), "params": params, **attributes}
        )
    problems = structure_problems(got, {"layers": rows})
    if problems:
        _fail(name, problems, hint)


def _as_lists(value: Any) -> Any:
    """Tuples as lists, the form of :func:`graders.models.describe_model`'s values."""
    return [_as_lists(v) for v in value] if isinstance(value, (tuple, list)) else value


def all_passed(name: str) -> None:
    """Print the closing line of a public test cell."""
    print(f"{name}: all public tests passed.")
