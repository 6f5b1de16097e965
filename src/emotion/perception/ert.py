"""dlib's 68-point shape predictor, evaluated without holding Python's GIL.

dlib's Python binding keeps the GIL for the whole predictor call (docs/robot.md measures it), so the
perception threads cannot follow faces in parallel. This module reads the same model file
(``shape_predictor_68_face_landmarks.dat``, an ensemble of regression trees: Kazemi and Sullivan 2014)
and evaluates it with the same arithmetic in numba code compiled with ``nogil``, so threads really run
side by side; tests/test_ert.py checks its landmarks against dlib's on real faces.

The file is dlib's serialisation (``dlib::serialize`` of a ``shape_predictor``): a version, the mean
shape (a column matrix of 2 x 68 floats in the unit box), then per cascade level its regression trees
(the splits: two feature indices and a threshold; the leaves: shape increments), the anchor landmark
of each feature pixel and its offset from it. Integers are a control byte (byte count, 0x80 for
negative) and little-endian bytes; floats are two such integers, mantissa and binary exponent. Parsing
it takes ~0.9 s, so ``ShapeModel.load`` keeps the arrays as .npy files (``SHAPE_MODEL_CACHE``) and maps
them: every process that loads the model shares the same 65 MB of pages.
"""

import os
import shutil
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path

import numba
import numpy as np

from emotion.paths import CACHE_DIR

_CACHE = True
"""Compiled code is cached beside this file (``__pycache__``), so only the first start compiles."""
_READ = {"cache": _CACHE, "boundscheck": True}
"""The file readers check every index: a truncated or hostile file raises IndexError, never reads past."""
MAX_BYTES = 512 * 2 ** 20
"""Largest model file read (dlib's 68-point model is 95 MiB)."""
SHAPE_MODEL_CACHE: Path = CACHE_DIR / "shape_models"
"""Parsed models as .npy arrays, memory-mapped by ``ShapeModel.load`` (one folder per model file version)."""
CACHE_LINE_FLOATS = 16
"""float32 values per 64-byte cache line."""
MAX_LEAF_VALUES = 2 ** 26
"""Most leaf values (levels x trees x leaves x shape length) allocated for a file (the 68-point model: 16.3 M)."""


@numba.njit(**_READ)
def _int(data: np.ndarray, pos: int) -> tuple[int, int]:
    control = data[pos]
    count = control & 0x0F
    value = 0
    for i in range(count):
        value |= np.int64(data[pos + 1 + i]) << (8 * i)
    return (-value if control & 0x80 else value), pos + 1 + count


@numba.njit(**_READ)
def _float(data: np.ndarray, pos: int) -> tuple[float, int]:
    mantissa, pos = _int(data, pos)
    exponent, pos = _int(data, pos)
    return float(mantissa) * 2.0 ** exponent, pos


@numba.njit(**_READ)
def _column(data: np.ndarray, pos: int, out: np.ndarray) -> int:
    """A serialised column matrix into ``out`` (its length must match); the position after it (-1: not)."""
    rows, pos = _int(data, pos)
    cols, pos = _int(data, pos)
    if -rows != out.shape[0] or cols != -1:
        return -1
    for i in range(out.shape[0]):
        out[i], pos = _float(data, pos)
    return pos


@numba.njit(**_READ)
def _sizes(data: np.ndarray, pos: int) -> tuple[int, int, int]:
    """(splits, leaves, shape length) of the tree serialised at ``pos``."""
    splits, pos = _int(data, pos)
    for _ in range(splits):
        _, pos = _int(data, pos)
        _, pos = _int(data, pos)
        _, pos = _float(data, pos)
    leaves, pos = _int(data, pos)
    rows, pos = _int(data, pos)
    return splits, leaves, -rows


@numba.njit(**_READ)
def _trees(data: np.ndarray, pos: int, index: np.ndarray, threshold: np.ndarray, leaves: np.ndarray) -> int:
    """Every cascade level's trees into the arrays (shapes from ``_sizes``); the position after them."""
    levels, pos = _int(data, pos)
    if levels != index.shape[0]:
        return -1
    for level in range(levels):
        trees, pos = _int(data, pos)
        if trees != index.shape[1]:
            return -1
        for t in range(trees):
            splits, pos = _int(data, pos)
            if splits != index.shape[2]:
                return -1
            for s in range(splits):
                index[level, t, s, 0], pos = _int(data, pos)
                index[level, t, s, 1], pos = _int(data, pos)
                threshold[level, t, s], pos = _float(data, pos)
            count, pos = _int(data, pos)
            if count != leaves.shape[2]:
                return -1
            for leaf in range(count):
                pos = _column(data, pos, leaves[level, t, leaf])
                if pos < 0:
                    return -1
    return pos


