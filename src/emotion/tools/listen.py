"""`python -m emotion listen`: print (and draw) what the component publishes on EmotionRecognitionPub.

By default a face's line is printed when it appears, when its label changes and when its buffer has
filled (its label is no longer provisional), and a line says when a face goes away; ``--every-ms MS``
adds a line per face every MS, ``--all`` prints every face of every frame. With ``--video OUT.mp4`` it
also subscribes to the camera's CameraRGBDSimplePub and writes EVERY camera frame, annotated with the
states the component published for it (matched by TImage.alivetime). A frame the component skipped (it
was busy) is drawn with the last states published before it; a frame before any state is written as it
is. ``Listener`` is the reusable part (``python -m emotion demo`` runs one in-process).
"""

import argparse
import collections
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from emotion.classes import EMOTIONS
from emotion.drawing import draw_faces
from emotion.middleware.communicator import make_communicator
from emotion.middleware.processes import stop_event_on_signals
from emotion.middleware.rcnode import ping_topic_manager
from emotion.middleware.slices import load_interfaces
from emotion.middleware.topics import DEFAULT_TOPIC_MANAGER, TopicLink, topic_name
from emotion.perception.image import ImageError, decode_timage
from emotion.states import FaceState, face_from_state, format_state
from emotion.tools.preflight import check_writable, float_range, int_range
from emotion.video_writer import VideoWriter

DESCRIPTION = "print (and draw) what the component publishes on EmotionRecognitionPub"
M = load_interfaces()
MATCH_TIMEOUT_S = 2.0
"""A frame whose states have not come within this time is drawn with the last known states."""
MAX_UNMATCHED_STATES = 512


@dataclass
class _Pending:
    alivetime: int
    frame: np.ndarray
    arrived: float


@dataclass
class FrameMatcher:
    """Pairs one camera's frames with the states published for them, keeping every frame, in order.

    ``add_frame`` and ``add_states`` in any order; ``ready(now)`` returns (frame, faces) pairs whose states
    are known, were skipped by the component (states of a later frame already came) or timed out.
    """

    timeout_s: float = MATCH_TIMEOUT_S
    _frames: collections.deque = field(default_factory=collections.deque)
    _states: dict[int, list[FaceState]] = field(default_factory=dict)
    _last: list[FaceState] = field(default_factory=list)
    _newest_state: int = -1

    def add_frame(self, alivetime: int, frame: np.ndarray, now: float) -> None:
        """Shape: frame (H, W, 3) uint8 BGR."""
        self._frames.append(_Pending(int(alivetime), frame, now))

    def add_states(self, alivetime: int, faces: list[FaceState]) -> None:
        self._states[int(alivetime)] = faces
        self._newest_state = max(self._newest_state, int(alivetime))
        while len(self._states) > MAX_UNMATCHED_STATES:  # states of frames never seen: keep the newest
            del self._states[min(self._states)]

    def ready(self, now: float, flush: bool = False) -> list[tuple[np.ndarray, list[FaceState]]]:
        """Frames that can be drawn now, oldest first (all of them when ``flush``)."""
        out = []
        while self._frames:
            head = self._frames[0]
            faces = self._states.pop(head.alivetime, None)
            if faces is None and not (flush or head.alivetime < self._newest_state
                                      or now - head.arrived >= self.timeout_s):
                break
            self._frames.popleft()
            if faces is not None:
                self._last = faces
            out.append((head.frame, self._last if faces is None else faces))
        return out

    def __len__(self) -> int:
        return len(self._frames)


