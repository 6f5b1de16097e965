"""The attacks of issue 12 against a running component on loopback (real rcnode, real camera process at
15 fps beside it), each bounded in time. In each, the good camera keeps publishing at its rate (within
20 %), its track keeps its full window, the component's RSS stays within 15 % of its baseline and its log
grows by a few KB at most. Each test prints its figures (``pytest -s``) before it asserts them."""

import os
import socket
import threading
import time
from dataclasses import dataclass
from typing import Callable

import cv2
import Ice
import numpy as np
import psutil
import pytest

from emotion.middleware.images import empty_tdepth, encode_timage
from emotion.middleware.processes import wait_until
from emotion.middleware.slices import load_interfaces

M = load_interfaces()
Parameter = M.RoboCompCommonBehavior.Parameter
GOOD = 0
FPS = 15.0
WINDOW_S = 4.0
LOG_GROWTH_BYTES = 4096


@pytest.fixture(scope="module")
def served(rcnode, start_component, start_camera, random_weights):
    component = start_component(rcnode, {"Model.Weights": str(random_weights), "TopicLink.IntervalS": 0.2},
                                wait=False)
    assert wait_until(component.is_running, 60.0), component.process.output()
    start_camera(rcnode, GOOD, fps=FPS, jpeg=True, name="good-camera")
    return component


@pytest.fixture
def watch(served, bus, states):
    bus.subscribe("EmotionRecognitionPub", states)
    publisher = bus.publisher("CameraRGBDSimplePub", M.RoboCompCameraRGBDSimplePub.CameraRGBDSimplePubPrx)
    assert wait_until(lambda: any(s.bufferFrames == s.windowFrames for _, _, f in states.messages(GOOD, True)
                                  for s in f), 30.0), served.process.output()[-2000:]
    return served, publisher, states


@dataclass
class Figures:
    """The good camera's publish rate (per s), share of its face states with a full window, the
    component's RSS (MB) and its log size, over one measuring window."""

    rate: float
    full: float
    rss_mb: float
    log_bytes: int


def measure(component, states, seconds: float = WINDOW_S) -> Figures:
    start = time.monotonic()
    before = len(states.messages(GOOD))
    time.sleep(seconds)
    messages = states.messages(GOOD)[before:]
    faces = [s for _, _, frame in messages for s in frame]
    full = sum(s.bufferFrames == s.windowFrames for s in faces) / max(len(faces), 1)
    rss = psutil.Process(component.process.pid).memory_info().rss / 2**20
    return Figures(len(messages) / (time.monotonic() - start), full, rss, len(component.process.output()))


def under_attack(component, states, attack: Callable[[threading.Event], None], name: str) -> tuple[Figures, Figures]:
    """Figures without and then during ``attack`` (run in a thread until the event is set); printed."""
    calm = measure(component, states)
    stop = threading.Event()
    thread = threading.Thread(target=attack, args=(stop,), daemon=True)
    thread.start()
    try:
        time.sleep(0.5)
        attacked = measure(component, states)
    finally:
        stop.set()
        thread.join(30)
    print(f"\nATTACK {name}: good camera {calm.rate:.1f} -> {attacked.rate:.1f} publishes/s, full window "
          f"{100 * calm.full:.0f} % -> {100 * attacked.full:.0f} %, RSS {calm.rss_mb:.0f} -> {attacked.rss_mb:.0f} MB, "
          f"log +{attacked.log_bytes - calm.log_bytes} B")
    return calm, attacked


def assert_unharmed(component, calm: Figures, attacked: Figures) -> None:
    assert attacked.rate >= 0.8 * calm.rate, (calm, attacked)
    assert attacked.full >= 0.8 * calm.full, (calm, attacked)
    assert attacked.rss_mb <= 1.15 * calm.rss_mb, (calm, attacked)
    assert attacked.log_bytes - calm.log_bytes <= LOG_GROWTH_BYTES, component.process.output()[calm.log_bytes:][:3000]
    assert f"camera {GOOD}: dropped" not in component.process.output()
    assert component.process.running


