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
import time
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from emotion.classes import EMOTIONS
from emotion.paths import COMPONENT_CONFIG, DEPLOYED_MODEL
from emotion.perception.pool import available_cores
from emotion.smoothing import SmoothingConfig
from emotion.states import FaceState
from emotion.tools.preflight import UsageError, check_model_file, check_writable, float_range

if TYPE_CHECKING:  # torch and dlib are imported once the command line is known to be right
    from emotion.offline import AnalysisSettings, InputResult
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
    parser.add_argument("--weights", type=Path, default=DEPLOYED_MODEL,
                        help="the model: an ONNX export (.onnx) or a checkpoint (.pt) (default: the shipped one)")
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
    parser.add_argument("--jobs", type=int, default=available_cores(),
                        help="processes over the inputs; with one input, perception threads (default: all cores)")
    parser.add_argument("--classify-every", type=int, default=None, metavar="K",
                        help="classify each track every K-th frame, reusing its last probabilities in between "
                             "(1: every frame; default: the component's Model.ClassifyEvery, or 1 "
                             "when that is 0 = from the load)")
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


def total_frames(sources: list[str]) -> int | None:
    """The frames of all inputs (None when a video does not say or cannot be opened: then no ETA)."""
    try:
        counts = [frame_total(s) for s in sources]
    except (OSError, ValueError):
        return None
    return None if any(c is None for c in counts) else sum(counts)


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


def speed_line(inputs: int, frames: int, started: float, first: float | None, ended: float) -> str:
    """How fast the run went: inputs and frames per second overall, and frames per second once the
    models were loaded (from the first finished frame on)."""
    total = max(ended - started, 1e-9)
    line = f"analyze: {inputs} inputs, {frames} frames in {total:.1f} s ({inputs / total:.1f} inputs/s, " \
           f"{frames / total:.1f} frames/s"
    if first is not None and frames > 1 and ended > first:
        line += f"; {(frames - 1) / (ended - first):.1f} frames/s after the first frame at {first - started:.1f} s"
    return line + ")"


def settings(args: argparse.Namespace) -> AnalysisSettings:
    """What every input is analysed with: the component's tracker and cadence (``--config``), the
    smoothing and cadence options. UsageError for impossible values."""
    from emotion.cadence import CadenceConfig, load_cadence_config, offline_every
    from emotion.offline import AnalysisSettings

    try:
        smoothing = SmoothingConfig(args.time_constant_ms, args.switch_margin, args.fast_change, args.stay_ms,
                                    args.evidence)
        component = load_cadence_config(args.config)
        every = args.classify_every if args.classify_every is not None else offline_every(component)
        cadence = CadenceConfig(every=every, max_every=max(every, component.max_every),
                                model_share=component.model_share)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if every < 1:
        raise UsageError(f"--classify-every must be >= 1, got {every}")
    several = len(args.inputs) > 1 and args.jobs > 1
    return AnalysisSettings(args.weights, tracker_config(args), smoothing, cadence, args.fps,
                            perception_threads=1 if several else args.jobs)


def report(result: InputResult, quiet: bool) -> list[tuple[float, int, str]]:
    """Print one input's timeline (or that it has no face); its (time_s, track_id, label) rows."""
    labelled = [(time_s, face.track_id, face.label) for _, time_s, faces in result.faces for face in faces]
    if not labelled:
        tqdm.write(f"{result.source}: no face found")
    elif not quiet:
        tqdm.write(f"{result.source}: {len(labelled)} face-frames")
        for track_id, label, start, end in timeline(labelled):
            tqdm.write(f"  track {track_id}: {start:7.2f}-{end:7.2f} s  {label}")
    return labelled


def run(args: argparse.Namespace) -> int:
    check_outputs(args)
    check_model_file(args.weights, "--weights")
    if args.jobs < 1:
        raise UsageError(f"--jobs must be >= 1, got {args.jobs}")
    from emotion.offline import Analyzer, analyze_all, in_process, probabilities_series

    config = settings(args)
    several = len(args.inputs) > 1
    jobs = [(source, video_path_for(args.video, source, several) if args.video else None) for source in args.inputs]
    analyzer = None
    if in_process(jobs, args.jobs):  # models and checkpoint errors before any output
        analyzer = Analyzer(config)
    else:
        from emotion.classifier import load_classifier

        load_classifier(args.weights)
    csv_file = open(args.csv, "w", newline="") if args.csv else None
    writer = csv.writer(csv_file) if csv_file else None
    if writer:
        writer.writerow(CSV_COLUMNS)
    plot_series: dict = {}
    written: list[Path] = ([args.csv] if args.csv else []) + [v for _, v in jobs if v]
    no_face: list[str] = []
    failed = done = 0
    # the mean rate since the start: the frames of worker processes arrive an input at a time, in bursts
    # that a smoothed rate reads as seconds (or microseconds) per frame
    progress = tqdm(total=total_frames(args.inputs), desc="analyze", unit="frame", file=sys.stderr, smoothing=0.0)
    started = time.perf_counter()
    first_frame: list[float] = []

    def frame_done(source: str, index: int, time_s: float, faces: list[FaceState]) -> None:
        if not first_frame:
            first_frame.append(time.perf_counter())
        progress.update(1)
        if writer is not None:
            writer.writerows(csv_row(source, index, time_s, face) for face in faces)

    try:
        for result in analyze_all(config, jobs, args.jobs, frame_done, analyzer):
            done += 1
            if result.error:
                failed += 1
                tqdm.write(f"emotion analyze: error: {result.source}: {result.error}", file=sys.stderr)
                continue
            plot_series.update(probabilities_series(result))
            if not report(result, args.quiet):
                no_face.append(result.source)
    except KeyboardInterrupt:
        progress.close()
        partial = ", ".join(str(p) for p in written if p.exists()) or "no files"
        print(f"emotion analyze: interrupted after {done} of {len(args.inputs)} inputs; partial output left: "
              f"{partial}", file=sys.stderr)
        return 130
    finally:
        progress.close()
        if csv_file:
            csv_file.close()
    # worker processes hand back an input's frames only when it is done: no per-frame rate after the first
    first = first_frame[0] if first_frame and analyzer is not None else None
    print(speed_line(len(args.inputs), progress.n, started, first, time.perf_counter()), file=sys.stderr)
    if args.plot:
        from emotion.plots import plot_probability_timelines

        plot_probability_timelines(plot_series, EMOTIONS, args.plot, no_face)
    return 1 if failed else 0
