"""Bad input to a running component over real IceStorm, while a camera process streams a face beside it:
36 kinds of malformed TImage, rate-limited logging, wrong CommonBehavior parameters, a message over
Ice.MessageSizeMax, and frames faster than they can be processed. The good stream keeps flowing throughout."""

import time

import Ice
import numpy as np
import psutil
import pytest

from emotion.middleware.images import empty_tdepth, encode_timage
from emotion.middleware.processes import wait_until
from emotion.middleware.slices import load_interfaces
from emotion.perception.image import ImageError, decode_timage

M = load_interfaces()
GOOD_CAMERA, BAD_CAMERA = 0, 9
MESSAGE_SIZE_MAX_KIB = 512
LOG_INTERVAL_S = 0.1
FLOOD_S = 1.0
Parameter = M.RoboCompCommonBehavior.Parameter


@pytest.fixture(scope="module")
def served(rcnode, start_component, start_camera, random_weights):
    """A component (small MessageSizeMax, 0.1 s log interval) with a 10 fps face camera streaming to it."""
    component = start_component(rcnode, {
        "Model.Weights": str(random_weights), "Period.Compute": 50, "TopicLink.IntervalS": 0.2,
        "Log.IntervalS": LOG_INTERVAL_S, "Ice.MessageSizeMax": str(MESSAGE_SIZE_MAX_KIB)}, wait=False)
    assert wait_until(component.is_running, 60.0), component.process.output()
    start_camera(rcnode, GOOD_CAMERA, fps=10.0, jpeg=True, name="good-camera")
    return component


@pytest.fixture
def watch(served, bus, states):
    """(component, publisher, states): states subscribed; asserts the good stream flowed during the test."""
    bus.subscribe("EmotionRecognitionPub", states)
    publisher = bus.publisher("CameraRGBDSimplePub", M.RoboCompCameraRGBDSimplePub.CameraRGBDSimplePubPrx)
    assert states.wait_more(3, GOOD_CAMERA, timeout_s=20.0), served.process.output()[-2000:]
    yield served, publisher, states
    assert states.wait_more(3, GOOD_CAMERA), "the good stream stopped"
    assert states.count(GOOD_CAMERA, faces=True) > 0, "the good camera's face was never published"
    assert served.process.running and served.is_running()


def push(publisher, image) -> None:
    publisher.pushRGBD(image, empty_tdepth(image.cameraID, image.alivetime))


def _frame(width: int = 32, height: int = 24) -> np.ndarray:
    return np.random.default_rng(width * height).integers(0, 255, size=(height, width, 3), dtype=np.uint8)


def _jpeg() -> bytes:
    return bytes(encode_timage(_frame(), jpeg=True).image)


def _with_sof_size(jpeg: bytes, width: int, height: int) -> bytes:
    """The JPEG with its frame header claiming ``width`` x ``height``."""
    sof = jpeg.find(b"\xff\xc0")
    return jpeg[:sof + 5] + height.to_bytes(2, "big") + width.to_bytes(2, "big") + jpeg[sof + 9:]


def _png_claiming(side: int) -> bytes:
    """A small valid PNG whose IHDR claims ``side`` x ``side`` (a decompression bomb's header)."""
    png = bytearray(_png())
    png[16:20] = side.to_bytes(4, "big")
    png[20:24] = side.to_bytes(4, "big")
    return bytes(png)


def _png() -> bytes:
    import cv2
    return cv2.imencode(".png", _frame())[1].tobytes()


def _png_bad_crc() -> bytes:
    png = bytearray(_png())
    png[45] ^= 0xFF                                 # inside the IDAT data: its CRC no longer matches
    return bytes(png)


def _corrupt_jpeg(jpeg: bytes) -> bytes:
    """The JPEG's scan cut short and filled with junk, then an end marker: libjpeg decodes it with a warning."""
    sos = jpeg.find(b"\xff\xda")
    return jpeg[:sos + 20] + b"\x13\x37" * 40 + b"\xff\xd9"


