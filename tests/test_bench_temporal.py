"""bench temporal: causal windows, onset delay, held flips, and the command on the shipped weights."""

import json
import subprocess
import sys

import numpy as np
import pytest

from emotion.bench.temporal import (FPS, Sequence, causal_windows, onset_delay_ms, score, smoothed_labels)
from emotion.classes import EMOTIONS, class_index
from emotion.datasets.windows import WindowSet
from emotion.face68 import LEFT_EYE, RIGHT_EYE
from emotion.paths import REPO_ROOT
from emotion.smoothing import SmoothingConfig

HAPPY, NEUTRAL = class_index("Happy"), class_index("Neutral")


def test_causal_windows_are_what_the_buffer_holds():
    frames = np.arange(5, dtype=np.float32)[:, None, None] * np.ones((5, 68, 2), np.float32)
    windows = causal_windows(frames, 3)
    assert windows.shape == (5, 3, 68, 2)
    assert windows[:, :, 0, 0].tolist() == [[0, 0, 0], [0, 0, 1], [0, 1, 2], [1, 2, 3], [2, 3, 4]]


def _step(frames: int, at: int, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """Neutral probabilities turning into Happy ones at frame ``at``. Shape: -> (frames, 5)."""
    p = np.full((frames, len(EMOTIONS)), 0.05)
    p[:at, NEUTRAL], p[at:, HAPPY] = 0.8, 0.8
    p += np.random.default_rng(seed).normal(0, noise, p.shape)
    return p / p.sum(1, keepdims=True)


def test_onset_delay_and_flips_are_measured_against_the_apex():
    labels = np.array([NEUTRAL] * 10 + [HAPPY] * 2 + [NEUTRAL] + [HAPPY] * 10)
    assert onset_delay_ms(labels, apex=10, target=HAPPY, search_from=0) == pytest.approx(3 * 1000 / FPS)
    assert onset_delay_ms(labels[:12], apex=10, target=HAPPY, search_from=0) == float("inf")
    probs = _step(90, 30)
    truth = np.where(np.arange(90) >= 30, HAPPY, NEUTRAL)
    held = np.arange(90) >= 45
    seq = Sequence(probs, truth, held, 30, HAPPY, 20, "test")
    raw = score([seq], SmoothingConfig(0.0, 0.0, 0.0, 0.0))
    assert raw["onset_delay_ms_median"] == 0.0 and raw["onset_within_150ms"] == 1.0
    assert raw["onset_at_apex"] == 1.0
    assert raw["held_flips_per_min"] == 0.0 and raw["held_accuracy"] == 1.0
    slow = score([seq], SmoothingConfig(1000.0, 0.0, 0.0, 0.0))
    assert slow["onset_delay_ms_median"] > 500 and slow["onset_within_150ms"] == 0.0
    assert slow["onset_at_apex"] == 0.0
    late = Sequence(probs, truth, held, 29, HAPPY, 20, "apex a frame before the change")
    assert score([late], SmoothingConfig(0.0, 0.0, 0.0, 0.0))["onset_at_apex"] == 0.0


def test_smoothing_trades_flicker_against_delay():
    probs = _step(600, 300, noise=0.25, seed=1)
    truth = np.where(np.arange(600) >= 300, HAPPY, NEUTRAL)
    seq = Sequence(probs, truth, np.arange(600) >= 320, 300, HAPPY, 250, "noisy")
    raw, smooth = (score([seq], c) for c in (SmoothingConfig(0.0, 0.0, 0.0, 0.0), SmoothingConfig(300.0, 0.0, 0.0, 0.0)))
    assert raw["held_flips_per_min"] > 10 * max(smooth["held_flips_per_min"], 0.1)
    assert smooth["onset_delay_ms_median"] > raw["onset_delay_ms_median"]
    assert (smoothed_labels(np.full((3, 5), np.nan), SmoothingConfig()) == -1).all()


def test_command_runs_on_the_shipped_weights(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(0, 2, (10, 1, 68, 2)) + [320.0, 240.0]
    x[:, :, list(RIGHT_EYE), 0] -= 30
    x[:, :, list(LEFT_EYE), 0] += 30
    WindowSet(x.astype(np.float32), np.arange(10) % 5, [f"p{i}" for i in range(10)]).save(tmp_path / "stills.npz")
    done = subprocess.run([sys.executable, "-m", "emotion", "bench", "temporal", "--stills", str(tmp_path / "stills.npz"),
                           "--per-class", "1", "--media", str(tmp_path / "none"), "--json"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "real clips skipped" in done.stderr
    rows = json.loads(done.stdout)["photo sequences"]
    assert len(rows) >= 5 and all(r["figures"]["onsets"] == 4 for r in rows)
    assert all(r["figures"]["held_minutes"] > 0 for r in rows)
