"""Aff-Wild2 expression annotations (ABAW EXPR set) over its videos -> labelled windows.

Layout: videos anywhere under ``root`` (``batch1/1-30-1280x720.mp4``, ``batch2/...``), annotations
anywhere under ``annotations`` (``Train_Set/1-30-1280x720.txt``, ``Validation_Set/...``). An annotation
file has the header ``Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other`` and then one integer
per video frame: the 0-based column of that frame's class, -1 where the frame is unannotated. A file
named ``VIDEO_left.txt`` / ``VIDEO_right.txt`` annotates the person on the left / right of the image in
``VIDEO``. Neutral, Anger, Happiness, Sadness and Surprise are kept; Disgust, Fear and Other are dropped.
Windows are 45 frames of one class (``single_class``), as the original work cut them; group = video.
"""

import sys
from pathlib import Path

import numpy as np

from emotion.classes import class_index
from emotion.datasets.cutting import UNLABELLED
from emotion.datasets.extraction import LandmarkExtractor, VideoJob, windows_from_jobs
from emotion.datasets.windows import WindowSet
from emotion.defaults import WINDOW

KEPT: dict[str, str] = {"neutral": "Neutral", "anger": "Anger", "happiness": "Happy", "sadness": "Sad",
                        "surprise": "Surprise"}
"""Aff-Wild2 class name (lower case) -> emotion.classes name; classes not listed are dropped."""
VIDEO_SUFFIXES: tuple[str, ...] = (".mp4", ".avi", ".mov", ".mkv")


def read_expr_annotation(path: str | Path) -> np.ndarray:
    """One annotation file as per-frame class indices (emotion.classes order), -1 = unannotated or dropped.

    Shape: -> (F,) int64.
    """
    lines = Path(path).read_text().split()
    if not lines or "," not in lines[0]:
        raise ValueError(f"{path}: expected a header line like 'Neutral,Anger,...,Other', got {lines[:1]}")
    columns = [KEPT.get(name.strip().lower()) for name in lines[0].split(",")]
    lookup = np.array([class_index(c) if c else UNLABELLED for c in columns] + [UNLABELLED], np.int64)
    try:
        codes = np.array([int(v) for v in lines[1:]], np.int64)
    except ValueError as exc:
        raise ValueError(f"{path}: frame labels must be integers: {exc}") from None
    if codes.size and (codes.min() < -1 or codes.max() >= len(columns)):
        raise ValueError(f"{path}: labels must lie in -1..{len(columns) - 1}, got {codes.min()}..{codes.max()}")
    return lookup[codes]   # -1 indexes the trailing UNLABELLED entry


def label_segments(labels: np.ndarray) -> tuple[tuple[int, int, int], ...]:
    """Runs of one labelled class as (start, end exclusive, class). Shape: labels (F,)."""
    labels = np.asarray(labels)
    change = np.flatnonzero(np.diff(labels)) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [len(labels)]])
    return tuple((int(s), int(e), int(labels[s])) for s, e in zip(starts, ends) if len(labels) and labels[s] >= 0)


def affwild2_jobs(root: str | Path, annotations: str | Path) -> list[VideoJob]:
    """One job per annotation file whose video is found under ``root``; FileNotFoundError when none is."""
    videos = {p.stem: p for p in sorted(Path(root).rglob("*")) if p.suffix.lower() in VIDEO_SUFFIXES}
    files = sorted(Path(annotations).rglob("*.txt"))
    if not files:
        raise FileNotFoundError(f"no Aff-Wild2 annotation .txt files under {annotations}")
    jobs = []
    for file in files:
        stem, track = file.stem, "main"
        for side in ("left", "right"):
            if stem.endswith(f"_{side}") and stem not in videos:
                stem, track = stem[: -len(side) - 1], side
        if stem in videos:
            jobs.append(VideoJob(videos[stem], f"affwild2/{stem}", label_segments(read_expr_annotation(file)), track))
    if not jobs:
        raise FileNotFoundError(f"none of the {len(files)} annotation files under {annotations} "
                                f"has its video under {root} (e.g. {files[0].stem}.mp4)")
    if len(jobs) < len(files):
        print(f"affwild2: {len(files) - len(jobs)} annotation file(s) without a video under {root} skipped",
              file=sys.stderr)
    return jobs


def read_affwild2(root: str | Path, annotations: str | Path, extractor: LandmarkExtractor, window: int = WINDOW,
                  stride: int = 15, max_gap: int = 5) -> WindowSet:
    """Aff-Wild2 windows of one class each. Shape: -> WindowSet landmarks (N, window, 68, 2)."""
    jobs = affwild2_jobs(root, annotations)
    return windows_from_jobs(jobs, extractor, window, stride, single_class=True, max_gap=max_gap,
                             meta={"dataset": "affwild2", "root": str(root), "annotations": str(annotations)})
