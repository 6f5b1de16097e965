"""Training augmentation of landmark windows, in PIXEL space before normalisation, batch-vectorised.

What each step imitates (all seeded through one ``numpy.random.Generator``):

- mirror: the face flipped left-right (x reflected about the window's mean x) with the iBUG left/right
  swap ``face68.MIRROR``, so point 36 stays the subject's right eye corner;
- rotation, scale, shift: head roll, distance and position in the image (per window);
- anisotropic scale: a little x/y stretch, as yaw and pitch foreshorten the face;
- jitter: per-frame, per-point Gaussian noise in inter-ocular units, like dlib's landmark jitter;
- speed: the window resampled at 0.7-1.3x speed with its END frame kept (the label describes the end);
  time before the first frame is filled with the first frame;
- padded start (temporal crop): the first k frames replaced by copies of frame k, exactly what the
  component's buffer does while it fills, so early-buffer predictions are sane;
- still: the whole window replaced by its last frame, what the buffer holds for a face seen once (a
  track's first frame, a photo given to ``analyze``);
- identity: another person's face shape (a real neutral face's offset from the mean neutral face, in
  inter-ocular units, times a factor in [0, ``identity_scale``]) added to every frame in the face's own
  frame, so one photographed person stands for many and the expression, not the person, decides the
  class (``identity_offsets`` builds the offsets from training photos; without them the step is off);
- landmark dropout (occlusion): one face part (an eye, a brow, the mouth, the jaw...) over a random frame
  span is either frozen at its last seen position (a tracker that stops updating) or replaced by its true
  position plus strong noise (a hand over the mouth makes dlib guess), chosen at random per window.
"""

from dataclasses import dataclass

import numpy as np

from emotion.configtools import checked, nonnegative, number, probability
from emotion.face68 import MIRROR, PARTS, inter_ocular_distance
from emotion.normalize import face_frame, normalize_landmarks, rotate

_speed = number(0.1, 5.0, what="a speed factor in [0.1, 5]")


@dataclass(frozen=True)
class AugmentConfig:
    """Augmentation strengths (TOML section ``[augment]``); a probability of 0 or a range of 0 disables a step."""

    mirror_p: float = checked(0.5, probability)
    rotation_deg: float = checked(12.0, nonnegative)     # uniform in +-rotation_deg
    scale: float = checked(0.2, nonnegative)             # log-uniform factor in [1-scale, 1+scale]
    aniso: float = checked(0.06, nonnegative)            # x/y stretch ratio in [1-aniso, 1+aniso]
    shift: float = checked(0.3, nonnegative)             # +-shift inter-ocular distances
    jitter: float = checked(0.02, nonnegative)           # std, inter-ocular units, per frame and point
    jitter_max: float = checked(0.04, nonnegative)       # jitter std drawn per window in [jitter, jitter_max]
    speed_p: float = checked(0.5, probability)
    speed_min: float = checked(0.7, _speed)
    speed_max: float = checked(1.3, _speed)
    pad_p: float = checked(0.15, probability)            # padded start, k uniform in [1, T-2]
    still_p: float = checked(0.0, probability)           # the whole window its last frame (a still)
    identity_p: float = checked(0.0, probability)        # another person's face shape added
    identity_scale: float = checked(1.0, nonnegative)    # its factor, uniform in [0, identity_scale]
    dropout_p: float = checked(0.1, probability)
    dropout_noise: float = checked(0.15, nonnegative)    # std of the noise variant, inter-ocular units

    def __post_init__(self) -> None:
        if self.speed_min > self.speed_max:
            raise ValueError(f"speed_min {self.speed_min} > speed_max {self.speed_max}")
        if self.jitter_max < self.jitter:
            raise ValueError(f"jitter_max {self.jitter_max} < jitter {self.jitter}")


_DROPOUT_PARTS: tuple[np.ndarray, ...] = tuple(
    np.array(PARTS[a] + PARTS[b]) if b else np.array(PARTS[a])
    for a, b in [("right_eye", "right_brow"), ("left_eye", "left_brow"), ("outer_lips", "inner_lips"),
                 ("jaw", None), ("right_brow", None), ("left_brow", None), ("nose_base", None)]
)


def _check(x: np.ndarray) -> None:
    if x.ndim != 4 or x.shape[2:] != (68, 2):
        raise ValueError(f"expected windows of shape (N, T, 68, 2), got {x.shape}")


def mirror(x: np.ndarray) -> np.ndarray:
    """Flip every window left-right about its mean x and swap left/right landmarks; mirror(mirror(x)) == x.

    Shape: x (N, T, 68, 2) pixels -> same.
    """
    _check(x)
    centre = x[..., 0].mean(axis=(1, 2), keepdims=True)
    out = x[:, :, MIRROR, :].copy()
    out[..., 0] = 2.0 * centre - out[..., 0]
    return out


