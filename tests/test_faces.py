"""The procedural faces of graders.faces: deterministic, well-formed, cached safely, and
with the expression drawn where it belongs (the mouth and the brows)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import h5py
import numpy as np
import pytest

from graders import faces


def _count_calls(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    """Replace ``faces.<name>`` by a wrapper that records each call; returns the record."""
    calls: list[int] = []
    original = getattr(faces, name)

    def wrapper(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(faces, name, wrapper)
    return calls


@pytest.fixture
def small_happy_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shrink the course's set to 8 training and 4 test faces, so generating it is instant."""
    monkeypatch.setattr(faces, "HAPPY_TRAIN_SIZE", 8)
    monkeypatch.setattr(faces, "HAPPY_TEST_SIZE", 4)


def _forbid_generation(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("the cached file should have been used")

    monkeypatch.setattr(faces, "generate_faces", refuse)


def test_same_seed_gives_identical_bytes():
    x1, y1 = faces.generate_faces(12, seed=3)
    x2, y2 = faces.generate_faces(12, seed=3)
    assert x1.tobytes() == x2.tobytes()
    np.testing.assert_array_equal(y1, y2)


def test_different_seeds_give_different_images():
    x1, _ = faces.generate_faces(12, seed=3)
    x2, _ = faces.generate_faces(12, seed=4)
    assert all(not np.array_equal(a, b) for a, b in zip(x1, x2, strict=True))


def test_generate_faces_returns_uint8_images_and_int64_labels():
    x, y = faces.generate_faces(6, seed=0)
    assert x.shape == (6, 64, 64, 3) and x.dtype == np.uint8
    assert y.shape == (6,) and y.dtype == np.int64
    assert set(np.unique(y)) <= {0, 1}
    small, _ = faces.generate_faces(3, seed=0, size=32)
    assert small.shape == (3, 32, 32, 3) and small.dtype == np.uint8


def test_images_use_the_whole_range_of_colours():
    x, _ = faces.generate_faces(6, seed=1)
    for image in x:
        assert image.std() > 20
        assert image.max() - image.min() > 150


@pytest.mark.parametrize("n", [2, 9, 40])
def test_exactly_half_the_faces_are_happy_in_random_order(n: int):
    _, y = faces.generate_faces(n, seed=5)
    assert int(y.sum()) == n // 2
    if n >= 40:
        assert not np.array_equal(y, np.sort(y)) and not np.array_equal(y, np.sort(y)[::-1])


def test_every_face_shows_a_new_identity(monkeypatch: pytest.MonkeyPatch):
    calls = _count_calls(monkeypatch, "sample_identity")
    faces.generate_faces(7, seed=2)
    assert len(calls) == 7


def test_labels_match_the_expressions_drawn(monkeypatch: pytest.MonkeyPatch):
    views: list[faces.View] = []
    original = faces.sample_view

    def recording(rng, expression=None):
        view = original(rng, expression)
        views.append(view)
        return view

    monkeypatch.setattr(faces, "sample_view", recording)
    _, y = faces.generate_faces(20, seed=8)
    assert [view.label for view in views] == y.tolist()
    assert {view.expression for view in views if view.label == 0} <= set(faces.NOT_HAPPY)


def test_sample_view_accepts_labels_names_or_nothing():
    rng = np.random.default_rng(0)
    assert faces.sample_view(rng, 1).expression == "happy"
    not_happy = {faces.sample_view(rng, 0).expression for _ in range(30)}
    assert not_happy == set(faces.NOT_HAPPY)
    assert faces.sample_view(rng, "angry").expression == "angry"
    random_labels = [faces.sample_view(rng).label for _ in range(40)]
    assert 0 < sum(random_labels) < 40
    for wrong in (2, -1, "surprised"):
        with pytest.raises(ValueError, match="expression"):
            faces.sample_view(rng, wrong)


def test_identity_and_view_are_frozen_and_render_deterministically():
    rng = np.random.default_rng(4)
    identity, view = faces.sample_identity(rng), faces.sample_view(rng, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        identity.skin = (0.0, 0.0, 0.0)  # type: ignore[misc]
    first = faces.render_face(identity, view)
    assert first.shape == (64, 64, 3) and first.dtype == np.uint8
    assert np.array_equal(first, faces.render_face(identity, view))
    assert faces.render_face(identity, view, size=48).shape == (48, 48, 3)


def _frontal(view: faces.View, **changes) -> faces.View:
    """The same view, centred, upright and at a fixed scale, with ``changes`` applied."""
    return dataclasses.replace(view, centre=(0.0, 0.1), scale=1.3, angle=0.0, **changes)


def _box(points: list[np.ndarray], pad: float, shape: tuple[int, int]) -> np.ndarray:
    """Boolean ``(size, size)`` mask of the bounding box of ``points`` widened by ``pad``."""
    rows, cols = np.array([p[0] for p in points]), np.array([p[1] for p in points])
    mask = np.zeros(shape, dtype=bool)
    r0, r1 = int(np.floor(rows.min() - pad)), int(np.ceil(rows.max() + pad)) + 1
    c0, c1 = int(np.floor(cols.min() - pad)), int(np.ceil(cols.max() + pad)) + 1
    mask[max(r0, 0) : r1, max(c0, 0) : c1] = True
    return mask


@pytest.mark.parametrize("other", ["neutral", "sad", "angry"])
def test_expression_changes_the_mouth_and_brows_and_nothing_else(other: str):
    rng = np.random.default_rng(11)
    for _ in range(4):
        identity = faces.sample_identity(rng)
        base = _frontal(faces.sample_view(rng, 1), strength=1.0, mouth_open=0.0)
        views = [base, dataclasses.replace(base, expression=other)]
        happy, unhappy = (faces.render_face(identity, view) for view in views)
        changed = np.abs(happy.astype(int) - unhappy.astype(int)).max(axis=2) > 0
        marks = [faces.landmarks(identity, view) for view in views]
        mouth = _box(
            [m[k] for m in marks for k in ("mouth", "mouth_left", "mouth_right")], 4, (64, 64)
        )
        brow_reach = identity.brow_length * base.scale * 32 + 3
        brows = _box(
            [m[k] for m in marks for k in ("left_brow", "right_brow")], brow_reach, (64, 64)
        )
        assert not changed[~(mouth | brows)].any()
        strongly = np.abs(happy.astype(int) - unhappy.astype(int)).max(axis=2) > 40
        assert strongly[mouth].sum() >= 40


def test_a_smile_raises_the_mouth_corners_and_a_frown_lowers_them():
    rng = np.random.default_rng(12)
    identity = faces.sample_identity(rng)
    view = _frontal(faces.sample_view(rng, 1))
    for expression, sign in [("happy", -1), ("sad", 1), ("angry", 1)]:
        marks = faces.landmarks(identity, dataclasses.replace(view, expression=expression))
        for corner in ("mouth_left", "mouth_right"):
            # Rows grow downwards: a raised corner has a smaller row than the middle.
            assert np.sign(marks[corner][0] - marks["mouth"][0]) == sign


def test_landmarks_follow_the_view_transform():
    rng = np.random.default_rng(13)
    identity = faces.sample_identity(rng)
    view = _frontal(faces.sample_view(rng, 0))
    upright = faces.landmarks(identity, view)
    tilted = faces.landmarks(identity, dataclasses.replace(view, angle=10.0))
    # Rotating clockwise on screen lowers the right eye and raises the left one.
    assert tilted["right_eye"][0] > upright["right_eye"][0]
    assert tilted["left_eye"][0] < upright["left_eye"][0]
    moved = faces.landmarks(identity, dataclasses.replace(view, centre=(0.25, 0.1)))
    np.testing.assert_allclose(moved["nose"] - upright["nose"], [0.0, 0.25 * 32])


def test_generate_identity_faces_groups_several_views_of_each_person():
    x, ids = faces.generate_identity_faces(3, 4, seed=6, size=48)
    assert x.shape == (12, 48, 48, 3) and x.dtype == np.uint8
    assert ids.dtype == np.int64 and ids.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert len({image.tobytes() for image in x}) == 12
    again, _ = faces.generate_identity_faces(3, 4, seed=6, size=48)
    assert x.tobytes() == again.tobytes()


def test_views_of_one_identity_share_its_traits(monkeypatch: pytest.MonkeyPatch):
    identities: list[faces.Identity] = []
    original = faces.sample_identity

    def recording(rng):
        identity = original(rng)
        identities.append(identity)
        return identity

    renders: list[faces.Identity] = []
    original_render = faces.render_face

    def render(identity, view, size=64):
        renders.append(identity)
        return original_render(identity, view, size)

    monkeypatch.setattr(faces, "sample_identity", recording)
    monkeypatch.setattr(faces, "render_face", render)
    faces.generate_identity_faces(2, 3, seed=1, size=32)
    assert len(identities) == 2
    assert renders == [identities[0]] * 3 + [identities[1]] * 3


def test_the_course_set_has_the_documented_layout(tmp_path: Path):
    path = faces.happy_faces_path(tmp_path)
    assert path.parent == tmp_path
    with h5py.File(path, "r") as f:
        assert f.attrs["generator_version"] == faces.GENERATOR_VERSION
        assert f["train_x"].shape == (600, 64, 64, 3) and f["train_x"].dtype == np.uint8
        assert f["train_y"].shape == (600,) and f["train_y"].dtype == np.uint8
        assert f["test_x"].shape == (150, 64, 64, 3) and f["test_x"].dtype == np.uint8
        assert f["test_y"].shape == (150,) and f["test_y"].dtype == np.uint8
        assert [c.decode() for c in f["classes"][()]] == list(faces.CLASSES)
    train_x, train_y, test_x, test_y, classes = faces.load_happy_faces(tmp_path)
    assert train_x.shape == (600, 64, 64, 3) and train_x.dtype == np.uint8
    assert train_y.shape == (600, 1) and train_y.dtype == np.int64
    assert test_x.shape == (150, 64, 64, 3) and test_y.shape == (150, 1)
    assert int(train_y.sum()) == 300 and int(test_y.sum()) == 75
    assert classes.tolist() == ["not happy", "happy"] and classes.dtype.kind == "U"
    train_rows = {image.tobytes() for image in train_x}
    assert not any(image.tobytes() in train_rows for image in test_x)


def test_load_returns_exactly_the_generated_faces(tmp_path: Path, small_happy_set):
    train_x, train_y, test_x, test_y, _ = faces.load_happy_faces(tmp_path)
    expected_train = faces.generate_faces(8, faces.HAPPY_TRAIN_SEED)
    expected_test = faces.generate_faces(4, faces.HAPPY_TEST_SEED)
    np.testing.assert_array_equal(train_x, expected_train[0])
    np.testing.assert_array_equal(train_y[:, 0], expected_train[1])
    np.testing.assert_array_equal(test_x, expected_test[0])
    np.testing.assert_array_equal(test_y[:, 0], expected_test[1])


def test_a_second_load_reads_the_cache(
    tmp_path: Path, small_happy_set, monkeypatch: pytest.MonkeyPatch
):
    first = faces.load_happy_faces(tmp_path)
    path = tmp_path / faces.HAPPY_FILE_NAME
    stamp = path.stat().st_mtime_ns
    _forbid_generation(monkeypatch)
    second = faces.load_happy_faces(tmp_path)
    assert path.stat().st_mtime_ns == stamp
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_corrupt_file_is_regenerated(
    tmp_path: Path, small_happy_set, monkeypatch: pytest.MonkeyPatch
):
    path = tmp_path / faces.HAPPY_FILE_NAME
    path.write_bytes(b"\x89HDF\r\n\x1a\n truncated")
    calls = _count_calls(monkeypatch, "generate_faces")
    train_x, *_ = faces.load_happy_faces(tmp_path)
    assert len(calls) == 2 and train_x.shape == (8, 64, 64, 3)
    with h5py.File(path, "r") as f:
        assert f.attrs["generator_version"] == faces.GENERATOR_VERSION


def test_a_file_of_another_generator_version_is_regenerated(
    tmp_path: Path, small_happy_set, monkeypatch: pytest.MonkeyPatch
):
    path = faces.happy_faces_path(tmp_path)
    with h5py.File(path, "a") as f:
        f.attrs["generator_version"] = "0"
        f["train_x"][...] = 0
    calls = _count_calls(monkeypatch, "generate_faces")
    train_x, *_ = faces.load_happy_faces(tmp_path)
    assert len(calls) == 2 and train_x.any()
    with h5py.File(path, "r") as f:
        assert f.attrs["generator_version"] == faces.GENERATOR_VERSION


def test_a_file_with_the_wrong_layout_is_regenerated(
    tmp_path: Path, small_happy_set, monkeypatch: pytest.MonkeyPatch
):
    path = faces.happy_faces_path(tmp_path)
    with h5py.File(path, "a") as f:
        del f["test_y"]
    calls = _count_calls(monkeypatch, "generate_faces")
    *_, test_y, _ = faces.load_happy_faces(tmp_path)
    assert len(calls) == 2 and test_y.shape == (4, 1)


def test_a_failed_write_leaves_no_file_behind(
    tmp_path: Path, small_happy_set, monkeypatch: pytest.MonkeyPatch
):
    def broken_replace(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(faces.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        faces.happy_faces_path(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_two_concurrent_first_uses_both_get_a_complete_file(tmp_path: Path, small_happy_set):
    results: list[tuple[np.ndarray, ...]] = []
    errors: list[BaseException] = []

    def load() -> None:
        try:
            results.append(faces.load_happy_faces(tmp_path))
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=load) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(results) == 2
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(a, b)
    assert [p.name for p in tmp_path.iterdir()] == [faces.HAPPY_FILE_NAME]


def test_the_cache_folder_comes_from_dlgrade_cache(
    tmp_path: Path, small_happy_set, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("DLGRADE_CACHE", str(tmp_path / "course-cache"))
    assert faces.happy_faces_path() == tmp_path / "course-cache" / faces.HAPPY_FILE_NAME
    assert faces.load_happy_faces()[0].shape == (8, 64, 64, 3)


def test_the_default_cache_folder_is_in_the_home_cache(
    tmp_path: Path, small_happy_set, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("DLGRADE_CACHE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    expected = tmp_path / ".cache" / "dlgrade" / faces.HAPPY_FILE_NAME
    assert faces.happy_faces_path() == expected and expected.is_file()


def test_an_unwritable_cache_folder_falls_back_to_the_temporary_directory(
    tmp_path: Path, small_happy_set, monkeypatch: pytest.MonkeyPatch
):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("DLGRADE_CACHE", str(blocker / "cache"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    path = faces.happy_faces_path()
    assert path.parent.parent == tmp_path / "tmp" and path.is_file()
    _forbid_generation(monkeypatch)
    assert faces.happy_faces_path() == path


def test_importing_faces_imports_numpy_only():
    code = (
        "import sys, graders.faces; "
        "print(sorted(m for m in ('h5py', 'scipy', 'PIL', 'sklearn', 'tensorflow') "
        "if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip() == "[]"
