"""Face states as values: what the pipeline knows about a face, its class colours and its readable line.

Dependency-light on purpose (numpy only): the listener, the monitor and plots use these without
loading dlib or torch.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

import numpy as np

from emotion.classes import EMOTIONS

COLOURS: dict[str, tuple[int, int, int]] = {  # BGR per class
    "Happy": (60, 200, 60),
    "Sad": (200, 120, 40),
    "Neutral": (180, 180, 180),
    "Anger": (40, 40, 220),
    "Surprise": (30, 200, 230),
}
DEFAULT_COLOUR: tuple[int, int, int] = (255, 255, 255)


@dataclass
class FaceState:
    """What is known about one face in one frame. Shape: landmarks (68, 2) pixels, probabilities (C,)."""

    track_id: int
    box: tuple[int, int, int, int]
    landmarks: np.ndarray
    label: str
    probabilities: np.ndarray
    confidence: float
    buffer_frames: int
    window_frames: int
    timestamp_ms: int
    held: bool = False
    """True while smoothing's hysteresis shows a label that is not the top class of ``probabilities``."""


def face_from_state(state: Any) -> FaceState:
    """An EmotionRecognition.EmotionState (duck-typed) as a FaceState. Shape: landmarks -> (68, 2)."""
    landmarks = np.asarray(state.landmarks, dtype=np.float32)
    if landmarks.size % 2:
        raise ValueError(f"state of track {state.trackId}: {landmarks.size} landmark values (need x, y pairs)")
    return FaceState(track_id=state.trackId, box=(state.x, state.y, state.w, state.h),
                     landmarks=landmarks.reshape(-1, 2), label=state.emotion,
                     probabilities=np.asarray(state.probabilities, dtype=np.float32),
                     confidence=float(state.confidence), buffer_frames=state.bufferFrames,
                     window_frames=state.windowFrames, timestamp_ms=state.alivetime)


def format_state(state: Any, class_names: Sequence[str] = EMOTIONS) -> str:
    """One readable line for one EmotionState: camera, frame time, track, label, buffer fill, probabilities, box."""
    clock = datetime.fromtimestamp(state.alivetime / 1000.0).strftime("%H:%M:%S.%f")[:-3]
    fill = "" if state.bufferFrames >= state.windowFrames else f" (buffer {state.bufferFrames}/{state.windowFrames})"
    probs = " ".join(f"{name[:3]} {p:.2f}" for name, p in zip(class_names, state.probabilities))
    return (f"cam {state.cameraId} {clock} face #{state.trackId}: {state.emotion:<8} {state.confidence:4.0%}{fill}"
            f"  [{probs}]  box {state.x},{state.y} {state.w}x{state.h}")
