"""Labelled face photos -> one landmark still per photo, with groups that keep people and near-duplicates together.

Three layouts, one reader:

- a folder per label: ``ROOT/<label>/**/*.jpg`` (any image suffix of ``emotion.datasets.video``);
- a CSV with a header holding ``path`` and ``label`` and optionally ``group`` (paths relative to ``root``,
  default the CSV's folder);
- the ``muxspace`` preset: a checkout of github.com/muxspace/facial_expressions (``data/legend.csv`` with
  ``user.id,image,emotion``, the photos in ``images/``).

Labels are matched with ``emotion.classes.class_from_alias`` (any case, "happiness", "angry", ...); a label
naming an emotion the model has no class for (disgust, fear, contempt) drops the photo, and the count of
each dropped label is kept in the set's meta. Each photo goes through the component's own tracker
(``emotion.datasets.extraction``: same detector, predictor and TrackerConfig, cached per photo); the largest
face is kept, a photo without a face is counted and left out.

Groups (for validation splits without leakage): the CSV's ``group``, else the person's name when the file
name has LFW's ``First_Last_0001`` form, else the photo itself; then every pair of near-duplicates (the
same picture resized, re-encoded or filed under two names: normalised landmarks within
``LANDMARK_TOLERANCE`` AND difference hashes within ``HASH_BITS``) is joined into one group (union-find),
so no copy of a validation photo is trained on. Either test alone joins different people: on the
muxspace photos a hash within 4 bits pairs 3 542 photos, mostly different people, and chains 4 591 of them
into one group; landmarks within 0.04 pair different faces of similar shape.
"""

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from emotion.appearance import describe
from emotion.classes import class_from_alias
from emotion.datasets.csvfile import read_table
from emotion.datasets.extraction import LandmarkExtractor
from emotion.datasets.video import IMAGE_SUFFIXES, read_image
from emotion.datasets.windows import WindowSet
from emotion.normalize import normalize_landmarks

HASH_BITS: int = 8
"""Difference hashes (64 bits) at most this many bits apart may be the same picture."""
LANDMARK_TOLERANCE: float = 0.02
"""Normalised shapes closer than this (RMS per landmark, inter-ocular units) may be the same picture."""
LFW_NAME = re.compile(r"^(?P<person>.+?)_\d{4}$")


@dataclass(frozen=True)
class PhotoItem:
    """One labelled photo: its file, class index and identity group."""

    path: Path
    label: int
    group: str


@dataclass
class PhotoList:
    """The photos a layout names, and the labels it dropped (label -> count)."""

    items: list[PhotoItem]
    dropped: Counter


def person_group(path: Path) -> str:
    """The identity a file name reveals: LFW's ``First_Last_0001`` -> ``First_Last``, else the file itself."""
    match = LFW_NAME.match(path.stem)
    return f"person/{match['person']}" if match else f"photo/{path.name}"


def _add(items: list[PhotoItem], dropped: Counter, path: Path, label: str, group: str, where: str) -> None:
    index = class_from_alias(label)
    if index is None:
        dropped[label.strip().lower() or "(empty)"] += 1
        return
    if not path.is_file():
        raise FileNotFoundError(f"{where}: no photo at {path}")
    items.append(PhotoItem(path, index, group or person_group(path)))


