"""`python -m emotion bench perception`: the tracked pipeline against the naive one, on one core.

Naive: detect (full resolution) and predict landmarks on every frame. Tracked: ``FaceTracker`` as the
component runs it: its config's ``Perception.*`` settings and ``Threads.Perception`` threads over the
faces and for the searches beside the frames, applied when they end (more than one thread: all cores,
else pinned to one), and each face described on every frame, as the component does for a model with an
appearance head when it classifies every frame (the shipped model's ``appearance_frames``, or
``--appearance-frames``). In one run, each pipeline makes its own passes over the same frames (so neither
evicts the other's caches; video decoding is timed apart and excluded from frames/s), alternating ``--repeat``
rounds, the fastest of each counting. Reported per pipeline: frames/s, ms per stage, faces per frame;
between them: the mean landmark difference in % of the naive face's inter-ocular distance (faces paired
by box overlap); the process's peak RSS; and, for reference, the landmarks-to-detector-box mapping
measured on the naive detections (the tracker measures it per face at each detection).
"""

import argparse
import json
import os
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import cv2
import numpy as np
from tqdm import tqdm

from emotion.classifier import load_classifier
from emotion.datasets.video import iter_frames, read_image, video_frame_count
from emotion.defaults import WINDOW
from emotion.face68 import inter_ocular_distance
from emotion.paths import COMPONENT_CONFIG, DEPLOYED_MODEL, shared_media
from emotion.perception.detector import Box, LandmarkDetector
from emotion.perception.geometry import box_iou, fit_box_mapping
from emotion.perception.pool import INLINE, PerceptionPool, load_perception_threads
from emotion.perception.tracking import FaceTracker, TrackerConfig, load_tracker_config
from emotion.tools.preflight import int_range

DESCRIPTION = "perception: tracked (detect every k frames) vs naive (detect every frame) pipeline"
STAGES = ("gray", "detect", "landmarks", "appearance", "other")
PAIR_IOU = 0.3  # least box overlap for a tracked and a naive face to be the same face


@dataclass
class PipelineStats:
    """Accumulated time per stage (ms) and faces over the frames of one run."""

    stage_ms: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    total_ms: float = 0.0
    faces: int = 0

    def summary(self, frames: int) -> dict:
        n = max(frames, 1)
        return {
            "fps": frames / (self.total_ms / 1000.0) if self.total_ms else 0.0,
            "ms_per_frame": self.total_ms / n,
            "stage_ms": {k: v / n for k, v in self.stage_ms.items()},
            "faces_per_frame": self.faces / n,
        }


def naive_frame(detector: LandmarkDetector, frame: np.ndarray, stats: PipelineStats) -> list[tuple[Box, np.ndarray]]:
    """Detect and predict on one frame, timed into ``stats``. Shape: frame (H, W, 3) uint8."""
    t0 = time.perf_counter()
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    t1 = time.perf_counter()
    boxes = detector.detect(gray)
    t2 = time.perf_counter()
    faces = [(box, detector.landmarks(gray, box)) for box in boxes]
    t3 = time.perf_counter()
    for stage, ms in zip(("gray", "detect", "landmarks"), (t1 - t0, t2 - t1, t3 - t2)):
        stats.stage_ms[stage] += ms * 1000.0
    stats.total_ms += (t3 - t0) * 1000.0
    stats.faces += len(faces)
    return faces


def landmark_differences(tracked: list[tuple[Box, np.ndarray]], naive: list[tuple[Box, np.ndarray]]) -> list[float]:
    """Per paired face: mean landmark distance / naive inter-ocular distance (faces paired by box IoU)."""
    diffs = []
    for box, points in tracked:
        best = max(naive, key=lambda face: box_iou(box, face[0]), default=None)
        if best is not None and box_iou(box, best[0]) >= PAIR_IOU:
            iod = float(inter_ocular_distance(best[1]))
            diffs.append(float(np.linalg.norm(points - best[1], axis=1).mean()) / max(iod, 1e-6))
    return diffs


def run_naive(frames: Iterable[tuple[float, np.ndarray]], detector: LandmarkDetector, total: int | None,
              label: str) -> tuple[PipelineStats, list[list[tuple[Box, np.ndarray]]]]:
    """The naive pipeline over a stream: its figures and each frame's (box, landmarks) faces."""
    stats = PipelineStats()
    faces = [naive_frame(detector, frame, stats) for _, frame in tqdm(frames, total=total, desc=f"{label} naive",
                                                                       unit="frame", leave=False)]
    return stats, faces


