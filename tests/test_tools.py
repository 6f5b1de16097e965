"""The tools' pure parts: rate-limited logging, the listener's frame/state matching and lines, the
monitor's view, and the rcmonitor file. (Their real-process runs are in test_component_e2e.py.)"""

import argparse
import subprocess
import sys

import numpy as np
import pytest

from emotion.classes import EMOTIONS
from emotion.middleware.config import load_config
from emotion.middleware.ratelimit import RateLimitedLog, message_shape
from emotion.middleware.slices import load_interfaces
from emotion.paths import REPO_ROOT
from emotion.states import face_from_state, format_state
from emotion.tools.listen import FrameMatcher, LinePolicy
from emotion.tools.monitor import Snapshot, StatsHistory, parse_assignment, render

M = load_interfaces()


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_rate_limited_log_prints_each_kind_once_per_interval():
    clock, lines = Clock(), []
    log = RateLimitedLog(5.0, lines.append, clock)
    assert log.report("frame refused", "bad size") is True
    assert log.report("frame refused", "bad size") is False
    assert log.report("poll", "timeout") is True                        # another kind is not held back
    clock.now += 4.9
    assert log.report("frame refused", "bad jpeg") is False
    assert log.suppressed("frame refused") == 2
    clock.now += 0.2
    assert log.report("frame refused", "bad jpeg") is True
    assert lines == ["frame refused: bad size", "poll: timeout",
                     "frame refused: bad jpeg (+2 more held back since the last such line)"]
    assert log.suppressed("frame refused") == 0
    with pytest.raises(ValueError, match="interval_s"):
        RateLimitedLog(0)


def test_rate_limited_log_keeps_sub_kinds_apart_and_groups_messages_by_shape():
    clock, lines = Clock(), []
    log = RateLimitedLog(5.0, lines.append, clock)
    wrong_size = message_shape("raw BGR image 32x24x3 needs 2304 bytes, got 10")
    assert wrong_size == message_shape("raw BGR image 640x480x3 needs 921600 bytes, got -1")
    assert log.report("frame refused", "size 1", detail=wrong_size) is True
    assert log.report("frame refused", "size 2", detail=wrong_size) is False     # same shape: held back
    assert log.report("frame refused", "bad jpeg", detail=message_shape("corrupt JPEG: truncated")) is True
    assert log.suppressed("frame refused", wrong_size) == 1
    assert lines == ["frame refused: size 1", "frame refused: bad jpeg"]


def state(track=1, alivetime=1_700_000_000_123, fill=45, label="Happy"):
    probs = [0.7, 0.1, 0.1, 0.05, 0.05]
    return M.RoboCompEmotionRecognition.EmotionState(
        trackId=track, cameraId=2, x=10, y=20, w=30, h=40, emotion=label, probabilities=probs,
        confidence=probs[EMOTIONS.index(label)], alivetime=alivetime, bufferFrames=fill, windowFrames=45,
        landmarks=list(np.arange(136, dtype=float)))


def test_state_line_and_face():
    line = format_state(state())
    assert "cam 2" in line and "face #1: Happy" in line and "70%" in line and "Hap 0.70" in line
    assert "box 10,20 30x40" in line and "buffer" not in line
    assert "(buffer 12/45)" in format_state(state(fill=12))
    face = face_from_state(state())
    assert face.box == (10, 20, 30, 40) and face.landmarks.shape == (68, 2) and face.landmarks[1, 0] == 2.0
    assert face.probabilities.shape == (5,) and face.label == "Happy" and face.timestamp_ms == 1_700_000_000_123
    broken = state()
    broken.landmarks = [1.0, 2.0, 3.0]
    with pytest.raises(ValueError, match="3 landmark values"):
        face_from_state(broken)


def test_listen_prints_on_change_and_says_when_faces_go():
    policy = LinePolicy()
    seq = [([state(1, fill=10, label="Happy")], 0.0), ([state(1, fill=11, label="Happy")], 0.04),   # same label: quiet
           ([state(1, fill=12, label="Sad"), state(2, fill=1, label="Happy")], 0.08),              # change, new face
           ([state(1, fill=45, label="Sad"), state(2, fill=2, label="Happy")], 0.12),              # #1 buffer full
           ([state(2, fill=3, label="Happy")], 0.16), ([], 0.20), ([], 0.24)]                # #1 gone, #2 gone
    out = [policy.lines(2, states, now) for states, now in seq]
    assert [len(lines) for lines in out] == [1, 0, 2, 1, 1, 2, 0]
    assert "face #1: Sad" in out[2][0] and "face #2: Happy" in out[2][1] and "buffer" not in out[3][0]
    assert out[4] == ["cam 2 face #1: gone"] and out[5] == ["cam 2 face #2: gone", "cam 2: no faces"]
    periodic = LinePolicy(every_ms=100.0)
    counts = [len(periodic.lines(2, [state(1, label="Happy")], i * 0.04)) for i in range(6)]  # 0..200 ms
    assert counts == [1, 0, 0, 1, 0, 0]
    everything = LinePolicy(print_all=True)
    assert all(len(everything.lines(2, [state(1, label="Happy")], i * 0.04)) == 1 for i in range(4))


