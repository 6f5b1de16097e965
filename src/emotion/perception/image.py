"""TImage bytes to a BGR (or gray) frame: raw BGR or RGB (depth 3), raw gray (depth 1), or JPEG / PNG when
``compressed``. Perception needs only gray, which a JPEG gives 2.5x faster than colour (its luma alone).

A camera's image is untrusted input: every malformed one raises ``ImageError`` saying why (wrong byte
count, no data, corrupt or truncated JPEG or PNG, bad dimensions or depth, wrong field types), never another
exception and never a crash. A compressed image's format is sniffed from its first bytes (RoboComp cameras
flag PNG and JPEG alike as ``compressed``), and its dimensions are read from the header and checked before
decoding, so a small file claiming a huge image cannot make the decoder allocate it: no side over
``MAX_SIDE`` and no more than ``max_pixels`` pixels (the component's ``Frames.MaxPixels``, default
``MAX_PIXELS``), raw and compressed alike. A JPEG or PNG the decoder reports as corrupt (libjpeg's
"Corrupt JPEG data" warnings, libpng's errors; ``emotion.perception.decoderlog``) is refused with the
decoder's words, which then reach the log only through the caller's rate-limited log.
"""

import numbers
from typing import Any

import cv2
import numpy as np

from emotion.perception.decoderlog import decode_with_messages

MAX_SIDE: int = 8192
"""Largest accepted width or height in pixels (8K); larger ones are rejected before any allocation."""

MAX_PIXELS: int = 1920 * 1080
"""Default most pixels of one decoded frame (Full HD); ``Frames.MaxPixels`` sets the component's."""

DEPTHS: dict[int, str] = {1: "gray", 3: "colour"}
"""Accepted ``depth`` values (bytes per pixel) and what they mean."""

CHANNEL_ORDERS: tuple[str, ...] = ("BGR", "RGB")
"""Byte orders of a camera's colour pixels (OpenCV and RoboComp cameras: BGR; zed_camera: RGB)."""

JPEG_MAGIC = b"\xff\xd8"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_PNG_END = b"IEND\xaeB`\x82"

_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # start-of-frame markers (not DHT/JPG/DAC)
_STANDALONE_MARKERS = frozenset(range(0xD0, 0xD8)) | {0x01}        # RSTn and TEM: no length field


class ImageError(ValueError):
    """An image that cannot be decoded; the message says why."""


