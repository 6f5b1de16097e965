"""The shared basics: class list, iBUG layout, normalisation, window files."""

import numpy as np
import pytest

from emotion.classes import EMOTIONS, class_index
from emotion.datasets.windows import WindowSet
from emotion.face68 import MIRROR, NUM_LANDMARKS, PARTS, inter_ocular_distance
from emotion.normalize import NormalizationConfig, normalize_landmarks


def test_class_order_and_lookup():
    assert EMOTIONS == ("Happy", "Sad", "Neutral", "Anger", "Surprise")
    assert class_index(" anger ") == 3
    with pytest.raises(ValueError, match="expected one of"):
        class_index("disgust")


def test_parts_cover_all_landmarks_once_and_mirror_is_involution():
    covered = sorted(i for idx in PARTS.values() for i in idx)
    assert covered == list(range(NUM_LANDMARKS))
    assert np.array_equal(MIRROR[MIRROR], np.arange(NUM_LANDMARKS))
    assert MIRROR[36] == 45 and MIRROR[48] == 54 and MIRROR[30] == 30


def _face(rng: np.random.Generator) -> np.ndarray:
    pts = rng.normal(size=(NUM_LANDMARKS, 2))
    pts[36:42] += [-1.0, 0.0]
    pts[42:48] += [1.0, 0.0]
    return pts


def test_normalisation_removes_translation_scale_and_roll():
    rng = np.random.default_rng(0)
    face = _face(rng)
    angle = 0.4
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = face @ rot.T * 3.7 + [120.0, -40.0]
    a, b = normalize_landmarks(face), normalize_landmarks(moved)
    np.testing.assert_allclose(a, b, atol=1e-4)
    assert inter_ocular_distance(a) == pytest.approx(1.0, abs=1e-5)
    right, left = a[36:42].mean(0), a[42:48].mean(0)
    assert abs(right[1] - left[1]) < 1e-5 and right[0] < left[0]


def test_normalisation_keeps_roll_when_asked_and_zeroes_degenerate_frames():
    rng = np.random.default_rng(1)
    window = np.stack([_face(rng) for _ in range(4)])
    window[2] = 5.0  # all points equal: no eye distance
    out = normalize_landmarks(window, NormalizationConfig(remove_roll=False))
    assert out.shape == (4, NUM_LANDMARKS, 2) and out.dtype == np.float32
    assert np.all(out[2] == 0) and np.all(np.isfinite(out))
    with pytest.raises(ValueError, match="expected landmarks"):
        normalize_landmarks(np.zeros((10, 2)))


def test_window_set_round_trip_and_validation(tmp_path):
    rng = np.random.default_rng(2)
    ws = WindowSet(rng.normal(size=(6, 45, 68, 2)), [0, 1, 2, 3, 4, 0], list("aabbcc"), meta={"src": "t"})
    loaded = WindowSet.load(ws.save(tmp_path / "w.npz"))
    assert len(loaded) == 6 and loaded.window == 45 and loaded.meta == {"src": "t"}
    assert loaded.class_counts()["Happy"] == 2
    np.testing.assert_allclose(loaded.landmarks, ws.landmarks, atol=1e-2, rtol=1e-3)
    both = WindowSet.concatenate([ws, loaded.subset(loaded.labels == 0)])
    assert len(both) == 8
    with pytest.raises(ValueError, match="labels must lie"):
        WindowSet(np.zeros((1, 45, 68, 2)), [7], ["x"])
    with pytest.raises(ValueError, match="not a window file"):
        (tmp_path / "bad.npz").write_bytes(b"garbage")
        WindowSet.load(tmp_path / "bad.npz")
