"""TrackerConfig.from_mapping (the component's Perception.* keys) and the box geometry helpers."""

import numpy as np
import pytest

from emotion.perception.geometry import box_from_landmarks, box_iou, fit_box_mapping, scale_box
from emotion.perception.tracking import TrackerConfig


def test_from_mapping_parses_strings_and_prefix():
    cfg = TrackerConfig.from_mapping({"Perception.detect_every": "5", "detect_threshold": "-0.5", "max_tracks": 3,
                                      "match_iou": 1})
    assert (cfg.detect_every, cfg.detect_threshold, cfg.max_tracks) == (5, -0.5, 3)
    assert isinstance(cfg.match_iou, float)
    assert TrackerConfig.from_mapping(cfg.to_dict()) == cfg
    assert TrackerConfig.from_mapping({}) == TrackerConfig()


def test_unknown_key_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown tracker config key 'Perception.detectEvery'.*detect_every"):
        TrackerConfig.from_mapping({"Perception.detectEvery": "5"})


@pytest.mark.parametrize("key, value", [
    ("detect_every", "0"), ("detect_every", "1.5"), ("detect_every", "ten"), ("detect_every", True),
    ("window", -45), ("max_missed", "-1"), ("match_iou", "1.5"), ("min_box_iou", -0.1),
    ("detect_threshold", "nan"), ("detect_threshold", "inf"), ("roi_face_px", 40), ("fine_upsample", 4),
    ("max_tracks", 2.0), ("roi_margin", None),
])
def test_bad_values_name_their_key(key, value):
    with pytest.raises(ValueError, match=key):
        TrackerConfig.from_mapping({key: value})


def test_box_iou():
    assert box_iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert box_iou((0, 0, 10, 10), (20, 0, 10, 10)) == 0.0
    assert box_iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert box_iou((0, 0, 0, 10), (0, 0, 10, 10)) == 0.0


def test_scale_box_maps_back_to_the_original():
    assert scale_box((10, 20, 30, 40), 0.5, (100, 200)) == (120, 240, 60, 80)


def test_fit_box_mapping_recovers_a_known_mapping():
    rng = np.random.default_rng(1)
    scale, dx, dy = 1.1, 0.05, -0.08
    landmarks, boxes = [], []
    for _ in range(20):
        pts = rng.uniform(0, 1, (68, 2)) * rng.uniform(50, 200) + rng.uniform(0, 300, 2)
        landmarks.append(pts)
        boxes.append(box_from_landmarks(pts, scale, dx, dy))
    fitted = fit_box_mapping(np.array(boxes), np.stack(landmarks))
    np.testing.assert_allclose(fitted, (scale, dx, dy), atol=0.02)


def test_fit_box_mapping_checks_shapes():
    with pytest.raises(ValueError, match="boxes"):
        fit_box_mapping(np.zeros((0, 4)), np.zeros((0, 68, 2)))
    with pytest.raises(ValueError, match="landmarks"):
        fit_box_mapping(np.zeros((2, 4)), np.zeros((3, 68, 2)))
