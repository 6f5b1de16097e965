"""The camera stage in-process: clock choice, new-frame detection, wiring per mode; label styles; crops."""

import time

import numpy as np
import pytest

from emotion.camera.clock import TOLERANCE_MS, FrameClock, clock_problem
from emotion.camera.sources import MODES, poll_source, subscribed_topics
from emotion.camera.stage import CameraInput
from emotion.labels import styled_names
from emotion.middleware.images import encode_timage, now_ms
from emotion.middleware.ratelimit import RateLimitedLog
from emotion.middleware.slices import load_interfaces
from emotion.perception.crop import face_crop

M = load_interfaces()
NOW = 1_700_000_000_000


@pytest.mark.parametrize("alivetime, previous, reason", [
    (None, None, "sends no alivetime"),
    (0, None, "alivetime is 0 (missing)"),
    (-5, None, "alivetime is -5"),
    (NOW * 1_000_000, None, "far in the future (nanoseconds or microseconds?)"),
    (NOW * 1000, None, "far in the future (nanoseconds"),
    (NOW + 2 * TOLERANCE_MS, None, "far in the future"),
    (12_345, None, "behind the receive time (not ms since the epoch"),
    (NOW - 10, NOW - 10, "does not advance"),
    (NOW - 20, NOW - 10, "does not advance"),
])
def test_clock_problems_are_named(alivetime, previous, reason):
    assert reason in clock_problem(alivetime, NOW, previous)


def test_a_millisecond_clock_near_ours_is_used():
    assert clock_problem(NOW - 30, NOW, NOW - 63) is None and clock_problem(NOW + 5, NOW, None) is None


def test_frame_clock_says_once_per_camera_which_clock_it_uses():
    lines = []
    clock = FrameClock(lines.append)
    assert [clock.stamp(1, NOW - 40 + i, NOW + i) for i in range(3)] == [NOW - 40, NOW - 39, NOW - 38]
    assert [clock.stamp(2, 0, NOW + i) for i in range(3)] == [NOW, NOW + 1, NOW + 2]
    assert clock.stamp(1, NOW - 38, NOW + 9) == NOW + 9                  # camera 1's clock got stuck: ours from now on
    assert clock.stamp(1, NOW + 50, NOW + 51) == NOW + 51
    assert lines == ["camera 1: using its alivetime (ms since the epoch) as frame time",
                     "camera 2: alivetime is 0 (missing): using the receive time as frame time",
                     f"camera 1: alivetime does not advance ({NOW - 38} then {NOW - 38}): using the receive time as "
                     "frame time"]
    clock.forget(2)
    assert clock.verdict(2) is None


class StillCamera:
    """A CameraSimple-like source: whatever ``image`` is, every call."""

    description = "CameraSimple.getImage"

    def __init__(self, image):
        self.image = image

    def fetch(self):
        return self.image


def test_polled_frames_are_new_by_content_not_alivetime():
    rng = np.random.default_rng(0)
    a, b = (rng.integers(0, 256, (8, 8, 3), dtype=np.uint8) for _ in range(2))
    source = StillCamera(encode_timage(a, 0, 0))
    stage = CameraInput(source, RateLimitedLog(), FrameClock(lambda line: None))
    stage.poll()
    stage.poll()                                                         # same bytes, same alivetime
    source.image = encode_timage(b, 0, 0)                                # new bytes, same alivetime
    stage.poll()
    source.image = encode_timage(b, 0, 99)                               # same bytes, new alivetime
    stage.poll()
    assert stage.counts["frames_received"] == 2 and stage.counts["poll_unchanged"] == 2
    assert stage.counts["frames_dropped"] == 1                          # nobody took the first one
    (frame,) = stage.take()
    assert frame.image.image == encode_timage(b).image and abs(frame.time_ms - now_ms()) < 5000


def test_camerasimple_images_get_camera_zero_and_the_receive_time():
    image = M.RoboCompCameraSimple.TImage(compressed=False, width=2, height=1, depth=3, image=bytes(6))
    stage = CameraInput(StillCamera(image), RateLimitedLog(), FrameClock(lambda line: None))
    before = now_ms()
    stage.poll()
    (frame,) = stage.take()
    assert frame.camera_id == 0 and frame.alivetime == frame.time_ms == frame.received_ms >= before


def test_stale_frames_are_counted_by_their_chosen_clock():
    stage = CameraInput(None, RateLimitedLog(), FrameClock(lambda line: None))
    stage.push(encode_timage(np.zeros((4, 4, 3), np.uint8), 3, now_ms() - 2000))
    stage.push(encode_timage(np.zeros((4, 4, 3), np.uint8), 4, 0))      # no clock: received just now
    assert [f.camera_id for f in stage.take(max_age_ms=1000)] == [4] and stage.counts["frames_stale"] == 1