def test_monitor_states_units_rates_and_means():
    history = StatsHistory()

    def view(now, received, compute_ms):
        snapshot = Snapshot(state="Running", period_ms=50, awake_s=int(now), faces=[], parameters={
            "Stats.frames_received": (str(received), False), "Stats.compute_ms": (str(compute_ms), False),
            "Stats.faces": ("2", False), "Stats.note": ("n/a", False)})
        return {line.split()[0]: line for line in render(snapshot, history=history, now=now).splitlines()[2:6]}

    first = view(10.0, 100, 10.0)
    assert first["compute_ms"].split()[1:3] == ["10", "ms"] and "mean 10 ms over 1 snapshot" in first["compute_ms"]
    assert first["frames_received"].endswith("total") and first["faces"].endswith("now")
    assert first["note"].split() == ["note", "n/a"]
    second = view(12.0, 150, 20.0)
    assert second["frames_received"].endswith("total, +25/s")
    assert "last frame; mean 15 ms over 2 snapshots" in second["compute_ms"]


def frame(value):
    return np.full((4, 6, 3), value, np.uint8)


def test_frame_matcher_keeps_every_frame_in_order():
    matcher = FrameMatcher(timeout_s=1.0)
    a, b = [face_from_state(state(1))], [face_from_state(state(2))]
    matcher.add_frame(10, frame(0), now=0.0)                            # before any state
    matcher.add_frame(20, frame(1), now=0.0)
    assert matcher.ready(now=0.5) == [] and len(matcher) == 2            # waiting for its states
    matcher.add_states(10, [])
    matcher.add_states(20, a)
    matcher.add_frame(30, frame(2), now=0.6)                            # skipped by the component
    matcher.add_states(40, b)                                           # states before their frame
    matcher.add_frame(40, frame(3), now=0.7)
    matcher.add_frame(50, frame(4), now=0.8)                            # never answered
    out = matcher.ready(now=1.0)
    assert [(int(f[0, 0, 0]), faces) for f, faces in out] == [(0, []), (1, a), (2, a), (3, b)]
    assert matcher.ready(now=1.5) == []                                 # frame 50 waits ...
    assert [faces for _, faces in matcher.ready(now=1.9)] == [b]        # ... until its timeout
    matcher.add_frame(60, frame(5), now=2.0)
    assert [faces for _, faces in matcher.ready(now=2.0, flush=True)] == [b] and len(matcher) == 0


def test_monitor_view_and_assignments():
    snapshot = Snapshot(state="Running", period_ms=50, awake_s=12, faces=[state()], parameters={
        "Period.Compute": ("50", True), "Camera.Mode": ("push", False),
        "Stats.frames_received": ("120", False), "Stats.publish_hz": ("23.9", False)})
    history = StatsHistory()
    text = render(snapshot, history=history, now=10.0)
    assert text.splitlines()[0] == "state Running  period 50 ms  awake 12 s"
    assert "  frames_received      120  total" in text and "  publish_hz       23.9 /s  the component's rate" in text
    assert "faces: 1" in text and "face #1: Happy" in text and "Camera.Mode" not in text
    full = render(snapshot, show_parameters=True)
    assert "  * Period.Compute = 50" in full and "    Camera.Mode = push" in full
    assert "Stats.frames_received =" not in full
    assert parse_assignment(" Frames.MaxAgeMs = 250") == ("Frames.MaxAgeMs", "250")
    for bad in ("Frames.MaxAgeMs", "=3"):
        with pytest.raises(argparse.ArgumentTypeError, match="KEY=VALUE"):
            parse_assignment(bad)


def test_rcmonitor_file_matches_the_config():
    lines = (REPO_ROOT / "etc" / "emotionrecognition.rcm").read_text().splitlines()
    slice_file, identity, host, protocol, port, period, script = lines
    assert (REPO_ROOT / slice_file).is_file() and identity == "commonbehavior" and protocol == "tcp"
    endpoint = load_config(REPO_ROOT / "etc" / "config").get("Endpoints.CommonBehavior")
    assert endpoint.split()[-1] == port and int(period) > 0
    assert (REPO_ROOT / "etc" / script).is_file()           # rcmonitor opens the code file beside the .rcm


@pytest.mark.parametrize("tool", ["emotion.tools.listen", "emotion.tools.monitor"])
def test_listen_and_monitor_load_neither_dlib_nor_torch(tool):
    """The tools that only read what the component publishes start without the heavy stack."""
    code = f"import sys, {tool}; print(sorted({{'dlib', 'torch'}} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