def _check_int(name: str, value: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ImageError(f"{name} must be an integer, got {type(value).__name__}")
    return int(value)


def _check_dimensions(width: Any, height: Any, depth: Any, max_pixels: int = MAX_PIXELS) -> tuple[int, int, int]:
    width, height, depth = _check_int("width", width), _check_int("height", height), _check_int("depth", depth)
    for name, value in (("width", width), ("height", height)):
        if value <= 0:
            raise ImageError(f"{name} must be positive, got {value}")
        if value > MAX_SIDE:
            raise ImageError(f"{name} {value} exceeds the maximum of {MAX_SIDE} pixels")
    if width * height > max_pixels:
        raise ImageError(f"{width}x{height} is {width * height} pixels, over the maximum of {max_pixels} "
                         "(Frames.MaxPixels)")
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


def compressed_format(buf: np.ndarray) -> str | None:
    """"jpeg" or "png" from the first bytes (the header, never the flag), else None.

    Shape: buf (n,) uint8.
    """
    head = buf[:8].tobytes()
    if head.startswith(JPEG_MAGIC):
        return "jpeg"
    if head == PNG_MAGIC:
        return "png"
    return None


def png_size(buf: np.ndarray) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk, without decoding; ImageError if there is none.

    Shape: buf (n,) uint8.
    """
    raw = buf[:24].tobytes()
    if len(raw) < 24 or raw[12:16] != b"IHDR":
        raise ImageError("corrupt PNG: no IHDR header (truncated or not a PNG)")
    return int.from_bytes(raw[16:20], "big"), int.from_bytes(raw[20:24], "big")


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


def _decode_compressed(buf: np.ndarray, width: int, height: int, gray: bool = False) -> np.ndarray:
    """A JPEG or PNG (sniffed) of the declared size, checked before the decoder allocates anything."""
    kind = compressed_format(buf)
    if kind is None:
        raise ImageError("compressed image is not a JPEG or PNG (no JPEG start-of-image marker or PNG signature)")
    name = kind.upper()
    file_w, file_h = jpeg_size(buf) if kind == "jpeg" else png_size(buf)
    if (file_w, file_h) != (width, height):
        raise ImageError(f"{name} is {file_w}x{file_h} but the image declares {width}x{height}")
    tail = buf.tobytes()[-64:].rstrip(b"\x00")
    if not tail.endswith(b"\xff\xd9" if kind == "jpeg" else _PNG_END):
        end = "end-of-image marker" if kind == "jpeg" else "IEND chunk"
        raise ImageError(f"corrupt {name}: truncated (no {end})")
    try:
        mode = cv2.IMREAD_GRAYSCALE if gray else cv2.IMREAD_COLOR
        frame, messages = decode_with_messages(lambda: cv2.imdecode(buf, mode))
    except cv2.error as exc:
        raise ImageError(f"corrupt {name}: {exc}") from None
    if messages:
        raise ImageError(f"corrupt {name}: {messages[0][:200]}")
    if frame is None:
        raise ImageError(f"corrupt {name}: the decoder rejected it")
    if frame.shape[:2] != (height, width):
        raise ImageError(f"{name} decoded to {frame.shape[1]}x{frame.shape[0]}, expected {width}x{height}")
    return frame


def _decode_raw(buf: np.ndarray, width: int, height: int, depth: int, channel_order: str,
                gray: bool = False) -> np.ndarray:
    expected = width * height * depth
    if buf.size != expected:
        kind = "gray" if depth == 1 else channel_order
        sniffed = compressed_format(buf)
        hint = f" (the data is a {sniffed.upper()}: set compressed)" if sniffed else ""
        raise ImageError(f"raw {kind} image {width}x{height}x{depth} needs {expected} bytes, got {buf.size}{hint}")
    if depth == 1:
        levels = buf.reshape(height, width)
        return levels.copy() if gray else cv2.cvtColor(levels, cv2.COLOR_GRAY2BGR)
    pixels = buf.reshape(height, width, 3)
    if gray:
        return cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY if channel_order == "RGB" else cv2.COLOR_BGR2GRAY)
    return pixels.copy()


def decode_image(compressed: Any, width: Any, height: Any, depth: Any, data: Any,
                 channel_order: str = "BGR", max_pixels: int = MAX_PIXELS, gray: bool = False) -> np.ndarray:
    """Decode one camera image to a BGR frame (``gray``: to its gray levels); ImageError with the reason
    for a malformed one.

    ``compressed`` True means ``data`` is a JPEG or PNG (told apart by its header) of ``width`` x ``height``;
    otherwise it is raw row-major pixels, ``depth`` bytes each (3: colour, 1: gray), exactly
    ``width * height * depth`` bytes. ``channel_order`` is the camera's colour byte order (``CHANNEL_ORDERS``):
    "RGB" frames are swapped to BGR, compressed ones too (OpenCV encodes whatever order it is given).
An image of more than ``max_pixels`` pixels (by its declared and its header's size) is refused undecoded.

    Shape: data (width*height*depth,) bytes or a JPEG / PNG -> (height, width, 3) uint8 BGR, a new writable
    array; with ``gray``, (height, width) uint8.
    """
    if channel_order not in CHANNEL_ORDERS:
        raise ValueError(f"channel order must be one of {', '.join(CHANNEL_ORDERS)}, got {channel_order!r}")
    if not isinstance(compressed, (bool, np.bool_)):
        raise ImageError(f"compressed must be a bool, got {type(compressed).__name__}")
    width, height, depth = _check_dimensions(width, height, depth, max_pixels)
    buf = _as_bytes(data)
    if buf.size == 0:
        raise ImageError("image has no data (0 bytes)")
    if compressed:
        frame = _decode_compressed(buf, width, height, gray)
    else:
        frame = _decode_raw(buf, width, height, depth, channel_order, gray)
    return cv2.cvtColor(frame, cv2.COLOR_RGB2BGR) if channel_order == "RGB" and frame.ndim == 3 else frame


def decode_timage(img: Any, channel_order: str = "BGR", max_pixels: int = MAX_PIXELS,
                  gray: bool = False) -> np.ndarray:
    """Decode a RoboComp ``TImage`` (any object with its fields: compressed, width, height, depth, image):
    RoboCompCameraRGBDSimple's and RoboCompCameraSimple's alike.

    Shape: -> (height, width, 3) uint8 BGR; with ``gray``, (height, width) uint8.
    """
    if img is None:
        raise ImageError("no image (None)")
    fields = ("compressed", "width", "height", "depth", "image")
    missing = [name for name in fields if not hasattr(img, name)]
    if missing:
        raise ImageError(f"not a TImage: {type(img).__name__} has no field {', '.join(missing)}")
    return decode_image(img.compressed, img.width, img.height, img.depth, img.image, channel_order, max_pixels, gray)