def run_tracked(frames: Iterable[tuple[float, np.ndarray]], tracker: FaceTracker, total: int | None,
                label: str) -> tuple[PipelineStats, list[list[tuple[Box, np.ndarray]]]]:
    """The tracked pipeline over a stream: its figures (each frame's stage times) and each frame's faces."""
    stats = PipelineStats()
    per_frame = []
    for timestamp_ms, frame in tqdm(frames, total=total, desc=f"{label} tracked", unit="frame", leave=False):
        result = tracker.track(frame, int(timestamp_ms))
        timed = sum(result.stage_ms[s] for s in STAGES[:-1])
        for stage in STAGES[:-1]:
            stats.stage_ms[stage] += result.stage_ms[stage]
        stats.stage_ms["other"] += result.stage_ms["total"] - timed
        stats.total_ms += result.stage_ms["total"]
        stats.faces += len(result.faces)
        per_frame.append([(f.box, f.landmarks) for f in result.faces])
    return stats, per_frame


def compare(stream: Callable[[], Iterable[tuple[float, np.ndarray]]], detector: LandmarkDetector,
            config: TrackerConfig, total: int | None = None, label: str = "", repeat: int = 1,
            pool: PerceptionPool | None = None, appearance_frames: int = 0) -> dict:
    """Run each pipeline over its own pass of the stream (so neither evicts the other's caches); compare.

    With ``repeat`` > 1 the passes alternate that many rounds and each pipeline keeps its fastest round
    (timing noise from other processes only ever adds time). ``stream()`` yields (timestamp_ms,
    frame (H, W, 3) uint8) afresh on every call.
    """
    if repeat < 1:
        raise ValueError(f"repeat must be >= 1, got {repeat}")
    naive = tracked = None
    for round_ in range(repeat):
        tag = f"{label} {round_ + 1}/{repeat}" if repeat > 1 else label
        naive_run, reference = run_naive(stream(), detector, total, tag)
        tracker = FaceTracker(config, detector, pool=pool or INLINE, late_search=True,  # as the component
                              appearance_frames=appearance_frames)
        tracked_run, faces = run_tracked(stream(), tracker, total, tag)
        naive = naive_run if naive is None or naive_run.total_ms < naive.total_ms else naive
        tracked = tracked_run if tracked is None or tracked_run.total_ms < tracked.total_ms else tracked
    count = len(reference)
    if count == 0 or len(faces) != count:
        raise ValueError(f"{label or 'the source'}: {count} naive and {len(faces)} tracked frames")
    diffs = [d for t, n in zip(faces, reference) for d in landmark_differences(t, n)]
    result = {"frames": count, "repeat": repeat, "naive": naive.summary(count), "tracked": tracked.summary(count)}
    result["speedup"] = result["tracked"]["fps"] / result["naive"]["fps"] if result["naive"]["fps"] else 0.0
    result["landmark_diff_iod_pct"] = 100.0 * float(np.mean(diffs)) if diffs else None
    result["landmark_diff_iod_pct_p95"] = 100.0 * float(np.percentile(diffs, 95)) if diffs else None
    result["paired_faces"] = len(diffs)
    result["track_ids"] = tracker.next_track_id - 1
    naive_faces = [face for frame in reference for face in frame]
    if naive_faces:
        scale, dx, dy = fit_box_mapping(np.array([b for b, _ in naive_faces]), np.stack([p for _, p in naive_faces]))
        result["box_mapping"] = {"box_scale": scale, "box_dx": dx, "box_dy": dy}
    return result


def video_stream(path: Path, decode: PipelineStats, end: int | None = None) -> Iterator[tuple[float, np.ndarray]]:
    """(timestamp_ms, frame) of a video's first ``end`` frames, decode time accumulated in ``decode.total_ms``."""
    frames = iter_frames(path, end=end)
    while True:
        start = time.perf_counter()
        item = next(frames, None)
        decode.total_ms += (time.perf_counter() - start) * 1000.0
        if item is None:
            return
        _, time_s, frame = item
        yield time_s * 1000.0, frame


