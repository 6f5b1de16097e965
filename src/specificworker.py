"""SpecificWorker: the component's behaviour.

Frames come from the one camera source of ``Camera.Mode`` (``emotion.camera``): pushed on
``CameraRGBDSimplePub_pushRGBD`` ("push"), or polled each period with ``CameraRGBDSimple.getImage``
("poll") or ``CameraSimple.getImage`` ("poll-simple"); only the newest frame per camera waits for
``compute()`` (an overwritten one counts as dropped), and each pushed arrival wakes ``compute()`` at once. ``compute()`` decodes the pending frames,
runs each camera's ``EmotionEngine`` (tracking, smoothing) with ONE batched model call for the faces of
all cameras (``emotion.engine.process_frames``), publishes every processed frame's states on
``EmotionRecognitionPub`` (an empty list for a frame without faces) and keeps the latest states per camera
for the EmotionRecognition and FacialEmotionRecognition queries. Labels are said in ``Labels.Style``
(``emotion.labels``) on every interface.

Label policy for a track whose buffer is still short (``bufferFrames < windowFrames``): it is classified
from its first frame on, the missing history padded with its earliest frame (``emotion.engine``); the
fill tells a client how much history stands behind the label.

Camera admission (``emotion.camera.admission``): a camera's silence is measured from its frames' arrival
(``CameraInput.heard``), never from compute; engines of cameras silent for ``Cameras.IdleS`` are dropped;
at most ``Cameras.Max`` are kept, new camera ids are admitted at ``Cameras.NewPerS`` at most, and a new one
replaces the longest silent camera only when that one has been silent ``Cameras.EvictAfterS`` (else the
new id's frames are refused before they are decoded). Track ids are the component's, never reused while
it runs (a new engine continues the numbering), so a client sees a reset as a new ``trackId``. Frames
over ``Frames.MaxPixels`` are refused from their declared size, before decoding. Bad input (malformed
images, refused cameras, failing polls) is counted and logged at most once per ``Log.IntervalS`` per
kind, with its reason. Counters show in CommonBehavior.getParameterList as ``Stats.*``.
"""

import collections
import itertools
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Sequence

import Ice

from emotion.cadence import CONFIG_KEYS as CADENCE_KEYS, CadenceConfig, ClassifyCadence
from emotion.camera.admission import Admission
from emotion.camera.sources import MODES, poll_source
from emotion.camera.stage import CameraInput, Frame
from emotion.engine import EmotionEngine, FrameJob, process_frames
from emotion.classifier import Classifier, load_classifier
from emotion.middleware.config import Value
from emotion.middleware.images import now_ms
from emotion.middleware.memory import HeapRelease, limit_process_memory, release_compiler_pages
from emotion.middleware.parameters import ParameterSet, ParameterSpec
from emotion.paths import DEPLOYED_MODEL, REPO_ROOT
from emotion.middleware.ratelimit import RateLimitedLog, message_shape
from emotion.labels import LABEL_STYLES, styled_names
from emotion.middleware.slices import load_interfaces
from emotion.middleware.topics import TopicUnavailable
from emotion.perception.crop import face_crop
from emotion.perception.detector import LandmarkDetector
from emotion.perception.image import CHANNEL_ORDERS, MAX_PIXELS, ImageError, decode_timage
from emotion.perception.pool import DEFAULT_THREADS, THREADS_KEY, PerceptionPool
from emotion.perception.search_budget import SearchBudget
from emotion.perception.tracking import CONFIG_PREFIX, TrackerConfig, field_type
from emotion.smoothing import SMOOTHING_KEYS, SmoothingConfig
from emotion.states import FaceState
from genericworker import GenericWorker

RoboCompEmotionRecognition = load_interfaces().RoboCompEmotionRecognition
RoboCompFacialEmotionRecognition = load_interfaces().RoboCompFacialEmotionRecognition
COMPONENT_ROOT: Path = Path(__file__).resolve().parents[1]
RATE_WINDOW_S = 5.0


