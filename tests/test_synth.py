"""Synthetic window generator: shapes, balance, determinism, label rule and iBUG geometry."""

from dataclasses import replace

import numpy as np
import pytest

from emotion.classes import EMOTIONS, class_index
from emotion.paths import sfm_dir

pytestmark = pytest.mark.skipif(not (sfm_dir() / "sfm_shape_3448.bin").is_file(),
                                reason=f"Surrey Face Model not found at {sfm_dir()}")

from emotion.datasets import synth  # noqa: E402
from emotion.normalize import normalize_landmarks  # noqa: E402

FRONTAL = synth.SynthConfig(yaw=0, pitch=0, roll=0, drift=0, shift_px=0, jitter=(0, 0), face_jitter=0,
                            talk_prob=0, blink_rate_hz=0, distractor_prob=0, neutral_scenarios={"calm": 1.0},
                            emotion_scenarios={"held": 1.0}, intensity=(1.0, 1.0))


@pytest.fixture(scope="module")
def windows():
    return synth.generate_windows(60, seed=3, window=12, progress=False)


def test_shapes_dtype_balance_groups(windows):
    assert windows.landmarks.shape == (60, 12, 68, 2) and windows.landmarks.dtype == np.float32
    assert set(windows.class_counts().values()) == {12}
    assert all(g.startswith("synth-3-") for g in windows.groups)
    assert len(set(windows.groups)) < len(windows)            # identities are shared by several windows
    assert windows.meta["seed"] == 3 and windows.meta["config"]["label_threshold"] == 0.35
    w, h = synth.SynthConfig().image_size
    assert np.all(windows.landmarks[..., 0] > 0) and np.all(windows.landmarks[..., 0] < w)
    assert np.all(windows.landmarks[..., 1] > 0) and np.all(windows.landmarks[..., 1] < h)
    iod = np.linalg.norm(windows.landmarks[:, :, 42:48].mean(2) - windows.landmarks[:, :, 36:42].mean(2), axis=-1)
    assert 15 < iod.min() and iod.max() < 150


def test_deterministic_per_seed_and_seeds_differ(windows):
    again = synth.generate_windows(60, seed=3, window=12, progress=False)
    other = synth.generate_windows(60, seed=4, window=12, progress=False)
    assert np.array_equal(again.landmarks, windows.landmarks) and np.array_equal(again.labels, windows.labels)
    assert not np.allclose(other.landmarks, windows.landmarks)


def test_frames_move_within_a_window(windows):
    norm = normalize_landmarks(windows.landmarks)
    assert np.abs(np.diff(norm, axis=1)).mean() > 1e-3


def test_geometry_sanity():
    ws = synth.generate_windows(25, seed=0, config=FRONTAL, window=2, progress=False)
    x = ws.landmarks[:, -1]
    eye_y = x[:, 36:48, 1].mean(1)
    assert np.all(eye_y < x[:, 30, 1]) and np.all(x[:, 30, 1] < x[:, 48:68, 1].mean(1))  # image y is down
    assert np.all(x[:, 42:48, 0].mean(1) > x[:, 36:42, 0].mean(1))     # left eye on the image right
    assert np.all(x[:, 17:27, 1].mean(1) < eye_y) and np.all(x[:, 8, 1] > x[:, 57, 1])  # brows up, chin down
    norm = normalize_landmarks(x)

    def mean_of(name: str, f) -> float:
        return float(f(norm[ws.labels == class_index(name)]).mean())

    def width(n):
        return np.linalg.norm(n[:, 54] - n[:, 48], axis=-1)

    def brow_height(n):
        return -n[:, 17:27, 1].mean(1)

    def opening(n):
        return n[:, 66, 1] - n[:, 62, 1]

    assert mean_of("Happy", width) > mean_of("Neutral", width) + 0.1
    assert mean_of("Surprise", brow_height) > mean_of("Neutral", brow_height) + 0.05
    assert mean_of("Surprise", opening) > mean_of("Neutral", opening) + 0.1
    inner_brow_gap = lambda n: n[:, 22, 0] - n[:, 21, 0]  # noqa: E731
    assert mean_of("Anger", inner_brow_gap) < mean_of("Neutral", inner_brow_gap)


