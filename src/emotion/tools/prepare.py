"""`python -m emotion prepare`: turn a labelled dataset into a window file for training and evaluation.

Videos (Aff-Wild2, a manifest, CK+ sequences without landmark files) and labelled photos (``photos``: a
folder per label or a CSV of path,label[,group]; ``muxspace``: that repository's layout) go through the
component's own perception, cached per video or photo (``--cache``) so a second or interrupted run only
does what is left, over ``--jobs`` processes (default: all cores). RAVDESS CSVs and CK+ landmark files are read as they are.
Photos become one-frame windows (stills); training turns them into held and onset windows
(``kind = "photos"`` sources). See docs/datasets.md.
"""

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from emotion.datasets.windows import WindowSet
from emotion.defaults import MAX_WINDOW, WINDOW
from emotion.paths import CACHE_DIR, COMPONENT_CONFIG
from emotion.perception.pool import available_cores
from emotion.tools.preflight import float_range, int_range

if TYPE_CHECKING:
    from emotion.datasets.extraction import LandmarkExtractor
    from emotion.perception.tracking import TrackerConfig

DESCRIPTION = ("turn a labelled dataset (videos: affwild2, ckplus, ravdess, manifest; photos: photos, muxspace) "
               "into landmark windows")
FORMATS: tuple[str, ...] = ("affwild2", "ckplus", "ravdess", "manifest", "photos", "muxspace")
DEFAULT_STRIDE: dict[str, int] = {"affwild2": 15, "ckplus": 1, "ravdess": 15, "manifest": 15}
NEEDS: dict[str, tuple[str, ...]] = {"affwild2": ("root", "annotations"), "ckplus": ("root",), "ravdess": ("root",),
                                     "manifest": ("manifest",), "muxspace": ("root",)}
DEFAULT_CACHE: Path = CACHE_DIR / "landmarks"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", required=True, choices=FORMATS, help="dataset layout (docs/datasets.md)")
    parser.add_argument("--root", type=Path, help="dataset folder (videos, CK+ root, RAVDESS CSVs, a photo folder "
                        "per label, the muxspace checkout; manifest paths are relative to it, default: the "
                        "manifest's folder)")
    parser.add_argument("--annotations", type=Path, help="Aff-Wild2 EXPR annotation folder")
    parser.add_argument("--manifest", type=Path, help="manifest CSV (videos: path,label[,start,end,group,track]; "
                        "photos: path,label[,group])")
    parser.add_argument("--out", type=Path, required=True, help="window file to write (.npz)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                        help=f"landmark cache folder (default {DEFAULT_CACHE})")
    parser.add_argument("--config", type=Path, default=COMPONENT_CONFIG,
                        help="component config whose Perception.* settings to track with (default etc/config)")
    parser.add_argument("--jobs", "--workers", dest="workers", type=int_range(1, 64), default=available_cores(),
                        help="parallel perception processes, each building its detector and predictor once "
                             "(default: all cores; --workers is the older name)")
    parser.add_argument("--window", type=int_range(1, MAX_WINDOW), default=WINDOW, help=f"frames per window (default {WINDOW})")
    parser.add_argument("--stride", type=int_range(1, MAX_WINDOW), help="frames between window ends (default: affwild2, ravdess, "
                        "manifest 15; ckplus 1)")
    parser.add_argument("--min-frames", type=int_range(1, MAX_WINDOW), help="manifest: real frames a window needs (default: the "
                        "window, or the whole clip when shorter); fewer are padded with the earliest frame")
    parser.add_argument("--fps", type=float_range(0.0, low_open=True), help="frame rate of frame folders (default 30)")
    parser.add_argument("--max-gap", type=int_range(0, MAX_WINDOW), default=5, help="missing-face gaps up to this many frames are "
                        "interpolated (default 5)")


def _required(args: argparse.Namespace, *names: str) -> str | None:
    missing = [f"--{n.replace('_', '-')}" for n in names if getattr(args, n) is None]
    return f"prepare --format {args.format} needs {', '.join(missing)}" if missing else None


def tracker_config(args: argparse.Namespace) -> "TrackerConfig":
    """The component's tracker settings (``Perception.*`` of ``--config``), for every extraction process."""
    from emotion.perception.tracking import load_tracker_config

    return load_tracker_config(args.config)


def make_extractor(args: argparse.Namespace) -> "LandmarkExtractor":
    """The cached, parallel landmark extraction the arguments describe."""
    from emotion.datasets.extraction import LandmarkExtractor

    return LandmarkExtractor(args.cache, tracker_config(args), workers=args.workers, fps=args.fps)


def build(args: argparse.Namespace, extractor: "LandmarkExtractor") -> WindowSet:
    """The window set the arguments describe; videos and photos go through ``extractor``."""
    from emotion.datasets import affwild2, ckplus, manifest, ravdess

    if args.format in ("photos", "muxspace"):
        from emotion.datasets import photos

        if args.format == "muxspace":
            listed = photos.muxspace_photos(args.root)
        else:
            listed = photos.csv_photos(args.manifest, args.root) if args.manifest else photos.folder_photos(args.root)
        return photos.read_photos(listed, extractor, args.format)
    stride = args.stride or DEFAULT_STRIDE[args.format]
    if args.format == "affwild2":
        return affwild2.read_affwild2(args.root, args.annotations, extractor, args.window, stride, args.max_gap)
    if args.format == "ckplus":
        return ckplus.read_ckplus(args.root, extractor, args.window, stride, max_gap=args.max_gap)
    if args.format == "ravdess":
        return ravdess.read_ravdess(args.root, args.window, stride, max_gap=args.max_gap)
    return manifest.read_manifest(args.manifest, extractor, args.root, args.window, stride,
                                  min_frames=args.min_frames, max_gap=args.max_gap)


def run(args: argparse.Namespace) -> int:
    problem = _required(args, *NEEDS.get(args.format, ()))
    if problem is None and args.format == "photos" and (args.root is None) == (args.manifest is None):
        problem = "prepare --format photos needs either --root (a folder per label) or --manifest (a CSV)"
    if problem is None and (args.window < 1 or (args.stride is not None and args.stride < 1) or args.workers < 1):
        problem = "--window, --stride and --jobs must be at least 1"
    if problem:
        print(f"emotion prepare: error: {problem}", file=sys.stderr)
        return 2
    try:
        extractor = make_extractor(args)
        windows = build(args, extractor)
    except (OSError, ValueError) as exc:
        print(f"emotion prepare: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"emotion prepare: interrupted; finished videos stay cached in {args.cache}, run again to resume",
              file=sys.stderr)
        return 130
    for source, error in extractor.failures.items():
        print(f"prepare: skipped {source}: {error}", file=sys.stderr)
    if len(windows) == 0:
        print("emotion prepare: error: no windows came out (check labels, --window and --min-frames)", file=sys.stderr)
        return 1
    windows.save(args.out)
    counts = ", ".join(f"{name} {n}" for name, n in windows.class_counts().items())
    print(f"{args.out}: {len(windows)} windows of {windows.window} frames from {len(set(windows.groups))} "
          f"groups ({counts})")
    if "no_face" in windows.meta:
        m = windows.meta
        print(f"{m['photos']} photos: {m['no_face']} without a face ({m['unreadable']} unreadable), "
              f"{m['near_duplicate_pairs']} near-duplicate pairs grouped, labels dropped: {m['dropped_labels'] or 'none'}")
    return 0
