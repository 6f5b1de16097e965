"""`python -m emotion bench e2e`: camera frames to published emotions through real processes on loopback.

Per scenario: a fresh component (``generated/emotionrecognition.py``) and ``cameras`` camera processes
(``python -m emotion camera``) on one rcnode (icebox + IceStorm), each scenario on its own topic prefix.
One face: the sample clip; five faces: ``multi_face.jpg`` as a still stream. Rate: 30 fps, or ``max``
(as fast as the camera can push). After a warm-up, over ``--seconds``:

- latency: a state's arrival at this process's subscriber minus its frame's alivetime (ms, one clock);
- fps_in / fps_out: frames the component received / state messages the subscriber got, per second;
- drop_pct: received frames not processed (overwritten by a newer one, stale, invalid) / received, from
  the component's CommonBehavior ``Stats.*`` counters (1 - processed / received without the frames
  that straddle the window's edges);
- cpu_pct, rss_mb_start, rss_mb_end: the component process (psutil).

Cameras send raw BGR frames, or JPEG (``--camera-format``; ``auto``, the default: JPEG for every
scenario with more than one face in all, raw for 1 x 1): four cameras of raw 1000x667 frames at 30 fps
move ~240 MB/s through IceStorm on the machine under test, which measures the harness more than the
component; a robot with several cameras sends JPEG too (docs/robot.md). The row says which
(``camera_format``).

``--per-camera`` gives each camera a component of its own (figures summed over them) instead of one
component serving every camera.

``--soak`` instead runs 2 cameras at 30 fps for ``--minutes``, sampling RSS and the counters, and checks
that RSS, tracks, buffers and cameras stay bounded and that no error counter moves.
"""

import argparse
import collections
import json
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import psutil
from tqdm import tqdm

from emotion.middleware.communicator import make_communicator
from emotion.middleware.component import ComponentPorts, ComponentProcess, write_component_config
from emotion.middleware.processes import LOOPBACK, ManagedProcess, free_port, wait_until
from emotion.middleware.rcnode import RcNode
from emotion.middleware.slices import load_interfaces
from emotion.middleware.topics import TopicLink, topic_name
from emotion.paths import DEPLOYED_MODEL, SAMPLE_CLIP, shared_media

DESCRIPTION = "end to end: camera processes -> IceStorm -> component -> subscriber latency, throughput, memory"
M = load_interfaces()
MAX_RATE_FPS = 1000.0
"""The camera's --fps for the "max" rate: far above what it can push, so it pushes as fast as it can."""
NOT_PROCESSED = ("frames_dropped", "frames_stale", "frames_invalid")
"""Counters of received frames that were not processed: drop_pct = their sum / frames_received."""
ERROR_COUNTERS = ("compute_errors", "pipeline_errors", "publish_failed", "frames_invalid")
CAMERA_FORMATS: tuple[str, ...] = ("auto", "raw", "jpeg")
COLUMNS = ("cameras", "components", "faces", "rate", "camera_format", "latency_ms_p50", "latency_ms_p95", "latency_ms_p99", "fps_in",
           "fps_out", "drop_pct", "cpu_pct", "rss_mb_start", "rss_mb_end")


@dataclass(frozen=True)
class Scenario:
    """``rate`` is frames per second per camera, or 0 for as fast as possible."""

    cameras: int
    faces: int
    rate: float

    @property
    def rate_label(self) -> str:
        return "max" if self.rate == 0 else f"{self.rate:g}"


DEFAULT_SCENARIOS: tuple[Scenario, ...] = tuple(
    Scenario(cameras, faces, rate) for cameras in (1, 4) for faces in (1, 5) for rate in (30.0, 0.0))


