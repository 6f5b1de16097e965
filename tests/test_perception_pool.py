"""Perception on threads (emotion.perception.pool): the same faces as one thread, on real media, for the
faces of one camera and for several cameras in one process_frames call; dlib detection from threads."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from emotion.datasets.video import read_image
from emotion.engine import EmotionEngine, FrameJob, process_frames
from emotion.inference import EmotionClassifier
from emotion.paths import shared_media
from emotion.perception.detector import LandmarkDetector
from emotion.perception.pool import INLINE, PerceptionPool, available_cores
from emotion.perception.tracking import FaceTracker, load_tracker_config

MULTI = shared_media("multi_face.jpg")
needs_media = pytest.mark.skipif(not MULTI.is_file(), reason=f"real media missing: {MULTI} (see README: shared data)")


@pytest.fixture(scope="module")
def detector() -> LandmarkDetector:
    return LandmarkDetector()


@pytest.fixture(scope="module")
def pool():
    pool = PerceptionPool(2)
    yield pool
    pool.close()


def test_pool_maps_in_order_and_sizes_from_the_cores(pool):
    assert pool.map_faces(lambda x: x * x, range(7)) == [x * x for x in range(7)]
    assert pool.map_cameras(str, [1, 2]) == ["1", "2"] and INLINE.map_faces(str, [3]) == ["3"]
    sized = PerceptionPool(0)
    assert sized.threads == available_cores() >= 1
    sized.close()
    with pytest.raises(ValueError, match="threads"):
        PerceptionPool(-1)


@needs_media
def test_detection_from_threads_matches_one_thread(detector):
    gray = read_image(MULTI).mean(axis=2).astype(np.uint8)
    alone = detector.detect(gray)
    with ThreadPoolExecutor(3) as executor:
        together = list(executor.map(lambda _: detector.detect(gray), range(6)))
    assert len(alone) >= 3 and all(boxes == alone for boxes in together)


@needs_media
def test_threads_detect_with_copies_of_one_detector_built_once(monkeypatch):
    """Building dlib's detector takes ~0.4 s with the GIL held (every thread stalls): a thread's first
    detection copies the one built with the LandmarkDetector instead (1 ms)."""
    import dlib
    builds = []
    real = dlib.get_frontal_face_detector
    monkeypatch.setattr(dlib, "get_frontal_face_detector", lambda: builds.append(1) or real())
    detector = LandmarkDetector()
    gray = read_image(MULTI).mean(axis=2).astype(np.uint8)
    with ThreadPoolExecutor(3) as executor:
        found = list(executor.map(lambda _: (detector.detect(gray), id(detector._detector())), range(6)))
    assert builds == [1] and all(boxes == found[0][0] for boxes, _ in found)
    assert len({owner for _, owner in found}) >= 2           # the threads' own copies


@needs_media
def test_tracking_faces_on_threads_matches_one_thread(detector, pool):
    frame = read_image(MULTI)
    config = load_tracker_config()
    serial, threaded = FaceTracker(config, detector), FaceTracker(config, detector, pool=pool)
    for index in range(12):  # two searches and the follows between them
        a, b = serial.track(frame, index * 33), threaded.track(frame, index * 33)
        assert len(a.faces) >= 3
        assert [(f.track_id, f.box) for f in a.faces] == [(f.track_id, f.box) for f in b.faces]
        for fa, fb in zip(a.faces, b.faces):
            np.testing.assert_array_equal(fa.landmarks, fb.landmarks)


@needs_media
def test_cameras_on_threads_match_one_thread(random_weights, detector, pool):
    classifier = EmotionClassifier.from_checkpoint(random_weights, threads=1)
    frame = read_image(MULTI)
    serial = [EmotionEngine(classifier, detector=detector) for _ in range(3)]
    threaded = [EmotionEngine(classifier, detector=detector, pool=pool) for _ in range(3)]
    for index in range(4):
        a = process_frames([FrameJob(e, frame, index * 33) for e in serial])
        b = process_frames([FrameJob(e, frame, index * 33) for e in threaded], pool)
        assert len(a.states) == 3 and all(len(states) >= 3 for states in a.states)
        for sa, sb in zip(a.states, b.states):
            assert [s.box for s in sa] == [s.box for s in sb]
            np.testing.assert_allclose([s.probabilities for s in sa], [s.probabilities for s in sb], atol=1e-5)
    with pytest.raises(ValueError, match="one frame per engine"):
        process_frames([FrameJob(serial[0], frame, 0), FrameJob(serial[0], frame, 0)])


def test_perception_threads_come_from_the_component_config(tmp_path):
    from emotion.perception.pool import DEFAULT_THREADS, THREADS_KEY, load_perception_threads

    assert load_perception_threads() == DEFAULT_THREADS  # etc/config states the default
    path = tmp_path / "config"
    path.write_text(f"{THREADS_KEY} = 3\n")
    assert load_perception_threads(path) == 3
    path.write_text(f"{THREADS_KEY} = -1\n")
    with pytest.raises(ValueError, match=THREADS_KEY):
        load_perception_threads(path)