def test_crying_and_squeezed_eyes_follow_the_emotion():
    """Crying Sad faces: eyes squeezed, lips stretched wide and pressed shut; Duchenne smiles narrow the eyes."""
    def make(**changes):
        ws = synth.generate_windows(25, seed=0, config=replace(FRONTAL, **changes), window=2, progress=False)
        norm = normalize_landmarks(ws.landmarks[:, -1])
        return lambda name, f: float(f(norm[ws.labels == class_index(name)]).mean())

    plain = make(squeeze_prob={}, cry_prob=0.0)
    strong = make(squeeze_prob={"happiness": 1.0, "sadness": 1.0}, squeeze=(0.8, 0.8), cry_prob=1.0)

    def eye_opening(n):
        return (n[:, 41, 1] - n[:, 37, 1] + n[:, 46, 1] - n[:, 44, 1]) / 2

    def width(n):
        return np.linalg.norm(n[:, 54] - n[:, 48], axis=-1)

    def opening(n):
        return n[:, 66, 1] - n[:, 62, 1]

    for name in ("Happy", "Sad"):
        assert strong(name, eye_opening) < 0.5 * plain(name, eye_opening)
    assert strong("Neutral", eye_opening) == pytest.approx(plain("Neutral", eye_opening), rel=0.02)
    assert strong("Sad", width) > plain("Sad", width) + 0.05                  # lip stretch
    assert strong("Sad", opening) < plain("Sad", opening) + 0.05              # pressed, not gaping


def test_label_rule_uses_the_last_frame():
    names = ("anger", "disgust", "fear", "happiness", "sadness", "surprise")
    cfg = synth.SynthConfig()
    w = np.zeros((5, 6))
    w[:, 3] = np.linspace(1.4, 0.0, 5)                         # a smile that has faded out
    assert synth.end_label(w, names, cfg) == class_index("Neutral")
    w[:, 0] = np.linspace(0.0, 1.6, 5)                         # anger rising to its apex
    assert EMOTIONS[synth.end_label(w, names, cfg)] == "Anger"


def test_scenarios_are_recorded_per_window(windows):
    counts = {s: windows.meta["scenarios"].count(s) for s in set(windows.meta["scenarios"])}
    assert sum(counts.values()) == len(windows) and "held" in counts


def test_layout_offset_fit_keeps_only_agreed_directions():
    syn = np.zeros((68, 2))
    real = np.zeros((2, 68, 2))
    real[:, 19, 1] = [-0.1, -0.05]                           # both identities: brow higher than synthetic
    real[:, 30, 1] = [0.1, -0.1]                             # disagreement: no correction
    off = synth.fit_layout_offset(syn, real)
    # symmetrised (one side only -> half), the smaller agreeing gap, mirrored onto the other brow
    assert off[19, 1] == pytest.approx(-0.025) and off[24, 1] == pytest.approx(-0.025)
    assert off[30, 1] == 0.0
    with pytest.raises(ValueError):
        synth.fit_layout_offset(syn, real[0])


def test_bad_arguments():
    with pytest.raises(ValueError, match="count"):
        synth.generate_windows(0, progress=False)
    with pytest.raises(ValueError, match="neutral_ceiling"):
        synth.generate_windows(5, config=synth.SynthConfig(label_threshold=0.9), progress=False)


def test_cli_writes_npz_and_png(tmp_path):
    from argparse import ArgumentParser

    from emotion.datasets.windows import WindowSet
    from emotion.tools import synth as tool

    parser = ArgumentParser()
    tool.add_arguments(parser)
    args = parser.parse_args(["--count", "10", "--window", "6", "--out", str(tmp_path / "s.npz"),
                              "--png", str(tmp_path / "s.png")])
    assert tool.run(args) == 0
    loaded = WindowSet.load(tmp_path / "s.npz")
    assert loaded.landmarks.shape == (10, 6, 68, 2) and (tmp_path / "s.png").stat().st_size > 10000
