"""Accuracy margin of the reference models over seeds (DESIGN.md section 3, invariant 6).

Trains the reference solutions of w4_cnn_build, w5_resnet and w6_transfer_learning with the
notebooks' recipes, once
per seed, and measures each trained model's held-out accuracy through the grader's own
evaluation (the reported weights in the reference architecture, on data the kernel never sees:
faces and shapes from secret seeds in ``solutions/``, digits redrawn there with a secret
deformation, ``solutions/heldout_digits.py``). w2's linear model has its margin checked in
``tests/test_solutions_w2.py`` (it trains in a second). Prints one line per seed, then
min / median / threshold and how many seeds pass.

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
from graders.cases.trained import trained_record  # noqa: E402
from graders.judge import load_reference  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="number of seeds (0, 1, ...)")
    parser.add_argument("--models", nargs="*", help="only these models (default: all)")
    args = parser.parse_args(argv)
    ref = load_reference("w4_cnn_build", ROOT / "solutions")
    ref5 = load_reference("w5_resnet", ROOT / "solutions")
    ref6 = load_reference("w6_transfer_learning", ROOT / "solutions")
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
    }
    unknown = set(args.models or []) - set(models)
    if unknown:
        parser.error(f"unknown models {sorted(unknown)}; choose from {sorted(models)}")
    models = {k: v for k, v in models.items() if not args.models or k in args.models}
    failed = 0
    for name, (train, accuracy_of, threshold) in models.items():
        accuracies, times = [], []
        for seed in range(args.seeds):
            start = time.perf_counter()
            model = train(seed)
            times.append(time.perf_counter() - start)
            accuracies.append(accuracy_of(model))
            print(
                f"{name} seed {seed}: held-out accuracy {accuracies[-1]:.4f} "
                f"(trained in {times[-1]:.1f} s)",
                flush=True,
            )
        passing = sum(a >= threshold for a in accuracies)
        failed += args.seeds - passing
        print(
            f"{name}: min {min(accuracies):.4f}  median {statistics.median(accuracies):.4f}  "
            f"threshold {threshold:.2f}  passing {passing}/{args.seeds}  "
            f"training median {statistics.median(times):.1f} s"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
