"""Accuracy thresholds leave margin (DESIGN.md section 3, invariant 6): the reference models,
trained with the notebooks' recipes, pass the hidden accuracy checks with each of ten seeds
(slow: about twenty trainings; ``benchmarks/threshold_margin.py`` prints the figures)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _benchmark():
    path = ROOT / "benchmarks" / "threshold_margin.py"
    spec = importlib.util.spec_from_file_location("threshold_margin", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_reference_models_pass_their_accuracy_thresholds_with_ten_seeds(capsys):
    exit_code = _benchmark().main(["--seeds", "10"])
    printed = capsys.readouterr().out
    for model in ("happy_model", "digits_model", "resnet_model", "transfer_model"):
        assert f"{model}: min" in printed
    assert "passing 10/10" in printed
    assert exit_code == 0, printed
