"""`python -m emotion synth`: write synthetic labelled windows (npz) and a PNG of sample sequences.

`--calibrate` instead measures the synthetic-versus-dlib layout gap on the real clips of shared/media
(neutral frames of each video) and prints the LAYOUT_OFFSET table and dlib's frame-to-frame jitter.
"""

import argparse
import time
from pathlib import Path

import numpy as np

from emotion.defaults import MAX_WINDOW, WINDOW
from emotion.tools.preflight import UsageError, check_writable, int_range

DESCRIPTION = "generate labelled 68-landmark sequences from the Surrey Face Model"
CALIBRATION_CLIPS = ("single_face.mp4", "WolfgangLanger_Pexels.mp4")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--count", type=int_range(1, 10_000_000), default=20000, help="number of windows (default 20000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--out", type=Path, help="output window file (.npz)")
    parser.add_argument("--window", type=int_range(2, MAX_WINDOW), default=WINDOW, help=f"frames per window (default {WINDOW})")
    parser.add_argument("--png", type=Path, help="also draw sample sequences per class to this PNG")
    parser.add_argument("--sfm", type=Path, help="Surrey Face Model folder (default shared/data/sfm)")
    parser.add_argument("--calibrate", action="store_true",
                        help="measure the layout gap and jitter against dlib on shared/media and print them")


def _clip_landmarks(path: Path) -> np.ndarray:
    """dlib landmarks of the largest face of every frame. Shape: -> (F, 68, 2) pixels."""
    import cv2

    from emotion.datasets.video import iter_frames
    from emotion.perception.detector import LandmarkDetector

    detector, out = LandmarkDetector(), []
    for _, _, frame in iter_frames(path):
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        boxes = detector.detect(gray)
        if boxes:
            out.append(detector.landmarks(gray, max(boxes, key=lambda b: b[2] * b[3])))
    if not out:
        raise ValueError(f"no face found in {path}")
    return np.asarray(out, dtype=np.float64)


def _neutral_frames(norm: np.ndarray) -> np.ndarray:
    """Frames with the narrowest closed mouth (a quarter of the clip): the neutral-looking ones.

    Shape: norm (F, 68, 2) normalised -> (F', 68, 2).
    """
    width = np.linalg.norm(norm[:, 54] - norm[:, 48], axis=-1)
    opening = norm[:, 66, 1] - norm[:, 62, 1]
    keep = (width <= np.percentile(width, 25)) & (opening < 0.05)
    return norm[keep] if keep.any() else norm[width <= np.percentile(width, 25)]


def _still_jitter(norm: np.ndarray, frames: int = 15) -> float:
    """dlib jitter (std per landmark coordinate, inter-ocular units) over the stillest stretch of a clip,
    after removing each frame's mean shift; frame-to-frame differences divided by sqrt(2).
    """
    diff = np.diff(norm, axis=0)
    diff -= diff.mean(axis=1, keepdims=True)
    motion = np.sqrt((diff ** 2).mean(axis=(1, 2)))
    run = np.convolve(motion, np.ones(frames) / frames, mode="valid")
    start = int(np.argmin(run))
    return float(np.sqrt((diff[start:start + frames] ** 2).mean()) / np.sqrt(2))


def calibrate(sfm: Path | None) -> int:
    from emotion.datasets import synth
    from emotion.normalize import normalize_landmarks
    from emotion.paths import shared_media

    clips = [shared_media(name) for name in CALIBRATION_CLIPS]
    missing = [str(c) for c in clips if not c.is_file()]
    if missing:
        print(f"calibration needs {', '.join(missing)}")
        return 1
    norms = [normalize_landmarks(_clip_landmarks(c)).astype(np.float64) for c in clips]
    real = np.stack([np.median(_neutral_frames(n), axis=0) for n in norms])
    raw = synth.frontal_neutral_mean(sfm_directory=sfm)
    offset = synth.fit_layout_offset(raw, real)
    corrected = synth.frontal_neutral_mean(layout_correction=True, sfm_directory=sfm)
    before = synth.layout_gap(raw, real.mean(0))
    shipped = synth.layout_gap(corrected, real.mean(0))
    between = synth.layout_gap(real[0], real[1])
    print(f"{'part':12s} {'gap before':>10s} {'gap now':>8s} {'real-real':>9s}   (RMS, inter-ocular units)")
    for part in before:
        print(f"{part:12s} {before[part]:10.3f} {shipped[part]:8.3f} {between[part]:9.3f}")
    for clip, n in zip(CALIBRATION_CLIPS, norms):
        print(f"dlib jitter on the stillest 15 frames of {clip}: {_still_jitter(n):.4f} IOD")
    print("LAYOUT_OFFSET = np.array([")
    for row in range(0, 68, 4):
        print("    " + " ".join(f"[{x:+.3f}, {y:+.3f}]," for x, y in offset[row:row + 4]))
    print("])")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.calibrate:
        return calibrate(args.sfm)
    if args.out is None:
        raise UsageError("--out FILE.npz is required (or --calibrate)")
    check_writable(args.out, "--out", (".npz",))
    if args.png:
        check_writable(args.png, "--png", (".png",))
    from emotion.datasets.sfm import SfmError
    from emotion.datasets.synth import generate_windows

    started = time.perf_counter()
    try:
        windows = generate_windows(args.count, seed=args.seed, window=args.window, sfm_directory=args.sfm)
    except SfmError as exc:
        raise OSError(str(exc)) from None
    path = windows.save(args.out)
    print(f"{len(windows)} windows of {windows.window} frames in {time.perf_counter() - started:.1f} s -> {path}")
    print("classes: " + ", ".join(f"{k} {v}" for k, v in windows.class_counts().items()))
    if args.png:
        from emotion.datasets.synth_plot import plot_samples

        print(f"samples -> {plot_samples(windows, args.png)}")
    return 0
