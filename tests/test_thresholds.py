"""Accuracy thresholds leave margin (docs/architecture.md): the reference models,
trained with the notebooks' recipes, pass the hidden accuracy checks with each of ten seeds
(slow: ten trainings per model; ``benchmarks/threshold_margin.py`` prints the figures)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.scopes import class_for

ROOT = Path(__file__).resolve().parents[1]


def _benchmark():
    path = ROOT / "benchmarks" / "threshold_margin.py"
    spec = importlib.util.spec_from_file_location("threshold_margin", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MODELS = ("happy_model", "digits_model", "resnet_model", "transfer_model", "forecaster")

#: Models graded by an error that must stay at most the threshold (the benchmark prints
#: their worst seed as ``max``), and not by an accuracy (``min``).
LOWER_IS_BETTER = ("forecaster",)


class Margin:
    """One model's ten trainings (``model``, set by each subclass below): each model is a
    test class of its own so that the test workers (pytest-xdist, ``--dist loadscope``)
    train the models side by side."""

    model: str

    @pytest.mark.slow
    def test_reference_model_passes_its_accuracy_threshold_with_ten_seeds(self, capsys):
        exit_code = _benchmark().main(["--seeds", "10", "--models", self.model])
        printed = capsys.readouterr().out
        worst = "max" if self.model in LOWER_IS_BETTER else "min"
        assert f"{self.model}: {worst}" in printed
        assert "passing 10/10" in printed
        if self.model == "forecaster":
            # Neither the common-sense baseline nor a dense model on the flattened window
            # (same recipe, ten seeds) reaches the forecaster's threshold, and it leaves
            # room on both sides.
            assert "reaching it 0 (must be 0)" in printed
            assert "enough room" in printed
        assert exit_code == 0, printed


for _model in MODELS:
    _class = class_for(_model, Margin, model=_model)
    globals()[_class.__name__] = _class
