"""Which clock stamps a camera's frames: its own ``alivetime`` when that is a millisecond clock close to
ours, else the component's receive time.

RoboComp cameras differ: most send milliseconds since the epoch, realsense_camera's compressed mode sends
0, zed_camera sends nanoseconds, some Python cameras send milliseconds since they started, and
CameraSimple has no ``alivetime`` at all. A clock that is missing, not advancing, or more than
``TOLERANCE_MS`` away from the receive time is not used for that camera again (until the camera is
forgotten), and the switch is logged once per camera with the reason. The chosen time is what tracking,
smoothing, ``Frames.MaxAgeMs`` and the latency figure use; the camera's own ``alivetime`` still identifies
the frame in what the component publishes.
"""

import threading
from typing import Callable

TOLERANCE_MS: int = 60_000
"""Largest distance between a camera's alivetime and the receive time for the camera's clock to be used."""

CAMERA, RECEIVE = "camera", "receive"


def clock_problem(alivetime: int | None, received_ms: int, previous: int | None) -> str | None:
    """Why ``alivetime`` is not a usable millisecond clock (None when it is)."""
    if alivetime is None:
        return "the camera sends no alivetime"
    if alivetime <= 0:
        return f"alivetime is {alivetime} (missing)"
    if alivetime > received_ms + TOLERANCE_MS:
        unit = " (nanoseconds or microseconds?)" if alivetime > received_ms * 100 else ""
        return f"alivetime {alivetime} is far in the future{unit}"
    if alivetime < received_ms - TOLERANCE_MS:
        return (f"alivetime {alivetime} is {(received_ms - alivetime) // 1000} s behind the receive time "
                "(not ms since the epoch: a relative clock?)")
    if previous is not None and alivetime <= previous:
        return f"alivetime does not advance ({previous} then {alivetime})"
    return None


class FrameClock:
    """Per camera: stamp each frame with its alivetime or with the receive time (thread-safe)."""

    def __init__(self, log: Callable[[str], None] = print) -> None:
        self.log = log
        self._verdict: dict[int, str] = {}
        self._previous: dict[int, int | None] = {}
        self._lock = threading.Lock()

    def stamp(self, camera_id: int, alivetime: int | None, received_ms: int) -> int:
        """The time in ms that stands for this frame (``alivetime`` or ``received_ms``)."""
        with self._lock:
            verdict = self._verdict.get(camera_id)
            if verdict != RECEIVE:
                problem = clock_problem(alivetime, received_ms, self._previous.get(camera_id))
                self._previous[camera_id] = alivetime
                new = CAMERA if problem is None else RECEIVE
                if new != verdict:
                    self._verdict[camera_id] = new
                    self.log(f"camera {camera_id}: " + ("using its alivetime (ms since the epoch) as frame time"
                             if problem is None else f"{problem}: using the receive time as frame time"))
                verdict = new
        return int(alivetime) if verdict == CAMERA else received_ms

    def verdict(self, camera_id: int) -> str | None:
        """CAMERA, RECEIVE, or None before the camera's first frame."""
        with self._lock:
            return self._verdict.get(camera_id)

    def forget(self, camera_id: int) -> None:
        with self._lock:
            self._verdict.pop(camera_id, None)
            self._previous.pop(camera_id, None)
