"""Faces over time: detect on a schedule, follow each face with the shape predictor every frame.

Per frame (``FaceTracker.update``):

1. search (every ``detect_every`` frames): the whole frame, coarse (downscaled to ``coarse_max_side``)
   usually, fine (full resolution, ``fine_upsample``) every ``fine_every``-th search and on the first
   frame, so small faces are found too but rarely pay for it. While faces are tracked, the search runs
   beside the frames (``PerceptionPool.background``: the HOG detector releases the GIL) and is applied
   to a later frame, so no frame waits for it: to the next frame (waiting for the search if need be, so
   results do not depend on timing), or with ``late_search`` (the live component) to the first frame
   after it ends; with no face tracked the search is applied to its own frame. Its detections are
   matched to the tracks' boxes in the searched frame by overlap; a matched track takes the detector's
   box geometry (the landmarks-to-box mapping measured on the box and the track's landmarks of that
   frame, which resets any drift), an unmatched detection starts a new track, and a track the search
   could have seen but did not is missed (the face has left: the predictor alone would keep "tracking"
   the background); a track too small for a coarse search to see is looked for in its own region by the
   same search instead (``_detect_near``), so a face that leaves is dropped within ``detect_every +
   max_missed + 1`` frames (plus the frames a late search takes);
2. follow (every other track): a detector-like box from the track's previous landmarks, and the shape
   predictor runs there (1-3 ms per face measured here, no detection). The box comes from the
   landmarks' bounding box through the mapping (``geometry.box_from_landmarks``) measured on the face's
   own last detector box, so it matches what the detector would give for this face and does not drift
   (a fixed ratio lets a face whose landmarks fill its box unusually, e.g. with sunglasses, shrink or
   grow frame after frame);
3. check: tracking "looks wrong" when the new landmarks disagree with the box they came from, jump too
   far, or shrink below ``min_iod_px``; such a track (and one missed in earlier frames) is re-detected in
   a region of interest around its last box, resized so the face is ``roi_face_px`` wide;
4. bookkeeping: seen tracks append to their ``LandmarkBuffer``; a track missed more than ``max_missed``
   frames in a row is dropped; overlapping duplicates are merged; at most ``max_tracks`` live at once.
"""

import math
import threading
import time
from concurrent.futures import Future
from dataclasses import Field, dataclass, fields
from pathlib import Path
from typing import Any, Callable, Mapping

import cv2
import numpy as np

from emotion.appearance import describe
from emotion.defaults import WINDOW
from emotion.face68 import NUM_LANDMARKS, inter_ocular_distance
from emotion.middleware.config import load_config
from emotion.paths import COMPONENT_CONFIG
from emotion.perception.buffer import AppearanceBuffer, LandmarkBuffer
from emotion.perception.detector import Box, LandmarkDetector
from emotion.perception.geometry import box_from_landmarks, box_iou, fit_box_mapping, scale_box
from emotion.perception.pool import INLINE, PerceptionPool
from emotion.perception.search_budget import SearchBudget

HOG_MIN_FACE_PX: int = 80
"""dlib's HOG detector window: faces smaller than this (in the searched image) are not found."""

CONFIG_PREFIX: str = "Perception."
"""Prefix of the component's config keys (``Perception.detect_every`` ...), accepted by ``from_mapping``."""


LIVE_ONLY_FIELDS: frozenset[str] = frozenset({"search_share", "max_search_stretch"})
"""TrackerConfig fields only the live component uses (its ``SearchBudget``): offline tracking, and so the
landmark caches keyed by the tracker settings, do not depend on them."""


def field_type(f: Field) -> type:
    """``int`` or ``float``: the number type of a TrackerConfig field (annotations may be strings)."""
    return int if f.type in (int, "int") else float