def folder_photos(root: str | Path) -> PhotoList:
    """``ROOT/<label>/...`` photos (sub-folders of a label folder are searched too)."""
    root = Path(root)
    if not root.is_dir():
        raise NotADirectoryError(f"no photo folder at {root}")
    items, dropped = [], Counter()
    for label_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for path in sorted(p for p in label_dir.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
            _add(items, dropped, path, label_dir.name, "", str(path))
    return PhotoList(items, dropped)


def csv_photos(table: str | Path, root: str | Path | None = None, path_column: str = "path",
               label_column: str = "label", group_column: str | None = "group") -> PhotoList:
    """Photos listed in a CSV (columns named by the arguments; ``group`` optional)."""
    table = Path(table)
    if not table.is_file():
        raise FileNotFoundError(f"no CSV at {table}")
    base = Path(root) if root is not None else table.parent
    header, rows = read_table(table)
    if not {path_column, label_column} <= set(header):
        raise ValueError(f"{table}: header must hold {path_column} and {label_column}; got {', '.join(header) or 'nothing'}")
    items, dropped = [], Counter()
    for line, row in rows:
        group = row.get(group_column, "") if group_column else ""
        _add(items, dropped, base / row.get(path_column, ""), row.get(label_column, ""), group, f"{table}:{line}")
    if not items and not dropped:
        raise ValueError(f"{table}: no rows")
    return PhotoList(items, dropped)


def muxspace_photos(checkout: str | Path) -> PhotoList:
    """The muxspace/facial_expressions layout: ``data/legend.csv`` naming photos in ``images/``."""
    checkout = Path(checkout)
    return csv_photos(checkout / "data" / "legend.csv", checkout / "images", path_column="image",
                      label_column="emotion", group_column=None)


def read_grey(path: Path) -> np.ndarray:
    """A photo in grey as the tracker sees it (decoded in colour, then converted). Shape: (H, W) uint8."""
    return cv2.cvtColor(read_image(path), cv2.COLOR_BGR2GRAY)


def difference_hash(grey: np.ndarray) -> int:
    """64-bit difference hash of a grey photo (9x8 thumbnail, horizontal gradient signs). Shape: grey (H, W)."""
    small = cv2.resize(grey, (9, 8), interpolation=cv2.INTER_AREA).astype(np.int16)
    bits = (small[:, 1:] > small[:, :-1]).ravel()
    return int(np.packbits(bits).view(">u8")[0])


def near_duplicate_pairs(hashes: np.ndarray, shapes: np.ndarray, chunk: int = 1024) -> list[tuple[int, int]]:
    """Index pairs i < j of near-duplicates (see the module docstring).

    Shape: hashes (N,) uint64, shapes (N, 68, 2) normalised landmarks.
    """
    hashes = np.asarray(hashes, dtype=np.uint64)
    flat = np.asarray(shapes, dtype=np.float32).reshape(len(shapes), -1)
    sq = (flat ** 2).sum(1)
    limit = LANDMARK_TOLERANCE ** 2 * (flat.shape[1] // 2)     # squared distance of that RMS per landmark
    pairs = []
    for start in range(0, len(flat), chunk):
        block = slice(start, start + chunk)
        close = sq[block, None] + sq[None, :] - 2.0 * flat[block] @ flat.T <= limit
        rows, cols = np.nonzero(close)
        rows = rows + start
        keep = (rows < cols) & (np.bitwise_count(hashes[rows] ^ hashes[cols]) <= HASH_BITS)
        pairs.extend(zip(rows[keep].tolist(), cols[keep].tolist()))
    return pairs


def merge_near_duplicates(groups: list[str], hashes: np.ndarray, shapes: np.ndarray) -> tuple[list[str], int]:
    """Groups joined over near-duplicate pairs; returns the new groups and the number of pairs found.

    Shape: hashes (N,) uint64, shapes (N, 68, 2) normalised landmarks.
    """
    pairs = near_duplicate_pairs(hashes, shapes)
    joined = UnionGroups(groups)
    for a, b in pairs:
        joined.join(a, b)
    return joined.names(), len(pairs)


class UnionGroups:
    """Group names joined by index pairs (union-find over the distinct names); a joined group takes the
    alphabetically first member name."""

    def __init__(self, groups: list[str]) -> None:
        self.groups = list(groups)
        self._names = sorted(set(self.groups))
        self._index = {g: i for i, g in enumerate(self._names)}
        self._parent = np.arange(len(self._names))

    def _root(self, i: int) -> int:
        while self._parent[i] != i:
            self._parent[i] = self._parent[self._parent[i]]
            i = self._parent[i]
        return int(i)

    def join(self, a: int, b: int) -> None:
        ra, rb = self._root(self._index[self.groups[a]]), self._root(self._index[self.groups[b]])
        if ra != rb:
            self._parent[max(ra, rb)] = min(ra, rb)

    def names(self) -> list[str]:
        return [self._names[self._root(self._index[g])] for g in self.groups]


def read_photos(photos: PhotoList, extractor: LandmarkExtractor, dataset: str) -> WindowSet:
    """One still per photo with a face, grouped (see the module docstring), with the face's appearance
    descriptor (``emotion.appearance``).

    Shape: -> WindowSet landmarks (N, 1, 68, 2) pixels, appearance (N, DESCRIPTOR_SIZE).
    """
    if not photos.items:
        raise ValueError(f"{dataset}: no photo with a usable label (dropped: {dict(photos.dropped)})")
    found = extractor.extract([item.path for item in photos.items])
    kept, stills = [], []
    for item in photos.items:
        video = found.get(str(item.path))
        if video is None:
            continue
        landmarks = video.track("main")[0]
        if np.isfinite(landmarks).all():
            kept.append(item)
            stills.append(landmarks)
    if not kept:
        raise ValueError(f"{dataset}: no face found in any of {len(photos.items)} photos")
    stills = np.stack(stills)[:, None]
    hashes, appearance = np.zeros(len(kept), np.uint64), []
    for i, item in enumerate(kept):
        grey = read_grey(item.path)
        hashes[i] = difference_hash(grey)
        appearance.append(describe(grey, stills[i, 0]))
    groups, duplicate_pairs = merge_near_duplicates([item.group for item in kept], hashes,
                                                    normalize_landmarks(stills[:, 0]))
    meta = {"dataset": dataset, "photos": len(photos.items), "no_face": len(photos.items) - len(kept),
            "unreadable": len(extractor.failures), "dropped_labels": dict(photos.dropped),
            "near_duplicate_pairs": duplicate_pairs, "paths": [str(item.path) for item in kept]}
    return WindowSet(stills, np.array([item.label for item in kept]), np.array(groups), meta=meta,
                     appearance=np.stack(appearance))
