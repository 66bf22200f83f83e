"""The course's files: clean source notebooks, consistent grading metadata, a fresh and
secret-free release, and a student package without answers."""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from pathlib import Path

import pytest

from graders import submissions, validate
from graders.cases import all_checks, assignment_of
from graders.judge import probe_calls

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "source").glob("*/*.ipynb"))
POINTS_IN_HEADING = re.compile(r"^#+ .*\((\d+(?:\.\d+)?) points?\)", re.MULTILINE)
GRADE_ID = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")
ALLOWED_NOTEBOOK_METADATA = {"kernelspec", "language_info"}
ALLOWED_CELL_METADATA = {"nbgrader", "deletable", "editable", "tags"}


def test_there_are_source_notebooks():
    assert [p.parent.name for p in SOURCES] == [
        "w1_broadcasting",
        "w2_gradient_descent",
        "w3_conv_pool",
        "w4_cnn_build",
        "w5_resnet",
        "w6_transfer_learning",
        "w7_triplet_loss",
        "w8_sequence_models",
    ]


@pytest.mark.parametrize("path", SOURCES, ids=[p.stem for p in SOURCES])
def test_source_notebooks_have_no_outputs_and_clean_metadata(path):
    nb = submissions.read(path)
    assert set(nb.metadata) <= ALLOWED_NOTEBOOK_METADATA
    for cell in nb.cells:
        assert set(cell.metadata) <= ALLOWED_CELL_METADATA, cell.metadata
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.parametrize("path", SOURCES, ids=[p.stem for p in SOURCES])
def test_grade_ids_are_unique_and_read_function_what(path):
    cells = submissions.read(path).cells
    ids = [submissions.grade_id(c) for c in cells if submissions.grade_id(c)]
    assert len(ids) == len(set(ids))
    graded_or_answer = [
        submissions.grade_id(c)
        for c in cells
        if c.metadata.get("nbgrader", {}).get("grade") or submissions.is_solution_cell(c)
    ]
    assert [i for i in graded_or_answer if not GRADE_ID.match(i)] == []


@pytest.mark.parametrize("path", SOURCES, ids=[p.stem for p in SOURCES])
def test_heading_points_agree_with_metadata_points(path):
    nb = submissions.read(path)
    sections: list[tuple[str, float, float]] = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = POINTS_IN_HEADING.search(cell.source)
            if match:
                sections.append((cell.source.splitlines()[0], float(match.group(1)), 0.0))
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            assert sections, f"graded cell {meta['grade_id']} comes before any heading with points"
            title, said, total = sections[-1]
            sections[-1] = (title, said, total + float(meta["points"]))
    assert sections
    assert [s for s in sections if s[1] != s[2]] == []


@pytest.mark.parametrize("path", SOURCES, ids=[p.stem for p in SOURCES])
def test_every_graded_test_cell_is_judged_by_hidden_checks_of_its_assignment(path):
    assignment = path.parent.name
    probed = set()
    for cell in submissions.read(path).cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("grade") or meta.get("solution"):
            continue
        hidden = cell.source.split("### BEGIN HIDDEN TESTS", 1)
        assert len(hidden) == 2, f"{meta['grade_id']} has no hidden tests"
        names = probe_calls(cell.source)
        assert names and set(probe_calls(hidden[1])) == set(names), meta["grade_id"]
        assert all(assignment_of(n) == assignment for n in names)
        probed.update(names)
    registered = {n for n in all_checks() if assignment_of(n) == assignment}
    assert registered - probed == set(), "checks registered but never probed"


def test_release_is_up_to_date_with_source():
    assert validate.stale_release_problems(ROOT) == []


def test_release_holds_no_solutions_hidden_tests_or_outputs():
    assert validate.leak_problems(ROOT) == []


def test_the_leak_check_can_fail(tmp_path):
    # A release made by copying the source (answers and hidden tests included) is caught.
    (tmp_path / "source" / "w1_broadcasting").mkdir(parents=True)
    (tmp_path / "release" / "w1_broadcasting").mkdir(parents=True)
    src = ROOT / "source" / "w1_broadcasting" / "w1_broadcasting.ipynb"
    for folder in ("source", "release"):
        (tmp_path / folder / "w1_broadcasting" / src.name).write_bytes(src.read_bytes())
    problems = validate.leak_problems(tmp_path)
    assert any("BEGIN SOLUTION" in p for p in problems)
    assert any("solution line" in p for p in problems)


def test_student_package_holds_no_reference_code():
    package_text = "\n".join(p.read_text() for p in (ROOT / "graders").rglob("*.py"))
    leaked = [ln for path in SOURCES for ln in validate.secret_lines(path) if ln in package_text]
    assert leaked == []
    assert not re.search(r"^\s*(import|from) solutions\b", package_text, re.MULTILINE)


def graders_imports(path: Path) -> set[str]:
    """The modules of ``graders`` that a Python file or a notebook's code cells import
    (anywhere in it, functions included), by top-level name (``checks``, ``cases``, ...)."""
    if path.suffix == ".ipynb":
        nb = submissions.read(path)
        sources = [c.source for c in nb.cells if c.cell_type == "code"]
    else:
        sources = [path.read_text()]
    names = set()
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:  # a cell with IPython syntax: its graders imports are plain
            tree = ast.parse("\n".join(ln for ln in source.splitlines() if "graders" in ln))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level and path.suffix == ".py":
                module = node.module or ""
                names |= {module.split(".")[0]} if module else {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("graders"):
                parts = node.module.split(".")
                names |= {parts[1]} if len(parts) > 1 else {a.name for a in node.names}
            elif isinstance(node, ast.Import):
                names |= {
                    a.name.split(".")[1]
                    for a in node.names
                    if a.name.count(".") >= 1 and a.name.startswith("graders.")
                }
    return names


def test_the_hubs_kernel_side_holds_every_module_the_notebooks_import():
    """Students on the course's JupyterHub get only deploy/jupyterhub/hub.py's KERNEL_SIDE of
    graders: it must hold what the released notebooks import, directly or through each
    other, and none of the trusted side."""
    spec = importlib.util.spec_from_file_location("hub", ROOT / "deploy" / "jupyterhub" / "hub.py")
    hub = importlib.util.module_from_spec(spec)
    sys.modules["hub"] = hub  # for its dataclasses
    try:
        spec.loader.exec_module(hub)
    finally:
        del sys.modules["hub"]
    shipped = {name.removesuffix(".py") for name in hub.KERNEL_SIDE}
    needed = set().union(*(graders_imports(p) for p in (ROOT / "release").glob("*/*.ipynb")))
    todo = set(needed)
    while todo:
        name = todo.pop()
        folder = ROOT / "graders" / name
        files = sorted(folder.glob("*.py")) if folder.is_dir() else [folder.with_suffix(".py")]
        # (a name of a subpackage's own module, imported relatively, is no file here: the
        # subpackage ships whole)
        files = [f for f in files if f.exists()]
        for more in set().union(*(graders_imports(f) for f in files)) - needed:
            needed.add(more)
            todo.add(more)
    needed -= {"__init__"}
    assert needed and needed <= shipped, needed - shipped
    assert not shipped & {"judge", "sandbox", "nbgrader_plugins", "cli", "course", "warm"}
