"""Smoothing: EMA in time (fixed or adapting to the change), hysteresis on the label."""

import numpy as np
import pytest

from emotion.smoothing import SmoothingConfig, TrackSmoother


def test_first_observation_passes_through_and_label_is_argmax():
    s = TrackSmoother()
    out = s.update(np.array([0.1, 0.6, 0.1, 0.1, 0.1]), 0)
    np.testing.assert_allclose(out, [0.1, 0.6, 0.1, 0.1, 0.1], atol=1e-6)
    assert s.label_index == 1


def test_single_outlier_frame_does_not_flip_the_label():
    s = TrackSmoother(SmoothingConfig(time_constant_ms=200, switch_margin=0.1, fast_change=0.0, stay_ms=0.0))
    happy, sad = np.array([0.8, 0.05, 0.05, 0.05, 0.05]), np.array([0.05, 0.8, 0.05, 0.05, 0.05])
    for t in range(10):
        s.update(happy, t * 33)
    s.update(sad, 330)
    assert s.label_index == 0
    for t in range(11, 40):  # a held new expression wins within about a second
        s.update(sad, t * 33)
    assert s.label_index == 1


def test_hysteresis_holds_label_in_a_near_tie():
    s = TrackSmoother(SmoothingConfig(time_constant_ms=0, switch_margin=0.2, stay_ms=0.0))
    s.update(np.array([0.5, 0.4, 0.1, 0, 0]), 0)
    s.update(np.array([0.42, 0.48, 0.1, 0, 0]), 33)
    assert s.label_index == 0
    s.update(np.array([0.2, 0.7, 0.1, 0, 0]), 66)
    assert s.label_index == 1


def test_repeated_timestamp_still_counts_and_bad_config_is_refused():
    s = TrackSmoother(SmoothingConfig(time_constant_ms=100, fast_change=0.0, stay_ms=0.0))
    s.update(np.array([1.0, 0, 0, 0, 0]), 5)
    out = s.update(np.array([0, 1.0, 0, 0, 0]), 5)
    assert 0 < out[1] < 1
    with pytest.raises(ValueError, match="switch_margin"):
        SmoothingConfig(switch_margin=1.5)
    with pytest.raises(ValueError, match="time_constant_ms"):
        SmoothingConfig(time_constant_ms=float("nan"))
    with pytest.raises(ValueError, match="fast_change"):
        SmoothingConfig(fast_change=-0.1)
    with pytest.raises(ValueError, match="stay_ms"):
        SmoothingConfig(stay_ms=-1.0)
    with pytest.raises(ValueError, match="evidence"):
        SmoothingConfig(evidence=0.0)


def _steps_to_follow(config: SmoothingConfig, old: np.ndarray, new: np.ndarray) -> int:
    """Frames at 30 fps until the label follows a step change from ``old`` to ``new``."""
    s = TrackSmoother(config)
    for t in range(10):
        s.update(old, t * 33.3)
    for k in range(1, 100):
        s.update(new, (10 + k) * 33.3)
        if s.label_index == int(np.argmax(new)):
            return k
    return 100


def test_adaptive_time_constant_follows_an_onset_fast_and_averages_jitter():
    neutral, happy = np.array([0.05, 0.05, 0.8, 0.05, 0.05]), np.array([0.8, 0.05, 0.05, 0.05, 0.05])
    fixed, adaptive = SmoothingConfig(300.0, 0.0, 0.0, 0.0), SmoothingConfig(300.0, 0.0, 0.1, 0.0)
    assert _steps_to_follow(adaptive, neutral, happy) == 1 < _steps_to_follow(fixed, neutral, happy) == 6
    # small jitter around a held expression is averaged about as much as by the fixed EMA
    rng = np.random.default_rng(0)
    noisy = happy + rng.normal(0, 0.02, (60, 5))
    spread = {}
    for name, config in (("fixed", fixed), ("adaptive", adaptive)):
        s = TrackSmoother(config)
        out = np.array([s.update(p, t * 33.3) for t, p in enumerate(noisy)])
        spread[name] = out[20:, 0].std()
    assert spread["adaptive"] < 1.6 * spread["fixed"] < noisy[20:, 0].std()


def test_held_marks_a_label_that_is_not_the_top_class():
    s = TrackSmoother(SmoothingConfig(time_constant_ms=0, switch_margin=0.2, stay_ms=0.0))
    s.update(np.array([0.5, 0.4, 0.1, 0, 0]), 0)
    assert not s.held
    s.update(np.array([0.42, 0.48, 0.1, 0, 0]), 33)
    assert s.label_index == 0 and s.held
    plain = TrackSmoother(SmoothingConfig(time_constant_ms=200))
    for t, p in enumerate(np.random.default_rng(1).dirichlet(np.ones(5), 50)):
        plain.update(p, t * 33)
        assert not plain.held and plain.label_index == int(np.argmax(plain.probabilities))


def test_state_filter_keeps_a_jittered_near_tie_and_follows_a_clear_change():
    rng = np.random.default_rng(2)
    tie = np.array([0.05, 0.05, 0.47, 0.38, 0.05])                  # Neutral just ahead of Anger
    noisy = np.clip(tie + rng.normal(0, 0.08, (90, 5)), 0.01, None)
    noisy /= noisy.sum(1, keepdims=True)
    flips = {}
    for name, config in (("raw", SmoothingConfig(0.0, 0.0, 0.0, 0.0)), ("filter", SmoothingConfig())):
        s = TrackSmoother(config)
        labels = []
        for t, p in enumerate(noisy):
            shown = s.update(p, t * 33.3)
            assert s.label_index == int(np.argmax(shown)) and abs(shown.sum() - 1) < 1e-5
            labels.append(s.label_index)
        flips[name] = int((np.diff(labels) != 0).sum())
    assert flips["raw"] > 10 and flips["filter"] <= flips["raw"] // 4
    neutral, happy = np.array([0.05, 0.05, 0.8, 0.05, 0.05]), np.array([0.8, 0.05, 0.05, 0.05, 0.05])
    assert _steps_to_follow(SmoothingConfig(), neutral, happy) <= 4
