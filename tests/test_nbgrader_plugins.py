"""Changes the course makes to nbgrader's own behaviour, checked against nbgrader's."""

from __future__ import annotations

import copy

import jsonschema
import pytest
from nbformat.v4 import new_code_cell
from nbgrader.nbgraderformat import common
from nbgrader.nbgraderformat.v3 import MetadataValidatorV3

from graders.nbgrader_plugins import check_metadata_with_one_validator

GOOD = {"grade": True, "grade_id": "sigmoid_values", "locked": True, "points": 2,
        "schema_version": 3, "solution": False, "task": False}  # fmt: skip
BAD = [
    dict(GOOD, points="two"),
    dict(GOOD, grade_id=["a", "list"]),
    {k: v for k, v in GOOD.items() if k != "grade_id"},
    dict(GOOD, locked=None, solution="yes"),
]


def _error(metadata: dict) -> str | None:
    cell = new_code_cell("x = 1", metadata={"nbgrader": copy.deepcopy(metadata)})
    try:
        MetadataValidatorV3().validate_cell(cell)
    except jsonschema.ValidationError as exc:
        return str(exc)
    return None


@pytest.mark.parametrize("metadata", [GOOD, *BAD])
def test_grading_metadata_is_judged_as_nbgrader_judges_it(metadata, monkeypatch):
    monkeypatch.setattr(common, "jsonschema", jsonschema)  # nbgrader's own check
    expected = _error(metadata)
    check_metadata_with_one_validator()
    assert common.jsonschema is not jsonschema
    assert _error(metadata) == expected
    assert (expected is None) == (metadata is GOOD)