def push(publisher, image) -> None:
    publisher.pushRGBD(image, empty_tdepth(image.cameraID, image.alivetime))


def flood(publisher, images: Callable[[int], object], per_s: float) -> Callable[[threading.Event], None]:
    def attack(stop: threading.Event) -> None:
        count = 0
        while not stop.wait(1.0 / per_s):
            push(publisher, images(count))
            count += 1
    return attack


def small_frame(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, size=(24, 32, 3), dtype=np.uint8)


def jpeg_claiming(width: int, height: int) -> bytes:
    jpeg = cv2.imencode(".jpg", small_frame())[1].tobytes()
    sof = jpeg.find(b"\xff\xc0")
    return jpeg[:sof + 5] + height.to_bytes(2, "big") + width.to_bytes(2, "big") + jpeg[sof + 9:]


def png_bomb(side: int) -> bytes:
    """A valid PNG of ``side`` x ``side`` black pixels: about 50 KB that decode to 48 MiB for 4096."""
    return cv2.imencode(".png", np.zeros((side, side, 3), np.uint8), [cv2.IMWRITE_PNG_COMPRESSION, 9])[1].tobytes()


def compressed(data: bytes, camera_id: int, width: int, height: int):
    image = encode_timage(small_frame(), camera_id, int(time.time() * 1000))
    image.compressed, image.image, image.width, image.height = True, data, width, height
    return image


@pytest.mark.parametrize("kind", ["jpeg", "png"])
def test_decompression_bombs_cost_nothing(watch, kind):
    """A 1.6 KB JPEG declaring 8192x8192 (a real 50 KB PNG of 4096x4096), 10 a second, half on new camera ids."""
    component, publisher, states = watch
    side = 8192 if kind == "jpeg" else 4096
    data = jpeg_claiming(side, side) if kind == "jpeg" else png_bomb(side)
    calm, attacked = under_attack(component, states, flood(
        publisher, lambda n: compressed(data, 100 + (n % 2) * n, side, side), 10.0), f"{kind} bomb {side}x{side}")
    assert_unharmed(component, calm, attacked)
    assert states.count(100) == 0


def test_corrupt_jpegs_are_refused_and_the_decoder_does_not_print(watch):
    component, publisher, states = watch
    jpeg = cv2.imencode(".jpg", small_frame())[1].tobytes()
    sos = jpeg.find(b"\xff\xda")
    corrupt = jpeg[:sos + 20] + b"\x13\x37" * 40 + b"\xff\xd9"
    output = len(component.process.output())
    calm, attacked = under_attack(component, states, flood(
        publisher, lambda n: compressed(corrupt, 200, 32, 24), 30.0), "corrupt JPEG")
    assert_unharmed(component, calm, attacked)
    assert states.count(200) == 0
    new = component.process.output()[output:]
    assert "frame refused: camera 200: corrupt JPEG: Corrupt JPEG data" in new
    assert sum(line.startswith("Corrupt JPEG data") for line in new.splitlines()) == 0


def test_camera_id_churn_cannot_evict_the_live_camera(watch):
    """Valid frames, each on a fresh camera id, about 30 KB/s: the live camera stays, its track id too."""
    component, publisher, states = watch
    frame = encode_timage(small_frame(), 0, jpeg=True)
    ids = [s.trackId for _, _, f in states.messages(GOOD, True) for s in f]

    def churn(n: int):
        frame.cameraID, frame.alivetime = 1000 + n, int(time.time() * 1000)
        return frame

    calm, attacked = under_attack(component, states, flood(publisher, churn, 40.0), "camera-id churn")
    assert_unharmed(component, calm, attacked)
    later = [s.trackId for _, _, f in states.messages(GOOD, True)[len(ids):] for s in f]
    assert set(later) <= set(ids) | {i for i in later if i > max(ids)}, "a track id was reused"
    assert component.stat("cameras") <= 16


