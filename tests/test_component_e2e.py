"""The component end to end: the worker's pipeline in-process (fake proxies), then real processes on
loopback (icebox, camera, component, listener, demo) playing a 48-frame cut of the sample face clip.

Random-weight checkpoints only: nothing here depends on the shipped weights or their accuracy.
"""

import argparse
import re
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest
import torch

from emotion.checkpoint import save_checkpoint
from emotion.classes import EMOTIONS
from emotion.features import FeatureConfig
from emotion.middleware.componentconfig import load_component_config
from emotion.middleware.config import parse_config, render_config
from emotion.middleware.images import encode_timage
from emotion.middleware.parameters import ParameterSet
from emotion.middleware.processes import LOOPBACK, ManagedProcess, wait_until
from emotion.middleware.slices import load_interfaces
from emotion.middleware.worker import ComponentWorker
from emotion.models import ModelConfig, build_model
from emotion.normalize import NormalizationConfig
from emotion.paths import REPO_ROOT, SAMPLE_CLIP
from emotion.tools import monitor

import specificworker


torch.set_num_threads(1)
M = load_interfaces()
WINDOW = 15
CLIP_FRAMES = 48


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A small random-weight model with a 15-frame window."""
    torch.manual_seed(0)
    cfg = ModelConfig(blocks=((8, 2), (16, 2)), window=WINDOW)
    path = tmp_path_factory.mktemp("weights") / "tiny.pt"
    save_checkpoint(path, build_model(cfg, FeatureConfig().channels, len(EMOTIONS)), cfg, FeatureConfig(),
                    NormalizationConfig(), EMOTIONS, {})
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """The first 48 frames of the sample clip (one face all along), at its own frame rate."""
    if not SAMPLE_CLIP.is_file():
        pytest.skip(f"sample clip {SAMPLE_CLIP} is missing (media/ of the repository)")
    capture = cv2.VideoCapture(str(SAMPLE_CLIP))
    fps = capture.get(cv2.CAP_PROP_FPS)
    frames = [capture.read()[1] for _ in range(CLIP_FRAMES)]
    capture.release()
    path = tmp_path_factory.mktemp("clip") / "cut.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, frames[0].shape[1::-1])
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path, frames


# --- the worker in-process --------------------------------------------------------------------------------

class FakePublisher:
    def __init__(self) -> None:
        self.pushed: list[tuple[int, int, list]] = []

    def pushEmotionStates(self, camera_id, alivetime, states):
        self.pushed.append((camera_id, alivetime, list(states)))


class FakeCamera:
    def __init__(self, image=None) -> None:
        self.image = image

    def getImage(self, name):
        if self.image is None:
            raise M.RoboCompCameraRGBDSimple.HardwareFailedException(what="no frame")
        return self.image


@pytest.fixture(scope="module")
def detector():
    from emotion.perception.detector import LandmarkDetector

    return LandmarkDetector()


@pytest.fixture
def make_worker(checkpoint, detector):
    """``make_worker(**config) -> (worker, publisher, log lines)`` with one shared dlib detector."""

    def make(camera=None, **overrides):
        params = ParameterSet(specificworker.SpecificWorker.all_parameters())
        params.load(parse_config(render_config({"Model.Weights": str(checkpoint), **overrides})))
        publisher = FakePublisher()
        worker = specificworker.SpecificWorker(
            {"CameraRGBDSimpleProxy": camera or FakeCamera(), "CameraSimpleProxy": camera or FakeCamera(),
             "EmotionRecognitionPub": publisher}, params,
            detector=detector)
        lines: list[str] = []
        worker.log.log = lines.append
        return worker, publisher, lines

    return make


def push(worker, frame, camera_id=0, alivetime=1000):
    worker.CameraRGBDSimplePub_pushRGBD(encode_timage(frame, camera_id, alivetime), None)


def assert_label_is_the_smoothed_choice(state, switch_margin: float) -> None:
    """The label is the top class of the shown probabilities, or one no class beats by ``switch_margin``
    (the hysteresis holds it), and the confidence is its probability."""
    probabilities = np.asarray(state.probabilities)
    label = EMOTIONS.index(state.emotion)
    assert probabilities.max() - probabilities[label] < switch_margin + 1e-6, (state.emotion, probabilities)
    assert state.confidence == pytest.approx(probabilities[label])


def published_labels(states) -> set[str]:
    return {s.emotion for _, _, frame_states in states.messages() for s in frame_states}


def test_worker_publishes_states_of_one_tracked_face(make_worker, clip):
    worker, publisher, _ = make_worker(**{"Smoothing.SwitchMargin": 0.0})      # the label is the top class
    _, frames = clip
    for i, frame in enumerate(frames[:WINDOW + 2]):
        push(worker, frame, camera_id=3, alivetime=10_000 + 42 * i)
        worker.compute()
    assert [p[:2] for p in publisher.pushed] == [(3, 10_000 + 42 * i) for i in range(WINDOW + 2)]
    states = [s for _, _, frame_states in publisher.pushed for s in frame_states]
    assert len(states) == WINDOW + 2 and {s.trackId for s in states} == {1}
    first, last = states[0], states[-1]
    assert (first.bufferFrames, first.windowFrames) == (1, WINDOW)       # short buffer: reported with its fill
    assert last.bufferFrames == WINDOW and last.cameraId == 3 and last.alivetime == 10_000 + 42 * (WINDOW + 1)
    assert len(last.probabilities) == len(EMOTIONS) and len(last.landmarks) == 136
    for state in states:
        assert_label_is_the_smoothed_choice(state, float(worker.params["Smoothing.SwitchMargin"]))
    assert abs(sum(last.probabilities) - 1.0) < 1e-4
    x0, y0 = np.asarray(last.landmarks).reshape(68, 2).min(axis=0)
    assert last.x - last.w < x0 < last.x + last.w and last.y - last.h < y0 < last.y + last.h
    listed = worker.EmotionRecognition_getEmotionList()
    assert [(e.x, e.y, e.w, e.h, e.emotion) for e in listed] == [(last.x, last.y, last.w, last.h, last.emotion)]
    assert worker.EmotionRecognition_getEmotionStates() == [last]
    counters = worker.counters()
    assert counters["Stats.frames_processed"] == WINDOW + 2 and counters["Stats.faces_total"] == WINDOW + 2
    assert counters["Stats.inference_ms"] > 0 and counters["Stats.cameras"] == 1


def test_worker_keeps_newest_frame_and_batches_cameras(make_worker, clip, monkeypatch):
    worker, publisher, _ = make_worker()
    _, frames = clip
    calls = []
    predict = worker.classifier.predict
    monkeypatch.setattr(worker.classifier, "predict",
                        lambda windows, *appearance: calls.append(len(windows)) or predict(windows, *appearance))
    push(worker, frames[0], camera_id=1, alivetime=1)
    push(worker, frames[1], camera_id=1, alivetime=2)                    # replaces the first: dropped
    push(worker, frames[2], camera_id=2, alivetime=3)
    push(worker, np.zeros((48, 64, 3), np.uint8), camera_id=4, alivetime=4)   # no face
    worker.compute()
    assert calls == [2]                                                  # one model call, both faces
    assert sorted((c, t, len(s)) for c, t, s in publisher.pushed) == [(1, 2, 1), (2, 3, 1), (4, 4, 0)]
    assert worker.camera.counts["frames_dropped"] == 1 and worker.camera.counts["frames_received"] == 4
    assert len(worker.EmotionRecognition_getEmotionStates()) == 2


def test_worker_refuses_bad_images_with_a_rate_limited_reason(make_worker, clip):
    worker, publisher, lines = make_worker()
    for alivetime in range(5):
        bad = encode_timage(clip[1][0], 0, alivetime)
        bad.width += 1
        worker.CameraRGBDSimplePub_pushRGBD(bad, None)
        worker.compute()
    assert worker.stats["frames_invalid"] == 5 and publisher.pushed == []
    refused = [line for line in lines if line.startswith("frame refused: ")]   # (and one clock line)
    assert len(refused) == 1 and "camera 0" in refused[0] and "needs" in refused[0]


def test_worker_drops_silent_and_surplus_cameras(make_worker, clip):
    worker, _, _ = make_worker(**{"Cameras.IdleS": 0.2, "Cameras.Max": 2, "Cameras.EvictAfterS": 0.0,
                                           "Cameras.NewPerS": 1000.0})
    frame = clip[1][0]
    for camera_id in (1, 2, 3):                                          # a third camera: the oldest goes
        push(worker, frame, camera_id)
        worker.compute()
    assert worker.stats["cameras"] == 2 and worker.stats["cameras_dropped"] == 1
    assert {s.cameraId for s in worker.EmotionRecognition_getEmotionStates()} == {2, 3}
    time.sleep(0.25)
    worker.compute()
    assert worker.stats["cameras"] == 0 and worker.EmotionRecognition_getEmotionStates() == []


def test_worker_poll_mode(make_worker, clip):
    camera = FakeCamera()
    worker, publisher, lines = make_worker(camera, **{"Camera.Mode": "poll"})
    worker.compute()
    worker.compute()
    assert worker.camera.counts["poll_errors"] == 2 and len(lines) == 1 and "getImage failed" in lines[0]
    camera.image = encode_timage(clip[1][0], 5, 777)
    worker.compute()
    worker.compute()                                                     # the same image: not again
    assert [p[:2] for p in publisher.pushed] == [(5, 777)] and len(publisher.pushed[0][2]) == 1
    assert worker.camera.counts["poll_unchanged"] == 1


def test_facial_emotion_answers_follow_crop_size_and_labels_follow_style(make_worker, clip):
    worker, publisher, _ = make_worker(**{"FacialEmotion.CropSize": 0, "Labels.Style": "robocomp2"})
    robocomp2 = ["Happy", "Sad", "Neutral", "Angry", "Surprised"]
    push(worker, clip[1][0], alivetime=1)
    worker.compute()
    (face,) = worker.FacialEmotionRecognition_getEmotionList()
    (state,) = worker.EmotionRecognition_getEmotionStates()
    assert (face.FaceImage.width, face.FaceImage.depth, len(face.FaceImage.image)) == (0, 0, 0)
    assert face.EmotionVector == state.probabilities and (face.x, face.w) == (state.x, state.w)
    assert worker.EmotionRecognition_getClassNames() == robocomp2 and state.emotion in robocomp2
    assert publisher.pushed[0][2][0].emotion == state.emotion
    assert worker.EmotionRecognition_getEmotionList()[0].emotion == state.emotion
    worker.apply({"FacialEmotion.CropSize": 24})
    push(worker, clip[1][1], alivetime=2)
    worker.compute()
    (face,) = worker.FacialEmotionRecognition_getEmotionList()
    assert (face.FaceImage.width, face.FaceImage.height, face.FaceImage.depth) == (24, 24, 3)
    assert len(face.FaceImage.image) == 24 * 24 * 3


def test_missing_weights_name_the_key(make_worker, tmp_path):
    with pytest.raises(ValueError, match="Model.Weights"):
        make_worker(**{"Model.Weights": str(tmp_path / "none.pt")})


def test_config_documents_every_new_key():
    warnings: list[str] = []
    config, params = load_component_config(
        REPO_ROOT / "etc" / "config", specificworker.SpecificWorker.all_parameters(), warn=warnings.append)
    assert warnings == []
    for key in ("Model.Weights", "Model.Threads", "Smoothing.TimeConstantMs", "Smoothing.SwitchMargin",
                "Perception.detect_every", "Cameras.IdleS", "Cameras.Max", "Log.IntervalS"):
        assert key in config, key
    assert (REPO_ROOT / "etc" / "config").read_text().count("Perception.window") == 0  # the model decides it
    assert params["Perception.max_tracks"] == 8 and params["Model.Weights"] == "weights/emotion_stgcn.onnx"


def test_compute_loop_is_event_driven():
    """A wake() runs compute at once; without one, Period.Compute is the longest wait."""
    calls: list[float] = []

    class Worker(ComponentWorker):
        def compute(self):
            calls.append(time.monotonic())

    params = ParameterSet(Worker.all_parameters())
    params.load(parse_config("Period.Compute = 400\n"))
    worker = Worker(params)
    worker.start()
    try:
        assert wait_until(lambda: len(calls) == 1, 2.0)
        time.sleep(0.1)
        assert len(calls) == 1                                           # waiting out the 400 ms period
        woken = time.monotonic()
        worker.wake()
        assert wait_until(lambda: len(calls) == 2, 1.0, interval_s=0.002)
        assert calls[1] - woken < 0.15                                  # not the 300 ms left
        assert wait_until(lambda: len(calls) == 3, 1.0)                  # the period still ticks
        assert 0.35 < calls[2] - calls[1] < 0.8
    finally:
        worker.stop()
        assert worker.wait_stopped(2.0)


# --- real processes ---------------------------------------------------------------------------------------

def monitor_args(*argv, component):
    parser = argparse.ArgumentParser()
    monitor.add_arguments(parser)
    return parser.parse_args(["--proxy", component.ports.proxy("commonbehavior"),
                              "--emotion-proxy", component.ports.proxy("emotionrecognition"), *argv])


def test_end_to_end_with_real_processes(tmp_path, rcnode, start_component, start_camera, bus, states, checkpoint,
                                        clip, capsys):
    component = start_component(rcnode, {"Model.Weights": str(checkpoint), "Period.Compute": 20,
                                         "TopicLink.IntervalS": 0.2, "Smoothing.SwitchMargin": 0.0}, wait=False)
    bus.subscribe("EmotionRecognitionPub", states)
    drawn = tmp_path / "listen.mp4"
    listen = ManagedProcess([sys.executable, "-m", "emotion", "listen", "--topic-manager", rcnode, "--video",
                             str(drawn), "--endpoint", f"tcp -h {LOOPBACK}"], log_path=tmp_path / "listen.log",
                            name="listen")
    listen.start()
    assert wait_until(component.is_running, 60.0), component.process.output()
    camera = start_camera(rcnode, clip=clip[0])
    try:
        assert states.wait_more(20, faces=True, timeout_s=30.0), (component.process.output(), camera.output())
        with states.lock:
            tracks = {(s.cameraId, s.trackId) for _, _, frame_states in states.received for s in frame_states}
        assert tracks == {(0, 1)}
        assert wait_until(lambda: "face #1:" in listen.output(), 5.0), listen.output()
        proxy = component.emotionrecognition()
        listed, full = proxy.getEmotionList(), proxy.getEmotionStates()
        assert len(listed) == 1 and listed[0].w > 50
        assert wait_until(lambda: listed[0].emotion in published_labels(states), 2.0), listed[0].emotion
        assert len(full) == 1 and full[0].trackId == 1 and len(full[0].landmarks) == 136
        assert_label_is_the_smoothed_choice(full[0], float(component.parameters()["Smoothing.SwitchMargin"]))
        before = component.parameters()
        time.sleep(0.5)
        after = component.parameters()
        for counter in ("Stats.frames_received", "Stats.frames_processed", "Stats.published", "Stats.faces_total"):
            assert float(after[counter]) > float(before[counter]), counter
        assert float(after["Stats.publish_hz"]) > 5

        monitor.run(monitor_args("--once", "--set-period", "30", component=component))
        shown = capsys.readouterr().out
        assert "state Running  period 30 ms" in shown and "frames_processed" in shown and "face #1:" in shown
        assert component.commonbehavior().getPeriod() == 30
        with pytest.raises(OSError, match="refused: .*must be >= 1"):  # emotion.cli prints it as one line, exit 1
            monitor.run(monitor_args("--once", "--set", "Period.Compute=0", component=component))

        camera.stop()                                                   # the camera goes away ...
        time.sleep(0.3)                                                 # frames still in IceStorm arrive
        received = component.stat("frames_received")
        time.sleep(0.5)
        assert component.is_running() and component.stat("frames_received") == received
        camera = start_camera(rcnode, clip=clip[0], name="camera2")        # ... and comes back
        assert states.wait_more(11, timeout_s=20.0), camera.output()
        assert component.stat("frames_received") > received
    finally:
        camera.stop()
        listen.signal(signal.SIGINT)
        assert listen.wait(10) == 0
    written = re.search(r"(\d+) frames written", listen.output())
    assert written and int(written[1]) > 20, listen.output()
    assert int(cv2.VideoCapture(str(drawn)).get(cv2.CAP_PROP_FRAME_COUNT)) == int(written[1])


def test_demo_once_writes_every_frame(tmp_path, checkpoint, clip):
    out = tmp_path / "demo.mp4"
    result = subprocess.run([sys.executable, "-m", "emotion", "demo", "--once", "--clip", str(clip[0]),
                             "--weights", str(checkpoint), "--out", str(out), "--every-ms", "0"],
                            capture_output=True, text=True, timeout=150, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "face #1:" in result.stdout and f"{CLIP_FRAMES} frames written" in result.stdout
    video = cv2.VideoCapture(str(out))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == CLIP_FRAMES
    ok, first = video.read()
    video.release()
    assert ok and first.shape == clip[1][0].shape


def test_demo_refuses_missing_weights(tmp_path, clip):
    result = subprocess.run([sys.executable, "-m", "emotion", "demo", "--once", "--clip", str(clip[0]),
                             "--weights", str(tmp_path / "none.pt")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "none.pt: no such file" in result.stderr


def test_track_ids_are_never_reused_and_new_cameras_are_admitted_at_a_rate(make_worker, clip):
    """A camera dropped and back gets new track ids (clients see the reset); beyond the first burst new
    camera ids are refused (counted) until the rate allows one, and a live camera is never evicted."""
    worker, publisher, _ = make_worker(**{"Cameras.IdleS": 0.2, "Cameras.Max": 2, "Cameras.NewPerS": 2.0})
    frame = clip[1][0]
    push(worker, frame, 1)
    worker.compute()
    first = {s.trackId for s in publisher.pushed[-1][2]}
    time.sleep(0.25)
    worker.compute()                                                     # silent: dropped
    push(worker, frame, 1)
    worker.compute()                                                     # back: the burst of 2 is spent
    again = {s.trackId for s in publisher.pushed[-1][2]}
    assert first and again and min(again) > max(first)
    push(worker, frame, 2)
    worker.compute()
    assert worker.stats["frames_refused"] == 1 and worker.stats["cameras"] == 1
    time.sleep(0.6)                                                      # 2 per second: one more allowed
    push(worker, frame, 2)
    worker.compute()
    assert worker.stats["frames_refused"] == 1 and {p[0] for p in publisher.pushed} == {1, 2}