@dataclass
class LinePolicy:
    """Which lines one frame's states give: a face's line when it appears, changes label or fills its
    buffer (and every ``every_ms`` when > 0, or always with ``print_all``); 'gone' when a face leaves,
    'no faces' when the last one did."""

    every_ms: float = 0.0
    print_all: bool = False
    _shown: dict[tuple[int, int], tuple[str, bool]] = field(default_factory=dict)
    _printed_at: dict[tuple[int, int], float] = field(default_factory=dict)
    _present: dict[int, set[int]] = field(default_factory=dict)

    def lines(self, camera_id: int, states: Sequence[Any], now: float) -> list[str]:
        """The lines for one frame of camera ``camera_id`` (EmotionState list) at time ``now`` (s)."""
        tracks = {state.trackId for state in states}
        before = self._present.get(camera_id, set())
        self._present[camera_id] = tracks
        out = []
        for track in sorted(before - tracks):
            self._shown.pop((camera_id, track), None)
            self._printed_at.pop((camera_id, track), None)
            out.append(f"cam {camera_id} face #{track}: gone")
        if before and not tracks:
            out.append(f"cam {camera_id}: no faces")
        return out + [format_state(state) for state in states if self._due(camera_id, state, now)]

    def _due(self, camera_id: int, state: Any, now: float) -> bool:
        key = (camera_id, state.trackId)
        shown = (state.emotion, state.bufferFrames >= state.windowFrames)
        due = (self.print_all or self._shown.get(key) != shown
               or (self.every_ms > 0 and (now - self._printed_at.get(key, -1e9)) * 1000.0 >= self.every_ms))
        if due:
            self._shown[key], self._printed_at[key] = shown, now
        return due


class _StateServant(M.RoboCompEmotionRecognitionPub.EmotionRecognitionPub):
    def __init__(self, callback: Callable[[int, int, list], None]) -> None:
        self.callback = callback

    def pushEmotionStates(self, cameraId, alivetime, states, current=None):
        self.callback(cameraId, alivetime, list(states))


class _FrameServant(M.RoboCompCameraRGBDSimplePub.CameraRGBDSimplePub):
    def __init__(self, callback: Callable[[Any], None]) -> None:
        self.callback = callback

    def pushRGBD(self, im, dep, current=None):
        self.callback(im)


PING_IDENTITY = "emotionlistener"
"""Identity a deployment tool pings to see the listener alive (rcmanager's endpoint check); subscribed under a UUID."""


