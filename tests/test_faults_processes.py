"""Processes around a running component fail: a camera killed mid-stream, a subscriber that hangs or dies,
IceStorm killed and restarted. A camera process keeps streaming a face throughout, and the component keeps
serving it (states reach a healthy subscriber, CommonBehavior answers)."""

import sys
import threading
import time

import pytest

from emotion.middleware.processes import LOOPBACK, ManagedProcess, wait_until
from emotion.middleware.rcnode import ping_topic_manager
from emotion.middleware.slices import load_interfaces

M = load_interfaces()
GOOD_CAMERA = 0


@pytest.fixture(scope="module")
def node(module_rcnode):
    """The rcnode of this module alone (the last test kills and restarts it)."""
    return module_rcnode


@pytest.fixture(scope="module")
def served(node, start_component, start_camera, random_weights):
    """A component on ``node`` with a face camera streaming to it; a silent camera is forgotten after 1 s."""
    component = start_component(node.proxy, {"Model.Weights": str(random_weights), "TopicLink.IntervalS": 0.2,
                                             "Cameras.IdleS": 1.0, "Log.IntervalS": 0.5}, wait=False)
    assert wait_until(component.is_running, 60.0), component.process.output()
    start_camera(node.proxy, GOOD_CAMERA, fps=10.0, jpeg=True, name="good-camera")
    return component


@pytest.fixture
def healthy(served, node, bus_factory, states):
    """A healthy subscriber's StateCollector, already receiving the good camera's states."""
    bus_factory(node.proxy).subscribe("EmotionRecognitionPub", states)
    assert states.wait_more(3, GOOD_CAMERA, timeout_s=30.0), served.process.output()[-2000:]
    return states


def assert_still_serving(component, states, frames: int = 10, timeout_s: float = 15.0) -> None:
    """``frames`` more good-camera states arrive and the component answers CommonBehavior."""
    assert states.wait_more(frames, GOOD_CAMERA, timeout_s=timeout_s), component.process.output()[-2000:]
    assert component.process.running and component.is_running()


class HangingSubscriber(M.RoboCompEmotionRecognitionPub.EmotionRecognitionPub):
    """Blocks in pushEmotionStates until released (a subscriber whose process hangs)."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = threading.Event()

    def pushEmotionStates(self, cameraId, alivetime, states, current=None):
        self.calls += 1
        self.release.wait(30.0)


def test_camera_killed_mid_stream(served, node, healthy, start_camera):
    proxy = served.emotionrecognition()
    served_cameras = lambda: {s.cameraId for s in proxy.getEmotionStates()}  # noqa: E731
    victim = start_camera(node.proxy, 1, fps=10.0, jpeg=True, name="victim-camera")
    try:
        assert healthy.wait_more(1, camera_id=1, timeout_s=20.0), victim.output()
        assert wait_until(lambda: served_cameras() == {GOOD_CAMERA, 1}, 10.0), served_cameras()
        dropped = served.stat("cameras_dropped")
        victim.kill()                                                     # SIGKILL mid-stream
        assert wait_until(lambda: served.stat("cameras_dropped") > dropped, 5.0)   # forgotten after Cameras.IdleS
        assert wait_until(lambda: served_cameras() == {GOOD_CAMERA}, 5.0), served_cameras()   # its faces too
    finally:
        victim.stop()
    assert_still_serving(served, healthy)
    assert served.stat("pipeline_errors") == 0 and served.stat("compute_errors") == 0


def test_hanging_subscriber_does_not_block_the_component(served, node, healthy, bus_factory):
    hanging = HangingSubscriber()
    bus_factory(node.proxy).subscribe("EmotionRecognitionPub", hanging)   # its own communicator and threads
    try:
        assert wait_until(lambda: hanging.calls >= 1, 10.0)                # it is stuck in its first call
        failed = served.stat("publish_failed")
        published = served.stat("published")
        assert_still_serving(served, healthy, frames=20)
        assert served.stat("published") >= published + 20 and served.stat("publish_failed") == failed
        assert served.stat("latency_ms") < 1000                             # oneway publishing never waits on it
    finally:
        hanging.release.set()


def test_dying_subscriber_does_not_disturb_the_component(served, node, healthy, tmp_path):
    listener = ManagedProcess([sys.executable, "-m", "emotion", "listen", "--topic-manager", node.proxy,
                               "--endpoint", f"tcp -h {LOOPBACK}"], log_path=tmp_path / "listen.log", name="listen")
    listener.start()
    try:
        assert wait_until(lambda: "face #" in listener.output(), 30.0), listener.output()
        failed = served.stat("publish_failed")
        listener.kill()                                                   # SIGKILL: its connection just vanishes
        assert_still_serving(served, healthy, frames=20)
        assert served.stat("publish_failed") == failed
    finally:
        listener.stop()


def test_icestorm_killed_and_restarted(served, node, healthy):
    node.kill()
    assert wait_until(lambda: "Cannot connect to rcnode!" in served.process.output(), 10.0)
    time.sleep(0.5)
    assert served.process.running and served.is_running()                 # still answers rcmonitor
    node.start()                                                          # same ports, no topics, no subscribers
    assert ping_topic_manager(node.proxy)
    assert wait_until(lambda: served.process.output().count("subscribed to topic 'CameraRGBDSimplePub'") == 2, 10.0)
    assert_still_serving(served, healthy, timeout_s=20.0)                 # camera, component and bus all relinked
