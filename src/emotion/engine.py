"""Frames to face states: tracking, one batched model call, smoothing.

The component (one engine per camera) and ``python -m emotion analyze`` both run this, so offline
analysis and the live component label a face the same way.

Label policy for short buffers: a track is classified from its first frame on; until its buffer holds a
full window, the window is padded by repeating the earliest frame (``LandmarkBuffer.window(pad=True)``)
and ``buffer_frames < window_frames`` tells the caller how much real history stands behind the label.

Cost: perception of the cameras (and of the faces of each camera) runs on a ``PerceptionPool``'s threads;
each track is classified on the cadence of a ``ClassifyCadence`` (every frame by default), its last
probabilities reused in between (``emotion.cadence``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Sequence

import numpy as np

from emotion.cadence import ClassifyCadence
from emotion.perception.pool import INLINE, PerceptionPool
from emotion.perception.tracking import FaceTracker, TrackedFace, TrackerConfig, TrackResult
from emotion.smoothing import SmoothingConfig, TrackSmoother
from emotion.states import FaceState

if TYPE_CHECKING:  # only for annotations: the engine runs whichever classifier it is given
    from emotion.classifier import Classifier
    from emotion.perception.search_budget import SearchBudget


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
    classified: int = 0
    """Faces that went through the model (the others reused their track's last probabilities)."""


class EmotionEngine:
    """One camera's pipeline: ``FaceTracker`` -> the ``Classifier`` -> per-track ``TrackSmoother``."""

    def __init__(self, classifier: "Classifier", tracker_config: TrackerConfig = TrackerConfig(),
                 smoothing: SmoothingConfig = SmoothingConfig(), detector=None,
                 pool: PerceptionPool = INLINE, late_search: bool = False,
                 search_budget: "SearchBudget | None" = None) -> None:
        """``late_search``: the tracker applies a search when it ends, never waiting; ``search_budget``:
        the searches' share of a core, shared by the cameras (``FaceTracker``)."""
        self.classifier = classifier
        # The model decides the window: buffers hold exactly what it was trained on.
        # ... and whether faces are described too (a model with an appearance head), over how many frames.
        self.tracker = FaceTracker(replace(tracker_config, window=classifier.window), detector=detector, pool=pool,
                                   late_search=late_search, budget=search_budget,
                                   appearance_frames=classifier.appearance_frames)
        self.smoothing = smoothing
        self._smoothers: dict[int, TrackSmoother] = {}
        self._last: dict[int, tuple[np.ndarray, int]] = {}
        """Per track: its last probabilities and the frames since they were computed."""
        self._tick = 0

    def track(self, frame_bgr: np.ndarray, timestamp_ms: int, every: int = 1) -> TrackResult:
        """Run perception on a frame: the faces seen in it and the time per stage. With the cadence
        ``every``, a model with an appearance head gets the faces described on the frames they are
        classified on (``due``) only, so describing costs what the model call does, 1/k of the frames."""
        self._tick += 1
        result = self.tracker.track(frame_bgr, timestamp_ms, describe_face=lambda face: self.due(face, every))
        live = {t.track_id for t in self.tracker.tracks}
        for table in (self._smoothers, self._last):
            for track_id in [t for t in table if t not in live]:
                del table[track_id]
        return result

    def due(self, face: TrackedFace, every: int) -> bool:
        """Whether this frame classifies ``face`` (``ClassifyCadence.due``) or reuses its last probabilities."""
        last = self._last.get(face.track_id)
        return ClassifyCadence.due(face.track_id, self._tick, every, None if last is None else last[1])

    def probabilities(self, face: TrackedFace, fresh: np.ndarray | None) -> np.ndarray:
        """``fresh`` (remembered for the frames in between) or the track's last probabilities. Shape: (C,)."""
        if fresh is not None:
            self._last[face.track_id] = (fresh, 0)
            return fresh
        probs, age = self._last[face.track_id]
        self._last[face.track_id] = (probs, age + 1)
        return probs

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


def process_frames(jobs: Sequence[FrameJob], pool: PerceptionPool = INLINE,
                   cadence: ClassifyCadence | None = None) -> FramesResult:
    """Process frames of several cameras with ONE model call for the faces due (``cadence``; default:
    every face), the cameras tracked on ``pool``'s threads.

    All engines must share one classifier; a job's engine appears at most once.
    """
    if not jobs:
        return FramesResult([], [], 0.0)
    classifier = jobs[0].engine.classifier
    if any(job.engine.classifier is not classifier for job in jobs):
        raise ValueError("process_frames needs engines that share one classifier")
    if len({id(job.engine) for job in jobs}) != len(jobs):
        raise ValueError("process_frames takes one frame per engine")
    every = cadence.every if cadence is not None else 1
    tracked = pool.map_cameras(lambda job: job.engine.track(job.frame, job.timestamp_ms, every), jobs)
    due = [[job.engine.due(face, every) for face in result.faces] for job, result in zip(jobs, tracked)]
    chosen_faces = [face for result, flags in zip(tracked, due) for face, flag in zip(result.faces, flags) if flag]
    windows = [face.buffer.window(pad=True) for face in chosen_faces]
    appearance = (np.stack([face.appearance.mean() for face in chosen_faces])
                  if windows and classifier.appearance_frames else None)
    start = time.perf_counter()
    probs = (classifier.predict(np.stack(windows), appearance) if windows
             else np.zeros((0, len(classifier.class_names))))
    inference_ms = (time.perf_counter() - start) * 1000.0
    fresh = iter(probs)
    states = []
    for job, result, flags in zip(jobs, tracked, due):
        chosen = [job.engine.probabilities(face, next(fresh) if flag else None)
                  for face, flag in zip(result.faces, flags)]
        states.append(job.engine.label(result.faces, np.array(chosen) if chosen else probs[:0], job.timestamp_ms))
    if cadence is not None:
        cadence.observe(sum(len(r.faces) for r in tracked), len(windows), inference_ms)
    return FramesResult(states, [result.stage_ms["total"] for result in tracked], inference_ms, len(windows))