@numba.njit(**_READ)
def _anchors(data: np.ndarray, pos: int, anchor: np.ndarray, delta: np.ndarray) -> int:
    levels, pos = _int(data, pos)
    if levels != anchor.shape[0]:
        return -1
    for level in range(levels):
        count, pos = _int(data, pos)
        if count != anchor.shape[1]:
            return -1
        for i in range(count):
            anchor[level, i], pos = _int(data, pos)
    levels, pos = _int(data, pos)
    if levels != delta.shape[0]:
        return -1
    for level in range(levels):
        count, pos = _int(data, pos)
        if count != delta.shape[1]:
            return -1
        for i in range(count):
            delta[level, i, 0], pos = _float(data, pos)
            delta[level, i, 1], pos = _float(data, pos)
    return pos


@numba.njit(**_READ)
def _feature_count(data: np.ndarray, pos: int) -> int:
    """Feature pixels per level, read from the anchors' first level at ``pos``."""
    _, pos = _int(data, pos)
    count, _ = _int(data, pos)
    return count


@numba.njit(nogil=True, cache=_CACHE)
def _predict(gray: np.ndarray, left: float, top: float, right: float, bottom: float, mean: np.ndarray,
             index: np.ndarray, threshold: np.ndarray, leaves: np.ndarray, anchor: np.ndarray,
             delta: np.ndarray, out: np.ndarray, scratch: np.ndarray) -> None:
    """dlib's ``shape_predictor::operator()``: the cascade from the mean shape, then to image pixels.

    Each level first picks every tree's leaf, then touches one value of each cache line of those leaves
    (independent loads the CPU overlaps), then adds the leaves in dlib's order: the leaves (65 MB) are
    far out of cache, and adding them as they are found waits on one miss at a time (~30 % slower).
    """
    height, width = gray.shape
    points = mean.shape[0] // 2
    shape = mean.copy()
    pixels = np.empty(anchor.shape[1], np.float32)
    trees, splits, length = index.shape[1], index.shape[2], shape.shape[0]
    chosen = np.empty(trees, np.int64)
    span_x, span_y = right - left, bottom - top
    for level in range(index.shape[0]):
        # similarity (scale and rotation) taking the mean shape to the current one (least squares)
        mx = my = cx = cy = 0.0
        for p in range(points):
            mx += mean[2 * p]
            my += mean[2 * p + 1]
            cx += shape[2 * p]
            cy += shape[2 * p + 1]
        mx, my, cx, cy = mx / points, my / points, cx / points, cy / points
        dot = cross = norm = 0.0
        for p in range(points):
            ax, ay = mean[2 * p] - mx, mean[2 * p + 1] - my
            bx, by = shape[2 * p] - cx, shape[2 * p + 1] - cy
            dot += ax * bx + ay * by
            cross += ax * by - ay * bx
            norm += ax * ax + ay * ay
        a, b = (dot / norm, cross / norm) if norm > 0 else (1.0, 0.0)
        a32, b32 = np.float32(a), np.float32(b)
        for i in range(anchor.shape[1]):
            dx, dy = delta[level, i, 0], delta[level, i, 1]
            k = anchor[level, i]
            u = np.float32(a32 * dx - b32 * dy) + shape[2 * k]
            v = np.float32(b32 * dx + a32 * dy) + shape[2 * k + 1]
            x = np.int64(np.floor(left + u * span_x + 0.5))
            y = np.int64(np.floor(top + v * span_y + 0.5))
            pixels[i] = gray[y, x] if 0 <= x < width and 0 <= y < height else 0.0
        for t in range(trees):
            node = 0
            while node < splits:
                if pixels[index[level, t, node, 0]] - pixels[index[level, t, node, 1]] > threshold[level, t, node]:
                    node = 2 * node + 1
                else:
                    node = 2 * node + 2
            chosen[t] = node - splits
        touched = np.float32(0.0)
        for t in range(trees):
            for j in range(0, length, CACHE_LINE_FLOATS):
                touched += leaves[level, t, chosen[t], j]
        scratch[0] = touched  # stored, so the touching loads are not optimised away
        for t in range(trees):
            leaf = leaves[level, t, chosen[t]]
            for j in range(length):
                shape[j] += leaf[j]
    for p in range(points):
        out[p, 0] = np.floor(left + shape[2 * p] * span_x + 0.5)
        out[p, 1] = np.floor(top + shape[2 * p + 1] * span_y + 0.5)


