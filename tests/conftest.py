"""Fixtures with real middleware: icebox/IceStorm on free loopback ports, real component and camera
processes, test publishers and subscribers. Every process is stopped (whole process group) in a finalizer."""

import sys
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from emotion.middleware.communicator import make_communicator
from emotion.middleware.component import ComponentPorts, ComponentProcess, write_component_config
from emotion.middleware.processes import LOOPBACK, ManagedProcess, free_port, wait_until
from emotion.middleware.rcnode import RcNode
from emotion.middleware.slices import load_interfaces
from emotion.middleware.topics import TopicLink
from emotion.paths import SAMPLE_CLIP

M = load_interfaces()


def _running_rcnode() -> Iterator[RcNode]:
    node = RcNode().start()
    yield node
    node.stop()


@pytest.fixture(scope="session")
def rcnode_node() -> Iterator[RcNode]:
    """One rcnode (icebox + IceStorm) for the session. Tests that kill IceStorm use ``private_rcnode``
    or ``module_rcnode``."""
    yield from _running_rcnode()


@pytest.fixture(scope="session")
def rcnode(rcnode_node: RcNode) -> str:
    """The session rcnode's TopicManager proxy string."""
    return rcnode_node.proxy


@pytest.fixture
def private_rcnode() -> Iterator[RcNode]:
    """An rcnode of this test alone (free to kill and restart)."""
    yield from _running_rcnode()


@pytest.fixture(scope="module")
def module_rcnode() -> Iterator[RcNode]:
    """An rcnode of this test module alone (its last test may kill and restart it)."""
    yield from _running_rcnode()


@pytest.fixture(scope="module")
def start_component(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., ComponentProcess]]:
    """``start_component(topic_manager, overrides=None, wait=True)``: a component process on a temp config,
    Running when ``wait``. Every one started is stopped at the end of its test module (or earlier by the
    test), so no component of one module subscribes to the session rcnode while another module runs."""
    started: list[ComponentProcess] = []

    def start(topic_manager: str, overrides: dict | None = None, wait: bool = True) -> ComponentProcess:
        folder = tmp_path_factory.mktemp("component")
        ports = ComponentPorts.pick()
        config = write_component_config(folder / "config", topic_manager, ports, overrides)
        component = ComponentProcess(config, ports, log_path=folder / "component.log")
        started.append(component)
        if wait:
            return component.start()
        component.process.start()
        return component

    yield start
    for component in started:
        component.stop()


@pytest.fixture(scope="module")
def start_camera(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., ManagedProcess]]:
    """``start_camera(topic_manager, camera_id=0, clip=SAMPLE_CLIP, fps=None, jpeg=False, name="camera")``:
    a started ``python -m emotion camera`` process looping ``clip`` (at its own rate unless ``fps``) onto
    CameraRGBDSimplePub (skips the test when ``clip`` is missing). A test may stop it; every one left is
    stopped at the end of its test module."""
    started: list[ManagedProcess] = []

    def start(topic_manager: str, camera_id: int = 0, clip: Path = SAMPLE_CLIP, fps: float | None = None,
              jpeg: bool = False, name: str = "camera") -> ManagedProcess:
        if not Path(clip).is_file():
            pytest.skip(f"clip {clip} is missing (media/ of the repository)")
        argv = [sys.executable, "-m", "emotion", "camera", str(clip), "--loop", "--camera-id", str(camera_id),
                "--topic-manager", topic_manager, "--endpoint", "", *(["--fps", str(fps)] if fps else []),
                *(["--jpeg"] if jpeg else [])]
        camera = ManagedProcess(argv, log_path=tmp_path_factory.mktemp(name) / f"{name}.log", name=name)
        started.append(camera)
        return camera.start()

    yield start
    for camera in started:
        camera.stop()


@pytest.fixture(scope="module")
def component(rcnode: str, start_component) -> ComponentProcess:
    """A Running component on the session rcnode, shared by a test module."""
    return start_component(rcnode, {"Period.Compute": 20, "TopicLink.IntervalS": 0.2})


class FrameCollector(M.RoboCompCameraRGBDSimplePub.CameraRGBDSimplePub):
    """Test subscriber of CameraRGBDSimplePub: records (TImage, TDepth)."""

    def __init__(self) -> None:
        self.received: list[tuple[Any, Any]] = []
        self.lock = threading.Lock()

    def pushRGBD(self, im, dep, current=None):
        with self.lock:
            self.received.append((im, dep))


