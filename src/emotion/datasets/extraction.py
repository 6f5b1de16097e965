"""Perception over dataset videos: landmark sequences per video, cached on disk, extracted in parallel.

Each video (file or frame folder) is run through the component's own tracker
(``emotion.perception.tracking.FaceTracker``), so training landmarks come from the same detector,
shape predictor and tracking as live ones. Per video the most persistent tracks are kept
(``VideoLandmarks``); a reader picks one with ``VideoLandmarks.track``:

- ``"main"``: the track seen in the most frames (ties: the larger mean box), the subject of a
  one-person video even when a bystander passes through;
- ``"left"`` / ``"right"``: of the two main tracks, the one whose mean box centre is further left /
  right in the image (Aff-Wild2's ``_left`` / ``_right`` annotations of two-person videos).

Cache: one ``.npz`` per video in the cache folder, named by a hash of the source's resolved path, size
and modification time (for a frame folder: its frames' count, total size and latest time, and the fps) and
of the tracker settings (``TrackerConfig``), so landmarks tracked with other settings are not reused.
A file is written to a temporary name and renamed when complete, so an interrupted run (Ctrl-C) leaves
only finished videos behind and the next run resumes where it stopped.
"""

import functools
import hashlib
import json
import multiprocessing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Protocol

import cv2
import numpy as np
from tqdm import tqdm

from emotion.atomic import write_atomic
from emotion.datasets.cutting import LabelledSequence, UNLABELLED, interpolate_gaps, windows_from_sequences
from emotion.datasets.video import frame_files, iter_frames, source_fps
from emotion.datasets.windows import WindowSet
from emotion.face68 import NUM_LANDMARKS

if TYPE_CHECKING:                 # tracking imports dlib; readers of cached landmarks do not need it
    from emotion.perception.tracking import TrackerConfig

CACHE_VERSION: int = 1
TRACK_CHOICES: tuple[str, ...] = ("main", "left", "right")


@dataclass
class VideoLandmarks:
    """The faces found in one video, most persistent track first.

    Shape: tracks (K, F, 68, 2) float32 pixels, NaN where the track was not seen; centres_x (K,).
    """

    tracks: np.ndarray
    centres_x: np.ndarray
    fps: float
    source: str

    @property
    def num_frames(self) -> int:
        return int(self.tracks.shape[1])

    def track(self, which: str = "main") -> np.ndarray:
        """One face's landmark sequence (all NaN when no face was found). Shape: -> (F, 68, 2)."""
        if which not in TRACK_CHOICES:
            raise ValueError(f"unknown track choice {which!r}; expected one of {', '.join(TRACK_CHOICES)}")
        if len(self.tracks) == 0:
            return np.full((self.num_frames, NUM_LANDMARKS, 2), np.nan, np.float32)
        if which == "main":
            return self.tracks[0]
        pair = np.argsort(self.centres_x[:2])
        return self.tracks[pair[0] if which == "left" else pair[-1]]

    def save(self, path: Path) -> None:
        """Write atomically (``emotion.atomic``)."""
        with write_atomic(path) as tmp, open(tmp, "wb") as handle:
            np.savez_compressed(handle, tracks=self.tracks.astype(np.float32), centres_x=self.centres_x,
                                fps=np.float64(self.fps), source=np.asarray(self.source),
                                version=np.int64(CACHE_VERSION))

    @classmethod
    def load(cls, path: Path) -> "VideoLandmarks":
        with np.load(path, allow_pickle=False) as data:
            if int(data["version"]) != CACHE_VERSION:
                raise ValueError(f"{path}: cache version {int(data['version'])}, expected {CACHE_VERSION}")
            return cls(data["tracks"], data["centres_x"], float(data["fps"]), str(data["source"]))


class Tracker(Protocol):
    """What extraction needs of a tracker (``FaceTracker`` satisfies it)."""

    def update(self, frame_bgr: np.ndarray, timestamp_ms: int) -> list: ...

    def reset(self) -> None: ...


