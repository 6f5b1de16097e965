"""Frames from a video file, a folder of frames or a single image: the one frame reader of the project.

``prepare`` (dataset videos) and ``analyze`` (offline inference) both read their input through
``iter_frames``, so a frame folder is ordered and timed the same way everywhere:

- a video file is decoded with OpenCV; its own frame rate gives the times (``fps`` is only the fallback
  for a container that reports none);
- a folder holds images sorted by name in natural order (``frame_2.png`` before ``frame_10.png``), timed
  at ``fps`` (default 30);
- a single image is one frame at time 0.
"""

import re
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from emotion.perception.image import ImageError, compressed_format, jpeg_size, png_size

DEFAULT_FPS: float = 30.0
MAX_FILE_PIXELS: int = 7680 * 4320
"""Most pixels of an image file read as a frame (8K UHD): a larger one is refused from its header."""
IMAGE_SUFFIXES: frozenset[str] = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})


def _natural_key(path: Path) -> list:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def frame_files(folder: str | Path) -> list[Path]:
    """The image files of a frame folder in natural name order; ValueError when there are none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise NotADirectoryError(f"no frame folder at {folder}")
    files = sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
                   key=_natural_key)
    if not files:
        raise ValueError(f"{folder} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return files


def _rate(reported: float, fallback: float | None) -> float:
    if reported and np.isfinite(reported) and reported > 0:
        return float(reported)
    return float(fallback or DEFAULT_FPS)


def source_fps(source: str | Path, fps: float | None = None) -> float:
    """The frame rate ``iter_frames`` times a source with: a video's own, else ``fps`` (default 30)."""
    path = Path(source)
    if path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES:
        return _rate(0.0, fps)
    capture = cv2.VideoCapture(str(path))
    try:
        return _rate(capture.get(cv2.CAP_PROP_FPS) if capture.isOpened() else 0.0, fps)
    finally:
        capture.release()


def video_frame_count(path: str | Path) -> int | None:
    """The frame count a video file's container reports (None when it reports none); ValueError when
    OpenCV cannot open it."""
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise ValueError(f"OpenCV cannot open video {path}")
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        capture.release()
    return count if count > 0 else None


def check_image_file(path: str | Path, max_pixels: int = MAX_FILE_PIXELS) -> None:
    """ValueError when a JPEG or PNG file's header declares more than ``max_pixels`` pixels (checked
    before anything is decoded; other formats are left to OpenCV's own limit)."""
    with open(path, "rb") as handle:
        head = np.frombuffer(handle.read(1 << 20), dtype=np.uint8)
    kind = compressed_format(head)
    if kind is None:
        return
    try:
        width, height = jpeg_size(head) if kind == "jpeg" else png_size(head)
    except ImageError as exc:
        raise ValueError(f"cannot read image {path}: {exc}") from None
    if width * height > max_pixels:
        raise ValueError(f"image {path} is {width}x{height} ({width * height} pixels), over the maximum of "
                         f"{max_pixels} pixels")


def read_image(path: str | Path) -> np.ndarray:
    """One image as BGR uint8. Shape: (H, W, 3). ValueError when it cannot be decoded or is too large."""
    check_image_file(path)
    frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if frame is None:
        raise ValueError(f"cannot read image {path}")
    return frame


def iter_frames(source: str | Path, fps: float | None = None, start: int = 0,
                end: int | None = None) -> Iterator[tuple[int, float, np.ndarray]]:
    """Yield ``(index, time_s, frame_bgr)`` for frames ``start <= index < end`` of a video, folder or image.

    ``index`` counts frames from the start of the source (0-based) and ``time_s = index / fps``.
    Shape: frame_bgr (H, W, 3) uint8.
    """
    if start < 0 or (end is not None and end < start):
        raise ValueError(f"bad frame range start={start} end={end}: need 0 <= start <= end")
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"no video, image or frame folder at {path}")
    if path.is_dir():
        rate = _rate(0.0, fps)
        for index, file in enumerate(frame_files(path)[start:end], start=start):
            yield index, index / rate, read_image(file)
    elif path.suffix.lower() in IMAGE_SUFFIXES:
        if start == 0 and end != 0:
            yield 0, 0.0, read_image(path)
    else:
        yield from _iter_video(path, fps, start, end)


def _iter_video(path: Path, fps: float | None, start: int, end: int | None) -> Iterator[tuple[int, float, np.ndarray]]:
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise ValueError(f"cannot open video {path}")
    try:
        rate = _rate(capture.get(cv2.CAP_PROP_FPS), fps)
        index = 0
        while end is None or index < end:
            if index < start:
                if not capture.grab():
                    break
            else:
                ok, frame = capture.read()
                if not ok:
                    break
                yield index, index / rate, frame
            index += 1
    finally:
        capture.release()
