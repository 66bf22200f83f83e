"""Accuracy margin of the reference models over seeds (docs/architecture.md: margin).

Trains the reference solutions of w4_cnn_build, w5_resnet, w6_transfer_learning and
w8_sequence_models with the notebooks' recipes, once
per seed, and measures each trained model's held-out accuracy (for w8's forecaster: its mean
absolute error, which must stay below its threshold) through the grader's own
evaluation (the reported weights in the reference architecture, on data the kernel never sees:
faces, shapes and weather stations from secret seeds in ``solutions/``, digits redrawn there
with a secret deformation, ``solutions/heldout_digits.py``). w2's linear model has its margin
checked in ``tests/test_solutions_w2.py`` (it trains in a second). Prints one line per seed,
then worst / median / threshold and how many seeds pass. For the forecaster it also prints
what must *not* pass: the common-sense baseline (it has no seed), and a dense model on the
flattened window trained with the same recipe and the same seeds (``--dense-seeds`` of them,
as many as ``--seeds`` unless given); and the room on both sides of its threshold, which must
be at least ``FORECASTER_MARGIN`` of it (the reference's worst seed at most 97 % of the
threshold, the dense model's best seed at least 103 %).

    python benchmarks/threshold_margin.py --seeds 10
    python benchmarks/threshold_margin.py --seeds 10 --models resnet_model
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graders.cases import w4_cnn_build as w4  # noqa: E402
from graders.cases import w5_resnet as w5  # noqa: E402
from graders.cases import w6_transfer_learning as w6  # noqa: E402
from graders.cases import w8_sequence_models as w8  # noqa: E402
from graders.cases.trained import trained_record  # noqa: E402
from graders.judge import load_reference  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="number of seeds (0, 1, ...)")
    parser.add_argument("--models", nargs="*", help="only these models (default: all)")
    parser.add_argument(
        "--dense-seeds",
        type=int,
        help="dense forecasters trained for comparison (default: as many as --seeds)",
    )
    args = parser.parse_args(argv)
    ref = load_reference("w4_cnn_build", ROOT / "solutions")
    ref5 = load_reference("w5_resnet", ROOT / "solutions")
    ref6 = load_reference("w6_transfer_learning", ROOT / "solutions")
    ref8 = load_reference("w8_sequence_models", ROOT / "solutions")
    models = {
        "happy_model": (
            lambda seed: w4.train_happy_model(ref.happy_model, seed),
            lambda model: w4.happy_heldout_accuracy(trained_record(model), ref),
            w4.HAPPY_ACCURACY_THRESHOLD,
        ),
        "digits_model": (
            lambda seed: w4.train_digits_model(ref.digits_model, ref.upsample_digits, seed),
            lambda model: w4.digits_heldout_accuracy(trained_record(model), ref),
            w4.DIGITS_ACCURACY_THRESHOLD,
        ),
        "resnet_model": (
            lambda seed: w5.train_resnet_model(ref5.resnet_model, seed),
            lambda model: w5.resnet_heldout_accuracy(trained_record(model), ref5),
            w5.RESNET_ACCURACY_THRESHOLD,
        ),
        "transfer_model": (
            lambda seed: w6.train_transfer_model(
                ref6.transfer_model, ref6.fine_tune, ref6.data_augmenter, seed
            ),
            lambda model: w6.transfer_heldout_accuracy(trained_record(model), ref6),
            w6.TRANSFER_ACCURACY_THRESHOLD,
        ),
        "forecaster": (
            lambda seed: w8.train_forecaster(ref8.forecaster, seed),
            lambda model: w8.heldout_mae(trained_record(model), ref8),
            w8.FORECASTER_MAE_THRESHOLD,
        ),
    }
    unknown = set(args.models or []) - set(models)
    if unknown:
        parser.error(f"unknown models {sorted(unknown)}; choose from {sorted(models)}")
    models = {k: v for k, v in models.items() if not args.models or k in args.models}
    failed = 0
    for name, (train, accuracy_of, threshold) in models.items():
        # Lower is better for an error (the forecaster's), higher for an accuracy.
        lower = name in LOWER_IS_BETTER
        what = "mean absolute error" if lower else "accuracy"
        accuracies, times = [], []
        for seed in range(args.seeds):
            start = time.perf_counter()
            model = train(seed)
            times.append(time.perf_counter() - start)
            accuracies.append(accuracy_of(model))
            print(
                f"{name} seed {seed}: held-out {what} {accuracies[-1]:.4f} "
                f"(trained in {times[-1]:.1f} s)",
                flush=True,
            )
        passing = sum((a <= threshold) if lower else (a >= threshold) for a in accuracies)
        failed += args.seeds - passing
        worst = max(accuracies) if lower else min(accuracies)
        print(
            f"{name}: {'max' if lower else 'min'} {worst:.4f}  "
            f"median {statistics.median(accuracies):.4f}  "
            f"threshold {threshold:.2f}  passing {passing}/{args.seeds}  "
            f"training median {statistics.median(times):.1f} s"
        )
        if name == "forecaster":
            dense_seeds = args.seeds if args.dense_seeds is None else args.dense_seeds
            failed += _forecaster_comparisons(ref8, dense_seeds, worst)
    return 1 if failed else 0


#: Models graded by an error that must stay at most the threshold.
LOWER_IS_BETTER = ("forecaster",)
#: Room the forecaster's threshold leaves on each side, as a fraction of it: the reference's
#: worst seed at most (1 - FORECASTER_MARGIN) times the threshold, and the dense model's best
#: seed (and the baseline) at least (1 + FORECASTER_MARGIN) times it.
FORECASTER_MARGIN = 0.03


def dense_forecaster(input_shape: tuple[int, int]) -> object:
    """The comparison model: the window flattened, Dense(16, relu), Dense(1)."""
    import keras

    inputs = keras.Input(shape=input_shape)
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dense(16, activation="relu")(x)
    return keras.Model(inputs, keras.layers.Dense(1)(x))


def _forecaster_comparisons(ref8: object, dense_seeds: int, reference_worst: float) -> int:
    """Print the baseline's and the dense models' held-out errors and the room on both sides
    of the forecaster's threshold; count those that would pass the threshold (each is a
    failure of the threshold), and a side with less room than FORECASTER_MARGIN as one more."""
    import numpy as np

    threshold = w8.FORECASTER_MAE_THRESHOLD
    baseline = w8.baseline_heldout_mae(ref8)
    dense = []
    for seed in range(dense_seeds):
        model = w8.train_forecaster(dense_forecaster, seed)
        dense.append(w8.heldout_mae_of(model, ref8))
        print(
            f"forecaster, dense comparison seed {seed}: held-out mean absolute error "
            f"{dense[-1]:.4f}  (baseline {baseline:.4f})",
            flush=True,
        )
    reached = int(baseline <= threshold) + sum(d <= threshold for d in dense)
    best_dense = min(dense, default=np.nan)
    print(
        f"forecaster comparisons: baseline {baseline:.4f}  dense min "
        f"{best_dense:.4f}  threshold {threshold:.2f}  reaching it {reached} "
        "(must be 0)"
    )
    below = 1 - reference_worst / threshold
    above = min(best_dense, baseline) / threshold - 1
    roomy = below >= FORECASTER_MARGIN and above >= FORECASTER_MARGIN
    print(
        f"forecaster margins: reference's worst seed {100 * below:.1f} % below the threshold, "
        f"dense model's best seed {100 * above:.1f} % above it (each must be at least "
        f"{100 * FORECASTER_MARGIN:.0f} %): {'enough room' if roomy else 'too little room'}"
    )
    return reached + int(not roomy)


if __name__ == "__main__":
    sys.exit(main())
