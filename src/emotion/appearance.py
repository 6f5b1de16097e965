"""The face's appearance as one vector: a histogram of oriented gradients (HOG) of the face cropped in its
own frame.

Landmarks give the shape of a face, not its texture: teeth, wrinkles at the eyes and nose, a furrowed
brow. The crop is taken in the frame the landmark normalisation uses (``emotion.normalize.face_frame``:
eye midpoint, inter-ocular distance, eye-line angle), so it is the same part of every face at any size,
position and roll; HOG (Dalal and Triggs, 2005: gradient orientation histograms per cell, normalised per
block) then ignores brightness and contrast. The descriptor of a mirrored face is a permutation of the
face's own (``mirror_descriptor``), which training uses to mirror photos it no longer has.

A zero descriptor means "no appearance seen" (``emotion.models.stgcn`` reads it so): a crop always has
some gradient, so a real descriptor is never all zeros.
"""

import cv2
import numpy as np

from emotion.face68 import NUM_LANDMARKS
from emotion.normalize import face_frame

CROP_PX: int = 112
"""Side of the square crop the descriptor is computed on (8-pixel cells: 14 x 14), ~37 pixels per
inter-ocular distance. Fewer pixels read Neutral faces of new people worse (``weights/MODEL_CARD.md``,
"The crop")."""
CROP_SPAN: float = 3.0
"""Side of the crop in inter-ocular distances (eye centre to eye centre): forehead to chin, cheek to
cheek (the 2.6 of before cut the forehead, where raised and knitted brows fold the skin)."""
EYES_AT: float = 0.38
"""Height of the eye midpoint in the crop, as a fraction of its side from the top (1.1 inter-ocular
distances of forehead above it)."""
CELL_PX: int = 8
BINS: int = 9
"""Unsigned orientation bins over 0-180 degrees."""
BLOCK_CELLS: int = 2
CLIP: float = 0.2
"""L2-Hys: block values are clipped here after the first normalisation."""