def test_refused_parameter_calls_cannot_flood_the_log(watch):
    """setParameterList with 1 MB values and 1 MB unknown names, as fast as it answers."""
    component, _, states = watch
    behavior = component.commonbehavior().ice_invocationTimeout(10_000)
    big = "9" * 2**20
    refused = []

    def attack(stop: threading.Event) -> None:
        calls = [{"Period.Compute": big}, {big[:2**19] + ".Key": "1"}, {"Camera.ChannelOrder": big}]
        n = 0
        while not stop.is_set():
            try:
                behavior.setParameterList({k: Parameter(editable=True, value=v, type="string")
                                           for k, v in calls[n % len(calls)].items()})
            except Ice.UnknownException as exc:
                refused.append(len(exc.unknown))
            n += 1

    calm, attacked = under_attack(component, states, attack, "setParameterList flood")
    assert_unharmed(component, calm, attacked)
    assert len(refused) > 10 and max(refused) < 1000, (len(refused), max(refused, default=0))
    print(f"  {len(refused)} calls refused, longest reason {max(refused)} characters")


def ice_header(size: int) -> bytes:
    """An Ice 1.0 request message header declaring ``size`` bytes (what the attacker sends, and no more)."""
    return b"IceP" + bytes([1, 0, 1, 0, 0, 0]) + size.to_bytes(4, "little", signed=True)


def connection_closed(connection: socket.socket, timeout_s: float = 2.0) -> bool:
    """Whether the peer closed ``connection`` (its validate-connection message read first)."""
    connection.settimeout(timeout_s)
    try:
        while connection.recv(4096):
            pass
        return True
    except socket.timeout:
        return False
    except OSError:
        return True


def test_oversized_message_headers_reserve_nothing(watch):
    """Five connections (EmotionRecognition, CommonBehavior, the camera topic port) each sending a header
    declaring 512 MiB and then up to 40 MB of its body, held open: refused and closed at the header."""
    component, _, states = watch
    ports = (component.ports.emotionrecognition, component.ports.commonbehavior, component.ports.camera_topic)
    held: list[socket.socket] = []
    sent: list[int] = []

    def attack(stop: threading.Event) -> None:
        chunk = bytes(2**20)
        for n in range(5):
            connection = socket.create_connection(("127.0.0.1", ports[n % len(ports)]), timeout=5)
            held.append(connection)
            total = 0
            try:
                connection.sendall(ice_header(2**29))
                while total < 40 * 2**20 and not stop.is_set():
                    connection.sendall(chunk)
                    total += len(chunk)
            except OSError:                                     # closed, or no longer read
                pass
            sent.append(total)
        stop.wait()

    vms = psutil.Process(component.process.pid).memory_info().vms
    calm, attacked = under_attack(component, states, attack, "oversized message headers")
    closed = [connection_closed(connection) for connection in held]
    print(f"  virtual size {vms / 2**20:.0f} -> {psutil.Process(component.process.pid).memory_info().vms / 2**20:.0f}"
          f" MB; body MB sent per connection {[n // 2**20 for n in sent]}; closed by the component: {closed}")
    for connection in held:
        connection.close()
    assert_unharmed(component, calm, attacked)
    assert all(closed), closed


def test_a_fifo_in_place_of_the_config_does_not_block_reload(watch):
    component, _, states = watch
    config = component.config_path
    saved = config.read_text()
    behavior = component.commonbehavior().ice_invocationTimeout(20_000)
    took = []

    def attack(stop: threading.Event) -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                behavior.reloadConfig()
            except Ice.Exception:
                pass
            took.append(time.monotonic() - started)
            stop.wait(0.2)

    config.unlink()
    os.mkfifo(config)
    try:
        calm, attacked = under_attack(component, states, attack, "reloadConfig of a FIFO")
    finally:
        config.unlink()
        config.write_text(saved)
    print(f"  reloadConfig answered in at most {max(took):.3f} s ({len(took)} calls)")
    assert_unharmed(component, calm, attacked)
    assert took and max(took) < 1.0
    assert "reloadConfig refused" in component.process.output() and "not a regular file" in component.process.output()
