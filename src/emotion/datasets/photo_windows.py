"""Windows from photos: a real face shape, held or reached from (or left for) a neutral face, with head motion.

A photo is one real face at one moment. Training needs windows (T frames) with the dynamics real faces have,
so each window is one of these scenarios (its label describes the LAST frame, as everywhere):

- ``held``: the photo's face for the whole window (label: the photo's class);
- ``onset``: an estimate of the same face at rest moving into the photo's expression; the ramp (3-30 frames,
  smoothstep) reaches the apex at most ``max_hold`` frames before the end, or is still under way with at
  least half the intensity at the last frame (label: the photo's class). Neutral photos instead get an
  ``offset``: an expression of another class fading into the photo's neutral face (label: Neutral);
- ``subtle``: the rest face moving towards an expression by at most ``neutral_ceiling`` of it (label:
  Neutral), so a start of movement, a smirk or a frown of a few percent is not an emotion yet.

The rest face of an expressive photo is the photo minus its class's mean displacement (``class_offsets``:
the median normalised shape of the class minus that of Neutral, measured on the training photos, scaled by
``amplitude`` and turned into the photo's own image frame), so identity stays the person's. On top of the
dynamics, every window gets a slow head drift (roll, scale, position and yaw-like horizontal foreshortening,
a low-frequency course per window) and, with ``blink_p``, a blink. Per-frame dlib jitter, mirror, global pose
and occlusion come from the training augmentation (``emotion.training.augment``), as for every source.
"""

from dataclasses import asdict, dataclass

import numpy as np

from emotion.classes import EMOTIONS
from emotion.datasets.windows import WindowSet
from emotion.normalize import face_frame, normalize_landmarks, rotate

NEUTRAL: int = EMOTIONS.index("Neutral")
UPPER_TO_LOWER_LID: dict[int, int] = {37: 41, 38: 40, 43: 47, 44: 46}
"""Upper eyelid landmark -> the lower-lid landmark under it (a blink brings one onto the other)."""


@dataclass(frozen=True)
class PhotoWindowConfig:
    """Scenario mix and motion ranges of windows made from photos (the ``options`` of a ``photos`` source)."""

    held_p: float = 0.35
    onset_p: float = 0.45            # offset for Neutral photos
    subtle_p: float = 0.20
    onset_frames: tuple[int, int] = (3, 30)
    max_hold: int = 20               # frames an onset's apex may lie before the last frame
    partial_p: float = 0.25          # onsets still under way at the last frame (intensity >= 0.5)
    amplitude: tuple[float, float] = (0.7, 1.3)
    neutral_ceiling: float = 0.2
    roll_deg: float = 3.0
    yaw_deg: float = 12.0
    scale: float = 0.04
    shift_iod: float = 0.15
    blink_p: float = 0.3
    blink_frames: tuple[int, int] = (3, 7)

    def __post_init__(self) -> None:
        for name in ("held_p", "onset_p", "subtle_p", "partial_p", "blink_p"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"photo window option {name} must lie in [0, 1], got {getattr(self, name)!r}")
        if abs(self.held_p + self.onset_p + self.subtle_p - 1.0) > 1e-6:
            raise ValueError("photo window options held_p + onset_p + subtle_p must add up to 1")
        if not 1 <= self.onset_frames[0] <= self.onset_frames[1]:
            raise ValueError(f"photo window option onset_frames must be 1 <= low <= high, got {self.onset_frames}")
        if not 0.0 < self.amplitude[0] <= self.amplitude[1]:
            raise ValueError(f"photo window option amplitude must be 0 < low <= high, got {self.amplitude}")
        if not 0.0 <= self.neutral_ceiling < 0.5:
            raise ValueError(f"photo window option neutral_ceiling must lie in [0, 0.5), got {self.neutral_ceiling}")
        if self.max_hold < 0 or min(self.blink_frames) < 1:
            raise ValueError("photo window options max_hold >= 0 and blink_frames >= 1 are required")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "PhotoWindowConfig":
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"unknown photo window options {unknown}; known: {sorted(cls.__dataclass_fields__)}")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**values)