_CELLS = CROP_PX // CELL_PX
_BLOCKS = _CELLS - BLOCK_CELLS + 1
DESCRIPTOR_SIZE: int = _BLOCKS * _BLOCKS * BLOCK_CELLS * BLOCK_CELLS * BINS
"""Length of a descriptor (6 084)."""
_ROWS, _COLS = np.divmod(np.arange(CROP_PX * CROP_PX), CROP_PX)
_CELL_OF_PIXEL = (_ROWS // CELL_PX) * _CELLS + _COLS // CELL_PX


def crop_transform(landmarks: np.ndarray) -> np.ndarray:
    """The affine map from image pixels to crop pixels of one face (for ``cv2.warpAffine``).

    Shape: landmarks (68, 2) pixels -> (2, 3).
    """
    centre, iod, angle = face_frame(np.asarray(landmarks, dtype=np.float64))
    scale = CROP_PX / (CROP_SPAN * max(float(iod), 1e-6))    # crop pixels per image pixel
    cos, sin = np.cos(-float(angle)) * scale, np.sin(-float(angle)) * scale
    rotation = np.array([[cos, -sin], [sin, cos]])
    target = np.array([(CROP_PX - 1) / 2.0, EYES_AT * (CROP_PX - 1)])
    return np.hstack([rotation, (target - rotation @ centre)[:, None]])


def face_crop(gray: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The face in its own frame, ``CROP_PX`` square. A face larger than the crop is first reduced by
    area averaging (no aliasing), so the crop looks the same at any face size.

    Shape: gray (H, W) uint8, landmarks (68, 2) pixels -> (CROP_PX, CROP_PX) uint8.
    """
    points = np.asarray(landmarks, dtype=np.float64)
    if points.shape != (NUM_LANDMARKS, 2):
        raise ValueError(f"expected landmarks of shape ({NUM_LANDMARKS}, 2), got {points.shape}")
    transform = crop_transform(points)
    shrink = float(np.hypot(*transform[0, :2]))               # < 1: the face is larger than the crop
    if shrink < 0.75:
        # Only the face's surroundings are reduced: a square around the crop's centre, large enough for any roll.
        centre = face_frame(points)[0]
        half = CROP_PX / shrink * 0.75
        x0, y0 = (max(int(c - half), 0) for c in centre)
        x1, y1 = min(int(centre[0] + half) + 1, gray.shape[1]), min(int(centre[1] + half) + 1, gray.shape[0])
        if x1 - x0 >= 2 and y1 - y0 >= 2:
            factor = shrink * 1.25                             # reduce to a little above the crop's resolution
            region = gray[y0:y1, x0:x1]
            size = (max(int(round(region.shape[1] * factor)), 1), max(int(round(region.shape[0] * factor)), 1))
            small = cv2.resize(region, size, interpolation=cv2.INTER_AREA)
            fx, fy = size[0] / region.shape[1], size[1] / region.shape[0]
            # pixel centres: small (u + 0.5) = f * (x - x0 + 0.5)
            to_small = np.array([[fx, 0.0, fx * (0.5 - x0) - 0.5], [0.0, fy, fy * (0.5 - y0) - 0.5]])
            inverse = np.linalg.inv(np.vstack([to_small, [0.0, 0.0, 1.0]]))[:2]
            transform = transform @ np.vstack([inverse, [0.0, 0.0, 1.0]])
            gray = small
    return cv2.warpAffine(gray, transform, (CROP_PX, CROP_PX), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def hog(crop: np.ndarray) -> np.ndarray:
    """HOG of a crop: centred gradients, magnitude votes into ``BINS`` unsigned orientations (linear
    between bin centres) per ``CELL_PX`` cell, 2x2-cell blocks normalised by L2-Hys.

    Shape: crop (CROP_PX, CROP_PX) -> (DESCRIPTOR_SIZE,) float32.
    """
    image = np.asarray(crop, dtype=np.float32)
    if image.shape != (CROP_PX, CROP_PX):
        raise ValueError(f"expected a ({CROP_PX}, {CROP_PX}) crop, got {image.shape}")
    gx, gy = np.zeros_like(image), np.zeros_like(image)
    gx[:, 1:-1] = image[:, 2:] - image[:, :-2]
    gy[1:-1, :] = image[2:, :] - image[:-2, :]
    magnitude = np.hypot(gx, gy).ravel()
    position = np.mod(np.arctan2(gy, gx), np.pi).ravel() / (np.pi / BINS) - 0.5
    low = np.floor(position)
    upper_share = position - low
    low = low.astype(np.int64) % BINS
    cell = _CELL_OF_PIXEL
    votes = np.bincount(np.concatenate([cell * BINS + low, cell * BINS + (low + 1) % BINS]),
                        weights=np.concatenate([magnitude * (1.0 - upper_share), magnitude * upper_share]),
                        minlength=_CELLS * _CELLS * BINS).reshape(_CELLS, _CELLS, BINS)
    # every BLOCK_CELLS x BLOCK_CELLS window of cells, its values in (cell row, cell column, bin) order
    windows = np.lib.stride_tricks.sliding_window_view(votes, (BLOCK_CELLS, BLOCK_CELLS), axis=(0, 1))
    blocks = windows.transpose(0, 1, 3, 4, 2).reshape(_BLOCKS * _BLOCKS, BLOCK_CELLS * BLOCK_CELLS * BINS)
    blocks = blocks / np.sqrt((blocks ** 2).sum(axis=1, keepdims=True) + 1e-6)
    blocks = np.minimum(blocks, CLIP)
    blocks = blocks / np.sqrt((blocks ** 2).sum(axis=1, keepdims=True) + 1e-6)
    return blocks.ravel().astype(np.float32)


def describe(gray: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The appearance descriptor of one face in a frame. Shape: gray (H, W) uint8, landmarks (68, 2) ->
    (DESCRIPTOR_SIZE,) float32."""
    return hog(face_crop(gray, landmarks))


def _mirror_index() -> np.ndarray:
    """Where each value of a mirrored face's descriptor comes from in the face's own."""
    index = np.arange(DESCRIPTOR_SIZE).reshape(_BLOCKS, _BLOCKS, BLOCK_CELLS, BLOCK_CELLS, BINS)
    # A flip reverses block columns, cell columns within a block, and orientations (theta -> 180 - theta).
    return index[:, ::-1, :, ::-1, ::-1].ravel()


MIRROR_INDEX: np.ndarray = _mirror_index()


def mirror_descriptor(descriptors: np.ndarray) -> np.ndarray:
    """The descriptors of the faces mirrored left-right. Shape: (..., DESCRIPTOR_SIZE) -> same."""
    return np.asarray(descriptors)[..., MIRROR_INDEX]
