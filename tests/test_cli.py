"""The instructor's command, `dlgrade`, end to end (slow: real nbgrader runs)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from graders import cli

ROOT = Path(__file__).resolve().parents[1]


def test_errors_are_reported_in_plain_words(tmp_path, capsys):
    assert cli.main(["--course", str(tmp_path), "autograde", "w1_broadcasting"]) == 2
    err = capsys.readouterr().err
    assert "is not a course folder" in err and "Traceback" not in err


def test_demo_refuses_to_overwrite_a_folder_it_did_not_make(tmp_path, capsys):
    (tmp_path / "precious.txt").write_text("keep me")
    assert cli.main(["--course", str(ROOT), "demo", "--out", str(tmp_path)]) == 2
    assert (tmp_path / "precious.txt").read_text() == "keep me"


@pytest.mark.slow
def test_demo_grades_a_class_of_twelve_end_to_end(tmp_path, capsys):
    out = tmp_path / "demo"
    # The two numpy-only assignments keep this test short; the pipeline test grades them all.
    args = [
        "--students",
        "12",
        "--assignment",
        "w1_broadcasting",
        "--assignment",
        "w2_gradient_descent",
    ]
    assert cli.main(["--course", str(ROOT), "demo", "--out", str(out), *args]) == 0
    printed = capsys.readouterr()
    assert str(out / "report.html") in printed.out
    assert "autograde w1_broadcasting" in printed.err  # the progress bar

    rows = list(csv.DictReader((out / "grades.csv").open()))
    assert len(rows) == 24  # 12 students x 2 assignments, broken submissions included
    kinds = {}
    for line in printed.out.splitlines():
        parts = line.split()
        if len(parts) >= 6 and parts[0].startswith("student"):
            kinds[(parts[0], parts[1])] = parts[2]
    assert len(kinds) == 24
    for row in rows:
        kind = kinds[(row["student_id"], row["assignment"])]
        score, max_score = float(row["score"]), float(row["max_score"])
        if kind in ("correct", "tf_noise", "deleted_test_cell"):
            assert score == max_score, row
        elif kind in ("blank", "tamper", "not_json"):
            assert score == 0, row
        else:
            assert 0 < score < max_score, row

    results = sorted((out / "gradescope").glob("*/*/results.json"))
    assert len(results) == 24
    sample = json.loads(results[0].read_text())
    assert {"score", "tests"} <= set(sample) and sample["tests"]
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64") >= 4


@pytest.mark.slow
def test_validate_passes_on_the_course(capsys):
    # One assignment keeps this short; the pipeline and mutant tests cover them all.
    assert cli.main(["--course", str(ROOT), "validate", "--assignment", "w1_broadcasting"]) == 0
    assert "all checks passed" in capsys.readouterr().out


def test_validate_names_an_unknown_assignment(capsys):
    assert cli.main(["--course", str(ROOT), "validate", "--assignment", "w9_nothing"]) == 2
    assert "no assignment w9_nothing" in capsys.readouterr().err


def test_pretrain_is_a_thin_wrapper_over_the_pretraining_module(monkeypatch, tmp_path):
    from graders import pretrain

    calls = []
    monkeypatch.setattr(
        pretrain, "pretrain_face_encoder", lambda out, seed, **kw: calls.append((out, seed, kw))
    )
    out = str(tmp_path / "encoder.weights.h5")
    args = ["pretrain", "face_encoder", "--out", out, "--seed", "2", "--steps", "5"]
    assert cli.main(["--course", str(ROOT), *args]) == 0
    assert calls == [(out, 2, {"steps": 5})]