class StateCollector(M.RoboCompEmotionRecognitionPub.EmotionRecognitionPub):
    """Test subscriber of EmotionRecognitionPub: records (cameraId, alivetime, states)."""

    def __init__(self) -> None:
        self.received: list[tuple[int, int, list]] = []
        self.lock = threading.Lock()

    def pushEmotionStates(self, cameraId, alivetime, states, current=None):
        with self.lock:
            self.received.append((cameraId, alivetime, list(states)))

    def messages(self, camera_id: int | None = None, faces: bool = False) -> list[tuple[int, int, list]]:
        """A copy of what arrived (only from ``camera_id``; only messages with a face when ``faces``)."""
        with self.lock:
            return [r for r in self.received if camera_id in (None, r[0]) and (r[2] or not faces)]

    def count(self, camera_id: int | None = None, faces: bool = False) -> int:
        """How many messages arrived (filtered as in ``messages``)."""
        return len(self.messages(camera_id, faces))

    def wait_more(self, n: int, camera_id: int | None = None, faces: bool = False, timeout_s: float = 10.0) -> bool:
        """Whether ``n`` more messages (filtered as in ``messages``) arrive within ``timeout_s``."""
        target = self.count(camera_id, faces) + n
        return wait_until(lambda: self.count(camera_id, faces) >= target, timeout_s)


class Bus:
    """A test process's side of IceStorm: subscribe servants, get publishers (healed by a TopicLink)."""

    def __init__(self, topic_manager: str) -> None:
        self.communicator = make_communicator()
        self.adapter = self.communicator.createObjectAdapterWithEndpoints(
            "TestSubscribers", f"tcp -h {LOOPBACK} -p {free_port()}")
        self.adapter.activate()
        self.link = TopicLink(self.communicator, topic_manager, interval_s=0.2)
        self.link.start()

    def subscribe(self, topic: str, servant: Any) -> Any:
        """Subscribe ``servant`` to ``topic``; returns it once IceStorm lists it."""
        self.link.subscribe(topic, self.adapter.addWithUUID(servant))
        assert wait_until(self.link.refresh, 5.0), f"could not subscribe to {topic}"
        return servant

    def publisher(self, topic: str, proxy_class: Any) -> Any:
        publisher = self.link.publisher(topic, proxy_class)
        assert wait_until(lambda: self.link.refresh() and publisher.current() is not None, 5.0)
        return publisher

    def close(self) -> None:
        self.link.stop()
        self.communicator.destroy()


@pytest.fixture
def bus_factory() -> Iterator[Callable[[str], Bus]]:
    """``bus_factory(topic_manager) -> Bus``; every Bus is closed after the test."""
    buses: list[Bus] = []

    def make(topic_manager: str) -> Bus:
        buses.append(Bus(topic_manager))
        return buses[-1]

    yield make
    for bus in buses:
        bus.close()


@pytest.fixture
def bus(rcnode: str, bus_factory) -> Bus:
    """A Bus on the session rcnode."""
    return bus_factory(rcnode)


@pytest.fixture
def frames() -> FrameCollector:
    """A fresh CameraRGBDSimplePub test subscriber (subscribe it with ``bus.subscribe``)."""
    return FrameCollector()


@pytest.fixture
def states() -> StateCollector:
    """A fresh EmotionRecognitionPub test subscriber (subscribe it with ``bus.subscribe``)."""
    return StateCollector()


@pytest.fixture(scope="session")
def random_weights(tmp_path_factory) -> Path:
    """A compact checkpoint with random (seeded) weights: for plumbing tests, never for accuracy."""
    import torch

    from emotion.checkpoint import save_checkpoint
    from emotion.classes import EMOTIONS
    from emotion.features import FeatureConfig
    from emotion.models import COMPACT, build_model
    from emotion.normalize import NormalizationConfig

    torch.manual_seed(0)
    features = FeatureConfig()
    model = build_model(COMPACT, features.channels, len(EMOTIONS))
    path = tmp_path_factory.mktemp("weights") / "random.pt"
    return save_checkpoint(path, model, COMPACT, features, NormalizationConfig(), EMOTIONS, {"note": "random"})
