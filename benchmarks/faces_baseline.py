"""Benchmark: how hard the happy / not-happy faces are, for a linear model and a small CNN.

    python benchmarks/faces_baseline.py [--seeds 0 1 2] [--heldout-seed 3003]

Trains, on the course's 600 training faces (the fixed seeds of ``graders.faces``):

- scikit-learn's ``LogisticRegression`` on the flattened pixels scaled to [0, 1], for a few
  values of C, reporting each test accuracy and the best;
- the Keras model of w4_cnn_build (7x7 convolution, batch norm, ReLU, max pooling, a
  sigmoid unit), 10 epochs of Adam with batch size 16, once per seed, timing the training.

Both are scored on the 150 test faces and on 300 further faces from a third seed (a
held-out set like the grader's). The task is right when the CNN clearly beats the linear
model in every seed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from graders import faces  # noqa: E402


def happy_faces(heldout_seed: int, heldout_size: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{split: (x (m, 64, 64, 3) float32 in [0, 1], y (m,) int64)}`` for train, test and
    held-out, generated directly (no cache) so that the figures follow the current code."""
    parts = {
        "train": faces.generate_faces(faces.HAPPY_TRAIN_SIZE, faces.HAPPY_TRAIN_SEED),
        "test": faces.generate_faces(faces.HAPPY_TEST_SIZE, faces.HAPPY_TEST_SEED),
        "heldout": faces.generate_faces(heldout_size, heldout_seed),
    }
    return {name: (x.astype(np.float32) / 255.0, y) for name, (x, y) in parts.items()}


def linear_baseline(data: dict[str, tuple[np.ndarray, np.ndarray]], c_values: list[float]) -> None:
    """Fit a logistic regression on raw pixels for each C and print its accuracies."""
    from sklearn.linear_model import LogisticRegression

    flat = {name: (x.reshape(len(x), -1), y) for name, (x, y) in data.items()}
    best = (-1.0, 0.0, 0.0)
    for c in c_values:
        start = time.perf_counter()
        model = LogisticRegression(C=c, max_iter=3000).fit(*flat["train"])
        seconds = time.perf_counter() - start
        scores = {name: model.score(x, y) for name, (x, y) in flat.items()}
        print(
            f"  C={c:<7g} train {scores['train']:.3f}  test {scores['test']:.3f}  "
            f"held-out {scores['heldout']:.3f}  ({seconds:.1f} s)"
        )
        best = max(best, (scores["test"], scores["heldout"], c))
    print(f"  best test accuracy {best[0]:.3f} (C={best[2]:g}, held-out {best[1]:.3f})")


def cnn(data: dict[str, tuple[np.ndarray, np.ndarray]], seed: int) -> tuple[float, float, float]:
    """Train the w4_cnn_build model once; returns (test accuracy, held-out accuracy, seconds)."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((64, 64, 3)),
            layers.ZeroPadding2D(3),
            layers.Conv2D(32, 7),
            layers.BatchNormalization(axis=3),
            layers.ReLU(),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    x, y = data["train"]
    start = time.perf_counter()
    model.fit(x, y, epochs=10, batch_size=16, verbose=0)
    seconds = time.perf_counter() - start
    test = model.evaluate(*data["test"], verbose=0)[1]
    heldout = model.evaluate(*data["heldout"], verbose=0)[1]
    return float(test), float(heldout), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--heldout-seed", type=int, default=3003)
    parser.add_argument("--heldout-size", type=int, default=300)
    parser.add_argument("--c-values", type=float, nargs="+", default=[0.001, 0.01, 0.1, 1.0])
    parser.add_argument("--skip-linear", action="store_true")
    args = parser.parse_args()

    start = time.perf_counter()
    data = happy_faces(args.heldout_seed, args.heldout_size)
    count = sum(len(y) for _, y in data.values())
    print(f"generated {count} faces in {time.perf_counter() - start:.1f} s")

    if not args.skip_linear:
        print("logistic regression on raw pixels:")
        linear_baseline(data, args.c_values)

    print("CNN (10 epochs, batch 16):")
    results = []
    for seed in args.seeds:
        test, heldout, seconds = cnn(data, seed)
        results.append((test, heldout, seconds))
        print(f"  seed {seed}: test {test:.3f}  held-out {heldout:.3f}  training {seconds:.1f} s")
    tests, heldouts, times = zip(*results, strict=True)
    print(
        f"  min test {min(tests):.3f}  min held-out {min(heldouts):.3f}  "
        f"median training {statistics.median(times):.1f} s"
    )


if __name__ == "__main__":
    main()