def _done(value):
    from concurrent.futures import Future
    future = Future()
    future.set_result(value)
    return future


def test_served_cameras_are_prepared_on_arrival_once_between_takes():
    calls = []

    def prepare(frame):
        if frame.camera_id != 1:
            return None                                      # not served: left to compute
        calls.append(frame.alivetime)
        return _done(("decoded", frame.alivetime))

    stage = CameraInput(None, RateLimitedLog(), FrameClock(lambda line: None), prepare=prepare)
    start = now_ms()
    for i in range(3):
        stage.push(encode_timage(np.zeros((4, 4, 3), np.uint8), 1, start + i))
    stage.push(encode_timage(np.zeros((4, 4, 3), np.uint8), 2, start))
    frames = {f.camera_id: f for f in stage.take()}
    assert calls == [start]                                  # one decode, not one per arrival
    assert frames[1].alivetime == start + 2 and frames[1].prepared is None  # the newest wins, undecoded
    assert frames[2].prepared is None and stage.counts["frames_dropped"] == 2
    stage.push(encode_timage(np.zeros((4, 4, 3), np.uint8), 1, start + 3))  # a new round: prepared again
    (frame,) = stage.take()
    assert frame.prepared.result() == ("decoded", start + 3) and calls == [start, start + 3]


def test_a_frame_is_pending_from_its_arrival_while_it_is_prepared():
    """The receiving thread only starts the preparation: the frame can be taken at once (compute waits for
    the result), and the next frame of the camera is the next one taken."""
    from concurrent.futures import ThreadPoolExecutor
    import threading
    release = threading.Event()
    executor = ThreadPoolExecutor(1)
    stage = CameraInput(None, RateLimitedLog(), FrameClock(lambda line: None),
                        prepare=lambda frame: executor.submit(lambda: release.wait(5.0) and "decoded"))
    start = now_ms()
    stage.push(encode_timage(np.zeros((4, 4, 3), np.uint8), 1, start))      # returns before the decoding ends
    (taken,) = stage.take()
    assert taken.alivetime == start and not taken.prepared.done()
    stage.push(encode_timage(np.zeros((4, 4, 3), np.uint8), 1, start + 1))
    release.set()
    assert taken.prepared.result(5.0) == "decoded"
    (second,) = stage.take()
    assert second.alivetime == start + 1 and second.prepared.result(5.0) == "decoded"
    assert stage.counts == {**stage.counts, "frames_received": 2, "frames_dropped": 0}
    executor.shutdown()


def test_only_push_mode_subscribes_and_only_poll_modes_call():
    assert subscribed_topics("push") == ("CameraRGBDSimplePub",)
    assert subscribed_topics("poll") == subscribed_topics("poll-simple") == ()
    rgbd, simple = object(), object()
    assert poll_source("push", rgbd, simple, "x") is None
    assert poll_source("poll", rgbd, simple, "front").proxy is rgbd
    assert poll_source("poll-simple", rgbd, simple, "").proxy is simple
    assert set(MODES) == {"push", "poll", "poll-simple"}
    with pytest.raises(ValueError, match="push, poll, poll-simple"):
        poll_source("pull", rgbd, simple, "")


def test_label_styles():
    names = ("Happy", "Sad", "Neutral", "Anger", "Surprise")
    assert list(styled_names(names, "robocomp2").values()) == ["Happy", "Sad", "Neutral", "Angry", "Surprised"]
    assert list(styled_names(names, "default").values()) == list(names)
    assert styled_names(("Anger", "Contempt"), "robocomp2") == {"Anger": "Angry", "Contempt": "Contempt"}
    with pytest.raises(ValueError, match="default, robocomp2"):
        styled_names(names, "fer")


def test_face_crop_is_the_square_around_the_box_black_outside():
    frame = np.arange(20 * 30 * 3, dtype=np.uint32).reshape(20, 30, 3).astype(np.uint8)
    inside = face_crop(frame, (10, 5, 8, 8), 8)
    assert np.array_equal(inside, frame[5:13, 10:18])
    edge = face_crop(frame, (-4, -4, 8, 8), 8)
    assert not edge[:4].any() and not edge[:, :4].any() and np.array_equal(edge[4:, 4:], frame[:4, :4])
    assert face_crop(frame, (0, 0, 30, 10), 16).shape == (16, 16, 3)   # the longer side makes the square
    with pytest.raises(ValueError):
        face_crop(frame, (0, 0, 5, 5), 0)
