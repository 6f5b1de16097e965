"""Landmark normalisation: the ONE function that training and inference both apply to a window.

Each frame is normalised on its own, so head translation, distance to the camera and in-plane roll
do not reach the model while the face's shape and its change over time do:

1. centre: the midpoint of the two eye centres (stable under every expression; brows, mouth and jaw move
   relative to it) becomes the origin;
2. scale: coordinates are divided by the inter-ocular distance (eye centre to eye centre), so a face
   is about 1 unit wide between the eyes whatever its size in pixels;
3. roll (optional, on by default): the frame is rotated so that the eye line is horizontal.

A frame whose inter-ocular distance is not finite or below ``min_iod`` pixels (a degenerate detection)
becomes all zeros rather than exploding.
"""

from dataclasses import dataclass

import numpy as np

from emotion.configtools import DictConfig
from emotion.face68 import NUM_LANDMARKS, eye_centres


@dataclass(frozen=True)
class NormalizationConfig(DictConfig):
    """How windows are normalised; stored in every checkpoint so inference matches training."""

    remove_roll: bool = True
    min_iod: float = 1e-6


def face_frame(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The similarity frame normalisation removes: eye midpoint, inter-ocular distance and eye-line angle.

    Shape: landmarks (..., 68, 2) pixels -> centre (..., 2), iod (...), angle (...) radians.
    """
    right, left = eye_centres(landmarks)
    eye_vec = left - right
    return (right + left) / 2.0, np.linalg.norm(eye_vec, axis=-1), np.arctan2(eye_vec[..., 1], eye_vec[..., 0])


def rotate(points: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Points turned by ``angle`` (radians, per leading index). Shape: points (..., P, 2), angle (...)."""
    cos, sin = np.cos(angle)[..., None], np.sin(angle)[..., None]
    x, y = points[..., 0], points[..., 1]
    return np.stack([x * cos - y * sin, x * sin + y * cos], axis=-1)


def normalize_landmarks(landmarks: np.ndarray, config: NormalizationConfig = NormalizationConfig()) -> np.ndarray:
    """Centre each frame on the eye midpoint, scale by inter-ocular distance, optionally remove roll.

    Shape: landmarks (..., 68, 2) in pixels (any leading dims: a frame, a window (T, 68, 2), a batch
    (N, T, 68, 2)) -> float32 array of the same shape in inter-ocular units.
    """
    pts = np.asarray(landmarks, dtype=np.float64)
    if pts.ndim < 2 or pts.shape[-2:] != (NUM_LANDMARKS, 2):
        raise ValueError(f"expected landmarks of shape (..., {NUM_LANDMARKS}, 2), got {pts.shape}")
    centre, iod, angle = face_frame(pts)
    valid = np.isfinite(iod) & (iod > config.min_iod)
    safe_iod = np.where(valid, iod, 1.0)
    out = (pts - centre[..., None, :]) / safe_iod[..., None, None]
    if config.remove_roll:
        out = rotate(out, -angle)
    out = np.where(valid[..., None, None], out, 0.0)
    return out.astype(np.float32)
