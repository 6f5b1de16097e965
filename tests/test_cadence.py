"""emotion.cadence: which tracks are classified when, k chosen from the load, the component's keys; and
process_frames reusing a track's probabilities between its classifications (real frames)."""

import numpy as np
import pytest

from emotion.cadence import (CONFIG_KEYS, CadenceConfig, ClassifyCadence, load_cadence_config, offline_every)
from emotion.engine import EmotionEngine, FrameJob, process_frames
from emotion.inference import EmotionClassifier
from emotion.paths import COMPONENT_CONFIG, SAMPLE_CLIP


class Clock:
    """A clock the test advances (the load is per second of this clock)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def run_rounds(cadence: ClassifyCadence, clock: Clock, rounds: int, faces: int, ms_per_face: float) -> int:
    for _ in range(rounds):
        clock.now += 1 / 30
        classified = max(1, faces // cadence.every)
        cadence.observe(faces, classified, classified * ms_per_face)
    return cadence.every


def test_due_staggers_tracks_and_never_starves_one():
    assert ClassifyCadence.due(3, 10, 4, None)  # a new track at once
    assert all(ClassifyCadence.due(t, tick, 1, 5) for t in range(3) for tick in range(3))
    turns = [[ClassifyCadence.due(t, tick, 4, 1) for t in range(1, 5)] for tick in range(8)]
    assert all(sum(row) == 1 for row in turns)  # 4 tracks, k = 4: one classified per frame
    assert ClassifyCadence.due(1, 0, 4, 8)  # overdue (k grew) is classified


def test_every_follows_the_load():
    clock = Clock()
    light = ClassifyCadence(CadenceConfig(max_every=6, model_share=0.1), clock)
    assert run_rounds(light, clock, 300, faces=1, ms_per_face=1.5) == 1  # 45 ms/s of model: every frame
    heavy = ClassifyCadence(CadenceConfig(max_every=6, model_share=0.1), clock)
    assert run_rounds(heavy, clock, 300, faces=20, ms_per_face=1.8) == 6  # 1080 ms/s wanted: capped
    middle = ClassifyCadence(CadenceConfig(max_every=6, model_share=0.1), clock)
    assert run_rounds(middle, clock, 300, faces=5, ms_per_face=1.8) == 3  # 270 ms/s -> k = ceil(2.7)
    fixed = ClassifyCadence(CadenceConfig(every=2), clock)
    assert run_rounds(fixed, clock, 50, faces=20, ms_per_face=5.0) == 2


def test_config_checks_keys_and_offline_k(tmp_path):
    for bad in ({"every": -1}, {"max_every": 0}, {"model_share": 0.0}, {"every": True}):
        with pytest.raises(ValueError):
            CadenceConfig(**bad)
    deployed = load_cadence_config(COMPONENT_CONFIG)
    assert deployed == CadenceConfig()  # etc/config states the defaults
    assert offline_every(CadenceConfig(every=0, max_every=5)) == 1 and offline_every(CadenceConfig(every=2)) == 2
    path = tmp_path / "config"
    path.write_text(f"{CONFIG_KEYS['every']} = 3\n{CONFIG_KEYS['model_share']} = 0.2\n")
    assert load_cadence_config(path) == CadenceConfig(every=3, model_share=0.2)
    path.write_text(f"{CONFIG_KEYS['max_every']} = 0\n")
    with pytest.raises(ValueError, match=str(path)):
        load_cadence_config(path)


@pytest.mark.skipif(not SAMPLE_CLIP.is_file(), reason=f"sample clip {SAMPLE_CLIP} is missing")
def test_process_frames_reuses_probabilities_between_classifications(random_weights):
    import cv2

    from emotion.smoothing import SmoothingConfig

    capture = cv2.VideoCapture(str(SAMPLE_CLIP))
    frames = [capture.read()[1] for _ in range(9)]
    classifier = EmotionClassifier.from_checkpoint(random_weights, threads=1)
    off = SmoothingConfig(time_constant_ms=0.0, stay_ms=0.0)
    every, fresh = EmotionEngine(classifier, smoothing=off), EmotionEngine(classifier, smoothing=off)
    cadence = ClassifyCadence(CadenceConfig(every=3))
    counts, probs = [], []
    for index, frame in enumerate(frames):
        result = process_frames([FrameJob(every, frame, index * 33)], cadence=cadence)
        reference = process_frames([FrameJob(fresh, frame, index * 33)])
        counts.append(result.classified)
        probs.append((result.states[0][0].probabilities, reference.states[0][0].probabilities))
    turns = [i for i, c in enumerate(counts) if c]
    assert counts[0] == 1 and 1 <= turns[1] <= 3 and set(np.diff(turns[1:])) == {3}  # new, then its turns
    for (got, ref), classified, previous in zip(probs[1:], counts[1:], probs):
        if classified:
            np.testing.assert_allclose(got, ref, atol=1e-5)
        else:
            np.testing.assert_array_equal(got, previous[0])
