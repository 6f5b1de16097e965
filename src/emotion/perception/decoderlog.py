"""What libjpeg and libpng write to the process's stderr while OpenCV decodes, caught and returned.

libjpeg reports a corrupt but decodable JPEG ("Corrupt JPEG data: 8 extraneous bytes before marker 0xd9",
"Premature end of JPEG file") only as a warning written straight to file descriptor 2, and OpenCV returns
the image anyway. ``decode_with_messages(decode)`` points descriptor 2 at a private temporary file around
the decode and hands back the decoder's lines, so the caller can refuse the image and say why through its
rate-limited log instead of the decoder printing one unthrottled line per hostile frame. Lines written by
anything else during that window go back to the real stderr.

Descriptor 2 is the process's, so decodes share one capture: any number run at once (OpenCV decodes
without the GIL, so the cameras' frames decode on all cores), and a decode during which anything was
written is run again alone, so each image gets exactly its own messages. Good frames are decoded once;
only frames that overlap a warning pay for a second decode.
"""

import os
import sys
import tempfile
import threading
from typing import Callable, TypeVar

T = TypeVar("T")

DECODER_PREFIXES: tuple[str, ...] = ("Corrupt JPEG data", "Premature end of JPEG", "Invalid JPEG", "Bogus ",
                                     "Unsupported JPEG", "Warning: ", "libpng ", "JPEG datastream",
                                     "Not a JPEG", "Invalid SOS", "Huffman table", "Quantization table",
                                     "Inconsistent progression", "Corrupt ")
"""How the lines of libjpeg's and libpng's messages start."""

MAX_CAPTURE_BYTES: int = 4096
"""Most bytes of captured output read back per decode (a decoder can repeat a warning many times)."""

_state = threading.Condition()
_sink: list = []
_sharing = 0
"""Shared captures running."""
_alone = False
"""An exclusive capture is running."""
_queued = 0
"""Exclusive captures waiting: no shared capture starts meanwhile, so they never starve."""
_saved: list[int] = []
"""The real descriptor 2 while captures run."""


def _sink_file():
    if not _sink:
        _sink.append(tempfile.TemporaryFile())
    return _sink[0]


def _redirect() -> None:
    """Point descriptor 2 at the emptied sink (under ``_state``, no capture running)."""
    sink = _sink_file()
    sink.seek(0)
    sink.truncate()
    sys.stderr.flush()
    _saved.append(os.dup(2))
    os.dup2(sink.fileno(), 2)


def _restore() -> list[str]:
    """Point descriptor 2 back; the lines written meanwhile (at most ``MAX_CAPTURE_BYTES`` read)."""
    saved = _saved.pop()
    os.dup2(saved, 2)
    os.close(saved)
    sink = _sink_file()
    sink.seek(0)
    text = sink.read(MAX_CAPTURE_BYTES).decode("utf-8", errors="replace")
    return [line.strip() for line in text.splitlines() if line.strip()]


def _written() -> int:
    return os.fstat(_sink_file().fileno()).st_size


def _split(lines: list[str]) -> list[str]:
    """The decoder's lines; the others are printed to the real stderr."""
    foreign = [line for line in lines if not line.startswith(DECODER_PREFIXES)]
    if foreign:
        print("\n".join(foreign), file=sys.stderr)
    return [line for line in lines if line.startswith(DECODER_PREFIXES)]


def _shared(decode: Callable[[], T]) -> tuple[T, bool]:
    """``decode()`` beside other shared captures; True when anything was written meanwhile."""
    global _sharing
    with _state:
        _state.wait_for(lambda: not _alone and _queued == 0)
        if _sharing == 0:
            _redirect()
        _sharing += 1
        mark = _written()
    try:
        result = decode()
    finally:
        with _state:
            dirty = _written() != mark
            _sharing -= 1
            if _sharing == 0:
                _split(_restore())  # the decoder's lines are found again by the decodes run alone
                _state.notify_all()
    return result, dirty


def _exclusive(decode: Callable[[], T]) -> tuple[T, list[str]]:
    """``decode()`` with no other capture running, and exactly what was written meanwhile."""
    global _alone, _queued
    with _state:
        _queued += 1
        _state.wait_for(lambda: not _alone and _sharing == 0)
        _queued -= 1
        _alone = True
        _redirect()
    lines: list[str] = []
    try:
        result = decode()
    finally:
        with _state:
            lines = _split(_restore())
            _alone = False
            _state.notify_all()
    return result, lines


def decode_with_messages(decode: Callable[[], T]) -> tuple[T, list[str]]:
    """``decode()`` (e.g. ``lambda: cv2.imdecode(...)``) and the decoder's messages written while it ran
    (one per line, at most ``MAX_CAPTURE_BYTES`` read); its exceptions pass through."""
    result, dirty = _shared(decode)
    if not dirty:
        return result, []
    return _exclusive(decode)
