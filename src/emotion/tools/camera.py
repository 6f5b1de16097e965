"""`python -m emotion camera SOURCE`: a RoboComp camera component over a video, image folder, image or webcam.

Publishes ``CameraRGBDSimplePub.pushRGBD`` (TImage: cameraID, alivetime = capture time in ms since the
epoch, period, depth 3 BGR, raw or ``--jpeg``; empty TDepth) at the source's rate or ``--fps``, and serves
``CameraRGBDSimple.getImage`` (the latest frame) on ``--endpoint`` (RoboComp's camera port 10096). A
non-looping source stops at its end; ``--loop`` repeats it; SIGINT/SIGTERM stop it cleanly. It keeps
publishing across rcnode restarts (frames sent while rcnode is down are counted as skipped).
"""

import argparse
import copy
import functools
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import cv2
import Ice
import numpy as np
from tqdm import tqdm

from emotion.datasets.video import (DEFAULT_FPS, IMAGE_SUFFIXES, frame_files, iter_frames, read_image, source_fps,
                                   video_frame_count)
from emotion.middleware.communicator import make_communicator
from emotion.middleware.images import empty_tdepth, encode_timage, now_ms
from emotion.middleware.processes import stop_event_on_signals
from emotion.middleware.slices import load_interfaces
from emotion.middleware.topics import DEFAULT_TOPIC_MANAGER, TopicLink, TopicUnavailable, topic_name
from emotion.tools.preflight import UsageError, float_range, int_range

DESCRIPTION = "a camera component: video, image folder or webcam published on CameraRGBDSimplePub"


@dataclass
class FrameSource:
    """Frames of one SOURCE. ``frames()`` yields one pass as (H, W, 3) uint8 BGR; ``length`` None = endless."""

    kind: str
    location: str
    fps: float
    length: int | None

    def frames(self) -> Iterator[np.ndarray]:
        if self.kind == "image":  # a still: decoded once, the same array on every pass
            yield _still(self.location)
            return
        if self.kind != "webcam":
            for _, _, frame in iter_frames(self.location):
                yield frame
            return
        capture = cv2.VideoCapture(int(self.location))
        try:
            while True:
                ok, frame = capture.read()
                if not ok:
                    return
                yield frame
        finally:
            capture.release()


@functools.lru_cache(maxsize=4)
def _still(path: str) -> np.ndarray:
    """An image source's frame, read once (a looping still must not pay a JPEG decode per frame)."""
    frame = read_image(path)
    frame.setflags(write=False)
    return frame


def open_source(source: str, fps: float | None = None) -> FrameSource:
    """Recognise SOURCE (webcam index, folder of images, image file, video file); ValueError if unusable.

    The publish rate is ``fps`` when given, else the video's own rate, else 30 (emotion.datasets.video).
    """
    if fps is not None and fps <= 0:
        raise ValueError(f"--fps must be > 0, got {fps}")
    if source.isdigit():
        check_webcam(int(source))
        return FrameSource("webcam", source, fps or DEFAULT_FPS, None)
    path = Path(source)
    if not path.exists():
        raise ValueError(f"source {source!r} does not exist (give a video, an image, a folder or a webcam index)")
    rate = fps or source_fps(path)
    if path.is_dir():
        return FrameSource("folder", str(path), rate, len(frame_files(path)))
    if path.suffix.lower() in IMAGE_SUFFIXES:
        read_image(path)
        return FrameSource("image", str(path), rate, 1)
    return FrameSource("video", str(path), rate, video_frame_count(path))


def check_webcam(index: int) -> None:
    """OSError unless webcam ``index`` opens and gives a frame (OpenCV's own warnings silenced)."""
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        capture = cv2.VideoCapture(index)
        ok = capture.isOpened() and capture.read()[0]
        capture.release()
    finally:
        cv2.utils.logging.setLogLevel(level)
    if not ok:
        raise OSError(f"webcam {index} does not open or gives no frame (is it connected? /dev/video{index})")


