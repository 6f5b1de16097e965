"""The three camera sources of ``Camera.Mode`` and what each needs wired.

| mode | the component | RoboComp interface |
| --- | --- | --- |
| ``push`` | subscribes to the camera's topic | ``CameraRGBDSimplePub.pushRGBD(TImage, TDepth)`` |
| ``poll`` | calls each period | ``CameraRGBDSimple.getImage(Camera.Name)`` |
| ``poll-simple`` | calls each period | ``CameraSimple.getImage()`` |

Only the chosen source is wired: the poll modes do not subscribe (so no frame arrives twice) and push mode
calls no camera. A polled camera returns its latest frame every time; a frame is new when its content
differs from the previous poll's (``content_key``), whatever its ``alivetime`` says.
"""

import zlib
from typing import Any, Protocol

MODES: tuple[str, ...] = ("push", "poll", "poll-simple")
PUSH_TOPIC = "CameraRGBDSimplePub"


def subscribed_topics(mode: str) -> tuple[str, ...]:
    """The camera topics a component in ``mode`` subscribes to."""
    return (PUSH_TOPIC,) if mode == "push" else ()


def content_key(image: Any) -> tuple:
    """What tells two polled images apart: their header fields and a CRC-32 of their bytes (about 0.5 ms
    for a raw 640x480 frame)."""
    data = image.image
    return (bool(image.compressed), int(image.width), int(image.height), int(image.depth), len(data),
            zlib.crc32(data))


class PollSource(Protocol):
    """A camera the component calls for its latest image."""

    description: str

    def fetch(self) -> Any:
        """The camera's latest image (an Ice.Exception when the call fails)."""


class RGBDPoll:
    """``CameraRGBDSimple.getImage(name)``."""

    def __init__(self, proxy: Any, name: str) -> None:
        self.proxy = proxy
        self.name = name
        self.description = "CameraRGBDSimple.getImage"

    def fetch(self) -> Any:
        return self.proxy.getImage(self.name)


class SimplePoll:
    """``CameraSimple.getImage()`` (robolab's camerasimple, usb_camera, camera_streamer)."""

    def __init__(self, proxy: Any) -> None:
        self.proxy = proxy
        self.description = "CameraSimple.getImage"

    def fetch(self) -> Any:
        return self.proxy.getImage()


def poll_source(mode: str, rgbd_proxy: Any, simple_proxy: Any, camera_name: str) -> PollSource | None:
    """The source to call each period in ``mode`` (None in push mode); ValueError for an unknown mode."""
    if mode not in MODES:
        raise ValueError(f"unknown camera mode {mode!r}; expected one of {', '.join(MODES)}")
    if mode == "poll":
        return RGBDPoll(rgbd_proxy, camera_name)
    if mode == "poll-simple":
        return SimplePoll(simple_proxy)
    return None
