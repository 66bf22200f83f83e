"""Golden submissions: the kinds of notebook a class hands in, built from the course itself.

Shared by the end-to-end tests and ``dlgrade demo``. Wrong answers are the catalogued
mutants of ``tests/mutants/<assignment>.py`` (loaded from the course folder, instructor
side only), pasted into a student's notebook as source code.
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
import textwrap
from pathlib import Path
from typing import Any

from graders import submissions
from graders.cases import all_checks, assignment_of
from graders.judge import probe_calls

KINDS = (
    "correct",
    "blank",
    "partly_wrong",
    "tamper",
    "tf_noise",
    "deleted_test_cell",
    "not_json",
    "kernel_dies",
    "half_done",
)

#: Functions made wrong in the "partly_wrong" and "tamper" submissions: no other graded
#: function calls them, so exactly their own test cells must fail.
WRONG_FUNCTIONS = {
    "w1_broadcasting": ("softmax", "normalize_rows"),
    "w2_gradient_descent": ("update_with_momentum", "update_with_adam"),
    "w3_conv_pool": ("pool_forward", "conv_backward"),
    "w4_cnn_build": ("happy_model",),
    "w5_resnet": ("resnet_model",),
    "w6_transfer_learning": ("transfer_model",),
    "w7_triplet_loss": ("who_is_it",),
    "w8_sequence_models": ("lstm_forward", "forecaster"),
}

#: Correct code that makes TensorFlow write its log lines to stderr inside a test cell.
TF_NOISE = """
def _with_tensorflow(function):
    def wrapper(*args, **kwargs):
        import os
        os.environ.pop("TF_CPP_MIN_LOG_LEVEL", None)
        import tensorflow as tf  # logs to stderr on first import
        import warnings
        tf.constant(1.0) + 1.0
        warnings.warn("tensorflow is loaded but not needed here", stacklevel=1)
        return function(*args, **kwargs)
    return wrapper
{name} = _with_tensorflow({name})
"""


def implementations(root: Path, assignment: str) -> list[Any]:
    """The course's mutants and variants of ``assignment`` (``tests/mutants``)."""
    root = Path(root).resolve()
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return list(importlib.import_module(f"tests.mutants.{assignment}").IMPLEMENTATIONS)


def impl_source(impl: Any) -> str:
    """Source code of a mutant or variant, renamed to the graded function's name."""
    source = textwrap.dedent(inspect.getsource(impl.impl))
    lines = source.splitlines()
    while lines and lines[0].lstrip().startswith("@"):
        lines.pop(0)
    code = "\n".join(lines)
    return re.sub(r"^def \w+\(", f"def {impl.function}(", code, count=1, flags=re.MULTILINE)


def first_mutant(root: Path, assignment: str, function: str) -> Any:
    """The first catalogued wrong implementation of ``function``."""
    for impl in implementations(root, assignment):
        if impl.function == function and not impl.valid:
            return impl
    raise KeyError(f"no mutant of {function} in tests/mutants/{assignment}.py")


def cells_calling(nb: Any, assignment: str, functions: tuple[str, ...]) -> set[str]:
    """Grade ids of the test cells whose hidden checks call any of ``functions``."""
    checks = all_checks()
    out = set()
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("grade") or meta.get("solution"):
            continue
        for name in probe_calls(cell.source):
            if assignment_of(name) == assignment and set(checks[name].functions) & set(functions):
                out.add(meta["grade_id"])
    return out


def build(kind: str, root: Path, assignment: str, notebook: str) -> str | bytes:
    """One submission of ``kind`` (see :data:`KINDS`) for ``source/<assignment>/<notebook>``,
    from the course at ``root`` (its ``release/`` must exist)."""
    root = Path(root)
    source_nb = submissions.read(root / "source" / assignment / notebook)
    release_nb = submissions.read(root / "release" / assignment / notebook)
    correct = submissions.with_reference_answers(source_nb, release_nb)
    solution_ids = [
        submissions.grade_id(c) for c in correct.cells if submissions.is_solution_cell(c)
    ]
    if kind == "correct":
        return submissions.to_json(correct)
    if kind == "blank":
        return submissions.to_json(release_nb)
    if kind == "not_json":
        return submissions.to_json(correct)[:400] + "\n<<<<<<< merge conflict\n"
    if kind == "deleted_test_cell":
        first_test = submissions.graded_test_ids(correct)[0]
        return submissions.to_json(submissions.delete_cell(correct, first_test))
    if kind == "half_done":
        nb = release_nb
        for cell_id in solution_ids[: len(solution_ids) // 2]:
            nb = submissions.set_answer(
                nb,
                cell_id,
                next(c.source for c in correct.cells if submissions.grade_id(c) == cell_id),
            )
        return submissions.to_json(nb)
    nb = correct
    if kind in ("partly_wrong", "tamper"):
        for function in WRONG_FUNCTIONS[assignment]:
            nb = submissions.set_answer(
                nb, f"{function}_code", impl_source(first_mutant(root, assignment, function))
            )
        if kind == "tamper":
            nb = submissions.append_to_answer(nb, solution_ids[0], submissions.TAMPER_CODE)
        return submissions.to_json(nb)
    if kind == "kernel_dies":
        dying = f"{WRONG_FUNCTIONS[assignment][0]}_code"
        nb = submissions.append_to_answer(nb, dying, "import os\nos._exit(3)  # the kernel dies")
        return submissions.to_json(nb)
    if kind == "tf_noise":
        first = solution_ids[0]
        function = first.removesuffix("_code")
        nb = submissions.append_to_answer(nb, first, TF_NOISE.format(name=function))
        return submissions.to_json(nb)
    raise ValueError(f"unknown submission kind {kind!r}; choose from {KINDS}")


def submission(kind: str, root: Path, assignment: str) -> dict[str, str | bytes]:
    """Every notebook of ``source/<assignment>/`` in the course at ``root``, built as
    :func:`build` builds ``kind``: file name -> contents, ready for ``course.submit``."""
    notebooks = sorted((Path(root) / "source" / assignment).glob("*.ipynb"))
    return {nb.name: build(kind, root, assignment, nb.name) for nb in notebooks}


def expected_scores(kind: str, root: Path, assignment: str, notebook: str) -> dict[str, float]:
    """The per-cell scores a submission of ``kind`` must earn: ``grade_id -> points``."""
    source_nb = submissions.read(Path(root) / "source" / assignment / notebook)
    points = {
        c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"]["points"])
        for c in source_nb.cells
        if c.metadata.get("nbgrader", {}).get("grade")
    }
    if kind in ("correct", "tf_noise", "deleted_test_cell"):
        return points
    if kind in ("blank", "not_json", "tamper"):
        return dict.fromkeys(points, 0.0)
    if kind == "partly_wrong":
        wrong = cells_calling(source_nb, assignment, WRONG_FUNCTIONS[assignment])
        return {g: 0.0 if g in wrong else p for g, p in points.items()}
    if kind == "kernel_dies":
        ids = [submissions.grade_id(c) for c in source_nb.cells]
        dies_at = ids.index(f"{WRONG_FUNCTIONS[assignment][0]}_code")
        return {g: 0.0 if ids.index(g) > dies_at else p for g, p in points.items()}
    raise ValueError(f"no fixed expectation for {kind!r}")
