"""Frames to face states: tracking, one batched model call, smoothing.

The component (one engine per camera) and ``python -m emotion analyze`` both run this, so offline
analysis and the live component label a face the same way.

Label policy for short buffers: a track is classified from its first frame on; until its buffer holds a
full window, the window is padded by repeating the earliest frame (``LandmarkBuffer.window(pad=True)``)
and ``buffer_frames < window_frames`` tells the caller how much real history stands behind the label.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Sequence

import numpy as np

from emotion.perception.tracking import FaceTracker, TrackedFace, TrackerConfig, TrackResult
from emotion.smoothing import SmoothingConfig, TrackSmoother
from emotion.states import FaceState

if TYPE_CHECKING:  # only for annotations: the engine's users load torch through the classifier they pass
    from emotion.inference import EmotionClassifier


@dataclass(frozen=True)
class FrameJob:
    """One camera's frame for ``process_frames``. Shape: frame (H, W, 3) uint8 BGR."""

    engine: "EmotionEngine"
    frame: np.ndarray
    timestamp_ms: int


@dataclass(frozen=True)
class FramesResult:
    """What ``process_frames`` did: the states of each job's frame, in job order, and what it cost."""

    states: list[list[FaceState]]
    track_ms: list[float]
    """Perception time of each job's frame (ms)."""
    inference_ms: float
    """The one batched model call for all faces (ms)."""


class EmotionEngine:
    """One camera's pipeline: ``FaceTracker`` -> ``EmotionClassifier`` -> per-track ``TrackSmoother``."""

    def __init__(self, classifier: EmotionClassifier, tracker_config: TrackerConfig = TrackerConfig(),
                 smoothing: SmoothingConfig = SmoothingConfig(), detector=None) -> None:
        self.classifier = classifier
        # The model decides the window: buffers hold exactly what it was trained on.
        self.tracker = FaceTracker(replace(tracker_config, window=classifier.window), detector=detector)
        self.smoothing = smoothing
        self._smoothers: dict[int, TrackSmoother] = {}

    def track(self, frame_bgr: np.ndarray, timestamp_ms: int) -> TrackResult:
        """Run perception on a frame: the faces seen in it and the time per stage."""
        result = self.tracker.track(frame_bgr, timestamp_ms)
        live = {t.track_id for t in self.tracker.tracks}
        for track_id in list(self._smoothers):
            if track_id not in live:
                del self._smoothers[track_id]
        return result

    def label(self, faces: Sequence[TrackedFace], probabilities: np.ndarray, timestamp_ms: int) -> list[FaceState]:
        """Smooth each face's probabilities and pick its label. Shape: probabilities (len(faces), C)."""
        names = self.classifier.class_names
        states = []
        for face, probs in zip(faces, probabilities):
            smoother = self._smoothers.setdefault(face.track_id, TrackSmoother(self.smoothing))
            smoothed = smoother.update(probs, timestamp_ms)
            index = smoother.label_index
            states.append(FaceState(
                track_id=face.track_id, box=tuple(int(v) for v in face.box), landmarks=face.landmarks,
                label=names[index], probabilities=smoothed, confidence=float(smoothed[index]),
                buffer_frames=len(face.buffer), window_frames=self.classifier.window, timestamp_ms=int(timestamp_ms),
                held=smoother.held,
            ))
        return states

    def process(self, frame_bgr: np.ndarray, timestamp_ms: int) -> list[FaceState]:
        """track -> classify -> label for one frame."""
        return process_frames([FrameJob(self, frame_bgr, timestamp_ms)]).states[0]


def process_frames(jobs: Sequence[FrameJob]) -> FramesResult:
    """Process frames of several cameras with ONE model call for all their faces.

    All engines must share one classifier.
    """
    if not jobs:
        return FramesResult([], [], 0.0)
    classifier = jobs[0].engine.classifier
    if any(job.engine.classifier is not classifier for job in jobs):
        raise ValueError("process_frames needs engines that share one classifier")
    tracked = [job.engine.track(job.frame, job.timestamp_ms) for job in jobs]
    windows = [face.buffer.window(pad=True) for result in tracked for face in result.faces]
    start = time.perf_counter()
    probs = classifier.predict(np.stack(windows)) if windows else np.zeros((0, len(classifier.class_names)))
    inference_ms = (time.perf_counter() - start) * 1000.0
    states, offset = [], 0
    for job, result in zip(jobs, tracked):
        count = len(result.faces)
        states.append(job.engine.label(result.faces, probs[offset:offset + count], job.timestamp_ms))
        offset += count
    return FramesResult(states, [result.stage_ms["total"] for result in tracked], inference_ms)