def make_tracker(config: "TrackerConfig") -> Tracker:
    """The component's tracker with the given settings."""
    from emotion.perception.tracking import FaceTracker

    return FaceTracker(config)


def extract_video(source: str | Path, tracker: Tracker, fps: float | None = None, max_tracks: int = 3,
                  progress: bool = False) -> VideoLandmarks:
    """Run the tracker over every frame of a source; keep its ``max_tracks`` most persistent tracks.

    Shape: -> VideoLandmarks tracks (K <= max_tracks, F, 68, 2).
    """
    tracker.reset()
    seen: dict[int, list[tuple[int, np.ndarray, float, float]]] = {}
    num_frames = 0
    frames = iter_frames(source, fps)
    frames = tqdm(frames, desc=Path(source).name, unit="frame", disable=not progress, leave=False)
    for index, time_s, frame in frames:
        for face in tracker.update(frame, int(round(time_s * 1000))):
            x, y, w, h = face.box
            seen.setdefault(face.track_id, []).append((index, np.asarray(face.landmarks), float(w * h), x + w / 2.0))
        num_frames = index + 1
    ranked = sorted(seen.values(), key=lambda obs: (len(obs), np.mean([o[2] for o in obs])), reverse=True)
    tracks = np.full((min(len(ranked), max_tracks), num_frames, NUM_LANDMARKS, 2), np.nan, np.float32)
    centres = np.zeros(len(tracks), np.float64)
    for k, observations in enumerate(ranked[:max_tracks]):
        for index, landmarks, _, _ in observations:
            tracks[k, index] = landmarks
        centres[k] = np.mean([o[3] for o in observations])
    return VideoLandmarks(tracks, centres, source_fps(source, fps), str(source))


def tracker_digest(config: "TrackerConfig") -> str:
    """A stable hash of the tracker settings offline tracking uses (the same values give the same digest in
    every process; the live-only ones are left out)."""
    from emotion.perception.tracking import LIVE_ONLY_FIELDS

    settings = {key: value for key, value in config.to_dict().items() if key not in LIVE_ONLY_FIELDS}
    return hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def cache_key(source: str | Path, tracker: "TrackerConfig", fps: float | None = None) -> str:
    """A name for a source's cache file that changes when the source or the tracker settings change."""
    path = Path(source).resolve()
    if path.is_dir():
        stats = [f.stat() for f in frame_files(path)]
        stamp = f"{len(stats)}|{sum(s.st_size for s in stats)}|{max(s.st_mtime_ns for s in stats)}|{fps}"
    else:
        stat = path.stat()
        stamp = f"{stat.st_size}|{stat.st_mtime_ns}"
    digest = hashlib.sha1(f"{path}|{stamp}|v{CACHE_VERSION}|{tracker_digest(tracker)}".encode()).hexdigest()[:16]
    return f"{path.stem}-{digest}.npz"


_WORKER_TRACKER: Tracker | None = None


def _init_worker(tracker_factory: Callable[["TrackerConfig"], Tracker], config: "TrackerConfig") -> None:
    global _WORKER_TRACKER
    cv2.setNumThreads(1)          # one core per worker: the workers are the parallelism
    _WORKER_TRACKER = tracker_factory(config)


def _extract_to_cache(job: tuple[str, str, float | None, int]) -> tuple[str, str | None]:
    source, cache_file, fps, max_tracks = job
    try:
        extract_video(source, _WORKER_TRACKER, fps, max_tracks).save(Path(cache_file))
        return source, None
    except (OSError, ValueError, cv2.error) as exc:
        return source, f"{type(exc).__name__}: {exc}"


