"""Fixtures shared by the test modules."""

from __future__ import annotations

from pathlib import Path

import pytest

from graders import course

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def released_w1(tmp_path_factory) -> Path:
    """A copy of the course (configuration, source, solutions) with w1_broadcasting released,
    and so in its gradebook: one per test module, to be copied by tests that change it."""
    root = tmp_path_factory.mktemp("released") / "course"
    course.copy_course(ROOT, root, include=("source", "solutions"))
    course.release(root, ["w1_broadcasting"])
    return root
