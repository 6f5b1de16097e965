"""Box arithmetic for tracking: overlap, scaling, and the landmarks-to-detector-box mapping.

dlib's shape predictor is trained on the HOG detector's boxes, so a tracked face gets a box shaped like
the detector's, derived from its previous landmarks: a square of side ``scale * sqrt(lw * lh)`` centred at
the landmarks' bounding-box centre shifted by ``(dx * lw, dy * lh)`` (lw, lh: the landmarks' bounding-box
width and height). ``fit_box_mapping`` measures scale, dx and dy from detector boxes and their landmarks.
"""

import numpy as np

from emotion.face68 import NUM_LANDMARKS
from emotion.perception.detector import Box


def box_iou(a: Box, b: Box) -> float:
    """Intersection over union of two (x, y, w, h) boxes; 0 when either has no area."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = min(ax + aw, bx + bw) - max(ax, bx)
    ih = min(ay + ah, by + bh) - max(ay, by)
    if iw <= 0 or ih <= 0 or aw <= 0 or ah <= 0 or bw <= 0 or bh <= 0:
        return 0.0
    inter = iw * ih
    return float(inter / (aw * ah + bw * bh - inter))


def scale_box(box: Box, factor: float, offset: tuple[float, float] = (0.0, 0.0)) -> Box:
    """A box from a resized image back in the original: ``box / factor + offset``, rounded."""
    x, y, w, h = box
    ox, oy = offset
    return (int(round(x / factor + ox)), int(round(y / factor + oy)), int(round(w / factor)), int(round(h / factor)))


def _landmark_extent(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centres and sizes of the landmarks' bounding boxes. Shape: (..., 68, 2) -> (..., 2), (..., 2)."""
    pts = np.asarray(landmarks, dtype=np.float64)
    if pts.ndim < 2 or pts.shape[-2:] != (NUM_LANDMARKS, 2):
        raise ValueError(f"expected landmarks of shape (..., {NUM_LANDMARKS}, 2), got {pts.shape}")
    low, high = pts.min(axis=-2), pts.max(axis=-2)
    return (low + high) / 2.0, high - low


def box_from_landmarks(landmarks: np.ndarray, scale: float, dx: float, dy: float) -> Box:
    """The detector-like square box for a face's landmarks (see the module docstring).

    Shape: landmarks (68, 2) pixels -> (x, y, w, h) ints.
    """
    centre, size = _landmark_extent(landmarks)
    side = scale * float(np.sqrt(max(size[0] * size[1], 1e-12)))
    cx, cy = centre[0] + dx * size[0], centre[1] + dy * size[1]
    w = max(int(round(side)), 1)
    return int(round(cx - side / 2.0)), int(round(cy - side / 2.0)), w, w


def fit_box_mapping(boxes: np.ndarray, landmarks: np.ndarray) -> tuple[float, float, float]:
    """(scale, dx, dy) of ``box_from_landmarks`` that best reproduce the given detector boxes (mean ratios).

    Shape: boxes (N, 4) (x, y, w, h) detector boxes, landmarks (N, 68, 2) predicted in them; N >= 1.
    """
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.ndim != 2 or boxes.shape[1] != 4 or len(boxes) == 0:
        raise ValueError(f"expected boxes of shape (N>=1, 4), got {boxes.shape}")
    centre, size = _landmark_extent(landmarks)
    if centre.shape != (len(boxes), 2):
        raise ValueError(f"{len(boxes)} boxes but landmarks of shape {np.shape(landmarks)}")
    size = np.maximum(size, 1e-6)
    side = np.sqrt(boxes[:, 2] * boxes[:, 3])
    box_centre = boxes[:, :2] + boxes[:, 2:] / 2.0
    scale = side / np.sqrt(size[:, 0] * size[:, 1])
    offset = (box_centre - centre) / size
    return float(scale.mean()), float(offset[:, 0].mean()), float(offset[:, 1].mean())