def class_offsets(stills: WindowSet) -> np.ndarray:
    """Per class, the median normalised shape minus the median normalised Neutral shape (zeros for a class
    without photos, and for Neutral).

    Shape: stills landmarks (N, 1, 68, 2) -> (C, 68, 2) inter-ocular units.
    """
    shapes = normalize_landmarks(stills.landmarks[:, -1])
    medians = np.zeros((len(stills.class_names),) + shapes.shape[1:], np.float64)
    present = np.zeros(len(stills.class_names), bool)
    for c in range(len(stills.class_names)):
        chosen = stills.labels == c
        if chosen.any():
            medians[c], present[c] = np.median(shapes[chosen], axis=0), True
    if not present[NEUTRAL]:
        raise ValueError("photo windows need Neutral photos to measure expressions against")
    offsets = np.where(present[:, None, None], medians - medians[NEUTRAL], 0.0)
    return offsets.astype(np.float32)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _ramps(rng: np.random.Generator, n: int, t: int, cfg: PhotoWindowConfig, partial: np.ndarray) -> np.ndarray:
    """Intensity rising 0 -> 1 per window: complete ``max_hold`` frames or fewer before the end, or (partial)
    still rising with at least half the intensity at the last frame. Shape: -> (n, t)."""
    length = rng.integers(cfg.onset_frames[0], cfg.onset_frames[1] + 1, n).astype(np.float64)
    hold = rng.integers(0, cfg.max_hold + 1, n)
    done_at_end = np.where(partial, rng.uniform(0.5, 1.0, n), 1.0)      # fraction of the ramp run at t-1
    end = np.where(partial, t - 1 + (1 - done_at_end) * length, t - 1 - hold)
    start = end - length
    frames = np.arange(t)[None, :]
    return _smoothstep((frames - start[:, None]) / length[:, None])


def _course(rng: np.random.Generator, n: int, t: int, amplitude: float) -> np.ndarray:
    """A slow random course in [-amplitude, amplitude] per window (two low-frequency sines). Shape: -> (n, t)."""
    frames = np.arange(t)[None, :] / max(t - 1, 1)
    out = np.zeros((n, t))
    for cycles in (0.5, 1.2):
        out += np.sin(2 * np.pi * (rng.uniform(0.3, 1.0, (n, 1)) * cycles * frames + rng.uniform(0, 1, (n, 1))))
    return amplitude * rng.uniform(0, 1, (n, 1)) * out / 2.0


def _blinks(rng: np.random.Generator, n: int, t: int, cfg: PhotoWindowConfig) -> np.ndarray:
    """Eye closure in [0, 1] per frame, one blink in ``blink_p`` of the windows. Shape: -> (n, t)."""
    out = np.zeros((n, t))
    frames = np.arange(t)
    for i in np.flatnonzero(rng.random(n) < cfg.blink_p):
        centre, half = rng.uniform(0, t), rng.integers(cfg.blink_frames[0], cfg.blink_frames[1] + 1) / 2
        out[i] = np.clip(1 - np.abs(frames - centre) / half, 0, 1)
    return out


def _head_motion(rng: np.random.Generator, x: np.ndarray, cfg: PhotoWindowConfig) -> np.ndarray:
    """Slow roll, scale, yaw-like x-foreshortening and shift about each window's eye midpoint.

    Shape: x (n, t, 68, 2) pixels -> same.
    """
    n, t = x.shape[:2]
    centre, iod, _ = face_frame(x[:, :1])                          # (n, 1, 2), (n, 1)
    rel = x - centre[:, :, None, :]
    roll = np.deg2rad(_course(rng, n, t, cfg.roll_deg))
    yaw = np.deg2rad(_course(rng, n, t, cfg.yaw_deg))
    scale = 1.0 + _course(rng, n, t, cfg.scale)
    rel = rel * np.stack([np.cos(yaw), np.ones_like(yaw)], axis=-1)[:, :, None, :]
    rel = rotate(rel, roll) * scale[..., None, None]
    shift = np.stack([_course(rng, n, t, cfg.shift_iod), _course(rng, n, t, cfg.shift_iod)], axis=-1)
    return centre[:, :, None, :] + rel + (shift * iod[:, :, None])[:, :, None, :]


CHUNK: int = 4096
"""Windows made at once (bounds the float64 temporaries to a few hundred MB)."""


