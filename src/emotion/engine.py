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

from emotion.perception.tracking import FaceTracker, TrackedFace, TrackerConfig
from emotion.smoothing import SmoothingConfig, TrackSmoother
from emotion.states import FaceState

if TYPE_CHECKING:  # only for annotations: the engine's users load torch through the classifier they pass
    from emotion.inference import EmotionClassifier


class EmotionEngine:
    """One camera's pipeline: ``FaceTracker`` -> ``EmotionClassifier`` -> per-track ``TrackSmoother``."""

    def __init__(self, classifier: EmotionClassifier, tracker_config: TrackerConfig = TrackerConfig(),
                 smoothing: SmoothingConfig = SmoothingConfig(), detector=None) -> None:
        self.classifier = classifier
        # The model decides the window: buffers hold exactly what it was trained on.
        self.tracker = FaceTracker(replace(tracker_config, window=classifier.window), detector=detector)
        self.smoothing = smoothing
        self._smoothers: dict[int, TrackSmoother] = {}
        self.last_track_ms = 0.0
        self.last_inference_ms = 0.0

    def track(self, frame_bgr: np.ndarray, timestamp_ms: int) -> list[TrackedFace]:
        """Run perception on a frame; the faces seen in it."""
        start = time.perf_counter()
        faces = self.tracker.update(frame_bgr, timestamp_ms)
        self.last_track_ms = (time.perf_counter() - start) * 1000.0
        live = {t.track_id for t in self.tracker.tracks}
        for track_id in list(self._smoothers):
            if track_id not in live:
                del self._smoothers[track_id]
        return faces

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
            ))
        return states

    def process(self, frame_bgr: np.ndarray, timestamp_ms: int) -> list[FaceState]:
        """track -> classify -> label for one frame."""
        return process_frames([(self, frame_bgr, timestamp_ms)])[0]


def process_frames(jobs: Sequence[tuple[EmotionEngine, np.ndarray, int]]) -> list[list[FaceState]]:
    """Process frames of several cameras with ONE model call for all their faces.

    All engines must share one classifier. Returns the states per job, in order.
    """
    if not jobs:
        return []
    classifier = jobs[0][0].classifier
    if any(engine.classifier is not classifier for engine, _, _ in jobs):
        raise ValueError("process_frames needs engines that share one classifier")
    tracked = [engine.track(frame, ts) for engine, frame, ts in jobs]
    windows = [face.buffer.window(pad=True) for faces in tracked for face in faces]
    start = time.perf_counter()
    probs = classifier.predict(np.stack(windows)) if windows else np.zeros((0, len(classifier.class_names)))
    inference_ms = (time.perf_counter() - start) * 1000.0
    results, offset = [], 0
    for (engine, _, ts), faces in zip(jobs, tracked):
        engine.last_inference_ms = inference_ms
        results.append(engine.label(faces, probs[offset:offset + len(faces)], ts))
        offset += len(faces)
    return results
