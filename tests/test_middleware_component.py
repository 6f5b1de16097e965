"""A real component process on a real rcnode: CommonBehavior, EmotionRecognition, pub/sub, clean stops."""

import signal
import time

import Ice
import numpy as np
import pytest

from emotion.classes import EMOTIONS
from emotion.middleware.images import empty_tdepth, encode_timage
from emotion.middleware.processes import wait_until
from emotion.middleware.slices import load_interfaces

M = load_interfaces()


def frame(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, size=(24, 32, 3), dtype=np.uint8)


def test_commonbehavior_period_state_and_parameters(component):
    behavior = component.commonbehavior()
    assert behavior.getState() == M.RoboCompCommonBehavior.State.Running
    assert behavior.getPeriod() == 20
    behavior.setPeriod(35)
    assert behavior.getPeriod() == 35
    params = behavior.getParameterList()
    assert params["Period.Compute"].value == "35" and params["Period.Compute"].editable
    assert params["Endpoints.EmotionRecognition"].value.startswith("tcp -h 127.0.0.1")
    assert not params["Camera.Mode"].editable and not params["Stats.frames_received"].editable
    awake = behavior.timeAwake()
    time.sleep(1.1)
    assert behavior.timeAwake() >= awake + 1                            # seconds, counting


@pytest.mark.parametrize("name, value, reason", [
    ("Period.Compute", "0", "must be >= 1"),
    ("Frames.MaxAgeMs", "soon", "must be an int"),
    ("Camera.Mode", "poll", "read-only"),
])
def test_set_parameter_list_refuses_bad_values_with_a_reason(component, name, value, reason):
    behavior = component.commonbehavior()
    before = component.parameters()
    with pytest.raises(Ice.UnknownException) as info:
        behavior.setParameterList({name: M.RoboCompCommonBehavior.Parameter(editable=True, value=value, type="")})
    assert reason in info.value.unknown
    assert component.parameters()[name] == before[name]


def test_set_parameter_list_and_reload_config(component):
    behavior = component.commonbehavior()
    behavior.setParameterList({"Frames.MaxAgeMs": M.RoboCompCommonBehavior.Parameter(True, "250", "int")})
    assert component.parameters()["Frames.MaxAgeMs"] == "250"
    behavior.reloadConfig()                          # the file still says 0
    assert component.parameters()["Frames.MaxAgeMs"] == "0"


def test_emotion_recognition_queries(component):
    proxy = component.emotionrecognition()
    assert proxy.getEmotionList() == []
    assert list(proxy.getClassNames()) == list(EMOTIONS)
    assert proxy.getEmotionStates() == []


def test_pushed_frame_is_received_and_processed_states_published(component, rcnode, bus, states):
    bus.subscribe("EmotionRecognitionPub", states)
    cameras = bus.publisher("CameraRGBDSimplePub", M.RoboCompCameraRGBDSimplePub.CameraRGBDSimplePubPrx)
    received = component.stat("frames_received")
    image = encode_timage(frame(), camera_id=7, alivetime_ms=123456)
    cameras.pushRGBD(image, empty_tdepth(7))
    assert wait_until(lambda: component.stat("frames_received") > received, 5.0)
    assert wait_until(lambda: any(r[:2] == (7, 123456) for r in states.received), 5.0), states.received
    assert component.stat("frames_processed") >= 1 and component.stat("published") >= 1
    bad = encode_timage(frame(), camera_id=8)
    bad.width += 1                                    # byte count no longer matches
    invalid = component.stat("frames_invalid")
    cameras.pushRGBD(bad, empty_tdepth(8))
    assert wait_until(lambda: component.stat("frames_invalid") > invalid, 5.0)


@pytest.mark.parametrize("how", ["killYourSelf", "SIGTERM", "SIGINT"])
def test_component_stops_cleanly(rcnode, start_component, how):
    component = start_component(rcnode)
    if how == "killYourSelf":
        component.commonbehavior().killYourSelf()
    else:
        component.process.signal(getattr(signal, how))
    assert component.process.wait(10) == 0
    assert "emotionrecognition: stopped" in component.process.output()
