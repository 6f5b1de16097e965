"""RAVDESS facial-landmark CSVs (OpenFace 2D landmarks per video frame) -> labelled windows.

Layout: CSV files anywhere under ``root`` (``Actor_01/01-01-03-01-01-01-01.csv``), one per RAVDESS
video, named modality-channel-emotion-intensity-statement-repetition-actor. Columns (leading spaces in
OpenFace's names are ignored): ``frame`` (1-based), ``success``, ``confidence`` (optional),
``x_0..x_67``, ``y_0..y_67`` in pixels (others such as ``timestamp`` are ignored). Emotion codes: 01 neutral, 02 calm,
03 happy, 04 sad, 05 angry, 06 fearful, 07 disgust, 08 surprised; neutral, happy, sad, angry and
surprised are kept. Every frame of a clip carries its emotion. Frames with ``success`` 0 or a confidence
below ``min_confidence`` count as missing: gaps up to ``max_gap`` frames are interpolated, longer ones
break windows. Group = actor.
"""

import csv
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotion.classes import class_index
from emotion.datasets.cutting import LabelledSequence, interpolate_gaps, windows_from_sequences
from emotion.datasets.windows import WindowSet
from emotion.defaults import WINDOW
from emotion.face68 import NUM_LANDMARKS

EMOTION_CODES: dict[int, str | None] = {1: "Neutral", 2: None, 3: "Happy", 4: "Sad", 5: "Anger", 6: None,
                                        7: None, 8: "Surprise"}
"""RAVDESS emotion code -> emotion.classes name (None: calm, fearful and disgust are dropped)."""
FIELDS: tuple[str, ...] = ("modality", "channel", "emotion", "intensity", "statement", "repetition", "actor")


@dataclass(frozen=True)
class RavdessName:
    """The seven codes of a RAVDESS file name."""

    modality: int
    channel: int
    emotion: int
    intensity: int
    statement: int
    repetition: int
    actor: int

    @classmethod
    def parse(cls, name: str) -> "RavdessName":
        """From a file name such as ``01-01-03-01-01-01-01.csv``; ValueError for any other name."""
        parts = Path(name).stem.split("-")
        if len(parts) != len(FIELDS) or not all(p.isdigit() for p in parts):
            raise ValueError(f"{name!r} is not a RAVDESS name (7 numbers joined by '-', e.g. 01-01-03-01-01-01-01)")
        code = cls(*map(int, parts))
        if code.emotion not in EMOTION_CODES:
            raise ValueError(f"{name!r}: emotion code {code.emotion} is not one of {sorted(EMOTION_CODES)}")
        return code


def read_landmark_csv(path: str | Path, min_confidence: float = 0.0) -> np.ndarray:
    """Landmarks of one CSV, placed by frame number; NaN for failed frames and absent rows.

    Shape: -> (F, 68, 2) float32 pixels, F = the largest frame number.
    """
    with open(path, newline="") as handle:
        reader = csv.reader(handle)
        header = [name.strip() for name in next(reader, [])]
        rows = [row for row in reader if row]
    columns = {name: i for i, name in enumerate(header)}
    needed = ["frame", "success"] + [f"{a}_{i}" for a in "xy" for i in range(NUM_LANDMARKS)]
    absent = [name for name in needed if name not in columns]
    if absent:
        raise ValueError(f"{path}: missing column(s) {', '.join(absent[:5])}{' ...' if len(absent) > 5 else ''}")
    try:
        table = np.array([[float(row[columns[n]]) for n in needed] for row in rows], np.float64).reshape(len(rows), -1)
    except (ValueError, IndexError) as exc:
        raise ValueError(f"{path}: a row has a missing or non-numeric value: {exc}") from None
    frame = table[:, 0].astype(np.int64)
    if len(frame) and frame.min() < 1:
        raise ValueError(f"{path}: frame numbers must start at 1, got {frame.min()}")
    ok = table[:, 1] > 0
    if "confidence" in columns:
        ok &= np.array([float(row[columns["confidence"]]) for row in rows]) >= min_confidence
    landmarks = np.full((int(frame.max(initial=0)), NUM_LANDMARKS, 2), np.nan, np.float32)
    points = np.stack([table[:, 2:2 + NUM_LANDMARKS], table[:, 2 + NUM_LANDMARKS:]], axis=-1)
    landmarks[frame[ok] - 1] = points[ok]
    return landmarks


def ravdess_sequences(root: str | Path, min_confidence: float = 0.0, max_gap: int = 5) -> list[LabelledSequence]:
    """Every CSV under ``root`` with a kept emotion, labelled with it throughout; group = actor."""
    files = sorted(Path(root).rglob("*.csv"))
    if not files:
        raise FileNotFoundError(f"no RAVDESS landmark CSVs under {root} (expected e.g. 01-01-03-01-01-01-01.csv)")
    sequences, foreign = [], 0
    for file in files:
        try:
            name = RavdessName.parse(file.name)
        except ValueError:
            foreign += 1
            continue
        emotion = EMOTION_CODES[name.emotion]
        if emotion is None:
            continue
        landmarks = read_landmark_csv(file, min_confidence)
        labels = np.full(len(landmarks), class_index(emotion), np.int64)
        sequences.append(LabelledSequence(interpolate_gaps(landmarks, max_gap), labels,
                                          f"ravdess/actor_{name.actor:02d}", file.stem))
    if foreign:
        print(f"ravdess: {foreign} CSV file(s) without a RAVDESS name skipped", file=sys.stderr)
    return sequences


def read_ravdess(root: str | Path, window: int = WINDOW, stride: int = 15, min_confidence: float = 0.0,
                 max_gap: int = 5) -> WindowSet:
    """RAVDESS windows. Shape: -> WindowSet landmarks (N, window, 68, 2)."""
    sequences = ravdess_sequences(root, min_confidence, max_gap)
    return windows_from_sequences(sequences, window, stride, meta={"dataset": "ravdess", "root": str(root)})