@dataclass(frozen=True)
class TrackerConfig:
    """Every tracking threshold; the field names are the ``Perception.*`` config keys.

    The defaults are the deployed values (etc/config, checked by a test); tools that run the component's
    pipeline read that file with ``load_tracker_config`` so they track exactly as the component does.
    """

    window: int = WINDOW
    """Frames kept per track (T of the model's window)."""
    detect_every: int = 10
    """Frames between full-frame searches (for new faces and to confirm tracked ones); 1 = every frame."""
    coarse_max_side: int = 320
    """Longest side of the downscaled frame of a coarse search; 0 searches at full resolution."""
    fine_every: int = 3
    """Every n-th search (and the first) runs at full resolution to find small faces; 0 = never."""
    fine_upsample: int = 0
    """dlib upsampling of a fine search: each step finds faces half as big (down to 40 px) for ~4x time."""
    detect_threshold: float = 0.0
    """dlib's detection threshold adjustment; negative finds harder faces and more false ones."""
    roi_margin: float = 0.5
    """Re-detection region: the track's last box grown by this fraction of its size on every side."""
    roi_face_px: int = 120
    """The region is resized so the face is this wide (>= 80, the HOG window) before re-detecting."""
    match_iou: float = 0.3
    """Least box overlap (IoU) for a detection to belong to a track."""
    duplicate_iou: float = 0.5
    """Two tracks overlapping more than this are one face: the younger is dropped."""
    min_box_iou: float = 0.5
    """Tracking looks wrong when the new landmarks' box overlaps the box they came from less than this."""
    max_jump_iod: float = 0.5
    """Tracking looks wrong when landmarks move more than this (mean, in inter-ocular distances) in a frame."""
    min_iod_px: float = 6.0
    """Faces whose inter-ocular distance is below this many pixels are treated as lost."""
    max_missed: int = 5
    """A track is dropped after more than this many consecutive frames without its face."""
    max_tracks: int = 8
    """Most faces tracked at once; extra detections (lowest scores) are ignored."""
    confirm_margin: float = 1.25
    """A search must find a track whose box is this many times the smallest face it can find, or it is missed."""
    search_share: float = 0.15
    """Live only (the component's ``SearchBudget``): the share of one core all cameras' searches may take
    before their interval stretches."""
    max_search_stretch: int = 3
    """Live only: the most the search interval stretches under load (``detect_every`` times this)."""

    def __post_init__(self) -> None:
        positive = ("window", "detect_every", "roi_face_px", "max_tracks", "min_iod_px", "max_jump_iod",
                    "confirm_margin", "max_search_stretch", "search_share")
        non_negative = ("coarse_max_side", "fine_every", "fine_upsample", "roi_margin", "max_missed")
        for f in fields(self):
            value = getattr(self, f.name)
            kind = field_type(f)
            wrong_type = not isinstance(value, (int, float)) or (kind is int and not isinstance(value, int))
            if isinstance(value, bool) or wrong_type:
                raise ValueError(f"tracker config {f.name} must be {kind.__name__}, got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"tracker config {f.name} must be finite, got {value!r}")
            if f.name in positive and value <= 0:
                raise ValueError(f"tracker config {f.name} must be > 0, got {value!r}")
            if f.name in non_negative and value < 0:
                raise ValueError(f"tracker config {f.name} must be >= 0, got {value!r}")
        for name in ("match_iou", "duplicate_iou", "min_box_iou", "search_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"tracker config {name} must lie in [0, 1], got {getattr(self, name)!r}")
        if self.roi_face_px < HOG_MIN_FACE_PX:
            raise ValueError(f"tracker config roi_face_px must be >= {HOG_MIN_FACE_PX}, got {self.roi_face_px}")
        if self.fine_upsample > 3:
            raise ValueError(f"tracker config fine_upsample must be <= 3 (each costs ~4x), got {self.fine_upsample}")

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> "TrackerConfig":
        """A config from ``{key: value}``; keys may carry the ``Perception.`` prefix, values may be strings.

        Unknown keys and bad values raise ValueError naming the key.
        """
        names = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for raw_key, raw in mapping.items():
            key = raw_key[len(CONFIG_PREFIX):] if raw_key.startswith(CONFIG_PREFIX) else raw_key
            if key not in names:
                raise ValueError(f"unknown tracker config key {raw_key!r}; valid keys: {', '.join(names)}")
            values[key] = _parse(key, raw, field_type(names[key]))
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def load_tracker_config(path: Path | str = COMPONENT_CONFIG, overrides: Mapping[str, Any] | None = None
                        ) -> TrackerConfig:
    """The component's tracker: the ``Perception.*`` keys of the component config at ``path`` over the
    defaults, then ``overrides`` (field names). ConfigError / ValueError name the file or key at fault."""
    config = load_config(path)
    try:
        return TrackerConfig.from_mapping({**config.section(CONFIG_PREFIX.rstrip(".")), **(overrides or {})})
    except ValueError as exc:
        raise ValueError(f"{config.path}: {exc}") from None


def _parse(key: str, raw: Any, kind: type) -> int | float:
    """A config value as ``kind``: numbers pass, strings are parsed; anything else is a ValueError."""
    if isinstance(raw, bool):
        raise ValueError(f"tracker config {key} must be {kind.__name__}, got {raw!r}")
    if isinstance(raw, str):
        try:
            return kind(raw.strip())
        except ValueError:
            raise ValueError(f"tracker config {key} must be {kind.__name__}, got {raw!r}") from None
    if kind is float and isinstance(raw, int):
        return float(raw)
    return raw


@dataclass
class TrackedFace:
    """One face over time. Shape: landmarks (68, 2) float32 pixels of the last frame it was seen."""

    track_id: int
    box: Box
    landmarks: np.ndarray
    buffer: LandmarkBuffer
    missed: int = 0
    """Consecutive frames without the face (0: seen in the last frame)."""
    mapping: tuple[float, float, float] = (1.0, 0.0, 0.0)
    """(scale, dx, dy) of ``box_from_landmarks``, measured at the face's last detection."""
    appearance: AppearanceBuffer | None = None
    """The appearance descriptors of its last frames, when the tracker describes faces (``appearance_frames``)."""


@dataclass
class _Observation:
    box: Box
    landmarks: np.ndarray
    mapping: tuple[float, float, float] | None = None
    """Set when ``box`` came from the detector: the landmarks-to-box mapping measured on it."""


@dataclass
class _Search:
    boxes: list[Box]
    min_face_px: float
    """Smallest face (original pixels) this search could find: tracks at least this big must be confirmed."""
    confirmed: dict[int, Box | None]
    """Tracks too small for it, looked for in their own region: the box found there, or None."""


@dataclass
class _PendingSearch:
    """A search running beside the frames, and the tracks as they were in its frame."""

    future: "Future[_Search]"
    tracks: dict[int, tuple[Box, np.ndarray]] = None  # type: ignore[assignment]
    """track id -> (box, landmarks (68, 2)) of the tracks seen in the searched frame (set after it)."""


@dataclass(frozen=True)
class TrackResult:
    """One frame's tracking: the faces seen in it and the time of each stage in ms (``STAGES``)."""

    faces: list["TrackedFace"]
    stage_ms: dict[str, float]


STAGES: tuple[str, ...] = ("gray", "detect", "landmarks", "appearance", "total")


class FaceTracker:
    """Tracked faces with 68 landmarks from a stream of frames (see the module docstring).

    ``pool``: the threads that follow the tracks of a frame in parallel (``PerceptionPool.map_faces``)
    and search beside the frames (``.background``); the default does both in the caller's thread. Stage
    times are then summed over the threads. ``late_search``: apply a search to the first frame after it
    ends instead of the next one (never waits for it; what is applied when then depends on timing).
    ``budget``: searches report their time to it and wait ``budget.stretch`` times ``detect_every``
    frames apart (the live component's ``SearchBudget``; none: every ``detect_every`` frames).
    ``appearance_frames``: the faces seen in a frame are also described (``emotion.appearance``; all, or
    those ``track``'s ``describe_face`` picks) and the descriptors of their last this many frames kept
    (``TrackedFace.appearance``); 0 (the default) describes nothing.
    """

    def __init__(self, config: TrackerConfig = TrackerConfig(), detector: LandmarkDetector | None = None,
                 pool: PerceptionPool = INLINE, late_search: bool = False, budget: SearchBudget | None = None,
                 appearance_frames: int = 0) -> None:
        if isinstance(appearance_frames, bool) or not isinstance(appearance_frames, int) or appearance_frames < 0:
            raise ValueError(f"appearance_frames must be an int >= 0, got {appearance_frames!r}")
        self.config = config
        self.appearance_frames = appearance_frames
        self.detector = detector if detector is not None else LandmarkDetector()
        self.pool = pool
        self.late_search = late_search
        self.budget = budget
        self._pending: _PendingSearch | None = None
        self._next_search = 0
        """Index of the frame on which the next search is due."""
        self._timing = threading.Lock()
        self._tracks: list[TrackedFace] = []
        self._next_id = 1
        self._frame_index = 0
        self._searches = 0
        self._stage_ms: dict[str, float] = {}

    @property
    def tracks(self) -> list[TrackedFace]:
        """Live tracks, including those missed in the last frames."""
        return list(self._tracks)

    @property
    def next_track_id(self) -> int:
        """The id the next new face will get (ids start at 1 and are never reused)."""
        return self._next_id

    def reset(self) -> None:
        """Forget all tracks and restart the search schedule (track ids keep increasing)."""
        self._tracks = []
        self._frame_index = 0
        self._searches = 0
        self._pending = None  # a search still running is forgotten
        self._next_search = 0

    # -- timed calls -------------------------------------------------------------------------------------

    def _timed(self, stage: str, start: float) -> None:
        elapsed = (time.perf_counter() - start) * 1000.0
        with self._timing:
            self._stage_ms[stage] += elapsed

    def _landmarks(self, gray: np.ndarray, box: Box) -> np.ndarray:
        start = time.perf_counter()
        points = self.detector.landmarks(gray, box)
        self._timed("landmarks", start)
        return points

    def _describe(self, gray: np.ndarray, face: TrackedFace) -> np.ndarray:
        start = time.perf_counter()
        descriptor = describe(gray, face.landmarks)
        self._timed("appearance", start)
        return descriptor

    def _detect(self, image: np.ndarray, upsample: int) -> list[Box]:
        start = time.perf_counter()
        boxes = self.detector.detect(image, upsample, self.config.detect_threshold)
        self._timed("detect", start)
        return boxes

    # -- steps --------------------------------------------------------------------------------------------

    def _detected(self, gray: np.ndarray, box: Box) -> _Observation:
        """Landmarks in a detector box, and the box mapping they define for following the face."""
        landmarks = self._landmarks(gray, box)
        return _Observation(box, landmarks, fit_box_mapping(np.array([box]), landmarks[None]))

    def _plausible(self, landmarks: np.ndarray, box: Box, track: TrackedFace, shape: tuple[int, int]) -> bool:
        """False when tracking looks wrong: tiny face, landmarks off their box, a jump, or off the frame."""
        cfg = self.config
        iod = float(inter_ocular_distance(landmarks))
        if not iod >= cfg.min_iod_px:
            return False
        if box_iou(box_from_landmarks(landmarks, *track.mapping), box) < cfg.min_box_iou:
            return False
        previous = track.landmarks
        motion = float(np.linalg.norm(landmarks - previous, axis=1).mean())
        jump = motion / max(float(inter_ocular_distance(previous)), 1e-6)
        if jump > cfg.max_jump_iod:
            return False
        cx, cy = landmarks.mean(axis=0)
        return 0.0 <= cx < shape[1] and 0.0 <= cy < shape[0]

    def _follow(self, gray: np.ndarray, track: TrackedFace) -> _Observation | None:
        """The face where its last landmarks say it is, or None if that looks wrong."""
        box = box_from_landmarks(track.landmarks, *track.mapping)
        landmarks = self._landmarks(gray, box)
        return _Observation(box, landmarks) if self._plausible(landmarks, box, track, gray.shape) else None

    def _detect_near(self, gray: np.ndarray, box: Box) -> Box | None:
        """Search the region around ``box`` (a track's last box): the best-overlapping face there, or None."""
        cfg = self.config
        x, y, w, h = box
        mx, my = cfg.roi_margin * w, cfg.roi_margin * h
        x0, y0 = max(int(x - mx), 0), max(int(y - my), 0)
        x1, y1 = min(int(x + w + mx), gray.shape[1]), min(int(y + h + my), gray.shape[0])
        if x1 - x0 < w // 2 or y1 - y0 < h // 2:
            return None  # the box has left the frame
        factor = cfg.roi_face_px / max(w, 1)
        crop = cv2.resize(gray[y0:y1, x0:x1], None, fx=factor, fy=factor,
                          interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR)
        if min(crop.shape) < HOG_MIN_FACE_PX:
            return None
        boxes = [scale_box(b, factor, (x0, y0)) for b in self._detect(crop, 0)]
        best = max(boxes, key=lambda b: box_iou(b, box), default=None)
        return None if best is None or box_iou(best, box) < cfg.match_iou else best

    def _redetect(self, gray: np.ndarray, track: TrackedFace) -> _Observation | None:
        """The face found in the region around the track's last box, with its landmarks, or None."""
        found = self._detect_near(gray, track.box)
        return None if found is None else self._detected(gray, found)

    def _search(self, gray: np.ndarray, regions: Mapping[int, Box]) -> _Search:
        """Full-frame detection, coarse or fine by the schedule, boxes in original pixels; and each track of
        ``regions`` (id -> last box) too small for it looked for in its own region instead."""
        cfg = self.config
        started = time.perf_counter()
        fine = cfg.fine_every > 0 and self._searches % cfg.fine_every == 0
        self._searches += 1
        longest = max(gray.shape)
        factor, upsample = 1.0, 0
        if fine:
            upsample = cfg.fine_upsample
        elif cfg.coarse_max_side and longest > cfg.coarse_max_side:
            factor = cfg.coarse_max_side / longest
        image = gray if factor == 1.0 else cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
        boxes = [scale_box(b, factor) for b in self._detect(image, upsample)]
        min_face_px = HOG_MIN_FACE_PX / (factor * 2 ** upsample)
        confirmed = {tid: self._detect_near(gray, box) for tid, box in regions.items()
                     if box[2] < cfg.confirm_margin * min_face_px}
        if self.budget is not None:
            self.budget.record((time.perf_counter() - started) * 1000.0)
        return _Search(boxes, min_face_px, confirmed)

    def _associate(self, gray: np.ndarray, search: _Search, searched: dict[int, tuple[Box, np.ndarray]],
                   seen: dict[int, _Observation]) -> set[int]:
        """Match search boxes to the tracks as they were in the searched frame (greedy by IoU) and start
        tracks for the rest; ``searched`` is those tracks' (box, landmarks) by id.

        A matched or region-confirmed track takes the detector's box geometry (its mapping, measured on the
        box and the track's landmarks of the searched frame); new tracks go into ``seen`` with landmarks
        predicted in the detector's box. Returns the ids of the tracks this search should have found and
        did not (big enough for it and unmatched, or not in their region): their faces have left.
        """
        cfg = self.config
        live = {t.track_id: t for t in self._tracks}
        pairs = sorted(((box_iou(box, then[0]), i, tid)
                        for i, box in enumerate(search.boxes) for tid, then in searched.items() if tid in live),
                       reverse=True)
        used: set[int] = set()
        found: dict[int, Box] = {}
        for iou, i, tid in pairs:
            if iou < cfg.match_iou:
                break
            if i in used or tid in found:
                continue
            used.add(i)
            found[tid] = search.boxes[i]
        gone = {tid for tid, (box, _) in searched.items()
                if tid in live and tid not in found and box[2] >= cfg.confirm_margin * search.min_face_px}
        for tid, box in search.confirmed.items():
            if tid in live and tid not in found:
                if box is None:
                    gone.add(tid)
                else:
                    found[tid] = box
        for tid, box in found.items():
            if tid in searched:
                live[tid].mapping = fit_box_mapping(np.array([box]), searched[tid][1][None])
        for i, box in enumerate(search.boxes):
            if i in used or len(self._tracks) >= cfg.max_tracks:
                continue
            if any(box_iou(box, t.box) > cfg.duplicate_iou or
                   (t.track_id in searched and box_iou(box, searched[t.track_id][0]) > cfg.duplicate_iou)
                   for t in self._tracks):
                continue
            track = TrackedFace(self._next_id, box, np.zeros((NUM_LANDMARKS, 2), np.float32), LandmarkBuffer(cfg.window),
                                appearance=AppearanceBuffer(self.appearance_frames) if self.appearance_frames else None)
            self._next_id += 1
            self._tracks.append(track)
            seen[track.track_id] = self._detected(gray, box)
        return gone

    def _take_search(self, gray: np.ndarray) -> tuple[_Search, dict[int, tuple[Box, np.ndarray]]] | None:
        """The search to apply to this frame and the tracks of its frame, if one is due (starting the next
        search on schedule: now when no face is tracked, else beside the frames)."""
        pending = self._pending
        if pending is not None and pending.tracks is not None and (not self.late_search or pending.future.done()):
            self._pending = None
            return pending.future.result(), pending.tracks
        if pending is not None or self._frame_index < self._next_search:
            return None
        self._next_search = self._frame_index + self.config.detect_every * (self.budget.stretch if self.budget else 1)
        if not self._tracks:
            return self._search(gray, {}), {}
        regions = {t.track_id: t.box for t in self._tracks if t.missed == 0}
        self._pending = _PendingSearch(self.pool.background(self._search, gray, regions))
        return None

    def _bookkeep(self, seen: dict[int, _Observation], timestamp_ms: int) -> list[TrackedFace]:
        cfg = self.config
        for track in self._tracks:
            obs = seen.get(track.track_id)
            if obs is None:
                track.missed += 1
                continue
            track.box, track.landmarks, track.missed = obs.box, obs.landmarks, 0
            if obs.mapping is not None:
                track.mapping = obs.mapping
            track.buffer.append(obs.landmarks, timestamp_ms)
        kept: list[TrackedFace] = []
        for track in sorted(self._tracks, key=lambda t: t.track_id):
            if track.missed > cfg.max_missed:
                continue
            if track.missed == 0 and any(k.missed == 0 and box_iou(k.box, track.box) > cfg.duplicate_iou for k in kept):
                continue  # a younger duplicate of a face already tracked
            kept.append(track)
        self._tracks = kept
        return [t for t in kept if t.missed == 0]

    def update(self, frame_bgr: np.ndarray, timestamp_ms: int) -> list[TrackedFace]:
        """Track one frame; the faces seen in it, by track id. Shape: as ``track``."""
        return self.track(frame_bgr, timestamp_ms).faces

    def track(self, frame_bgr: np.ndarray, timestamp_ms: int,
              describe_face: Callable[[TrackedFace], bool] | None = None) -> TrackResult:
        """Track one frame: the faces seen in it, by track id, and the time each stage took. With
        ``appearance_frames``, the faces for which ``describe_face`` holds (default: all) are described.

        Shape: frame_bgr (H, W, 3) uint8 BGR (or (H, W) uint8 gray).
        """
        frame = np.asarray(frame_bgr)
        if frame.dtype != np.uint8 or not (frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] == 3)):
            raise ValueError(f"expected an (H, W, 3) uint8 BGR frame, got {frame.dtype} array of shape {frame.shape}")
        self._stage_ms = dict.fromkeys(STAGES, 0.0)
        start = time.perf_counter()
        gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        self._timed("gray", start)
        seen: dict[int, _Observation] = {}
        gone: set[int] = set()
        taken = self._take_search(gray)
        if taken is not None:
            gone = self._associate(gray, *taken, seen)
        self._frame_index += 1

        def observe(track: TrackedFace) -> _Observation | None:
            obs = self._follow(gray, track) if track.missed == 0 else None
            return obs or self._redetect(gray, track)

        pending = [t for t in self._tracks if t.track_id not in seen and t.track_id not in gone]
        for track, obs in zip(pending, self.pool.map_faces(observe, pending)):
            if obs is not None:
                seen[track.track_id] = obs
        faces = self._bookkeep(seen, timestamp_ms)
        described = [f for f in faces if describe_face is None or describe_face(f)] if self.appearance_frames else []
        for face, descriptor in zip(described, self.pool.map_faces(lambda f: self._describe(gray, f), described)):
            face.appearance.append(descriptor, self._frame_index)
        if self._pending is not None and self._pending.tracks is None:  # started on this frame (or on one that failed)
            self._pending.tracks = {f.track_id: (f.box, f.landmarks) for f in faces}
        self._stage_ms["total"] = (time.perf_counter() - start) * 1000.0
        return TrackResult(faces, dict(self._stage_ms))
