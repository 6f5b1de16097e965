"""rcnode faults: a component outlives a missing or restarted IceStorm and links again by itself."""

import time

import numpy as np
import pytest

from emotion.middleware.communicator import make_communicator
from emotion.middleware.images import empty_tdepth, encode_timage
from emotion.middleware.processes import wait_until
from emotion.middleware.rcnode import RcNode
from emotion.middleware.slices import load_interfaces
from emotion.middleware.topics import CANNOT_CONNECT, TopicLink, TopicUnavailable

M = load_interfaces()
FAST_LINK = {"Period.Compute": 20, "TopicLink.IntervalS": 0.5}


def round_trip(bus, states, camera_id: int, timeout_s: float) -> float | None:
    """Push frames of ``camera_id`` until their states come back; seconds taken, None on timeout."""
    cameras = bus.publisher("CameraRGBDSimplePub", M.RoboCompCameraRGBDSimplePub.CameraRGBDSimplePubPrx)
    image = encode_timage(np.zeros((8, 8, 3), np.uint8), camera_id=camera_id)
    started = time.monotonic()

    def delivered() -> bool:
        try:
            cameras.pushRGBD(image, empty_tdepth(camera_id))
        except Exception:
            pass                                    # the test's own link may still be healing
        return states.count(camera_id) > 0

    return time.monotonic() - started if wait_until(delivered, timeout_s, interval_s=0.1) else None


def test_component_resubscribes_after_icestorm_restart(private_rcnode, start_component, bus_factory, states):
    component = start_component(private_rcnode.proxy, FAST_LINK)
    bus = bus_factory(private_rcnode.proxy)
    bus.subscribe("EmotionRecognitionPub", states)
    assert round_trip(bus, states, 1, 5.0) is not None
    private_rcnode.kill()
    private_rcnode.start()                          # same ports, empty IceStorm: no topics, no subscribers
    seconds = round_trip(bus, states, 2, 10.0)
    assert seconds is not None, component.process.output()
    print(f"frames flow again {seconds:.2f} s after the IceStorm restart")
    assert component.process.running and component.is_running()
    assert component.process.output().count("subscribed to topic 'CameraRGBDSimplePub'") == 2


def test_component_without_rcnode_keeps_running_and_links_later(start_component, bus_factory, states):
    node = RcNode()                                 # ports chosen, icebox not started yet
    component = start_component(node.proxy, FAST_LINK)
    assert CANNOT_CONNECT in component.process.output()
    assert component.is_running()
    try:
        node.start()
        bus = bus_factory(node.proxy)
        bus.subscribe("EmotionRecognitionPub", states)
        assert round_trip(bus, states, 3, 10.0) is not None, component.process.output()
    finally:
        node.stop()


def test_publisher_without_rcnode_reports_topic_unavailable():
    node = RcNode()
    communicator = make_communicator()
    lines: list[str] = []
    try:
        link = TopicLink(communicator, node.proxy, interval_s=0.1, log=lines.append)
        publisher = link.publisher("EmotionRecognitionPub", M.RoboCompEmotionRecognitionPub.EmotionRecognitionPubPrx)
        assert link.refresh() is False and not link.connected
        assert link.refresh() is False and lines == [lines[0]] and CANNOT_CONNECT in lines[0]   # logged once
        with pytest.raises(TopicUnavailable, match="EmotionRecognitionPub"):
            publisher.pushEmotionStates(0, 0, [])
        with node:
            assert link.refresh() and publisher.current() is not None
            publisher.pushEmotionStates(0, 0, [])
    finally:
        communicator.destroy()
