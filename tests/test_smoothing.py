"""Smoothing: EMA in time, hysteresis on the label."""

import numpy as np
import pytest

from emotion.smoothing import SmoothingConfig, TrackSmoother


def test_first_observation_passes_through_and_label_is_argmax():
    s = TrackSmoother()
    out = s.update(np.array([0.1, 0.6, 0.1, 0.1, 0.1]), 0)
    np.testing.assert_allclose(out, [0.1, 0.6, 0.1, 0.1, 0.1], atol=1e-6)
    assert s.label_index == 1


def test_single_outlier_frame_does_not_flip_the_label():
    s = TrackSmoother(SmoothingConfig(time_constant_ms=200, switch_margin=0.1))
    happy, sad = np.array([0.8, 0.05, 0.05, 0.05, 0.05]), np.array([0.05, 0.8, 0.05, 0.05, 0.05])
    for t in range(10):
        s.update(happy, t * 33)
    s.update(sad, 330)
    assert s.label_index == 0
    for t in range(11, 40):  # a held new expression wins within about a second
        s.update(sad, t * 33)
    assert s.label_index == 1


def test_hysteresis_holds_label_in_a_near_tie():
    s = TrackSmoother(SmoothingConfig(time_constant_ms=0, switch_margin=0.2))
    s.update(np.array([0.5, 0.4, 0.1, 0, 0]), 0)
    s.update(np.array([0.42, 0.48, 0.1, 0, 0]), 33)
    assert s.label_index == 0
    s.update(np.array([0.2, 0.7, 0.1, 0, 0]), 66)
    assert s.label_index == 1


def test_repeated_timestamp_still_counts_and_bad_config_is_refused():
    s = TrackSmoother(SmoothingConfig(time_constant_ms=100))
    s.update(np.array([1.0, 0, 0, 0, 0]), 5)
    out = s.update(np.array([0, 1.0, 0, 0, 0]), 5)
    assert 0 < out[1] < 1
    with pytest.raises(ValueError, match="switch_margin"):
        SmoothingConfig(switch_margin=1.5)
    with pytest.raises(ValueError, match="time_constant_ms"):
        SmoothingConfig(time_constant_ms=float("nan"))
