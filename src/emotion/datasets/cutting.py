"""Labelled landmark sequences -> fixed-length windows: the one cutting rule every real-data reader uses.

A sequence is F frames of landmarks (NaN where no face was found) with one label per frame
(a class index, or -1 where the frame is unlabelled). The window ending at frame ``e`` holds frames
``e-T+1 .. e``; frames before the start of the sequence are replaced by its earliest frame, the same
padding rule as the component's buffer for a face it has only just started tracking. Its label is the
label of frame ``e`` (the face at the window's end, which is what the component reports).

Window ends step back from the last frame by ``stride`` (so the end of a sequence, e.g. CK+'s apex, is
always a window end) down to the first end that has at least ``min_frames`` real frames. A window is kept
when its end is labelled, every real frame in it has a face, and, with ``single_class``, every real frame
carries the end's label (Aff-Wild2's windows of one class).
"""

from dataclasses import dataclass
from typing import Iterable

import numpy as np
from tqdm import tqdm

from emotion.classes import EMOTIONS
from emotion.datasets.windows import WindowSet
from emotion.face68 import NUM_LANDMARKS

UNLABELLED: int = -1


@dataclass
class LabelledSequence:
    """One face over time. Shape: landmarks (F, 68, 2) pixels (NaN = no face), labels (F,) int (-1 = none)."""

    landmarks: np.ndarray
    labels: np.ndarray
    group: str
    name: str

    def __post_init__(self) -> None:
        self.landmarks = np.asarray(self.landmarks, dtype=np.float32)
        self.labels = np.asarray(self.labels, dtype=np.int64)
        if self.landmarks.ndim != 3 or self.landmarks.shape[1:] != (NUM_LANDMARKS, 2):
            raise ValueError(f"{self.name}: landmarks must be (F, {NUM_LANDMARKS}, 2), got {self.landmarks.shape}")
        if self.labels.shape != (len(self.landmarks),):
            raise ValueError(f"{self.name}: {len(self.labels)} labels for {len(self.landmarks)} frames")


def interpolate_gaps(landmarks: np.ndarray, max_gap: int) -> np.ndarray:
    """Fill runs of at most ``max_gap`` missing (NaN) frames between two found frames linearly.

    Longer gaps and missing frames at either end stay NaN.
    Shape: landmarks (F, 68, 2) -> float32 (F, 68, 2).
    """
    out = np.array(landmarks, dtype=np.float32)
    found = np.flatnonzero(np.isfinite(out).all(axis=(1, 2)))
    for before, after in zip(found[:-1], found[1:]):
        gap = after - before - 1
        if 0 < gap <= max_gap:
            weight = (np.arange(1, gap + 1) / (gap + 1))[:, None, None]
            out[before + 1:after] = (1 - weight) * out[before] + weight * out[after]
    return out


def cut_windows(landmarks: np.ndarray, labels: np.ndarray, window: int, stride: int = 1,
                single_class: bool = False, min_frames: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut one labelled sequence into windows (rule in the module docstring).

    ``min_frames`` defaults to ``window``, or to the whole sequence when it is shorter than a window
    (one padded window ending at its last frame).
    Shape: landmarks (F, 68, 2), labels (F,) -> windows (N, T, 68, 2) float32, labels (N,), ends (N,).
    """
    landmarks = np.asarray(landmarks, dtype=np.float32)
    labels = np.asarray(labels, dtype=np.int64)
    if window < 1 or stride < 1:
        raise ValueError(f"window ({window}) and stride ({stride}) must be at least 1")
    if landmarks.ndim != 3 or landmarks.shape[1:] != (NUM_LANDMARKS, 2) or labels.shape != (len(landmarks),):
        raise ValueError(f"expected landmarks (F, {NUM_LANDMARKS}, 2) and labels (F,), "
                         f"got {landmarks.shape} and {labels.shape}")
    frames = len(landmarks)
    if frames == 0:
        return np.zeros((0, window, NUM_LANDMARKS, 2), np.float32), np.zeros(0, np.int64), np.zeros(0, np.int64)
    need = min(window, frames) if min_frames is None else max(1, min(min_frames, window))
    found = np.isfinite(landmarks).all(axis=(1, 2))
    kept: list[int] = []
    for end in range(frames - 1, need - 2, -stride):
        first = max(0, end - window + 1)
        label = labels[end]
        if label < 0 or not found[first:end + 1].all():
            continue
        if single_class and not (labels[first:end + 1] == label).all():
            continue
        kept.append(end)
    ends = np.asarray(kept[::-1], dtype=np.int64)
    index = np.clip(ends[:, None] + np.arange(1 - window, 1)[None, :], 0, None)
    return landmarks[index], labels[ends], ends


def windows_from_sequences(sequences: Iterable[LabelledSequence], window: int, stride: int = 1,
                           single_class: bool = False, min_frames: int | None = None,
                           meta: dict | None = None, class_names: tuple[str, ...] = EMOTIONS) -> WindowSet:
    """Cut every sequence and gather the windows; groups come from each sequence's group.

    ``meta`` is stored in the WindowSet with the cutting parameters added.
    Shape: -> WindowSet landmarks (N, T, 68, 2).
    """
    parts, labels, groups = [], [], []
    for seq in tqdm(list(sequences), desc="cutting", unit="seq", leave=False):
        cut, cut_labels, _ = cut_windows(seq.landmarks, seq.labels, window, stride, single_class, min_frames)
        parts.append(cut)
        labels.append(cut_labels)
        groups += [seq.group] * len(cut_labels)
    info = dict(meta or {}, window=window, stride=stride, single_class=single_class, min_frames=min_frames)
    if not parts:
        return WindowSet(np.zeros((0, window, NUM_LANDMARKS, 2), np.float32), np.zeros(0, np.int64),
                         np.zeros(0, str), class_names, info)
    return WindowSet(np.concatenate(parts), np.concatenate(labels), np.asarray(groups, dtype=str), class_names, info)