def _camera_servant_class() -> type:
    camera = load_interfaces().RoboCompCameraRGBDSimple

    class CameraRGBDSimpleI(camera.CameraRGBDSimple):
        """getImage returns the latest published frame (any camera name)."""

        def __init__(self) -> None:
            self.latest: Any = None
            self.lock = threading.Lock()

        def _image(self) -> Any:
            with self.lock:
                if self.latest is None:
                    raise camera.HardwareFailedException(what="no frame captured yet")
                return self.latest

        def getImage(self, name, current=None):
            return self._image()

        def getDepth(self, name, current=None):
            image = self._image()
            return empty_tdepth(image.cameraID, image.alivetime)

        def getPoints(self, name, current=None):
            return camera.TPoints(points=[], alivetime=self._image().alivetime, period=0.0, compressed=False)

        def getAll(self, name, current=None):
            return camera.TRGBD(image=self._image(), depth=self.getDepth(name), points=self.getPoints(name))

    return CameraRGBDSimpleI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", help="video file, folder of images, image file (a still), or webcam index")
    parser.add_argument("--fps", type=float_range(0.0, low_open=True), help="publish rate (default: the video's, else 30)")
    parser.add_argument("--loop", action="store_true", help="start again at the end (default: stop there)")
    parser.add_argument("--camera-id", type=int_range(0, 2**31 - 1), default=0, help="TImage.cameraID (default 0)")
    parser.add_argument("--topic-manager", default=DEFAULT_TOPIC_MANAGER,
                        help="rcnode TopicManager proxy")
    parser.add_argument("--prefix", default="", help="topic prefix: publish on PREFIX/CameraRGBDSimplePub")
    parser.add_argument("--endpoint", default="tcp -p 10096",
                        help="where CameraRGBDSimple.getImage is served (identity camerargbdsimple; '' = off)")
    parser.add_argument("--jpeg", action="store_true", help="send JPEG-compressed images")
    parser.add_argument("--jpeg-quality", type=int_range(1, 100), default=90, help="JPEG quality 1..100 (default 90)")
    parser.add_argument("--max-frames", type=int_range(1, 2**31 - 1), help="stop after this many frames")


def run(args: argparse.Namespace) -> int:
    try:
        source = open_source(args.source, args.fps)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    stop = stop_event_on_signals()
    modules = load_interfaces()
    communicator = make_communicator()
    link = None
    try:
        link = TopicLink(communicator, args.topic_manager)
        publisher = link.publisher(topic_name("CameraRGBDSimplePub", args.prefix),
                                   modules.RoboCompCameraRGBDSimplePub.CameraRGBDSimplePubPrx)
        servant = _camera_servant_class()()
        if args.endpoint:
            adapter = communicator.createObjectAdapterWithEndpoints("CameraRGBDSimple", args.endpoint)
            adapter.add(servant, communicator.stringToIdentity("camerargbdsimple"))
            adapter.activate()
        link.start()
        print(f"camera: {source.kind} {source.location} at {source.fps:g} fps as camera {args.camera_id} on topic "
              f"{topic_name('CameraRGBDSimplePub', args.prefix)!r}, getImage on {args.endpoint or 'off'}", flush=True)
        sent, skipped = _stream(source, args, publisher, servant, stop)
    finally:
        if link is not None:
            link.stop()
        communicator.destroy()
    print(f"camera: stopped after {sent} frames published ({skipped} skipped: rcnode unreachable)", flush=True)
    return 0


def _stream(source: FrameSource, args: argparse.Namespace, publisher: Any, servant: Any,
            stop: threading.Event) -> tuple[int, int]:
    """Publish frames at source.fps until the end (or forever with --loop) or ``stop``; (sent, skipped)."""
    period_s = 1.0 / source.fps
    sent = skipped = count = 0
    last: tuple[np.ndarray, Any] | None = None
    """The last frame and its TImage: a still is encoded once."""
    next_at = time.monotonic()
    total = None if args.loop else source.length
    with tqdm(total=total, desc="camera", unit="frame", disable=total is None, leave=False) as progress:
        while not stop.is_set():
            for frame in source.frames():
                delay = next_at - time.monotonic()
                if delay > 0 and stop.wait(delay):
                    return sent, skipped
                if stop.is_set() or (args.max_frames is not None and count >= args.max_frames):
                    return sent, skipped
                next_at = max(next_at + period_s, time.monotonic() - period_s)
                if last is not None and frame is last[0]:  # a still again: its encoding, stamped now
                    image = copy.copy(last[1])
                    image.alivetime = now_ms()
                else:
                    image = encode_timage(frame, args.camera_id, None, period_s * 1000.0, args.jpeg, args.jpeg_quality)
                    last = (frame, image)
                with servant.lock:
                    servant.latest = image
                try:
                    publisher.pushRGBD(image, empty_tdepth(args.camera_id, image.alivetime))
                    sent += 1
                except (TopicUnavailable, Ice.Exception):  # rcnode unreachable for now: the link heals
                    skipped += 1
                count += 1
                progress.update(1)
            if not args.loop:
                break
    return sent, skipped
