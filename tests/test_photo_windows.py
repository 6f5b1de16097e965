"""Windows made from photo stills: scenarios, labels, rest faces, class balance, options."""

import numpy as np
import pytest

from emotion.classes import EMOTIONS, class_index
from emotion.datasets.photo_windows import (NEUTRAL, PhotoWindowConfig, class_offsets, expression_frames,
                                            photo_windows)
from emotion.datasets.windows import WindowSet
from emotion.face68 import LEFT_EYE, RIGHT_EYE
from emotion.normalize import normalize_landmarks

HAPPY, SAD = class_index("Happy"), class_index("Sad")
STILL_MOTION = dict(roll_deg=0.0, yaw_deg=0.0, scale=0.0, shift_iod=0.0, blink_p=0.0)


def _stills(per_class: int = 6, seed: int = 0) -> WindowSet:
    """Faces with eyes apart; every Happy face has its mouth corners (48, 54) raised by 10 px."""
    rng = np.random.default_rng(seed)
    n = per_class * len(EMOTIONS)
    x = rng.normal(0, 3, (n, 1, 68, 2)) + [320.0, 240.0]
    x[:, :, list(RIGHT_EYE), 0] -= 30
    x[:, :, list(LEFT_EYE), 0] += 30
    labels = np.repeat(np.arange(len(EMOTIONS)), per_class)
    x[np.ix_(labels == HAPPY, [0], [48, 54], [1])] -= 10.0
    return WindowSet(x.astype(np.float32), labels, np.array([f"p{i}" for i in range(n)]))


def test_class_offsets_measure_each_expression_against_neutral():
    stills = _stills(per_class=30)
    offsets = class_offsets(stills)
    assert offsets.shape == (len(EMOTIONS), 68, 2) and not offsets[NEUTRAL].any()
    mouth = offsets[HAPPY, [48, 54], 1]
    assert (mouth < -0.1).all() and np.abs(np.delete(offsets[HAPPY], [48, 54], axis=0)).max() < 0.1
    no_neutral = stills.subset(stills.labels != NEUTRAL)
    with pytest.raises(ValueError, match="Neutral photos"):
        class_offsets(no_neutral)


def test_scenarios_label_the_last_frame_and_keep_the_face():
    stills = _stills()
    cfg = PhotoWindowConfig(held_p=0.3, onset_p=0.4, subtle_p=0.3, partial_p=0.0, **STILL_MOTION)
    made = photo_windows(stills, 3000, 20, class_offsets(stills), np.random.default_rng(1), cfg)
    assert made.landmarks.shape == (3000, 20, 68, 2) and made.landmarks.dtype == np.float32
    counts = made.class_counts()
    # photos are drawn class-balanced; subtle windows (30 %) of the expressive photos become Neutral
    assert 0.5 * 600 < counts["Happy"] < 0.9 * 600 and counts["Neutral"] > 600
    assert sum(made.meta["scenarios"].values()) == 3000 and made.meta["scenarios"]["subtle"] > 700
    norm = normalize_landmarks(made.landmarks)
    own = normalize_landmarks(stills.landmarks[:, 0])
    photo = np.array([int(g[1:]) for g in made.groups])          # the photo each window came from
    last_gap = np.abs(norm[:, -1] - own[photo]).max(axis=(1, 2))
    first_gap = np.abs(norm[:, 0] - own[photo]).max(axis=(1, 2))
    expressive = stills.labels[photo] == HAPPY
    kept = made.labels == HAPPY
    # a Happy window ends on its photo (held, or an onset complete before the end) ...
    assert (last_gap[kept] < 1e-4).all()
    # ... and a Happy onset starts from the rest face, where the mouth corners sit lower
    moved = kept & (first_gap > 1e-3)
    assert moved.sum() > 100 and (norm[moved, 0, 48, 1] > own[photo[moved], 48, 1]).all()
    # subtle windows of a Happy photo end close to its rest face, not on the photo
    subtle = expressive & (made.labels == NEUTRAL)
    assert subtle.any() and (last_gap[subtle] > 0.05).all()
    # Neutral photos end on themselves whatever moved before
    resting = stills.labels[photo] == NEUTRAL
    assert (made.labels[resting] == NEUTRAL).all() and (last_gap[resting & (made.labels == NEUTRAL)] < 0.3).all()


def test_partial_onsets_end_at_least_halfway_and_motion_moves_the_head():
    stills = _stills()
    offsets = class_offsets(stills)
    weight = np.linspace(0, 1, 30)[None]
    still = stills.landmarks[stills.labels == HAPPY][:1, 0]
    frames = expression_frames(still, np.array([HAPPY]), weight, offsets, np.array([False]),
                               np.random.default_rng(0), PhotoWindowConfig(**STILL_MOTION), np.ones(1))
    np.testing.assert_allclose(frames[0, -1], still[0], atol=1e-3)
    mouth_y = frames[0, :, 48, 1]
    assert (np.diff(mouth_y) <= 1e-3).all() and mouth_y[0] - mouth_y[-1] > 5
    moving = expression_frames(still, np.array([HAPPY]), np.ones((1, 30)), offsets, np.array([False]),
                               np.random.default_rng(0), PhotoWindowConfig(blink_p=0.0, yaw_deg=20.0, shift_iod=0.3))
    drift = np.abs(moving[0] - moving[0, :1]).max()
    assert 1.0 < drift < 60.0


def test_options_are_checked():
    with pytest.raises(ValueError, match="add up to 1"):
        PhotoWindowConfig(held_p=0.5, onset_p=0.5, subtle_p=0.5)
    with pytest.raises(ValueError, match="unknown photo window options"):
        PhotoWindowConfig.from_dict({"hold_p": 0.2})
    assert PhotoWindowConfig.from_dict({"onset_frames": [2, 9]}).onset_frames == (2, 9)
    with pytest.raises(ValueError, match="count"):
        photo_windows(_stills(), 0, 10, class_offsets(_stills()), np.random.default_rng(0))