class StateTimer(M.RoboCompEmotionRecognitionPub.EmotionRecognitionPub):
    """Subscriber recording (arrival ms, cameraId, alivetime, faces, largest bufferFrames) per message."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, int, int, int, int]] = []
        self.lock = threading.Lock()

    def pushEmotionStates(self, cameraId, alivetime, states, current=None):
        arrived = time.time() * 1000.0
        fill = max((s.bufferFrames for s in states), default=0)
        with self.lock:
            self.arrivals.append((arrived, cameraId, alivetime, len(states), fill))

    def since(self, start_ms: float) -> np.ndarray:
        """Arrivals at or after ``start_ms`` as an (n, 5) float array."""
        with self.lock:
            rows = [row for row in self.arrivals if row[0] >= start_ms]
        return np.asarray(rows, dtype=np.float64).reshape(-1, 5)

    def cameras_heard(self) -> set[int]:
        with self.lock:
            return {row[1] for row in self.arrivals}


def face_source(faces: int) -> Path:
    """The stream of ``faces`` faces: the sample clip (1) or multi_face.jpg as a still (5)."""
    if faces == 1:
        path = SAMPLE_CLIP if SAMPLE_CLIP.is_file() else shared_media("WolfgangLanger_Pexels.mp4")
    elif faces == 5:
        path = shared_media("multi_face.jpg")
    else:
        raise ValueError(f"faces must be 1 or 5, got {faces}")
    if not path.is_file():
        raise FileNotFoundError(f"bench source for {faces} face(s) is missing: {path}")
    return path


class Bench:
    """One rcnode, a subscriber in this process, and a fresh component per scenario."""

    def __init__(self, weights: Path, workdir: Path, threads: int = 1) -> None:
        if not Path(weights).is_file():
            raise FileNotFoundError(f"no model weights at {weights} (give --weights or train one)")
        self.weights, self.workdir, self.threads = Path(weights), Path(workdir), threads
        self.rcnode = RcNode(log_path=self.workdir / "rcnode.log").start()
        self.communicator = make_communicator()
        self.adapter = self.communicator.createObjectAdapterWithEndpoints(
            "BenchSubscriber", f"tcp -h {LOOPBACK} -p {free_port()}")
        self.adapter.activate()
        self.link = TopicLink(self.communicator, self.rcnode.proxy, interval_s=0.5, log=lambda _: None)
        self.link.start()
        self.runs = 0

    def close(self) -> None:
        self.link.stop()
        self.communicator.destroy()
        self.rcnode.stop()

    def _start(self, cameras: int, source: Path, rate: float, per_camera: bool = False, jpeg: bool = False) -> "Run":
        """Components, their subscriber and ``cameras`` camera processes on a prefix of their own.

        One component serves every camera (cameras told apart by cameraID), or with ``per_camera`` each
        camera has its own component (on its own camera topic); all publish on one topic.
        """
        self.runs += 1
        prefix = f"bench{self.runs}"
        folder = self.workdir / prefix
        folder.mkdir(parents=True, exist_ok=True)
        camera_prefixes = [f"{prefix}c{i}" if per_camera else prefix for i in range(cameras)]
        components = []
        for index, camera_prefix in enumerate(dict.fromkeys(camera_prefixes)):
            ports = ComponentPorts.pick()
            config = write_component_config(folder / f"config{index}", self.rcnode.proxy, ports, {
                "Model.Weights": str(self.weights), "Model.Threads": self.threads, "TopicLink.IntervalS": 0.5,
                "Endpoints.CameraRGBDSimplePubPrefix": camera_prefix, "Endpoints.EmotionRecognitionPubPrefix": prefix})
            components.append(ComponentProcess(config, ports, log_path=folder / f"component{index}.log"))
        run = Run(components, [], StateTimer())
        try:
            for component in components:
                component.start(timeout_s=60.0)
            self.link.subscribe(topic_name("EmotionRecognitionPub", prefix), self.adapter.addWithUUID(run.timer))
            if not wait_until(self.link.refresh, 10.0):
                raise RuntimeError("the bench subscriber could not subscribe to the components' topic")
            run.cameras.extend(ManagedProcess(
                [sys.executable, "-m", "emotion", "camera", str(source), "--loop", "--fps", str(rate or MAX_RATE_FPS),
                 "--camera-id", str(index), "--prefix", camera_prefix, "--topic-manager", self.rcnode.proxy,
                 "--endpoint", ""] + (["--jpeg"] if jpeg else []), log_path=folder / f"camera{index}.log", name=f"camera{index}").start()
                for index, camera_prefix in enumerate(camera_prefixes))
        except BaseException:
            run.stop()
            raise
        return run

    def scenario(self, scenario: Scenario, seconds: float, warmup_s: float, per_camera: bool = False,
                 camera_format: str = "auto") -> dict[str, Any]:
        """Run one scenario; its row of figures."""
        fmt = scenario_format(scenario, camera_format)
        run = self._start(scenario.cameras, face_source(scenario.faces), scenario.rate, per_camera, fmt == "jpeg")
        try:
            run.warm_up(warmup_s)
            first = run.snapshot()
            time.sleep(seconds)
            last = run.snapshot()
        finally:
            run.stop()
        row = scenario_row(scenario, first, last, run.timer.since(first["ms"]))
        return {**row, "components": len(run.components), "camera_format": fmt}

    def soak(self, minutes: float, sample_s: float, warmup_s: float) -> dict[str, Any]:
        """2 cameras x 1 face at 30 fps for ``minutes``; RSS, bounds and error counters."""
        run = self._start(2, face_source(1), 30.0)
        samples = []
        try:
            run.warm_up(warmup_s)
            first = run.snapshot()
            end = first["wall"] + minutes * 60.0
            with tqdm(total=int(minutes * 60), desc="soak", unit="s", leave=False) as bar:
                while time.monotonic() < end:
                    time.sleep(min(sample_s, max(end - time.monotonic(), 0.0)))
                    samples.append(run.snapshot())
                    bar.update(int(samples[-1]["wall"] - first["wall"]) - bar.n)
            alive = run.alive()
        finally:
            run.stop()
        return soak_summary(first, samples, run.timer.since(first["ms"]), alive)


@dataclass
class Run:
    """The processes of one scenario and its subscriber."""

    components: list[ComponentProcess]
    cameras: list[ManagedProcess]
    timer: StateTimer

    def warm_up(self, warmup_s: float) -> None:
        """Wait for states of every camera, then ``warmup_s`` more (tracks settle)."""
        if not wait_until(lambda: len(self.timer.cameras_heard()) == len(self.cameras), 60.0, interval_s=0.1):
            logs = "\n".join(p.output()[-500:] for p in [*(c.process for c in self.components), *self.cameras])
            raise RuntimeError(f"no states from every camera within 60 s:\n{logs}")
        time.sleep(warmup_s)

    def snapshot(self) -> dict[str, Any]:
        """Clocks, CPU seconds and RSS (summed over the components) and their summed Stats counters."""
        snap: dict[str, Any] = {"wall": time.monotonic(), "ms": time.time() * 1000.0, "cpu": 0.0, "rss_mb": 0.0,
                                "stats": collections.Counter()}
        for component in self.components:
            proc = psutil.Process(component.process.pid)
            times = proc.cpu_times()
            snap["cpu"] += times.user + times.system
            snap["rss_mb"] += proc.memory_info().rss / 2**20
            snap["stats"].update({name[len("Stats."):]: float(value) for name, value in component.parameters().items()
                                  if name.startswith("Stats.")})
        return snap

    def alive(self) -> bool:
        return all(p.running for p in self.cameras) and all(c.process.running for c in self.components)

    def stop(self) -> None:
        for camera in self.cameras:
            camera.stop()
        for component in self.components:
            component.stop()


def scenario_format(scenario: Scenario, camera_format: str) -> str:
    """``raw`` or ``jpeg``: what the cameras of a scenario send (``auto``: JPEG beyond one face in all)."""
    if camera_format not in CAMERA_FORMATS:
        raise ValueError(f"camera format must be one of {CAMERA_FORMATS}, got {camera_format!r}")
    if camera_format != "auto":
        return camera_format
    return "jpeg" if scenario.cameras * scenario.faces > 1 else "raw"


def _stat(snapshot: dict, name: str) -> float:
    return float(snapshot["stats"][name])


def scenario_row(scenario: Scenario, first: dict, last: dict, arrivals: np.ndarray) -> dict[str, Any]:
    """The figures of one measured window. Shape: arrivals (n, 5) rows of StateTimer."""
    wall = max(last["wall"] - first["wall"], 1e-6)
    window = arrivals[arrivals[:, 0] <= last["ms"]]
    latency = window[:, 0] - window[:, 2]
    delta = {name: _stat(last, name) - _stat(first, name) for name in ("frames_received", *NOT_PROCESSED)}
    received, lost = delta["frames_received"], sum(delta[name] for name in NOT_PROCESSED)
    pct = (lambda q: round(float(np.percentile(latency, q)), 1)) if len(latency) else (lambda q: None)
    return {
        "cameras": scenario.cameras, "faces": scenario.faces, "rate": scenario.rate_label,
        "latency_ms_p50": pct(50), "latency_ms_p95": pct(95), "latency_ms_p99": pct(99),
        "fps_in": round(received / wall, 1), "fps_out": round(len(window) / wall, 1),
        "drop_pct": round(100.0 * lost / received, 1) if received else None,
        "cpu_pct": round(100.0 * (last["cpu"] - first["cpu"]) / wall, 1),
        "rss_mb_start": round(first["rss_mb"], 1), "rss_mb_end": round(last["rss_mb"], 1),
        "faces_per_frame": round(float(window[:, 3].mean()), 2) if len(window) else 0.0,
        "seconds": round(wall, 1),
    }


def soak_summary(first: dict, samples: list[dict], arrivals: np.ndarray, alive: bool) -> dict[str, Any]:
    """RSS growth, largest track / buffer / camera counts and error counters over a soak."""
    last = samples[-1] if samples else first
    row = scenario_row(Scenario(2, 1, 30.0), first, last, arrivals)
    errors = {name: _stat(last, name) - _stat(first, name) for name in ERROR_COUNTERS}
    growth = 100.0 * (last["rss_mb"] - first["rss_mb"]) / first["rss_mb"]
    return {**row, "minutes": round((last["wall"] - first["wall"]) / 60.0, 2),
            "rss_growth_pct": round(growth, 2), "rss_mb_max": round(max(s["rss_mb"] for s in [first, *samples]), 1),
            "max_faces_per_frame": int(arrivals[:, 3].max()) if len(arrivals) else 0,
            "max_buffer_frames": int(arrivals[:, 4].max()) if len(arrivals) else 0,
            "max_cameras": int(max(_stat(s, "cameras") for s in [first, *samples])),
            "errors": errors, "processes_alive": alive,
            "ok": alive and growth < 5.0 and not any(errors.values())}


def format_table(rows: list[dict[str, Any]]) -> str:
    """The scenario rows as an aligned text table."""
    cells = [[str(c) for c in COLUMNS]] + [["-" if r.get(c) is None else str(r[c]) for c in COLUMNS] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(cell.rjust(width) for cell, width in zip(row, widths)) for row in cells)


def parse_scenario(text: str) -> Scenario:
    """``CAMERASxFACES@RATE`` (RATE a number or ``max``), e.g. ``4x1@30``."""
    try:
        counts, rate = text.split("@")
        cameras, faces = (int(v) for v in counts.split("x"))
        fps = 0.0 if rate == "max" else float(rate)
    except ValueError:
        raise argparse.ArgumentTypeError(f"scenario {text!r} is not CAMERASxFACES@RATE (e.g. 4x1@30)") from None
    if cameras < 1 or faces not in (1, 5) or fps < 0:
        raise argparse.ArgumentTypeError(f"scenario {text!r}: cameras >= 1, faces 1 or 5, rate >= 0 or max")
    return Scenario(cameras, faces, fps)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print {\"scenarios\": [...]} (or {\"soak\": ...})")
    parser.add_argument("--weights", type=Path, default=DEPLOYED_MODEL, help="the model (.onnx or .pt) (default: the shipped one)")
    parser.add_argument("--seconds", type=float, default=12.0, help="measured seconds per scenario (default 12)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds after the first states (default 3)")
    parser.add_argument("--scenario", type=parse_scenario, action="append",
                        help="CAMERASxFACES@RATE, repeatable (default: 1 and 4 cameras x 1 and 5 faces x 30, max)")
    parser.add_argument("--threads", type=int, default=1, help="the component's Model.Threads (default 1)")
    parser.add_argument("--per-camera", action="store_true",
                        help="one component per camera (default: one component serves every camera)")
    parser.add_argument("--camera-format", choices=CAMERA_FORMATS, default="auto",
                        help="what the cameras send (auto: JPEG for scenarios with more than one face in all)")
    parser.add_argument("--soak", action="store_true", help="soak: 2 cameras at 30 fps for --minutes")
    parser.add_argument("--minutes", type=float, default=10.0, help="soak length (default 10)")


def run(args: argparse.Namespace) -> int:
    if args.seconds <= 0 or args.minutes <= 0 or args.warmup < 0:
        raise ValueError("--seconds and --minutes must be > 0 and --warmup >= 0")
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as workdir:
        bench = Bench(args.weights, Path(workdir), args.threads)
        try:
            if args.soak:
                result = bench.soak(args.minutes, sample_s=10.0, warmup_s=args.warmup)
                print(json.dumps({"soak": result}) if args.json else format_soak(result))
                return 0 if result["ok"] else 1
            rows = []
            for scenario in tqdm(args.scenario or DEFAULT_SCENARIOS, desc="e2e", unit="scenario", leave=False):
                rows.append(bench.scenario(scenario, args.seconds, args.warmup, args.per_camera, args.camera_format))
        finally:
            bench.close()
    print(json.dumps({"scenarios": rows}) if args.json else format_table(rows))
    return 0


def format_soak(result: dict[str, Any]) -> str:
    """The soak summary as readable lines."""
    return "\n".join([
        f"soak {result['minutes']} min, 2 cameras x 1 face at 30 fps: {'OK' if result['ok'] else 'FAILED'}",
        f"  RSS {result['rss_mb_start']} -> {result['rss_mb_end']} MB (max {result['rss_mb_max']}), "
        f"growth {result['rss_growth_pct']} %",
        f"  latency p50/p95/p99 {result['latency_ms_p50']}/{result['latency_ms_p95']}/{result['latency_ms_p99']} ms, "
        f"fps in/out {result['fps_in']}/{result['fps_out']}, drop {result['drop_pct']} %, CPU {result['cpu_pct']} %",
        f"  bounded: faces/frame <= {result['max_faces_per_frame']}, buffer <= {result['max_buffer_frames']} frames, "
        f"cameras <= {result['max_cameras']}; processes alive: {result['processes_alive']}",
        f"  error counters: {result['errors']}",
    ])