def pin_to_one_core() -> int | None:
    """Restrict this process to one CPU (and OpenCV to one thread); the CPU used, None where unsupported."""
    cv2.setNumThreads(1)
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return cpu


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--video", type=Path, default=shared_media("WolfgangLanger_Pexels.mp4"), help="video to run on")
    parser.add_argument("--still", type=Path, default=shared_media("multi_face.jpg"),
                        help="photo played as a still stream ('' to skip)")
    parser.add_argument("--max-frames", type=int, default=None, help="use only the video's first N frames")
    parser.add_argument("--still-frames", type=int, default=30, help="frames of the still stream")
    parser.add_argument("--repeat", type=int, default=3, help="alternating rounds; each pipeline's fastest counts")
    parser.add_argument("--config", type=Path, default=COMPONENT_CONFIG,
                        help="component config whose Perception.* settings to track with (default etc/config)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="tracker setting over --config (TrackerConfig field), repeatable")
    parser.add_argument("--threads", type=int, default=None,
                        help="perception threads of the tracked pipeline (default: the component's "
                             "Threads.Perception of --config; 0 = one per core); more than one uses all cores")
    parser.add_argument("--all-cores", action="store_true", help="do not pin the process to one CPU")
    parser.add_argument("--appearance-frames", type=int_range(0, WINDOW), default=None,
                        help="describe faces for an appearance head over this many frames (0: none; "
                             "default: the shipped model's)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def tracker_config(args: argparse.Namespace) -> TrackerConfig:
    """The component's tracker settings (``--config``) with the ``--set KEY=VALUE`` overrides."""
    pairs = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--set expects KEY=VALUE, got {item!r}")
        pairs[key.strip()] = value
    return load_tracker_config(args.config, pairs)


def _print_table(title: str, result: dict) -> None:
    print(f"\n{title}: {result['frames']} frames")
    print(f"  {'pipeline':9s} {'fps':>8s} " + " ".join(f"{s + ' ms':>12s}" for s in STAGES) + f" {'faces/frame':>12s}")
    for name in ("naive", "tracked"):
        r = result[name]
        stages = " ".join(f"{r['stage_ms'][s]:12.2f}" for s in STAGES)
        print(f"  {name:9s} {r['fps']:8.1f} {stages} {r['faces_per_frame']:12.2f}")
    diff = result["landmark_diff_iod_pct"]
    diff_text = "n/a" if diff is None else f"{diff:.2f}% (p95 {result['landmark_diff_iod_pct_p95']:.2f}%)"
    print(f"  speedup {result['speedup']:.2f}x, landmark difference {diff_text} of IOD over "
          f"{result['paired_faces']} paired faces, {result['track_ids']} track ids")
    if "box_mapping" in result:
        print("  measured box mapping: " + ", ".join(f"{k}={v:.3f}" for k, v in result["box_mapping"].items()))


def run(args: argparse.Namespace) -> int:
    try:
        config = tracker_config(args)
    except ValueError as exc:
        print(f"bench perception: {exc}", file=sys.stderr)
        return 2
    appearance_frames = args.appearance_frames
    if appearance_frames is None:
        try:
            appearance_frames = load_classifier(DEPLOYED_MODEL).appearance_frames
        except (ValueError, OSError) as exc:
            print(f"bench perception: the shipped model: {exc} (or give --appearance-frames)", file=sys.stderr)
            return 2
    threads = args.threads if args.threads is not None else load_perception_threads(args.config)
    pool = PerceptionPool(threads)
    cpu = None if args.all_cores or pool.threads > 1 else pin_to_one_core()
    if not args.video.is_file():
        print(f"bench perception: no video at {args.video} (the shared media folder is missing?)")
        return 2
    detector = LandmarkDetector()
    decode = PipelineStats()
    length = video_frame_count(args.video)
    if args.max_frames is not None:
        length = min(length or args.max_frames, args.max_frames)
    video = compare(lambda: video_stream(args.video, decode, args.max_frames), detector, config, length,
                    args.video.name, args.repeat, pool, appearance_frames)
    video["decode_ms"] = decode.total_ms / (2 * args.repeat * video["frames"])  # two passes a round
    still = None
    if str(args.still) and args.still.is_file():
        image = read_image(args.still)
        frames = lambda: ((i * 1000.0 / 30.0, image) for i in range(args.still_frames))  # noqa: E731
        still = compare(frames, detector, config, args.still_frames, args.still.name, args.repeat, pool,
                        appearance_frames)
    report = {
        "naive_fps": video["naive"]["fps"], "tracked_fps": video["tracked"]["fps"], "speedup": video["speedup"],
        "landmark_diff_iod_pct": video["landmark_diff_iod_pct"],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "cpu": cpu, "video": {"path": str(args.video), **video},
        "still": None if still is None else {"path": str(args.still), **still}, "config": config.to_dict(),
        "threads": pool.threads, "appearance_frames": appearance_frames,
    }
    pool.close()
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"perception benchmark, {'one core (cpu %d)' % cpu if cpu is not None else 'all cores'}, tracked "
          f"pipeline on {pool.threads} thread(s) (faces in parallel; stage times summed over threads), "
          f"faces described for {appearance_frames} appearance frames")
    _print_table(f"video {args.video.name} (decode {video['decode_ms']:.2f} ms/frame, excluded)", video)
    if still is not None:
        _print_table(f"still stream {args.still.name}", still)
    print(f"\npeak RSS {report['peak_rss_mb']:.0f} MB")
    return 0