class LandmarkExtractor:
    """Cached, parallel landmark extraction over many sources (see the module docstring).

    Every worker tracks with ``tracker_factory(tracker_config)``; the cache key hashes ``tracker_config``.
    ``failures`` (source -> reason) collects the sources that could not be extracted, for the caller to report.
    """

    def __init__(self, cache_dir: str | Path, tracker_config: "TrackerConfig", workers: int = 2,
                 fps: float | None = None, max_tracks: int = 3,
                 tracker_factory: Callable[["TrackerConfig"], Tracker] = make_tracker) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.cache_dir = Path(cache_dir)
        self.tracker_config = tracker_config
        self.workers = workers
        self.fps = fps
        self.max_tracks = max_tracks
        self.tracker_factory = tracker_factory
        self.failures: dict[str, str] = {}
        self.extracted: list[str] = []

    def cache_path(self, source: str | Path) -> Path:
        return self.cache_dir / cache_key(source, self.tracker_config, self.fps)

    def extract(self, sources: Iterable[str | Path]) -> dict[str, VideoLandmarks]:
        """Landmarks of every source, extracting only those not cached yet; failures are skipped and kept
        in ``failures``."""
        sources = list(dict.fromkeys(str(s) for s in sources))
        missing = [s for s in sources if not Path(s).exists()]
        if missing:
            raise FileNotFoundError(f"{len(missing)} source(s) do not exist, e.g. {missing[0]}")
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        todo = [(s, str(self.cache_path(s)), self.fps, self.max_tracks)
                for s in sources if not self.cache_path(s).is_file()]
        self.extracted = [job[0] for job in todo]
        for source, error in self._run(todo):
            if error:
                self.failures[source] = error
        return {s: VideoLandmarks.load(self.cache_path(s)) for s in sources if s not in self.failures}

    def _run(self, todo: list) -> Iterable[tuple[str, str | None]]:
        progress = functools.partial(tqdm, total=len(todo), desc="landmarks", unit="input", smoothing=0.1)
        if not todo:
            return []
        if self.workers == 1 or len(todo) == 1:
            _init_worker(self.tracker_factory, self.tracker_config)
            return list(progress(map(_extract_to_cache, todo)))
        # spawn, not fork: a forked child of a process with running threads (Ice, torch) can deadlock on
        # a lock some thread held at the fork
        context = multiprocessing.get_context("spawn")
        with context.Pool(min(self.workers, len(todo)), initializer=_init_worker,
                          initargs=(self.tracker_factory, self.tracker_config)) as pool:
            results = list(progress(pool.imap_unordered(_extract_to_cache, todo)))
            pool.close()  # workers exit on their own: terminating them (the with's exit) can leak their semaphores
            pool.join()
            return results


@dataclass
class VideoJob:
    """A labelled video: which source, whose face, which frames carry which class.

    ``segments`` are (start, end, class index) with ``end`` exclusive, None = to the last frame.
    """

    source: Path
    group: str
    segments: tuple[tuple[int, int | None, int], ...]
    track: str = "main"

    def frame_labels(self, num_frames: int) -> np.ndarray:
        """Per-frame class indices, -1 outside every segment. Shape: -> (num_frames,) int64."""
        labels = np.full(num_frames, UNLABELLED, np.int64)
        for start, end, label in self.segments:
            labels[start:num_frames if end is None else min(end, num_frames)] = label
        return labels


def windows_from_jobs(jobs: list[VideoJob], extractor: "LandmarkExtractor", window: int, stride: int,
                      single_class: bool = False, min_frames: int | None = None, max_gap: int = 5,
                      meta: dict | None = None) -> WindowSet:
    """Extract (or load cached) landmarks for the jobs' sources and cut them into windows.

    Missing faces in gaps of at most ``max_gap`` frames are interpolated; longer gaps break windows.
    Shape: -> WindowSet landmarks (N, window, 68, 2).
    """
    found = extractor.extract([job.source for job in jobs])
    sequences = []
    for job in jobs:
        video = found.get(str(job.source))
        if video is not None:
            landmarks = interpolate_gaps(video.track(job.track), max_gap)
            sequences.append(LabelledSequence(landmarks, job.frame_labels(video.num_frames), job.group,
                                              f"{job.source}:{job.track}"))
    info = dict(meta or {}, videos=len(sequences), failed=sorted(extractor.failures))
    return windows_from_sequences(sequences, window, stride, single_class, min_frames, info)