def _perception_specs() -> tuple[ParameterSpec, ...]:
    """One ``Perception.<field>`` key per TrackerConfig threshold (the window comes from the model)."""
    defaults = TrackerConfig()
    return tuple(
        ParameterSpec(CONFIG_PREFIX + f.name, field_type(f), getattr(defaults, f.name),
                      doc=f"tracker threshold {f.name} (emotion.perception.tracking.TrackerConfig)")
        for f in fields(TrackerConfig) if f.name != "window")


def to_emotion_state(face: FaceState, camera_id: int, alivetime: int, label: str, track_id: int | None = None) -> Any:
    """A FaceState as RoboCompEmotionRecognition.EmotionState (landmarks interleaved x0, y0, x1, ...):
    ``alivetime`` identifies the frame, ``label`` is the face's label in the configured style, ``track_id``
    the component's id of the track (default: the engine's)."""
    x, y, w, h = face.box
    return RoboCompEmotionRecognition.EmotionState(
        trackId=int(face.track_id if track_id is None else track_id), cameraId=int(camera_id), x=int(x), y=int(y), w=int(w), h=int(h),
        emotion=label, probabilities=[float(p) for p in face.probabilities],
        confidence=float(face.confidence), alivetime=int(alivetime), bufferFrames=int(face.buffer_frames),
        windowFrames=int(face.window_frames), landmarks=face.landmarks.astype(float).ravel().tolist())


def to_facial_emotion(face: FaceState, frame_bgr: Any, crop_size: int) -> Any:
    """A FaceState as RoboCompFacialEmotionRecognition.SEmotion: box, probabilities in getClassNames()
    order, the face as a raw BGR ``crop_size`` square (an empty TImage when ``crop_size`` is 0)."""
    x, y, w, h = face.box
    image = RoboCompFacialEmotionRecognition.TImage(width=0, height=0, depth=0, image=b"")
    if crop_size > 0:
        crop = face_crop(frame_bgr, face.box, crop_size)
        image = RoboCompFacialEmotionRecognition.TImage(width=crop_size, height=crop_size, depth=3,
                                                        image=crop.tobytes())
    return RoboCompFacialEmotionRecognition.SEmotion(
        x=int(x), y=int(y), w=int(w), h=int(h), EmotionVector=[float(p) for p in face.probabilities],
        FaceImage=image)


@dataclass
class _Camera:
    """One camera's engine and its tracks' component-wide ids (engine track id -> published trackId)."""

    engine: EmotionEngine
    track_ids: dict[int, int]