def affine(x: np.ndarray, angle: np.ndarray, scale: np.ndarray, aniso: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Per-window rotation (rad), scale, x/y stretch and shift about the window's mean point.

    Shape: x (N, T, 68, 2); angle, scale, aniso (N,); shift (N, 2) pixels -> (N, T, 68, 2).
    """
    _check(x)
    centre = x.mean(axis=(1, 2), keepdims=True)
    c, s = np.cos(angle), np.sin(angle)
    rot = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)                    # (N, 2, 2)
    stretch = np.stack([scale * np.sqrt(aniso), scale / np.sqrt(aniso)], -1)              # (N, 2)
    mat = rot * stretch[:, None, :]                                                       # rot @ diag
    out = np.einsum("nij,ntvj->ntvi", mat, x - centre) + centre + shift[:, None, None, :]
    return out.astype(x.dtype, copy=False)


def resample_speed(x: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """Replay each window at ``factor`` times its speed, keeping the end frame; before the start, the first frame.

    Output frame t shows source time (T-1) - (T-1-t) * factor, linearly interpolated.
    Shape: x (N, T, 68, 2), factor (N,) -> (N, T, 68, 2).
    """
    _check(x)
    n, t = x.shape[:2]
    src = (t - 1) - (t - 1 - np.arange(t))[None, :] * factor[:, None]                    # (N, T)
    src = np.clip(src, 0.0, t - 1)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, t - 1)
    w = (src - lo)[..., None, None].astype(x.dtype)
    rows = np.arange(n)[:, None]
    return x[rows, lo] * (1 - w) + x[rows, hi] * w


def pad_start(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Replace the first k[i] frames of window i by copies of its frame k[i] (a filling buffer).

    Shape: x (N, T, 68, 2), k (N,) ints in [0, T-1] -> (N, T, 68, 2).
    """
    _check(x)
    t = x.shape[1]
    src = np.maximum(np.arange(t)[None, :], np.asarray(k)[:, None])
    return x[np.arange(len(x))[:, None], src]


def identity_offsets(neutral: np.ndarray) -> np.ndarray:
    """Each neutral face's shape minus the mean neutral shape, normalised (eye midpoint, inter-ocular
    distance, no roll): what sets one person's resting face apart from another's.

    Shape: neutral (M, 68, 2) pixels, one face at rest each -> float32 (M, 68, 2) inter-ocular units.
    """
    shapes = normalize_landmarks(np.asarray(neutral, dtype=np.float32))
    shapes = shapes[np.isfinite(shapes).all(axis=(1, 2))]
    return (shapes - shapes.mean(axis=0, keepdims=True)).astype(np.float32)


def add_identity(x: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Add one identity offset per window to each of its frames, turned and scaled into that frame's face.

    Shape: x (N, T, 68, 2) pixels, offsets (N, 68, 2) inter-ocular units -> (N, T, 68, 2) pixels.
    """
    _check(x)
    _, iod, angle = face_frame(x)                                                         # (N, T)
    turned = rotate(np.broadcast_to(offsets[:, None], x.shape), angle)                   # (N, T, 68, 2)
    return (x + turned * np.nan_to_num(iod, nan=0.0)[..., None, None]).astype(x.dtype, copy=False)


def augment_batch(x: np.ndarray, cfg: AugmentConfig, rng: np.random.Generator,
                  identities: np.ndarray | None = None) -> np.ndarray:
    """Apply every enabled augmentation (see the module docstring) to a batch of pixel windows;
    ``identities`` are the offsets of the identity step (``identity_offsets``; None or empty: no step).

    Shape: x (N, T, 68, 2) pixels, identities (M, 68, 2) -> float32 (N, T, 68, 2) pixels.
    """
    _check(x)
    x = np.asarray(x, dtype=np.float32)
    n, t = x.shape[:2]
    if n == 0:
        return x.copy()
    iod = np.nan_to_num(inter_ocular_distance(x).mean(axis=1), nan=1.0)                  # (N,)
    iod = np.maximum(iod, 1e-3)

    flip = rng.random(n) < cfg.mirror_p
    if flip.any():
        x[flip] = mirror(x[flip])

    if cfg.identity_p > 0 and identities is not None and len(identities):
        other = rng.random(n) < cfg.identity_p
        if other.any():
            pick = rng.integers(0, len(identities), other.sum())
            factor = rng.uniform(0.0, cfg.identity_scale, other.sum()).astype(np.float32)
            x[other] = add_identity(x[other], identities[pick] * factor[:, None, None])

    if cfg.speed_p > 0:
        factor = np.where(rng.random(n) < cfg.speed_p, rng.uniform(cfg.speed_min, cfg.speed_max, n), 1.0)
        moved = factor != 1.0
        if moved.any():
            x[moved] = resample_speed(x[moved], factor[moved])

    angle = np.deg2rad(rng.uniform(-cfg.rotation_deg, cfg.rotation_deg, n))
    scale = np.exp(rng.uniform(np.log1p(-min(cfg.scale, 0.9)), np.log1p(cfg.scale), n))
    aniso = rng.uniform(1 - min(cfg.aniso, 0.9), 1 + cfg.aniso, n)
    shift = rng.uniform(-cfg.shift, cfg.shift, (n, 2)) * iod[:, None]
    x = affine(x, angle, scale, aniso, shift)
    iod = iod * scale

    if cfg.dropout_p > 0:
        for i in np.flatnonzero(rng.random(n) < cfg.dropout_p):
            pts = _DROPOUT_PARTS[rng.integers(len(_DROPOUT_PARTS))]
            start = int(rng.integers(0, t))
            stop = int(rng.integers(start + 1, t + 1))
            span = x[i, start:stop]                                                       # a view
            if rng.random() < 0.5 and start > 0:
                span[:, pts] = x[i, start - 1, pts]
            else:
                span[:, pts] += rng.normal(0, cfg.dropout_noise * iod[i], (stop - start, len(pts), 2))

    if cfg.jitter_max > 0:
        std = rng.uniform(cfg.jitter, cfg.jitter_max, n) * iod
        x += rng.normal(size=x.shape).astype(np.float32) * std[:, None, None, None].astype(np.float32)

    if cfg.pad_p > 0 and t > 2:
        padded = rng.random(n) < cfg.pad_p
        if padded.any():
            x[padded] = pad_start(x[padded], rng.integers(1, t - 1, padded.sum()))
    if cfg.still_p > 0 and t > 1:
        still = rng.random(n) < cfg.still_p
        if still.any():
            x[still] = pad_start(x[still], np.full(still.sum(), t - 1))
    return x.astype(np.float32, copy=False)
