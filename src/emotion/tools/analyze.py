"""`python -m emotion analyze INPUT...`: offline emotion analysis with the component's own pipeline.

Same perception, buffers, model and smoothing as the component (``emotion.engine``), no Ice. INPUT is a
video file, an image, or a folder of frames (sorted by name, ``--fps``). Writes a CSV with one row per
face and frame, optionally an annotated video and a probability-over-time plot, and prints each input's
label timeline.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from emotion.classes import EMOTIONS
from emotion.paths import COMPONENT_CONFIG, DEFAULT_WEIGHTS
from emotion.smoothing import SmoothingConfig
from emotion.states import FaceState
from emotion.tools.preflight import UsageError, check_checkpoint_file, check_writable, float_range

if TYPE_CHECKING:  # torch and dlib are imported once the command line is known to be right
    from emotion.engine import EmotionEngine
    from emotion.perception.tracking import TrackerConfig

DESCRIPTION = "offline emotion analysis of videos, images or frame folders (no Ice needed)"
CSV_COLUMNS = ["input", "frame", "time_s", "track_id", "x", "y", "w", "h", "label", "buffer_frames"] + [
    f"p_{name.lower()}" for name in EMOTIONS
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="video file, image, or folder of frames")
    parser.add_argument("--csv", type=Path, help="write one row per face and frame here")
    parser.add_argument("--video", type=Path, help="write annotated frames to this MP4 (one file per input "
                        "when several inputs: NAME_<input stem>.mp4)")
    parser.add_argument("--plot", type=Path, help="write a PNG of each track's probabilities over time")
    parser.add_argument("--fps", type=float_range(0.0, low_open=True), default=30.0, help="frame rate of image folders (default 30)")
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS, help="model checkpoint")
    parser.add_argument("--config", type=Path, default=COMPONENT_CONFIG,
                        help="component config whose Perception.* settings to track with (default etc/config)")
    parser.add_argument("--time-constant-ms", type=float_range(0.0, 60_000.0), default=SmoothingConfig.time_constant_ms,
                        help=f"probability smoothing time constant in ms, 0 = off "
                             f"(default {SmoothingConfig.time_constant_ms})")
    parser.add_argument("--switch-margin", type=float_range(0.0, 0.99), default=SmoothingConfig.switch_margin,
                        help=f"label hysteresis margin (default {SmoothingConfig.switch_margin})")
    parser.add_argument("--fast-change", type=float_range(0.0, 1.0), default=SmoothingConfig.fast_change,
                        help=f"probability change that halves the time constant, 0 = fixed "
                             f"(default {SmoothingConfig.fast_change})")
    parser.add_argument("--stay-ms", type=float, default=SmoothingConfig.stay_ms,
                        help=f"state filter: mean time an emotion stays, ms, 0 = no filter "
                             f"(default {SmoothingConfig.stay_ms})")
    parser.add_argument("--evidence", type=float, default=SmoothingConfig.evidence,
                        help=f"state filter: exponent of the probabilities as evidence (default {SmoothingConfig.evidence})")
    parser.add_argument("--quiet", action="store_true", help="no timeline summary")


def tracker_config(args: argparse.Namespace) -> TrackerConfig:
    """The component's tracker settings (``--config``); the window then comes from the checkpoint."""
    from emotion.perception.tracking import load_tracker_config

    return load_tracker_config(args.config)


def csv_row(source: str, frame: int, time_s: float, face: FaceState) -> list:
    """One CSV row (CSV_COLUMNS order)."""
    x, y, w, h = face.box
    return [source, frame, f"{time_s:.3f}", face.track_id, x, y, w, h, face.label, face.buffer_frames] + [
        f"{p:.4f}" for p in face.probabilities
    ]


def timeline(rows: list[tuple[float, int, str]]) -> list[tuple[int, str, float, float]]:
    """Runs of one label per track: (track_id, label, start_s, end_s) from (time_s, track_id, label) rows."""
    runs: list[list] = []
    open_run: dict[int, list] = {}
    for time_s, track_id, label in rows:
        run = open_run.get(track_id)
        if run is not None and run[1] == label:
            run[3] = time_s
        else:
            run = [track_id, label, time_s, time_s]
            runs.append(run)
            open_run[track_id] = run
    return [tuple(r) for r in runs]


def video_path_for(base: Path, source: str, several: bool) -> Path:
    """The annotated video's path for one input."""
    return base.with_name(f"{base.stem}_{Path(source).stem}{base.suffix}") if several else base