def malformed_images() -> list[tuple[str, object, str]]:
    """(kind, TImage, reason fragment) for each kind of malformed image; each alone is otherwise plausible."""
    raw, jpeg = bytes(_frame().tobytes()), _jpeg()
    png = b"\x89PNG\r\n\x1a\n" + bytes(64)
    cases = {  # kind: (changes to a 32x24 raw BGR TImage, reason)
        "zero width": ({"width": 0}, "width must be positive"),
        "zero height": ({"height": 0}, "height must be positive"),
        "negative width": ({"width": -32}, "width must be positive"),
        "negative height": ({"height": -24}, "height must be positive"),
        "width over 8K": ({"width": 8193}, "exceeds the maximum"),
        "height over 8K": ({"height": 100_000}, "exceeds the maximum"),
        "int32 max sides": ({"width": 2**31 - 1, "height": 2**31 - 1}, "exceeds the maximum"),
        "depth 0": ({"depth": 0}, "unsupported depth 0"),
        "depth 2": ({"depth": 2}, "unsupported depth 2"),
        "depth 4": ({"depth": 4}, "unsupported depth 4"),
        "negative depth": ({"depth": -3}, "unsupported depth -3"),
        "one byte short": ({"image": raw[:-1]}, "needs 2304 bytes, got 2303"),
        "one byte extra": ({"image": raw + b"\0"}, "needs 2304 bytes, got 2305"),
        "half the bytes": ({"image": raw[: len(raw) // 2]}, "got 1152"),
        "no bytes": ({"image": b""}, "no data"),
        "gray bytes for BGR": ({"image": raw[: 32 * 24]}, "got 768"),
        "BGR bytes for gray": ({"depth": 1}, "raw gray image 32x24x1 needs 768 bytes"),
        "width one too many": ({"width": 33}, "raw BGR image 33x24x3"),
        "sides swapped, odd size": ({"width": 24, "height": 33}, "needs 2376 bytes"),
        "huge sides, tiny data": ({"width": 8192, "height": 8192}, "over the maximum of 2073600"),
        "just over Frames.MaxPixels": ({"width": 1921, "height": 1080}, "2074680 pixels, over the maximum"),
        "raw bytes marked JPEG": ({"compressed": True}, "not a JPEG"),
        "JPEG marked raw": ({"image": jpeg}, f"got {len(jpeg)}"),
        "empty JPEG": ({"compressed": True, "image": b""}, "no data"),
        "JPEG start marker only": ({"compressed": True, "image": b"\xff\xd8"}, "no frame header"),
        "JPEG start and end only": ({"compressed": True, "image": b"\xff\xd8\xff\xd9"}, "no frame header"),
        "JPEG header cut": ({"compressed": True, "image": jpeg[:100]}, "no frame header"),
        "JPEG truncated": ({"compressed": True, "image": jpeg[: len(jpeg) // 2]}, "truncated"),
        "JPEG without end marker": ({"compressed": True, "image": jpeg[:-2]}, "truncated"),
        "JPEG bad first byte": ({"compressed": True, "image": b"\x00" + jpeg[1:]}, "not a JPEG"),
        "JPEG size mismatch": ({"compressed": True, "width": 64, "image": jpeg}, "JPEG is 32x24 but the image declares 64x24"),
        "JPEG claims 60000 px": ({"compressed": True, "width": 60000, "height": 60000,
                                  "image": _with_sof_size(jpeg, 60000, 60000)}, "exceeds the maximum"),
        "JPEG bomb 8192x8192": ({"compressed": True, "width": 8192, "height": 8192,
                                 "image": _with_sof_size(jpeg, 8192, 8192)}, "over the maximum"),
        "PNG bomb 30000x30000": ({"compressed": True, "width": 30000, "height": 30000, "image": _png_claiming(30000)},
                                 "exceeds the maximum"),
        "PNG bomb 4096x4096": ({"compressed": True, "width": 4096, "height": 4096, "image": _png_claiming(4096)},
                               "over the maximum"),
        "JPEG corrupt body, end marker": ({"compressed": True, "image": _corrupt_jpeg(jpeg)}, "Corrupt JPEG data"),
        "PNG bad CRC": ({"compressed": True, "image": _png_bad_crc()}, "corrupt PNG"),
        "JPEG zero-length segment": ({"compressed": True, "image": jpeg[:2] + b"\xff\xe0\x00\x00" + jpeg[6:]},
                                     "segment length 0"),
        "JPEG garbage between segments": ({"compressed": True, "image": jpeg[:2] + b"junk" + jpeg[2:]},
                                          "expected a marker"),
        "PNG signature without a header": ({"compressed": True, "image": png}, "corrupt PNG: no IHDR"),
        "random bytes marked JPEG": ({"compressed": True, "image": bytes(range(256)) * 4}, "not a JPEG"),
        "zero bytes marked JPEG": ({"compressed": True, "image": bytes(2304)}, "not a JPEG"),
    }
    images = []
    for kind, (changes, reason) in cases.items():
        image = encode_timage(_frame(), BAD_CAMERA)
        for field, value in changes.items():
            setattr(image, field, value)
        images.append((kind, image, reason))
    return images


def test_catalogue_is_malformed_and_distinct():
    """Every case is refused by the decoder itself with its reason (so the component test below is exact)."""
    images = malformed_images()
    assert len(images) >= 30 and len({kind for kind, _, _ in images}) == len(images)
    for kind, image, reason in images:
        with pytest.raises(ImageError) as info:
            decode_timage(image)
        assert reason in str(info.value), kind


def test_each_malformed_image_is_refused_counted_and_logged_with_its_reason(watch):
    component, publisher, states = watch
    invalid = component.stat("frames_invalid")
    for count, (kind, image, reason) in enumerate(malformed_images(), start=1):
        image.alivetime = int(time.time() * 1000)
        push(publisher, image)
        assert wait_until(lambda: component.stat("frames_invalid") >= invalid + count, 5.0), kind
        assert wait_until(lambda: f"frame refused: camera {BAD_CAMERA}: " in component.process.output()
                          and reason in component.process.output(), 2.0), kind
        time.sleep(0.11)                                           # past Log.IntervalS: the next kind logs
    assert states.count(BAD_CAMERA) == 0                           # nothing published for a bad frame
    assert component.stat("pipeline_errors") == 0 and component.stat("compute_errors") == 0


def test_a_flood_of_bad_frames_is_logged_rate_limited(watch):
    component, publisher, _ = watch
    time.sleep(0.15)
    lines_before = component.process.output().count("frame refused:")
    invalid = component.stat("frames_invalid")
    image = malformed_images()[0][1]
    for camera_id in range(100, 140):                               # 40 cameras: none overwrites another
        image.cameraID = camera_id
        push(publisher, image)
    assert wait_until(lambda: component.stat("frames_invalid") >= invalid + 40, 5.0)
    assert component.process.output().count("frame refused:") - lines_before <= 3   # not 40 lines
    time.sleep(0.15)
    push(publisher, image)
    assert wait_until(lambda: "more held back since the last such line)" in component.process.output(), 2.0)


def test_a_flood_of_one_kind_does_not_hide_another_kind(watch):
    """One malformed kind pushed as fast as it goes for a second, from 20 cameras (so compute refuses many
    every tick), logs at most one line per Log.IntervalS; another kind pushed mid-flood still shows up."""
    component, publisher, _ = watch
    images = {kind: image for kind, image, _ in malformed_images()}
    flood, other = images["zero width"], images["JPEG truncated"]
    other.cameraID = BAD_CAMERA + 1
    time.sleep(1.5 * LOG_INTERVAL_S)
    mark = len(component.process.output())
    invalid, received = component.stat("frames_invalid"), component.stat("frames_received")
    pushed, started, other_sent = 0, time.monotonic(), False
    while time.monotonic() - started < FLOOD_S:
        flood.cameraID = 200 + pushed % 20
        push(publisher, flood)
        pushed += 1
        if not other_sent and time.monotonic() - started > FLOOD_S / 2:
            push(publisher, other)
            other_sent = True
    assert pushed >= 200, f"only {pushed} frames pushed in {FLOOD_S} s: not a flood"
    assert wait_until(lambda: component.stat("frames_received") >= received + pushed + 1, 10.0)
    assert wait_until(lambda: "truncated" in component.process.output()[mark:], 2.0), "the other kind was hidden"
    refused = component.stat("frames_invalid") - invalid
    lines = [line for line in component.process.output()[mark:].splitlines() if "width must be positive" in line]
    logging_s = time.monotonic() - started
    assert refused >= 100, f"{refused} of {pushed} flood frames refused"
    assert 2 <= len(lines) <= logging_s / LOG_INTERVAL_S + 2, (logging_s, lines)   # one per interval at most
    assert len(lines) * 10 <= refused and any("more held back since the last such line" in line for line in lines)


@pytest.mark.parametrize("changes, reason", [
    ({"Period.Compute": "0"}, "must be >= 1"),
    ({"Period.Compute": "-20"}, "must be >= 1"),
    ({"Period.Compute": "3600001"}, "must be <= 3.6e+06"),
    ({"Period.Compute": "fast"}, "must be an int"),
    ({"Period.Compute": "50.5"}, "must be an int"),
    ({"Period.Compute": ""}, "must be an int"),
    ({"Period.Compute": "true"}, "must be an int"),
    ({"Frames.MaxAgeMs": "-1"}, "must be >= 0"),
    ({"Frames.MaxAgeMs": "nan"}, "must be an int"),
    ({"Frames.MaxAgeMs": "1e3"}, "must be an int"),
    ({"Model.Threads": "4"}, "read-only"),
    ({"Endpoints.EmotionRecognition": "tcp -p 1"}, "read-only"),
    ({"No.Such.Key": "1"}, "unknown parameter 'No.Such.Key'"),
    ({"Frames.MaxAgeMs": "100", "Period.Compute": "0"}, "must be >= 1"),      # one bad: none applied
])
def test_bad_parameters_are_refused_with_a_reason_and_nothing_applied(watch, changes, reason):
    component, _, _ = watch
    behavior = component.commonbehavior()
    before = {k: v for k, v in component.parameters().items() if not k.startswith("Stats.")}
    with pytest.raises(Ice.UnknownException) as info:
        behavior.setParameterList({name: Parameter(editable=True, value=value, type="int")
                                   for name, value in changes.items()})
    assert reason in info.value.unknown
    after = {k: v for k, v in component.parameters().items() if not k.startswith("Stats.")}
    assert after == before


@pytest.mark.parametrize("period, clamped", [(0, 1), (-5, 1), (-2**31, 1), (2**31 - 1, 3_600_000)])
def test_set_period_out_of_range_is_clamped_and_logged(watch, period, clamped):
    """rcmonitor's period spin box reaches 0: clamped with a log line, never an UnknownException."""
    component, _, _ = watch
    behavior = component.commonbehavior()
    try:
        behavior.setPeriod(period)
        assert behavior.getPeriod() == clamped
        assert wait_until(lambda: f"setPeriod({period}): outside 1..3600000 ms, period set to {clamped} ms"
                          in component.process.output(), 2.0), component.process.output()
    finally:
        behavior.setPeriod(50)
    assert behavior.getPeriod() == 50


def test_message_over_message_size_max_is_survived(watch):
    component, publisher, states = watch
    big = encode_timage(np.zeros((400, 600, 3), np.uint8), BAD_CAMERA + 2)   # 703 KiB > 512 KiB
    assert len(big.image) > MESSAGE_SIZE_MAX_KIB * 1024
    push(publisher, big)
    time.sleep(0.5)
    small = encode_timage(np.zeros((48, 64, 3), np.uint8), BAD_CAMERA + 3)
    assert wait_until(lambda: push(publisher, small) or states.count(BAD_CAMERA + 3) > 0,
                      10.0, interval_s=0.3), "the next good frame after the oversized one was not processed"
    assert states.count(BAD_CAMERA + 2) == 0                             # the oversized frame never arrived
    # the component's Ice refused it (MemoryLimitException) and closed IceStorm's connection; IceStorm
    # reconnected for the next event, so the subscription itself survived


def test_frames_faster_than_processing_keep_the_newest_and_count_drops(watch, rcnode, start_camera):
    component, _, states = watch
    process = psutil.Process(component.process.pid)
    rss_before = process.memory_info().rss
    names = ("frames_received", "frames_processed", "frames_dropped")
    before = {name: component.stat(name) for name in names}
    flood = start_camera(rcnode, 5, fps=1000.0, jpeg=True, name="flood-camera")    # as fast as it can push
    latencies = []
    try:
        assert wait_until(lambda: component.stat("frames_dropped") > before["frames_dropped"] + 30, 20.0), \
            flood.output()
        for _ in range(10):
            time.sleep(0.2)
            latencies.append(component.stat("latency_ms"))                 # of the latest publish
    finally:
        flood.stop()
    after = {name: component.stat(name) for name in names}
    delta = {name: after[name] - before[name] for name in names}
    assert delta["frames_dropped"] >= 30 and states.count(5) > 0
    assert delta["frames_received"] - delta["frames_processed"] - delta["frames_dropped"] <= 2  # none lost
    assert max(latencies) < 1000, latencies                                 # the newest frame, not a backlog
    assert process.memory_info().rss - rss_before < 64 * 2**20              # no queue grows