@dataclass(frozen=True)
class ShapeModel:
    """A dlib shape predictor as arrays. Shape: mean (2P,), index (L, T, S, 2), threshold (L, T, S),
    leaves (L, T, S + 1, 2P), anchor (L, F), delta (L, F, 2); L levels, T trees, S splits, F pixels."""

    mean: np.ndarray
    index: np.ndarray
    threshold: np.ndarray
    leaves: np.ndarray
    anchor: np.ndarray
    delta: np.ndarray

    @property
    def points(self) -> int:
        return self.mean.shape[0] // 2

    @classmethod
    def load(cls, path: str | Path, cache: Path | None = SHAPE_MODEL_CACHE) -> "ShapeModel":
        """The model of dlib's file at ``path``, its arrays memory-mapped from ``cache`` (parsed and written
        there the first time; processes that load it share its pages); ``cache=None`` parses every time."""
        path = Path(path)
        stat = path.stat()
        folder = None if cache is None else Path(cache) / f"{path.stem}-{stat.st_size}-{stat.st_mtime_ns}"
        if folder is not None and folder.is_dir():
            try:
                return cls._checked(*(np.asarray(np.load(folder / f"{f.name}.npy", mmap_mode="r"))
                                      for f in fields(cls)))
            except (OSError, ValueError):
                shutil.rmtree(folder, ignore_errors=True)  # a damaged entry: parsed again and replaced
        model = cls.from_file(path)
        if folder is not None:
            model._save(folder)
        return model

    def _save(self, folder: Path) -> None:
        """Write the arrays to ``folder`` whole or not at all (a temporary folder renamed; another process
        that got there first wins); errors are ignored: the cache only saves time."""
        try:
            folder.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        except OSError:
            return
        try:
            for f in fields(self):
                np.save(staging / f"{f.name}.npy", getattr(self, f.name))
            os.replace(staging, folder)
        except OSError:
            pass
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    @classmethod
    def _checked(cls, mean, index, threshold, leaves, anchor, delta) -> "ShapeModel":
        """A model of consistent arrays (ValueError otherwise), compiled for prediction."""
        levels, trees, splits, _ = index.shape
        if (index.dtype != np.int64 or anchor.dtype != np.int64 or mean.ndim != 1 or len(mean) % 2
                or threshold.shape != (levels, trees, splits) or leaves.shape != (levels, trees, splits + 1, len(mean))
                or anchor.shape[0] != levels or delta.shape != (*anchor.shape, 2)
                or any(a.dtype != np.float32 for a in (mean, threshold, leaves, delta))):
            raise ValueError("arrays of the wrong shapes or types")
        if index.min() < 0 or index.max() >= anchor.shape[1] or anchor.min() < 0 or anchor.max() >= len(mean) // 2:
            raise ValueError("indices out of range")
        model = cls(mean, index, threshold, leaves, anchor, delta)
        model.predict(np.zeros((8, 8), np.uint8), (0, 0, 8, 8))  # compiled (or loaded from numba's cache) now
        return model

    @classmethod
    def from_file(cls, path: str | Path) -> "ShapeModel":
        """Read dlib's serialised shape predictor; ValueError when the file is not one."""
        size = Path(path).stat().st_size
        if size > MAX_BYTES:
            raise ValueError(f"{path}: {size} bytes, more than a shape predictor's {MAX_BYTES}")
        data = np.fromfile(path, dtype=np.uint8)
        try:
            version, pos = _int(data, 0)
            rows, _ = _int(data, pos)
            if version != 1 or not 0 < -rows <= 10_000 or -rows % 2:
                raise ValueError("no dlib shape predictor header")
            mean = np.empty(-rows, np.float32)
            pos = _column(data, pos, mean)
            levels, tree_pos = _int(data, pos)   # peeked: _trees reads the trees from pos
            trees, tree_pos = _int(data, tree_pos)
            splits, leaf_count, length = _sizes(data, tree_pos)
            if length != len(mean) or leaf_count != splits + 1 or not 0 < splits < 1024:
                raise ValueError("trees that do not fit the mean shape")
            if not 0 < levels * trees * leaf_count * length <= MAX_LEAF_VALUES:
                raise ValueError(f"{levels} x {trees} trees of {leaf_count} leaves: too many")
            index = np.empty((levels, trees, splits, 2), np.int64)
            threshold = np.empty((levels, trees, splits), np.float32)
            leaves = np.empty((levels, trees, leaf_count, length), np.float32)
            pos = _trees(data, pos, index, threshold, leaves)
            if pos < 0:
                raise ValueError("trees of unequal sizes")
            features = _feature_count(data, pos)
            if not 0 < features <= 100_000:
                raise ValueError(f"{features} feature pixels")
            anchor = np.empty((levels, features), np.int64)
            delta = np.empty((levels, features, 2), np.float32)
            pos = _anchors(data, pos, anchor, delta)
        except IndexError:
            raise ValueError(f"{path}: truncated dlib shape predictor") from None
        except ValueError as exc:
            raise ValueError(f"{path}: not a dlib shape predictor ({exc})") from None
        if pos != len(data):
            raise ValueError(f"{path}: not a dlib shape predictor (read {pos} of {len(data)} bytes)")
        if not all(np.isfinite(a).all() for a in (mean, threshold, leaves, delta)):
            raise ValueError(f"{path}: not a dlib shape predictor (values that are not finite)")
        try:
            return cls._checked(mean, index, threshold, leaves, anchor, delta)
        except ValueError as exc:
            raise ValueError(f"{path}: not a dlib shape predictor ({exc})") from None

    def predict(self, gray: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """The landmarks of the face in ``box`` (x, y, w, h), as dlib's predictor gives them (whole pixels);
        the GIL is released while it runs.

        Shape: gray (H, W) uint8 contiguous -> (P, 2) float32 pixels (x, y).
        """
        x, y, w, h = box
        out = np.empty((self.points, 2), np.float32)
        _predict(gray, float(x), float(y), float(x + w - 1), float(y + h - 1), self.mean, self.index,
                 self.threshold, self.leaves, self.anchor, self.delta, out, np.empty(1, np.float32))
        return out
