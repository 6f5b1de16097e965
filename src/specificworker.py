"""SpecificWorker: the component's behaviour.

Frames arrive on ``CameraRGBDSimplePub_pushRGBD`` (or are polled with ``getImage`` when
``Camera.Mode = "poll"``); only the newest frame per camera waits for ``compute()`` (an overwritten one
counts as dropped). ``compute()`` hands each pending frame to ``process_frame`` (the perception/model
seam), publishes the states on ``EmotionRecognitionPub`` and keeps the latest per camera for the
EmotionRecognition queries. Counters show in CommonBehavior.getParameterList as ``Stats.*``.
"""

import collections
import threading
import time
from typing import Any

import Ice

from emotion.classes import EMOTIONS
from emotion.middleware.config import Value
from emotion.middleware.images import now_ms
from emotion.middleware.parameters import ParameterSet, ParameterSpec
from emotion.middleware.slices import load_interfaces
from emotion.middleware.topics import TopicUnavailable
from emotion.perception.image import decode_timage
from genericworker import GenericWorker

RoboCompEmotionRecognition = load_interfaces().RoboCompEmotionRecognition
RATE_WINDOW_S = 5.0


class SpecificWorker(GenericWorker):
    PARAMETERS = GenericWorker.PARAMETERS + (
        ParameterSpec("Camera.Mode", str, "push", choices=("push", "poll"),
                      doc="push: subscribe to CameraRGBDSimplePub; poll: call getImage each period"),
        ParameterSpec("Camera.Name", str, "", doc="camera argument of getImage in poll mode"),
        ParameterSpec("Frames.MaxAgeMs", int, 0, editable=True, minimum=0,
                      doc="drop frames older than this at compute time (0 keeps all)"),
    )

    def __init__(self, mprx: dict[str, Any], params: ParameterSet, config_path=None) -> None:
        super().__init__(mprx, params, config_path)
        self.camera = mprx["CameraRGBDSimpleProxy"]
        self.emotionrecognitionpub = mprx["EmotionRecognitionPubPub"]
        self._lock = threading.Lock()
        self._pending: dict[int, Any] = {}
        self._latest: dict[int, list] = {}
        self._last_polled = -1
        self._poll_failing = False
        self._publish_times: collections.deque[float] = collections.deque(maxlen=1000)
        self.stats: dict[str, Value] = dict.fromkeys(
            ("frames_received", "frames_processed", "frames_dropped", "frames_stale", "frames_invalid",
             "faces", "published", "publish_failed", "poll_errors"), 0)
        self.stats["inference_ms"] = 0.0

    # --- frames in ----------------------------------------------------------------------------------
    def CameraRGBDSimplePub_pushRGBD(self, im: Any, dep: Any) -> None:
        """Keep the newest frame of each camera until compute takes it."""
        with self._lock:
            self.stats["frames_received"] += 1
            if im.cameraID in self._pending:
                self.stats["frames_dropped"] += 1
            self._pending[im.cameraID] = im

    def _poll(self) -> None:
        try:
            im = self.camera.getImage(str(self.params["Camera.Name"]))
        except Ice.Exception as exc:
            self.stats["poll_errors"] += 1
            if not self._poll_failing:
                print(f"poll: getImage failed ({type(exc).__name__}); retrying each period")
            self._poll_failing = True
            return
        self._poll_failing = False
        if im.alivetime != self._last_polled:
            self._last_polled = im.alivetime
            self.CameraRGBDSimplePub_pushRGBD(im, None)

    def _take_pending(self) -> list[Any]:
        with self._lock:
            frames, self._pending = list(self._pending.values()), {}
        max_age = int(self.params["Frames.MaxAgeMs"])
        if max_age <= 0:
            return frames
        now = now_ms()
        fresh = [im for im in frames if now - im.alivetime <= max_age]
        self.stats["frames_stale"] += len(frames) - len(fresh)
        return fresh

    # --- the loop -----------------------------------------------------------------------------------
    def compute(self) -> None:
        if self.params["Camera.Mode"] == "poll":
            self._poll()
        for im in self._take_pending():
            started = time.perf_counter()
            try:
                states = self.process_frame(im.cameraID, im)
            except ValueError as exc:
                self.stats["frames_invalid"] += 1
                print(f"frame refused: {exc}")
                continue
            self.stats["inference_ms"] = round((time.perf_counter() - started) * 1000.0, 3)
            self.stats["frames_processed"] += 1
            self.stats["faces"] = len(states)
            with self._lock:
                self._latest[im.cameraID] = states
            self._publish(im.cameraID, im.alivetime, states)

    def process_frame(self, camera_id: int, image: Any) -> list:
        """The perception/model seam: one TImage -> the EmotionState of each face in it.

        For now it only decodes the frame (ImageError, a ValueError, for a malformed one) and finds no faces.
        """
        decode_timage(image)
        return []

    def _publish(self, camera_id: int, alivetime: int, states: list) -> None:
        try:
            self.emotionrecognitionpub.pushEmotionStates(camera_id, alivetime, states)
        except (TopicUnavailable, Ice.Exception):
            self.stats["publish_failed"] += 1
            return
        self.stats["published"] += 1
        self._publish_times.append(time.monotonic())

    def publish_hz(self) -> float:
        """Publishes per second over the last RATE_WINDOW_S seconds."""
        now = time.monotonic()
        recent = [t for t in self._publish_times if now - t <= RATE_WINDOW_S]
        if len(recent) < 2:
            return 0.0
        return round((len(recent) - 1) / max(recent[-1] - recent[0], 1e-6), 2)

    def counters(self) -> dict[str, Value]:
        figures = {f"Stats.{name}": value for name, value in self.stats.items()}
        figures["Stats.publish_hz"] = self.publish_hz()
        return {**super().counters(), **figures}

    # --- EmotionRecognition ---------------------------------------------------------------------------
    def _all_latest(self) -> list:
        with self._lock:
            return [state for states in self._latest.values() for state in states]

    def EmotionRecognition_getEmotionList(self) -> list:
        """RoboComp's GSoC 2018 query: box and label of every face in each camera's latest frame."""
        return [RoboCompEmotionRecognition.SEmotion(x=s.x, y=s.y, w=s.w, h=s.h, emotion=s.emotion)
                for s in self._all_latest()]

    def EmotionRecognition_getClassNames(self) -> list[str]:
        return list(EMOTIONS)

    def EmotionRecognition_getEmotionStates(self) -> list:
        return self._all_latest()
