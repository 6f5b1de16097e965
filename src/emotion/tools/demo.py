"""`python -m emotion demo [--once] [--out FILE.mp4]`: the whole system on one machine, in one command.

Starts rcnode (icebox + IceStorm on free loopback ports, so it never clashes with a running rcnode), the
component (``generated/emotionrecognition.py`` on a temporary config), a listener in this process
(prints the live emotions, writes every camera frame annotated to ``--out``) and a camera process playing
the sample clip (``media/sample_face.mp4``, a Pexels video by Wolfgang Langer: media/LICENSE.md) at its
own frame rate, looping. Ctrl-C, SIGTERM and SIGHUP stop everything cleanly (and if the demo itself is
killed, the kernel kills its children: ``ManagedProcess``); ``--once`` plays the clip once and stops by
itself after the component has caught up, leaving an MP4 with exactly the clip's frames.
"""

import argparse
import sys
import time
from pathlib import Path

from emotion.middleware.component import ComponentPorts, ComponentProcess, write_component_config
from emotion.middleware.processes import (LOOPBACK, ManagedProcess, owned_temp_dir, stop_event_on_signals,
                                          wait_until)
from emotion.middleware.rcnode import RcNode
from emotion.paths import DEPLOYED_MODEL, SAMPLE_CLIP
from emotion.tools.camera import open_source
from emotion.tools.listen import Listener
from emotion.tools.preflight import UsageError, check_model_file, check_writable, float_range

DESCRIPTION = "run rcnode, a camera on the sample clip, the component and a listener; write an annotated MP4"
TEMP_PREFIX = "emotion-demo-"
"""The demo's temporary folder: <tmp>/emotion-demo-<pid>-XXXX (configs, logs), removed at the end."""
SETTLE_S = 2.0
"""With --once: after the camera's last frame, wait until nothing new arrived for this long."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--once", action="store_true", help="play the clip once, then stop (default: loop "
                        "until Ctrl-C)")
    parser.add_argument("--out", type=Path, default=Path("demo.mp4"), help="annotated MP4 (default demo.mp4)")
    parser.add_argument("--clip", type=Path, default=SAMPLE_CLIP, help="video to play (default: the sample clip)")
    parser.add_argument("--weights", type=Path, default=DEPLOYED_MODEL,
                        help="the model: an ONNX export (.onnx) or a checkpoint (.pt) (default: the shipped one)")
    parser.add_argument("--every-ms", type=float_range(0.0), default=500.0, metavar="MS",
                        help="print each face every MS ms, and whenever it changes (default 500)")
    parser.add_argument("--logs", type=Path, help="keep the processes' logs and config here (default: a temp "
                        "folder, removed at the end)")


def _check_inputs(args: argparse.Namespace) -> str | None:
    """Why the demo cannot run, or None (a non-writable --out or unusable weights raise OSError/ValueError)."""
    check_writable(args.out, "--out", (".mp4",))
    if not args.clip.is_file():
        return f"no clip at {args.clip}"
    check_model_file(args.weights, "--weights")
    from emotion.classifier import load_classifier
    load_classifier(args.weights)  # what the component will load, refused here at once
    try:
        open_source(str(args.clip))
    except ValueError as exc:
        return str(exc)
    return None


def _error(message: str) -> int:
    """Print the demo's one error line (the processes' logs say more: --logs); exit status 1."""
    print(f"emotion demo: error: {message}", file=sys.stderr)
    return 1


def _settle(listener: Listener, stop, timeout_s: float = 30.0) -> None:
    """Pump until neither frames nor states have changed for SETTLE_S (or ``timeout_s``/``stop``)."""
    deadline = time.monotonic() + timeout_s
    last, quiet_since = None, time.monotonic()
    while not stop.is_set() and time.monotonic() < deadline:
        listener.pump()
        now = (listener.frames_received, listener.states_received)
        if now != last:
            last, quiet_since = now, time.monotonic()
        elif time.monotonic() - quiet_since >= SETTLE_S:
            return
        stop.wait(0.05)


def _summary(listener: Listener) -> list[str]:
    """Per track: how many frames carried each label."""
    lines = []
    tracks = sorted({(cam, track) for cam, track, _ in listener.labels})
    for cam, track in tracks:
        counts = {label: n for (c, t, label), n in listener.labels.items() if (c, t) == (cam, track)}
        text = ", ".join(f"{label} {n}" for label, n in sorted(counts.items(), key=lambda kv: -kv[1]))
        lines.append(f"  camera {cam} face #{track}: {text} (frames per label)")
    return lines


def run(args: argparse.Namespace) -> int:
    problem = _check_inputs(args)
    if problem:
        raise UsageError(problem)
    stop = stop_event_on_signals()
    with owned_temp_dir(TEMP_PREFIX) as tmp:
        logs = args.logs or tmp
        logs.mkdir(parents=True, exist_ok=True)
        return _run(args, logs, stop)


def _run(args: argparse.Namespace, logs: Path, stop) -> int:
    rcnode = component = camera = listener = None
    try:
        rcnode = RcNode(log_path=logs / "rcnode.log").start()
        ports = ComponentPorts.pick()
        config = write_component_config(logs / "config", rcnode.proxy, ports,
                                        {"Model.Weights": str(args.weights.resolve())})
        print(f"demo: rcnode on {rcnode.proxy}; starting the component (loads the model)...", flush=True)
        component = ComponentProcess(config, ports, log_path=logs / "component.log").start(
            timeout_s=90.0, give_up=stop.is_set)

        listener = Listener(rcnode.proxy, video=args.out, every_ms=args.every_ms, endpoint=f"tcp -h {LOOPBACK}")
        if not wait_until(lambda: listener.linked, 10.0, give_up=stop.is_set):
            return 130 if stop.is_set() else _error("the listener could not subscribe to rcnode")
        argv = [sys.executable, "-m", "emotion", "camera", str(args.clip), "--topic-manager", rcnode.proxy,
                "--endpoint", f"tcp -h {LOOPBACK} -p {ports.camera}"] + ([] if args.once else ["--loop"])
        camera = ManagedProcess(argv, log_path=logs / "camera.log", name="camera").start()
        print(f"demo: playing {args.clip} ({'once' if args.once else 'looping; Ctrl-C stops'}); "
              f"writing {args.out}", flush=True)
        while not stop.wait(0.05) and camera.running:
            listener.pump()
        if not stop.is_set() and camera.returncode != 0:
            return _error(f"the camera exited with status {camera.returncode}: {camera.last_line()}")
        _settle(listener, stop)
        if not component.process.running:
            return _error(f"the component stopped: {component.process.last_line()}")
        return 0
    except RuntimeError as exc:  # rcnode or the component did not come up: their last line says why
        if stop.is_set():
            return 130
        return _error(str(exc))
    finally:
        if camera is not None:
            camera.stop()
        if listener is not None:
            listener.close()
        if component is not None:
            component.stop()
        if rcnode is not None:
            rcnode.stop()
        if listener is not None:
            print(f"demo: {listener.frames_written} frames written to {args.out} "
                  f"({listener.states_received} frames of states from the component)", flush=True)
            for line in _summary(listener):
                print(line, flush=True)
