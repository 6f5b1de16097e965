"""TImage bytes to a BGR frame: raw BGR (depth 3), raw gray (depth 1), or JPEG when ``compressed``.

A camera's image is untrusted input: every malformed one raises ``ImageError`` saying why (wrong byte
count, no data, corrupt or truncated JPEG, bad dimensions or depth, wrong field types), never another
exception and never a crash. JPEG dimensions are read from the header and checked before decoding, so a
small file claiming a huge image cannot make the decoder allocate it.
"""

import numbers
from typing import Any

import cv2
import numpy as np

MAX_SIDE: int = 8192
"""Largest accepted width or height in pixels (8K); larger ones are rejected before any allocation."""

DEPTHS: dict[int, str] = {1: "gray", 3: "BGR"}
"""Accepted ``depth`` values (bytes per pixel) and what they mean."""

_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # start-of-frame markers (not DHT/JPG/DAC)
_STANDALONE_MARKERS = frozenset(range(0xD0, 0xD8)) | {0x01}        # RSTn and TEM: no length field


class ImageError(ValueError):
    """An image that cannot be decoded; the message says why."""


def _check_int(name: str, value: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ImageError(f"{name} must be an integer, got {type(value).__name__}")
    return int(value)


def _check_dimensions(width: Any, height: Any, depth: Any) -> tuple[int, int, int]:
    width, height, depth = _check_int("width", width), _check_int("height", height), _check_int("depth", depth)
    for name, value in (("width", width), ("height", height)):
        if value <= 0:
            raise ImageError(f"{name} must be positive, got {value}")
        if value > MAX_SIDE:
            raise ImageError(f"{name} {value} exceeds the maximum of {MAX_SIDE} pixels")
    if depth not in DEPTHS:
        accepted = ", ".join(f"{d} ({kind})" for d, kind in DEPTHS.items())
        raise ImageError(f"unsupported depth {depth}; expected {accepted}")
    return width, height, depth


def _as_bytes(data: Any) -> np.ndarray:
    """The image bytes as a 1-D uint8 array (no copy for bytes-like input)."""
    if data is None:
        raise ImageError("image data is None")
    if isinstance(data, np.ndarray):
        if data.dtype != np.uint8:
            raise ImageError(f"image data array must be uint8, got {data.dtype}")
        return data.reshape(-1)
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ImageError(f"image data must be bytes, got {type(data).__name__}")
    return np.frombuffer(data, dtype=np.uint8)


def jpeg_size(buf: np.ndarray) -> tuple[int, int]:
    """(width, height) from a JPEG's start-of-frame header, without decoding; ImageError if there is none.

    Shape: buf (n,) uint8.
    """
    raw = buf.tobytes()
    if raw[:2] != b"\xff\xd8":
        raise ImageError("compressed image is not a JPEG (no start-of-image marker)")
    pos = 2
    while pos + 4 <= len(raw):
        if raw[pos] != 0xFF:
            raise ImageError(f"corrupt JPEG: expected a marker at byte {pos}")
        marker = raw[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _STANDALONE_MARKERS:
            pos += 2
            continue
        length = int.from_bytes(raw[pos + 2:pos + 4], "big")
        if length < 2:
            raise ImageError(f"corrupt JPEG: segment length {length} at byte {pos}")
        if marker in _SOF_MARKERS:
            if pos + 9 > len(raw):
                break
            height = int.from_bytes(raw[pos + 5:pos + 7], "big")
            width = int.from_bytes(raw[pos + 7:pos + 9], "big")
            return width, height
        if marker in (0xD9, 0xDA):  # end of image or start of scan before any frame header
            break
        pos += 2 + length
    raise ImageError("corrupt JPEG: no frame header (truncated or not a JPEG)")


def _decode_jpeg(buf: np.ndarray, width: int, height: int) -> np.ndarray:
    jpeg_w, jpeg_h = jpeg_size(buf)
    if (jpeg_w, jpeg_h) != (width, height):
        raise ImageError(f"JPEG is {jpeg_w}x{jpeg_h} but the image declares {width}x{height}")
    if not buf.tobytes()[-64:].rstrip(b"\x00").endswith(b"\xff\xd9"):
        raise ImageError("corrupt JPEG: truncated (no end-of-image marker)")
    try:
        frame = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    except cv2.error as exc:
        raise ImageError(f"corrupt JPEG: {exc}") from None
    if frame is None:
        raise ImageError("corrupt JPEG: the decoder rejected it")
    if frame.shape[:2] != (height, width):
        raise ImageError(f"JPEG decoded to {frame.shape[1]}x{frame.shape[0]}, expected {width}x{height}")
    return frame


def decode_image(compressed: Any, width: Any, height: Any, depth: Any, data: Any) -> np.ndarray:
    """Decode one camera image to a BGR frame; ImageError with the reason for a malformed one.

    ``compressed`` True means ``data`` is a JPEG of ``width`` x ``height``; otherwise it is raw row-major
    pixels, ``depth`` bytes each (3: BGR, 1: gray), exactly ``width * height * depth`` bytes.

    Shape: data (width*height*depth,) bytes or a JPEG -> (height, width, 3) uint8, a new writable array.
    """
    if not isinstance(compressed, (bool, np.bool_)):
        raise ImageError(f"compressed must be a bool, got {type(compressed).__name__}")
    width, height, depth = _check_dimensions(width, height, depth)
    buf = _as_bytes(data)
    if buf.size == 0:
        raise ImageError("image has no data (0 bytes)")
    if compressed:
        return _decode_jpeg(buf, width, height)
    expected = width * height * depth
    if buf.size != expected:
        raise ImageError(f"raw {DEPTHS[depth]} image {width}x{height}x{depth} needs {expected} bytes, got {buf.size}")
    if depth == 1:
        return cv2.cvtColor(buf.reshape(height, width), cv2.COLOR_GRAY2BGR)
    return buf.reshape(height, width, 3).copy()


def decode_timage(img: Any) -> np.ndarray:
    """Decode a RoboComp ``TImage`` (any object with its fields: compressed, width, height, depth, image).

    Shape: -> (height, width, 3) uint8 BGR.
    """
    if img is None:
        raise ImageError("no image (None)")
    fields = ("compressed", "width", "height", "depth", "image")
    missing = [name for name in fields if not hasattr(img, name)]
    if missing:
        raise ImageError(f"not a TImage: {type(img).__name__} has no field {', '.join(missing)}")
    return decode_image(img.compressed, img.width, img.height, img.depth, img.image)