class Listener:
    """Subscribes to EmotionRecognitionPub (and CameraRGBDSimplePub when ``video`` is set); prints each
    face's line and writes the annotated frames of camera ``camera_id`` (default: the first one seen).

    Call ``pump()`` regularly from one thread (it prints and writes); ``close()`` writes what is left.
    """

    def __init__(self, topic_manager: str, prefix: str = "", camera_prefix: str = "", video: Path | None = None,
                 camera_id: int | None = None, every_ms: float = 0.0, endpoint: str = "tcp",
                 out: Callable[[str], None] = lambda line: print(line, flush=True), print_all: bool = False) -> None:
        """``every_ms`` 0: a face's line on change only (see the module); > 0: also every ``every_ms``;
        ``print_all``: every face of every frame."""
        self.out = out
        self.policy = LinePolicy(float(every_ms), print_all)
        self.camera_id = camera_id
        self.video_path = Path(video) if video else None
        self.video: VideoWriter | None = None
        self.matcher = FrameMatcher()
        self.frames_received = self.states_received = self.faces_received = self.frames_written = 0
        self.newest_state_alivetime = -1
        self.labels: collections.Counter = collections.Counter()
        self._fps = 0.0
        self._lines: collections.deque[str] = collections.deque()
        self._lock = threading.Lock()
        self.communicator = make_communicator()
        try:
            self.adapter = self.communicator.createObjectAdapterWithEndpoints("Listener", endpoint)
            self.adapter.activate()
            self.link = TopicLink(self.communicator, topic_manager, interval_s=0.5)
            states = _StateServant(self._on_states)
            self.adapter.add(states, self.communicator.stringToIdentity(PING_IDENTITY))
            self.link.subscribe(topic_name("EmotionRecognitionPub", prefix), self.adapter.addWithUUID(states))
            if self.video_path is not None:
                self.link.subscribe(topic_name("CameraRGBDSimplePub", camera_prefix),
                                    self.adapter.addWithUUID(_FrameServant(self._on_frame)))
            self.link.start()
        except Exception:
            self.communicator.destroy()
            raise

    @property
    def linked(self) -> bool:
        """True once rcnode was reached and the subscriptions are in place."""
        return self.link.connected

    def _wanted(self, camera_id: int) -> bool:
        if self.camera_id is None:
            self.camera_id = camera_id
        return camera_id == self.camera_id

    def _on_frame(self, im: Any) -> None:
        with self._lock:
            if not self._wanted(im.cameraID):
                return
        try:
            frame = decode_timage(im)
        except ImageError as exc:
            with self._lock:
                self._lines.append(f"listen: camera frame refused: {exc}")
            return
        with self._lock:
            if not self._fps and im.period > 0:
                self._fps = 1000.0 / im.period
            self.frames_received += 1
            self.matcher.add_frame(im.alivetime, frame, time.monotonic())

    def _on_states(self, camera_id: int, alivetime: int, states: list) -> None:
        now = time.monotonic()
        with self._lock:
            self.states_received += 1
            self.faces_received += len(states)
            self.newest_state_alivetime = max(self.newest_state_alivetime, alivetime)
            self._lines.extend(self.policy.lines(camera_id, states, now))
            for state in states:
                self.labels[(camera_id, state.trackId, state.emotion)] += 1
            if self.video_path is not None and self._wanted(camera_id):
                self.matcher.add_states(alivetime, [face_from_state(s) for s in states])

    def pump(self, flush: bool = False) -> None:
        """Print the queued lines and write the frames that are ready (every pending one when ``flush``)."""
        with self._lock:
            lines, self._lines = list(self._lines), collections.deque()
            ready = self.matcher.ready(time.monotonic(), flush)
            fps = self._fps or 30.0
        for line in lines:
            self.out(line)
        for frame, faces in ready:
            if self.video is None:
                self.video = VideoWriter(self.video_path, fps, (frame.shape[1], frame.shape[0]))
            self.video.write(draw_faces(frame, faces, EMOTIONS))
            self.frames_written += 1

    def close(self) -> None:
        """Unsubscribe, write every frame still waiting, close the video."""
        try:
            self.link.stop()
            self.communicator.destroy()
        finally:
            self.pump(flush=True)
            if self.video is not None:
                self.video.close()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--topic-manager", default=DEFAULT_TOPIC_MANAGER,
                        help="rcnode TopicManager proxy")
    parser.add_argument("--prefix", default="", help="topic prefix of the component (PREFIX/EmotionRecognitionPub)")
    parser.add_argument("--video", type=Path, help="also write the annotated camera frames to this MP4")
    parser.add_argument("--camera-prefix", default="", help="topic prefix of the camera (with --video)")
    parser.add_argument("--camera-id", type=int_range(0, 2**31 - 1), help="camera drawn with --video (default: the first seen)")
    parser.add_argument("--every-ms", type=float_range(0.0), default=0.0, metavar="MS",
                        help="also print each face every MS ms (default 0: only when a face appears, changes "
                        "label, fills its buffer or goes)")
    parser.add_argument("--all", action="store_true", help="print every face of every frame (default: on change)")
    parser.add_argument("--endpoint", default="tcp", help="where IceStorm delivers to this listener")
    parser.add_argument("--seconds", type=float_range(0.0, low_open=True), help="stop after this many seconds (default: Ctrl-C)")


def run(args: argparse.Namespace) -> int:
    if args.video:
        check_writable(args.video, "--video", (".mp4",))
    if not ping_topic_manager(args.topic_manager):
        raise OSError(f"rcnode unreachable at {args.topic_manager!r} (start it: python -m emotion rcnode)")
    stop = stop_event_on_signals()
    listener = Listener(args.topic_manager, args.prefix, args.camera_prefix, args.video, args.camera_id,
                        args.every_ms, args.endpoint, print_all=args.all)
    print(f"listen: subscribed to {topic_name('EmotionRecognitionPub', args.prefix)!r} on {args.topic_manager}"
          + (f"; writing {args.video}" if args.video else ""), flush=True)
    deadline = None if args.seconds is None else time.monotonic() + args.seconds
    try:
        while not stop.wait(0.05) and (deadline is None or time.monotonic() < deadline):
            listener.pump()
    finally:
        listener.close()
    written = f", {listener.frames_written} frames written to {args.video}" if args.video else ""
    print(f"listen: stopped after {listener.states_received} frames of states "
          f"({listener.faces_received} face states){written}", flush=True)
    return 0
