"""What libjpeg and libpng write to the process's stderr while OpenCV decodes, caught and returned.

libjpeg reports a corrupt but decodable JPEG ("Corrupt JPEG data: 8 extraneous bytes before marker 0xd9",
"Premature end of JPEG file") only as a warning written straight to file descriptor 2, and OpenCV returns
the image anyway. ``decoder_messages()`` points descriptor 2 at a private temporary file around the decode
and hands back the decoder's lines, so the caller can refuse the image and say why through its
rate-limited log instead of the decoder printing one unthrottled line per hostile frame. Lines written by
anything else during that window go back to the real stderr.
"""

import os
import sys
import tempfile
import threading
from contextlib import contextmanager
from typing import Iterator

DECODER_PREFIXES: tuple[str, ...] = ("Corrupt JPEG data", "Premature end of JPEG", "Invalid JPEG", "Bogus ",
                                     "Unsupported JPEG", "Warning: ", "libpng ", "JPEG datastream",
                                     "Not a JPEG", "Invalid SOS", "Huffman table", "Quantization table",
                                     "Inconsistent progression", "Corrupt ")
"""How the lines of libjpeg's and libpng's messages start."""

MAX_CAPTURE_BYTES: int = 4096
"""Most bytes of captured output read back per decode (a decoder can repeat a warning many times)."""

_lock = threading.Lock()
_sink: list = []


def _sink_file():
    if not _sink:
        _sink.append(tempfile.TemporaryFile())
    return _sink[0]


@contextmanager
def decoder_messages() -> Iterator[list[str]]:
    """``with decoder_messages() as lines: cv2.imdecode(...)``; afterwards ``lines`` holds the decoder's
    messages (one per line, at most ``MAX_CAPTURE_BYTES`` read). Serialised: one capture at a time."""
    lines: list[str] = []
    with _lock:
        sink = _sink_file()
        sink.seek(0)
        sink.truncate()
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            text = sink.read(MAX_CAPTURE_BYTES).decode("utf-8", errors="replace")
    foreign = []
    for line in text.splitlines():
        line = line.strip()
        if line:
            (lines if line.startswith(DECODER_PREFIXES) else foreign).append(line)
    if foreign:
        print("\n".join(foreign), file=sys.stderr)