class SpecificWorker(GenericWorker):
    PARAMETERS = GenericWorker.PARAMETERS + (
        ParameterSpec("Camera.Mode", str, "push", choices=MODES,
                      doc="push: subscribe to CameraRGBDSimplePub; poll: CameraRGBDSimple.getImage(Camera.Name) "
                          "each period; poll-simple: CameraSimple.getImage() each period"),
        ParameterSpec("Camera.Name", str, "", doc="camera argument of getImage in poll mode"),
        ParameterSpec("Camera.ChannelOrder", str, "BGR", editable=True, choices=CHANNEL_ORDERS,
                      doc="byte order of the camera's colour pixels (zed_camera: RGB)"),
        ParameterSpec("Frames.MaxAgeMs", int, 0, editable=True, minimum=0,
                      doc="drop frames older than this at compute time (0 keeps all)"),
        ParameterSpec("Frames.MaxPixels", int, MAX_PIXELS, editable=True, minimum=1, maximum=8192 * 8192,
                      doc="refuse frames of more pixels (width x height, from the declared and the JPEG/PNG "
                          "header size) before decoding them"),
        ParameterSpec("Labels.Style", str, "default", choices=tuple(LABEL_STYLES),
                      doc="default: the model's class names; robocomp2: emotionrecognition2's (Angry, Surprised)"),
        ParameterSpec("FacialEmotion.CropSize", int, 48, editable=True, minimum=0, maximum=512,
                      doc="side of the face crop in FacialEmotionRecognition answers (0: no crop)"),
        ParameterSpec("Model.Weights", str, str(DEPLOYED_MODEL.relative_to(REPO_ROOT)),
                      doc="the model: an ONNX export (.onnx, onnxruntime) or a torch checkpoint (.pt); a relative "
                          "path is relative to the component root"),
        ParameterSpec("Model.Threads", int, 1, minimum=1, maximum=64, doc="intra-op threads of the model call"),
        ParameterSpec(CADENCE_KEYS["every"], int, CadenceConfig.every, editable=True, minimum=0, maximum=1000,
                      doc="classify each track every this many frames, its last probabilities reused in between "
                          "(0: from the load, up to Model.MaxEvery)"),
        ParameterSpec(CADENCE_KEYS["max_every"], int, CadenceConfig.max_every, editable=True, minimum=1, maximum=1000,
                      doc="largest cadence chosen from the load (frames)"),
        ParameterSpec(CADENCE_KEYS["model_share"], float, CadenceConfig.model_share, editable=True, minimum=0.01,
                      maximum=1.0, doc="fraction of one core the model may use before the cadence grows"),
        ParameterSpec(THREADS_KEY, int, DEFAULT_THREADS, minimum=0, maximum=64,
                      doc="threads decoding and tracking cameras and faces in parallel (0: one per core)"),
        ParameterSpec("Smoothing.TimeConstantMs", float, SmoothingConfig.time_constant_ms, minimum=0.0,
                      maximum=60_000.0, doc="probability EMA time constant in ms (0: no smoothing)"),
        ParameterSpec("Smoothing.SwitchMargin", float, SmoothingConfig.switch_margin, minimum=0.0, maximum=0.99,
                      doc="label hysteresis: another class must lead by this much to take over"),
        ParameterSpec("Smoothing.FastChange", float, SmoothingConfig.fast_change, minimum=0.0, maximum=1.0,
                      doc="probability change that halves the time constant (0: fixed time constant)"),
        ParameterSpec("Smoothing.StayMs", float, SmoothingConfig.stay_ms, minimum=0.0, maximum=600_000.0,
                      doc="state filter: mean time an emotion stays in its prior, ms (0: no filter)"),
        ParameterSpec("Smoothing.Evidence", float, SmoothingConfig.evidence, minimum=0.01, maximum=1.0,
                      doc="state filter: exponent of the network's probabilities as evidence"),
        ParameterSpec("Cameras.IdleS", float, 30.0, minimum=0.1, doc="drop a camera's tracks after this silence"),
        ParameterSpec("Cameras.Max", int, 16, minimum=1, maximum=1024,
                      doc="most cameras tracked at once (the longest silent one is dropped)"),
        ParameterSpec("Cameras.NewPerS", float, 1.0, minimum=0.01, maximum=1000.0,
                      doc="most new camera ids admitted per second (after a first burst of Cameras.Max)"),
        ParameterSpec("Cameras.EvictAfterS", float, 5.0, minimum=0.0,
                      doc="a new camera replaces the longest silent one only after this silence"),
        ParameterSpec("Log.IntervalS", float, 5.0, minimum=0.1, doc="at most one log line per kind of problem per"
                      " this many seconds"),
    ) + _perception_specs()

    def __init__(self, mprx: dict[str, Any], params: ParameterSet, config_path=None,
                 detector: LandmarkDetector | None = None) -> None:
        """``detector``: dlib's detector and predictor, shared by every camera (loaded when not given)."""
        super().__init__(mprx, params, config_path)
        limit_process_memory()  # before the model's first call
        self.log = RateLimitedLog(float(params["Log.IntervalS"]))
        self.classifier = self._load_classifier()
        self.detector = detector if detector is not None else LandmarkDetector()
        release_compiler_pages()  # the shape predictor is compiled: numba's compiler is not needed again
        self.heap_release = HeapRelease()
        self.tracker_config = self.tracker_settings(params)
        self.smoothing = SmoothingConfig(*(float(params[f"Smoothing.{key}"]) for key in SMOOTHING_KEYS))
        self.labels = styled_names(self.classifier.class_names, str(params["Labels.Style"]))
        self.pool = PerceptionPool(int(params[THREADS_KEY]))
        self.search_budget = SearchBudget(self.tracker_config.search_share, self.tracker_config.max_search_stretch)
        self.cadence = ClassifyCadence(self.cadence_settings(params))
        self.camera = CameraInput(
            poll_source(str(params["Camera.Mode"]), self.camerargbdsimple_proxy, self.camerasimple_proxy,
                        str(params["Camera.Name"])), self.log, prepare=self._prepare)
        self._lock = threading.Lock()
        self._latest: dict[int, list] = {}
        self._facial: dict[int, tuple[Any, list[FaceState]]] = {}
        """Per camera: its latest TImage and faces, made into colour face crops only when a client asks."""
        self._cameras: dict[int, _Camera] = {}
        self.admission = Admission(float(params["Cameras.NewPerS"]), int(params["Cameras.Max"]))
        self._track_ids = itertools.count(1)
        self._publish_times: collections.deque[float] = collections.deque(maxlen=1000)
        self.stats: dict[str, Value] = dict.fromkeys(
            ("frames_processed", "frames_invalid", "frames_refused", "faces", "faces_total", "published",
             "publish_failed", "pipeline_errors", "cameras", "cameras_dropped", "classified", "classify_every",
             "search_stretch"), 0)
        self.stats.update(dict.fromkeys(("inference_ms", "perception_ms", "compute_ms", "latency_ms"), 0.0))

    @staticmethod
    def tracker_settings(params: ParameterSet) -> TrackerConfig:
        """Every camera's tracker: the ``Perception.*`` parameters (the window comes from the model)."""
        return TrackerConfig.from_mapping({k: v for k, v in params.snapshot().items() if k.startswith(CONFIG_PREFIX)})

    @staticmethod
    def cadence_settings(params: ParameterSet) -> CadenceConfig:
        """How often each track is classified: the ``Model.ClassifyEvery/MaxEvery/Share`` parameters."""
        return CadenceConfig(**{name: params[key] for name, key in CADENCE_KEYS.items()})

    def parameters_changed(self, applied: dict[str, Value]) -> None:
        super().parameters_changed(applied)
        if any(key in applied for key in CADENCE_KEYS.values()):
            self.cadence = ClassifyCadence(self.cadence_settings(self.params))

    def _load_classifier(self) -> Classifier:
        """The model of ``Model.Weights``; ValueError naming the key when it cannot be loaded."""
        path = Path(str(self.params["Model.Weights"]))
        path = path if path.is_absolute() else COMPONENT_ROOT / path
        try:
            return load_classifier(path, threads=int(self.params["Model.Threads"]))
        except (OSError, ValueError) as exc:
            raise ValueError(f"Model.Weights = {path}: {exc}") from None

    # --- frames in ----------------------------------------------------------------------------------
    def CameraRGBDSimplePub_pushRGBD(self, im: Any, dep: Any) -> None:
        """Keep the newest frame of its camera and wake compute."""
        self.camera.push(im)
        self.wake()

    # --- cameras ------------------------------------------------------------------------------------
    def _silent_camera(self) -> int | None:
        """The camera that may make room for a new one: the longest silent, when silent Cameras.EvictAfterS."""
        silent = min(self._cameras, key=self.camera.heard, default=None)
        if silent is None or time.monotonic() - self.camera.heard(silent) < float(self.params["Cameras.EvictAfterS"]):
            return None
        return silent

    def _refusal(self, camera_id: int) -> str | None:
        """Why a frame of a camera not tracked yet cannot start one now (None: it can); changes nothing."""
        if len(self._cameras) >= int(self.params["Cameras.Max"]) and self._silent_camera() is None:
            return f"{len(self._cameras)} cameras (Cameras.Max), none silent for Cameras.EvictAfterS"
        if not self.admission.available():
            return "new camera ids arrive faster than Cameras.NewPerS"
        return None

    def _add_camera(self, camera_id: int) -> _Camera:
        """Track a new camera (its first good frame), in the place of the longest silent one when full."""
        self.admission.take()
        if len(self._cameras) >= int(self.params["Cameras.Max"]):
            self._drop_camera(self._silent_camera())
        engine = EmotionEngine(self.classifier, self.tracker_config, self.smoothing, detector=self.detector,
                               pool=self.pool, late_search=True,  # live: no frame waits for a search
                               search_budget=self.search_budget)
        camera = self._cameras[camera_id] = _Camera(engine, {})
        return camera

    def _track_id(self, camera: _Camera, track_id: int) -> int:
        """The component-wide id of one of the camera's tracks (new tracks take the next one)."""
        live = {t.track_id for t in camera.engine.tracker.tracks}
        for gone in [t for t in camera.track_ids if t not in live and t != track_id]:
            del camera.track_ids[gone]
        if track_id not in camera.track_ids:
            camera.track_ids[track_id] = next(self._track_ids)
        return camera.track_ids[track_id]

    def _drop_camera(self, camera_id: int) -> None:
        del self._cameras[camera_id]
        self.camera.forget(camera_id)
        with self._lock:
            self._latest.pop(camera_id, None)
            self._facial.pop(camera_id, None)
        self.stats["cameras_dropped"] += 1
        print(f"camera {camera_id}: dropped (silent or over Cameras.Max); its tracks are forgotten")

    def _drop_idle_cameras(self) -> None:
        limit = time.monotonic() - float(self.params["Cameras.IdleS"])
        for camera_id in [c for c in self._cameras if self.camera.heard(c) < limit]:
            self._drop_camera(camera_id)

    # --- the loop -----------------------------------------------------------------------------------
    def compute(self) -> None:
        self.camera.poll()
        self._drop_idle_cameras()
        frames, jobs = [], []
        order = str(self.params["Camera.ChannelOrder"])
        max_pixels = int(self.params["Frames.MaxPixels"])
        admitted = []
        for frame in self.camera.take(int(self.params["Frames.MaxAgeMs"])):
            if self._refused(frame):                            # refused before any decoding
                continue
            admitted.append(frame)
        decoded_frames = self.pool.map_cameras(lambda f: self._decode(f, order, max_pixels), admitted)
        for frame, decoded in zip(admitted, decoded_frames):
            if isinstance(decoded, ImageError):
                self.stats["frames_invalid"] += 1
                self.log.report("frame refused", f"camera {frame.camera_id}: {decoded}",
                                detail=message_shape(str(decoded)))
                continue
            camera = self._cameras.get(frame.camera_id)
            if camera is None:
                if self._refused(frame):  # another new camera of this round took the place
                    continue
                camera = self._add_camera(frame.camera_id)
            frames.append(frame)
            jobs.append(FrameJob(camera.engine, decoded, frame.time_ms))
        if jobs:
            self._process(frames, jobs)
        self.stats["cameras"] = len(self._cameras)
        self.heap_release.tick()

    def _refused(self, frame: Frame) -> bool:
        """True (counted, logged, its pending frames forgotten) when the frame's camera is new and may not
        start now (``_refusal``)."""
        refusal = None if frame.camera_id in self._cameras else self._refusal(frame.camera_id)
        if refusal is None:
            return False
        self.stats["frames_refused"] += 1
        self.camera.forget(frame.camera_id)
        self.log.report("camera refused", f"camera {frame.camera_id}: {refusal}", detail=refusal)
        return True

    def _prepare(self, frame: Frame) -> "Future[Any] | None":
        """A compressed frame of a camera being served: its decoding started on the pool as it arrives
        (``CameraInput``); None for the others (a raw frame's conversion to gray costs ~0.2 ms, less than
        handing it to another thread), which compute decodes itself."""
        served = frame.camera_id in getattr(self, "_cameras", {})  # frames may arrive before __init__ ends
        if not served or getattr(frame.image, "compressed", False) is not True:
            return None
        return self.pool.decode(self._gray, frame.image, str(self.params["Camera.ChannelOrder"]),
                                int(self.params["Frames.MaxPixels"]))

    @classmethod
    def _decode(cls, frame: Frame, order: str, max_pixels: int) -> Any:
        """The frame as perception takes it (``_gray``): decoded on a pool thread, or on arrival, then as
        prepared (waiting for it if need be)."""
        try:
            prepared = None if frame.prepared is None else frame.prepared.result()
        except Exception:  # a bug in the preparation: decode here, which reports what is wrong
            prepared = None
        return prepared if prepared is not None else cls._gray(frame.image, order, max_pixels)

    @staticmethod
    def _gray(image: Any, order: str, max_pixels: int) -> Any:
        """A TImage's gray levels (H, W) uint8 (all perception needs), or the ImageError refusing it."""
        try:
            return decode_timage(image, order, max_pixels, gray=True)
        except ImageError as exc:
            return exc

    def _process(self, frames: Sequence[Frame], jobs: list[FrameJob]) -> None:
        """One batched pipeline run for one frame per camera; publish and remember each camera's states."""
        started = time.perf_counter()
        try:
            result = process_frames(jobs, self.pool, self.cadence)
        except Exception as exc:  # a pipeline bug must not stop the component: count, say why, go on
            self.stats["pipeline_errors"] += 1
            self.log.report("pipeline error", f"{type(exc).__name__}: {exc}")
            return
        self.stats["compute_ms"] = round((time.perf_counter() - started) * 1000.0, 3)
        self.stats["inference_ms"] = round(result.inference_ms, 3)
        self.stats["classified"] = result.classified
        self.stats["classify_every"] = self.cadence.every
        self.stats["search_stretch"] = self.search_budget.stretch
        self.stats["perception_ms"] = round(sum(result.track_ms), 3)
        faces = 0
        for frame, job, faces_of_frame in zip(frames, jobs, result.states):
            camera = self._cameras.get(frame.camera_id)
            states = [to_emotion_state(face, frame.camera_id, frame.alivetime, self.labels.get(face.label, face.label),
                                       None if camera is None else self._track_id(camera, face.track_id))
                      for face in faces_of_frame]
            faces += len(states)
            with self._lock:
                self._latest[frame.camera_id] = states
                self._facial[frame.camera_id] = (frame.image, faces_of_frame)
            self._publish(frame, states)
        self.stats["frames_processed"] += len(frames)
        self.stats["faces"] = faces
        self.stats["faces_total"] += faces

    def _publish(self, frame: Frame, states: list) -> None:
        try:
            self.emotionrecognitionpub_proxy.pushEmotionStates(frame.camera_id, frame.alivetime, states)
        except (TopicUnavailable, Ice.Exception) as exc:
            self.stats["publish_failed"] += 1
            self.log.report("publish", f"pushEmotionStates failed ({type(exc).__name__}); rcnode link retries")
            return
        self.stats["published"] += 1
        self.stats["latency_ms"] = now_ms() - frame.time_ms
        self._publish_times.append(time.monotonic())

    def publish_hz(self) -> float:
        """Publishes per second over the last RATE_WINDOW_S seconds."""
        now = time.monotonic()
        recent = [t for t in self._publish_times if now - t <= RATE_WINDOW_S]
        if len(recent) < 2:
            return 0.0
        return round((len(recent) - 1) / max(recent[-1] - recent[0], 1e-6), 2)

    def counters(self) -> dict[str, Value]:
        figures = {f"Stats.{name}": value for name, value in {**self.camera.counts, **self.stats}.items()}
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
        """The class names in probability-vector order, in the configured Labels.Style."""
        return [self.labels[name] for name in self.classifier.class_names]

    def EmotionRecognition_getEmotionStates(self) -> list:
        """The full states (probabilities, landmarks, buffer fill) of each camera's latest frame."""
        return self._all_latest()

    # --- FacialEmotionRecognition (RoboComp's other emotion interface) ------------------------------------
    def FacialEmotionRecognition_getEmotionList(self) -> list:
        """Box, probability vector (getClassNames() order) and face crop of every face in each camera's
        latest frame (the crops cut now, from that frame: frames nobody asks about cost no crops)."""
        with self._lock:
            latest = list(self._facial.values())
        crop_size = int(self.params["FacialEmotion.CropSize"])
        order, max_pixels = str(self.params["Camera.ChannelOrder"]), int(self.params["Frames.MaxPixels"])
        listed = []
        for image, faces in latest:
            colour = None
            if crop_size > 0 and faces:
                try:
                    colour = decode_timage(image, order, max_pixels)
                except ImageError:  # decoded in gray, so only a changed Frames.MaxPixels: boxes without crops
                    pass
            listed += [to_facial_emotion(face, colour, crop_size if colour is not None else 0) for face in faces]
        return listed