def photo_windows(stills: WindowSet, count: int, window: int, offsets: np.ndarray, rng: np.random.Generator,
                  cfg: PhotoWindowConfig = PhotoWindowConfig()) -> WindowSet:
    """``count`` windows from the stills, photos drawn class-balanced (each class equally often, photos
    uniformly within it), scenarios per the module docstring.

    Shape: stills landmarks (N, 1, 68, 2) pixels, offsets (C, 68, 2) -> WindowSet (count, window, 68, 2).
    """
    if len(stills) == 0 or count < 1:
        raise ValueError("photo windows need at least one photo and count >= 1")
    present = np.unique(stills.labels)
    members = {int(c): np.flatnonzero(stills.labels == c) for c in present}
    classes = present[rng.integers(0, len(present), count)]
    pick = np.array([members[int(c)][rng.integers(len(members[int(c)]))] for c in classes])
    landmarks = np.empty((count, window) + stills.landmarks.shape[2:], np.float32)
    labels = stills.labels[pick].copy()
    scenario = np.empty(count, np.int64)
    for start in range(0, count, CHUNK):
        part = slice(start, start + CHUNK)
        landmarks[part], labels[part], scenario[part] = _make(
            stills.landmarks[pick[part], -1].astype(np.float64), labels[part], window, offsets, present, rng, cfg)
    names = np.array(["held", "onset", "subtle"])[scenario]
    meta = {"dataset": "photo_windows", "source": stills.meta.get("dataset"), "options": cfg.to_dict(),
            "scenarios": {s: int((names == s).sum()) for s in ("held", "onset", "subtle")}}
    return WindowSet(landmarks, labels, stills.groups[pick], stills.class_names, meta)


def _make(still: np.ndarray, labels: np.ndarray, window: int, offsets: np.ndarray, present: np.ndarray,
          rng: np.random.Generator, cfg: PhotoWindowConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One chunk of windows: landmarks (n, window, 68, 2) float32, labels (n,), scenario index (n,).

    Shape: still (n, 68, 2) pixels, labels (n,) the photos' classes.
    """
    count = len(still)
    labels = labels.copy()
    neutral = labels == NEUTRAL
    amplitude = rng.uniform(*cfg.amplitude, count)
    expressive = present[present != NEUTRAL]
    other = rng.choice(expressive, count) if len(expressive) else labels
    moving = np.where(neutral, other, labels)                                    # the class that moves

    scenario = rng.choice(3, count, p=[cfg.held_p, cfg.onset_p, cfg.subtle_p])[:, None]  # 0 held, 1 on/offset, 2 subtle
    onset = _ramps(rng, count, window, cfg, rng.random(count) < cfg.partial_p)
    offset = 1.0 - _ramps(rng, count, window, cfg, np.zeros(count, bool))      # ends fully at rest
    subtle = rng.uniform(0.0, cfg.neutral_ceiling, (count, 1)) * _ramps(rng, count, window, cfg,
                                                                        np.zeros(count, bool))
    # expression weight per frame: 1 = the photo's expression (expressive photos), the other class's
    # expression added to the face (Neutral photos)
    held = np.where(neutral[:, None], 0.0, 1.0)
    moved = np.where(neutral[:, None], offset, onset)
    weight = np.where(scenario == 0, held, np.where(scenario == 1, moved, subtle))
    labels[scenario[:, 0] == 2] = NEUTRAL
    return expression_frames(still, moving, weight, offsets, neutral, rng, cfg, amplitude), labels, scenario[:, 0]


def expression_frames(still: np.ndarray, moving: np.ndarray, weight: np.ndarray, offsets: np.ndarray,
                      at_rest: np.ndarray, rng: np.random.Generator, cfg: PhotoWindowConfig = PhotoWindowConfig(),
                      amplitude: np.ndarray | None = None) -> np.ndarray:
    """Frames of a face whose expression of class ``moving`` has intensity ``weight`` per frame, with blinks
    and head motion. A still that is ``at_rest`` (a Neutral photo) is the rest face; any other is the
    expression at intensity 1, its rest face the still minus the class offset.

    Shape: still (n, 68, 2) pixels, moving (n,), weight (n, T) in [0, 1], offsets (C, 68, 2), at_rest (n,)
    -> float32 (n, T, 68, 2) pixels.
    """
    count = len(still)
    still = np.asarray(still, np.float64)
    _, iod, angle = face_frame(still)
    if amplitude is None:
        amplitude = rng.uniform(*cfg.amplitude, count)
    offset_px = rotate(offsets[moving].astype(np.float64), angle) * (iod * amplitude)[:, None, None]
    base = np.where(np.asarray(at_rest)[:, None, None], still, still - offset_px)
    x = base[:, None] + np.asarray(weight)[..., None, None] * offset_px[:, None]
    closure = _blinks(rng, count, x.shape[1], cfg)
    for upper, lower in UPPER_TO_LOWER_LID.items():
        x[:, :, upper] += 0.9 * closure[..., None] * (x[:, :, lower] - x[:, :, upper])
    return _head_motion(rng, x, cfg).astype(np.float32)
