"""emotion.engine.process_frames: one batched model call for the faces of several cameras, its result
object (states per job, perception and inference times), on real frames of the sample clip."""

import cv2
import numpy as np
import pytest

from emotion.engine import EmotionEngine, FrameJob, process_frames
from emotion.inference import EmotionClassifier
from emotion.paths import SAMPLE_CLIP
from emotion.perception.detector import LandmarkDetector


@pytest.fixture(scope="module")
def face_frames() -> list[np.ndarray]:
    if not SAMPLE_CLIP.is_file():
        pytest.skip(f"sample clip {SAMPLE_CLIP} is missing")
    capture = cv2.VideoCapture(str(SAMPLE_CLIP))
    frames = [capture.read()[1] for _ in range(6)]
    capture.release()
    return frames


def test_batched_frames_match_each_camera_alone(random_weights, face_frames):
    classifier = EmotionClassifier.from_checkpoint(random_weights, threads=1)
    detector = LandmarkDetector()
    face, empty = EmotionEngine(classifier, detector=detector), EmotionEngine(classifier, detector=detector)
    alone = EmotionEngine(classifier, detector=detector)
    blank = np.zeros_like(face_frames[0])
    for index, frame in enumerate(face_frames):
        ts = index * 33
        result = process_frames([FrameJob(face, frame, ts), FrameJob(empty, blank, ts)])
        expected = alone.process(frame, ts)
        assert len(result.states) == 2 and result.states[1] == []
        assert [s.track_id for s in result.states[0]] == [1] == [s.track_id for s in expected]
        np.testing.assert_allclose(result.states[0][0].probabilities, expected[0].probabilities, atol=1e-5)
        assert result.states[0][0].buffer_frames == index + 1
        assert len(result.track_ms) == 2 and all(ms > 0 for ms in result.track_ms)
        assert result.inference_ms > 0


def test_no_jobs_and_foreign_classifiers(random_weights, face_frames):
    assert process_frames([]).states == []
    a = EmotionEngine(EmotionClassifier.from_checkpoint(random_weights, threads=1))
    b = EmotionEngine(EmotionClassifier.from_checkpoint(random_weights, threads=1))
    with pytest.raises(ValueError, match="share one classifier"):
        process_frames([FrameJob(a, face_frames[0], 0), FrameJob(b, face_frames[0], 0)])
