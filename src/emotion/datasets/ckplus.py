"""CK+ (Extended Cohn-Kanade) posed sequences -> labelled windows.

Layout under ``root``::

    cohn-kanade-images/S005/001/S005_001_00000001.png ...   one folder of frames per sequence
    Emotion/S005/001/S005_001_00000011_emotion.txt          one code, e.g. "   3.0000000e+00" (labelled only)
    Landmarks/S005/001/S005_001_00000001_landmarks.txt      68 lines "x y" per frame (optional)

Emotion codes: 0 neutral, 1 anger, 2 contempt, 3 disgust, 4 fear, 5 happy, 6 sadness, 7 surprise;
anger, happy, sadness and surprise are kept. Each sequence goes from a neutral face to the apex of the
expression, and its code describes the apex: the first ``neutral_frames`` frames are labelled Neutral
(every sequence, labelled or not), the last ``apex_frames`` frames the sequence's emotion, the onset
between them is left unlabelled. Sequences are shorter than a window, so windows are padded by repeating
the first frame (``min_frames=1``). CK+'s own 68 landmarks (Multi-PIE markup, the iBUG order) are used
when every frame has them, otherwise the sequence's frames go through the tracker. Group = subject.
"""

import sys
from pathlib import Path

import numpy as np

from emotion.classes import class_index
from emotion.datasets.cutting import UNLABELLED, LabelledSequence, interpolate_gaps, windows_from_sequences
from emotion.datasets.extraction import LandmarkExtractor
from emotion.datasets.video import frame_files
from emotion.datasets.windows import WindowSet
from emotion.defaults import WINDOW
from emotion.face68 import NUM_LANDMARKS

CODES: dict[int, str | None] = {0: "Neutral", 1: "Anger", 2: None, 3: None, 4: None, 5: "Happy", 6: "Sad",
                                7: "Surprise"}
"""CK+ emotion code -> emotion.classes name (None: contempt, disgust and fear are dropped)."""
FPS: float = 30.0


def read_emotion_code(path: str | Path) -> int:
    """The integer code of an ``*_emotion.txt`` file."""
    text = Path(path).read_text().strip()
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{path}: expected one number like '3.0000000e+00', got {text[:40]!r}") from None
    if value not in CODES:
        raise ValueError(f"{path}: emotion code {value} is not one of {sorted(CODES)}")
    return int(value)


def read_landmarks(path: str | Path) -> np.ndarray:
    """One ``*_landmarks.txt`` file. Shape: -> (68, 2) float32 pixels."""
    try:
        points = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except ValueError as exc:
        raise ValueError(f"{path}: expected 68 lines 'x y': {exc}") from None
    if points.shape != (NUM_LANDMARKS, 2):
        raise ValueError(f"{path}: expected 68 lines 'x y', got an array of shape {points.shape}")
    return points.astype(np.float32)


def _own_landmarks(root: Path, frames: list[Path], rel: Path) -> np.ndarray | None:
    files = [root / "Landmarks" / rel / f"{f.stem}_landmarks.txt" for f in frames]
    if not all(f.is_file() for f in files):
        return None
    return np.stack([read_landmarks(f) for f in files])


def frame_labels(num_frames: int, emotion: str | None, neutral_frames: int, apex_frames: int) -> np.ndarray:
    """Neutral start, unlabelled onset, emotion apex (the apex wins where they overlap). Shape: -> (F,)."""
    labels = np.full(num_frames, UNLABELLED, np.int64)
    labels[:neutral_frames] = class_index("Neutral")
    if emotion is not None and apex_frames > 0:
        labels[-apex_frames:] = class_index(emotion)
    return labels


def ckplus_sequences(root: str | Path, extractor: LandmarkExtractor | None = None, neutral_frames: int = 1,
                     apex_frames: int = 3, max_gap: int = 5) -> list[LabelledSequence]:
    """Every CK+ sequence with landmarks (own, else the extractor's; skipped when neither)."""
    root = Path(root)
    images = root / "cohn-kanade-images"
    folders = sorted(p for p in images.glob("*/*") if p.is_dir())
    if not folders:
        raise FileNotFoundError(f"no CK+ sequences under {images} (expected cohn-kanade-images/S005/001/*.png)")
    frames = {folder: frame_files(folder) for folder in folders}
    own = {folder: _own_landmarks(root, frames[folder], folder.relative_to(images)) for folder in folders}
    need = [str(folder) for folder in folders if own[folder] is None]
    tracked = extractor.extract(need) if extractor is not None and need else {}
    sequences, skipped = [], 0
    for folder in folders:
        rel = folder.relative_to(images)
        landmarks = own[folder]
        if landmarks is None:
            video = tracked.get(str(folder))
            if video is None:
                skipped += 1
                continue
            landmarks = interpolate_gaps(video.track("main"), max_gap)
        codes = sorted((root / "Emotion" / rel).glob("*_emotion.txt"))
        emotion = CODES[read_emotion_code(codes[0])] if codes else None
        labels = frame_labels(len(landmarks), emotion, neutral_frames, apex_frames)
        sequences.append(LabelledSequence(landmarks, labels, f"ckplus/{rel.parts[0]}", str(rel)))
    if skipped:
        print(f"ckplus: {skipped} sequence(s) without landmark files skipped (no extractor given)", file=sys.stderr)
    return sequences


def read_ckplus(root: str | Path, extractor: LandmarkExtractor | None = None, window: int = WINDOW, stride: int = 1,
                neutral_frames: int = 1, apex_frames: int = 3, max_gap: int = 5) -> WindowSet:
    """CK+ windows: Neutral ending at the first frames, the emotion ending at the apex frames.

    Shape: -> WindowSet landmarks (N, window, 68, 2).
    """
    sequences = ckplus_sequences(root, extractor, neutral_frames, apex_frames, max_gap)
    meta = {"dataset": "ckplus", "root": str(root), "neutral_frames": neutral_frames, "apex_frames": apex_frames}
    return windows_from_sequences(sequences, window, stride, min_frames=1, meta=meta)
