"""`python -m emotion camera`: source recognition, and a real camera process seen through IceStorm."""

import signal
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from emotion.middleware.communicator import make_communicator
from emotion.middleware.processes import LOOPBACK, ManagedProcess, free_port, wait_until
from emotion.middleware.slices import load_interfaces
from emotion.tools.camera import open_source

M = load_interfaces()
H, W = 24, 32


def images(folder, count=3):
    folder.mkdir()
    frames = [np.full((H, W, 3), 40 * (i + 1), np.uint8) for i in range(count)]
    for i, image in enumerate(frames):
        cv2.imwrite(str(folder / f"{i:03d}.png"), image)
    return frames


def test_open_source_kinds_and_errors(tmp_path):
    images(tmp_path / "frames")
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 12.0, (W, H))
    for _ in range(4):
        writer.write(np.zeros((H, W, 3), np.uint8))
    writer.release()
    folder = open_source(str(tmp_path / "frames"), fps=5)
    assert (folder.kind, folder.fps, folder.length) == ("folder", 5, 3)
    assert [f.shape for f in folder.frames()] == [(H, W, 3)] * 3
    assert open_source(str(tmp_path / "frames" / "000.png")).kind == "image"
    clip = open_source(str(video))
    assert (clip.kind, clip.fps, clip.length, len(list(clip.frames()))) == ("video", 12.0, 4, 4)
    if Path("/dev/video0").exists():
        assert open_source("0").kind == "webcam"
    else:  # no webcam: refused at once, not after connecting
        with pytest.raises(OSError, match="webcam 0 does not open"):
            open_source("0")
    (tmp_path / "empty").mkdir()
    for source, message in [(tmp_path / "nope.mp4", "does not exist"), (tmp_path / "empty", "holds no images")]:
        with pytest.raises(ValueError, match=message):
            open_source(str(source))
    with pytest.raises(ValueError, match="--fps"):
        open_source(str(video), fps=0)


def camera(tmp_path, rcnode, *options):
    argv = [sys.executable, "-m", "emotion", "camera", *options, "--topic-manager", rcnode]
    return ManagedProcess(argv, log_path=tmp_path / "camera.log", name="camera")


def test_camera_publishes_every_frame_then_stops(tmp_path, rcnode, bus, frames):
    sent = images(tmp_path / "frames")
    bus.subscribe("cam/CameraRGBDSimplePub", frames)
    with camera(tmp_path, rcnode, str(tmp_path / "frames"), "--fps", "50", "--camera-id", "5",
                "--prefix", "cam", "--endpoint", "") as process:
        assert process.wait(20) == 0, process.output()
    assert wait_until(lambda: len(frames.received) == 3, 3.0), process.output()
    now = time.time() * 1000
    for expected, (im, dep) in zip(sent, frames.received):
        assert (im.cameraID, im.width, im.height, im.depth, im.compressed) == (5, W, H, 3, False)
        assert abs(im.alivetime - now) < 30_000 and im.period == pytest.approx(20.0)
        assert np.array_equal(np.frombuffer(im.image, np.uint8).reshape(H, W, 3), expected)
        assert dep.cameraID == 5 and len(dep.depth) == 0
    assert "3 frames published" in process.output()


def test_looping_jpeg_camera_serves_get_image_and_stops_on_sigterm(tmp_path, rcnode):
    images(tmp_path / "frames", count=2)
    port = free_port()
    communicator = make_communicator()
    process = camera(tmp_path, rcnode, str(tmp_path / "frames"), "--fps", "20", "--loop", "--jpeg",
                     "--endpoint", f"tcp -h {LOOPBACK} -p {port}").start()
    try:
        proxy = M.RoboCompCameraRGBDSimple.CameraRGBDSimplePrx.uncheckedCast(
            communicator.stringToProxy(f"camerargbdsimple:tcp -h {LOOPBACK} -p {port}").ice_invocationTimeout(2000))
        assert wait_until(lambda: proxy.getImage("any").compressed, 10.0), process.output()
        image = proxy.getImage("any")
        decoded = cv2.imdecode(np.frombuffer(image.image, np.uint8), cv2.IMREAD_COLOR)
        assert decoded.shape == (H, W, 3) and (image.width, image.height) == (W, H)
        process.signal(signal.SIGTERM)
        assert process.wait(10) == 0
    finally:
        process.stop()
        communicator.destroy()


def test_component_in_poll_mode_reads_the_camera(tmp_path, rcnode, start_component):
    images(tmp_path / "frames", count=2)
    component = start_component(rcnode, {"Camera.Mode": "poll", "Camera.Name": "front", "Period.Compute": 20})
    endpoint = component.ports.camera                 # the config's Proxies.CameraRGBDSimple port
    with camera(tmp_path, rcnode, str(tmp_path / "frames"), "--fps", "25", "--loop",
                "--endpoint", f"tcp -h {LOOPBACK} -p {endpoint}") as process:
        assert wait_until(lambda: component.stat("frames_processed") >= 3, 10.0), process.output()
    assert component.stat("frames_received") >= 3


def test_a_looping_still_is_decoded_once():
    from emotion.paths import shared_media
    from emotion.tools.camera import open_source

    still = shared_media("single_face.jpg")
    if not still.is_file():
        pytest.skip(f"real media missing: {still}")
    source = open_source(str(still))
    first, second = next(source.frames()), next(source.frames())
    assert first is second and first.shape[2] == 3 and not first.flags.writeable
