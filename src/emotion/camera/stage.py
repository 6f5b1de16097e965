"""``CameraInput``: frames in, the newest per camera out to ``compute()``, each stamped with its clock.

Frames of the cameras ``compute()`` already serves can be prepared (decoded) from their arrival on, on
threads of their own (the thread that received the frame only starts it, so frames are never held up in
the middleware), so decoding overlaps the frames being processed instead of waiting for the next round. A
frame is pending from its arrival on, exactly as without preparing (the newest per camera; compute may
take it while it is still being prepared, and then waits for that); at most one frame per camera between
two ``take()`` calls is prepared, so a camera that sends faster than compute takes costs no more decoding
than before (a newer frame that overwrites a prepared one waits undecoded, and compute decodes it).
"""

import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any, Callable

import Ice

from emotion.camera.clock import FrameClock
from emotion.camera.sources import PollSource, content_key
from emotion.middleware.images import now_ms
from emotion.middleware.ratelimit import RateLimitedLog, message_shape

SIMPLE_CAMERA_ID = 0
"""Camera id of CameraSimple images (their TImage has no cameraID)."""


@dataclass(frozen=True)
class Frame:
    """One received camera image: ``image`` is the TImage (either module's) as it came.

    ``alivetime`` identifies the frame in what is published (the camera's, or the receive time when the
    image has none); ``time_ms`` is the chosen clock (``emotion.camera.clock``); ``received_ms`` our own.
    """

    camera_id: int
    image: Any
    alivetime: int
    time_ms: int
    received_ms: int
    prepared: "Future[Any] | None" = None
    """What ``CameraInput``'s ``prepare`` started for the image on arrival (None: not prepared)."""


class CameraInput:
    """Holds the newest frame per camera until ``take()``; polls ``source`` on ``poll()`` (thread-safe).

    ``counts``: frames_received, frames_dropped (overwritten before compute took them), frames_stale (older
    than the max age when taken), poll_unchanged (a poll that returned the frame already seen), poll_errors.
    ``heard(camera_id)``: when a frame of the camera last arrived (time.monotonic), whatever compute did
    with it since: the one measure of a camera's silence.

    ``prepare(frame)``: called for an arriving frame (see the module docstring), it starts the frame's
    preparation and returns its future, which becomes the frame's ``prepared``; None means "not this
    camera's frames" (e.g. a camera not admitted yet): compute then decodes the frame itself.
    """

    def __init__(self, source: PollSource | None, log: RateLimitedLog, clock: FrameClock | None = None,
                 prepare: "Callable[[Frame], Future[Any] | None] | None" = None) -> None:
        self.source = source
        self.log = log
        self.prepare = prepare
        # one clock line per camera, but rate-limited: frames on endless made-up camera ids cannot flood the log
        self.clock = clock if clock is not None else FrameClock(
            lambda line: log.report("clock", line, detail=message_shape(line)))
        self.counts = dict.fromkeys(("frames_received", "frames_dropped", "frames_stale", "poll_unchanged",
                                     "poll_errors"), 0)
        self._pending: dict[int, Frame] = {}
        self._preparing: set[int] = set()
        """Cameras with a frame prepared (or being prepared) since the last take."""
        self._last_key: tuple | None = None
        self._heard: dict[int, float] = {}
        self._lock = threading.Lock()

    def push(self, image: Any) -> None:
        """A frame that arrived by itself (CameraRGBDSimplePub)."""
        self._receive(image, now_ms())

    def poll(self) -> None:
        """Call the poll source once (nothing in push mode); keep the image when it is new."""
        if self.source is None:
            return
        try:
            image = self.source.fetch()
        except Ice.Exception as exc:
            self.counts["poll_errors"] += 1
            self.log.report("poll", f"{self.source.description} failed ({type(exc).__name__}); retrying every period")
            return
        received = now_ms()
        try:
            key = content_key(image)
        except (AttributeError, TypeError, ValueError):
            key = None                                     # malformed: the decoder says why
        if key is not None and key == self._last_key:
            self.counts["poll_unchanged"] += 1
            return
        self._last_key = key
        self._receive(image, received)

    def _receive(self, image: Any, received_ms: int) -> None:
        camera_id = int(getattr(image, "cameraID", SIMPLE_CAMERA_ID))
        alivetime = getattr(image, "alivetime", None)
        time_ms = self.clock.stamp(camera_id, alivetime, received_ms)
        frame = Frame(camera_id, image, received_ms if alivetime is None else int(alivetime), time_ms, received_ms)
        with self._lock:
            self._heard[camera_id] = time.monotonic()
            self.counts["frames_received"] += 1
            if self.prepare is not None and camera_id not in self._preparing:
                self._preparing.add(camera_id)
                frame = replace(frame, prepared=self.prepare(frame))
            if camera_id in self._pending:
                self.counts["frames_dropped"] += 1
            self._pending[camera_id] = frame

    def take(self, max_age_ms: int = 0) -> list[Frame]:
        """The pending frames (one per camera), less those older than ``max_age_ms`` by their clock (0: all)."""
        with self._lock:
            frames, self._pending = list(self._pending.values()), {}
            self._preparing.clear()
        if max_age_ms <= 0:
            return frames
        now = now_ms()
        fresh = [frame for frame in frames if now - frame.time_ms <= max_age_ms]
        self.counts["frames_stale"] += len(frames) - len(fresh)
        return fresh

    def heard(self, camera_id: int) -> float:
        """time.monotonic() of the camera's latest arrival (-inf when none since it was forgotten)."""
        with self._lock:
            return self._heard.get(camera_id, float("-inf"))

    def forget(self, camera_id: int) -> None:
        """The camera went silent or was refused: judge its clock afresh when it comes back."""
        self.clock.forget(camera_id)
        with self._lock:
            self._heard.pop(camera_id, None)