def frame_total(source: str) -> int | None:
    """How many frames ``source`` has, for the progress bar's total and ETA (None: the video does not say)."""
    from emotion.datasets.video import IMAGE_SUFFIXES, frame_files, video_frame_count

    path = Path(source)
    if path.is_dir():
        return len(frame_files(path))
    return 1 if path.suffix.lower() in IMAGE_SUFFIXES else video_frame_count(path)


def analyze_input(source: str, engine: EmotionEngine, fps: float, writer, video_out: Path | None,
                  plot_series: dict) -> list[tuple[float, int, str]]:
    """Run one input through the engine; write CSV rows and video frames. Returns (time_s, track, label)."""
    from emotion.datasets.video import iter_frames, source_fps
    from emotion.drawing import draw_faces
    from emotion.video_writer import VideoWriter

    labelled: list[tuple[float, int, str]] = []
    video = None
    try:
        for index, time_s, frame in tqdm(iter_frames(source, fps=fps), desc=Path(source).name, unit="frame",
                                         total=frame_total(source), leave=False, file=sys.stderr):
            faces = engine.process(frame, int(round(time_s * 1000)))
            for face in faces:
                if writer is not None:
                    writer.writerow(csv_row(source, index, time_s, face))
                labelled.append((time_s, face.track_id, face.label))
                plot_series.setdefault((source, face.track_id), []).append((time_s, face.probabilities))
            if video_out is not None:
                if video is None:
                    video = VideoWriter(video_out, source_fps(source, fps), (frame.shape[1], frame.shape[0]))
                video.write(draw_faces(frame, faces, engine.classifier.class_names))
    finally:
        if video is not None:
            video.close()
    return labelled


PLOT_SUFFIXES = (".png", ".pdf", ".svg")


def check_outputs(args: argparse.Namespace) -> None:
    """Every output's extension and folder, before any analysis (UsageError / OSError)."""
    missing = [s for s in args.inputs if not Path(s).exists()]
    if missing:
        raise UsageError(f"no such input: {', '.join(missing)}")
    from emotion.datasets.video import IMAGE_SUFFIXES, check_image_file
    for source in args.inputs:
        if Path(source).is_file() and Path(source).suffix.lower() in IMAGE_SUFFIXES:
            check_image_file(source)                             # a decompression bomb: refused from its header
    for path, option, suffixes in ((args.csv, "--csv", (".csv",)), (args.video, "--video", (".mp4",)),
                                   (args.plot, "--plot", PLOT_SUFFIXES)):
        if path is not None:
            check_writable(path, option, suffixes)


def run(args: argparse.Namespace) -> int:
    check_outputs(args)
    check_checkpoint_file(args.weights, "--weights")
    from emotion.engine import EmotionEngine
    from emotion.inference import EmotionClassifier

    tracking = tracker_config(args)
    classifier = EmotionClassifier.from_checkpoint(args.weights)
    try:
        smoothing = SmoothingConfig(args.time_constant_ms, args.switch_margin, args.fast_change, args.stay_ms,
                                    args.evidence)
    except ValueError as exc:
        print(f"analyze: {exc}", file=sys.stderr)
        return 2
    csv_file = open(args.csv, "w", newline="") if args.csv else None
    writer = csv.writer(csv_file) if csv_file else None
    if writer:
        writer.writerow(CSV_COLUMNS)
    plot_series: dict = {}
    written: list[Path] = [args.csv] if args.csv else []
    no_face: list[str] = []
    try:
        for done, source in enumerate(args.inputs):
            engine = EmotionEngine(classifier, tracking, smoothing)
            video_out = video_path_for(args.video, source, len(args.inputs) > 1) if args.video else None
            written += [video_out] if video_out else []
            labelled = analyze_input(source, engine, args.fps, writer, video_out, plot_series)
            if not labelled:
                no_face.append(source)
                print(f"{source}: no face found")
            elif not args.quiet:
                print(f"{source}: {len(labelled)} face-frames")
                for track_id, label, start, end in timeline(labelled):
                    print(f"  track {track_id}: {start:7.2f}-{end:7.2f} s  {label}")
    except KeyboardInterrupt:
        partial = ", ".join(str(p) for p in written if p.exists()) or "no files"
        print(f"emotion analyze: interrupted after {done} of {len(args.inputs)} inputs; partial output left: "
              f"{partial}", file=sys.stderr)
        return 130
    finally:
        if csv_file:
            csv_file.close()
    if args.plot:
        from emotion.plots import plot_probability_timelines

        plot_probability_timelines(plot_series, classifier.class_names, args.plot, no_face)
    return 0
