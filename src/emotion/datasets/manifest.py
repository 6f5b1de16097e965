"""A generic manifest CSV of labelled videos -> labelled windows: the way to add your own data.

The manifest has a header and one row per labelled stretch of a source::

    path,label,start,end,group,track
    clips/alice_happy.mp4,Happy,,,alice,
    clips/bob.mp4,Sad,30,120,bob,
    frames/carol_01/,Surprise,,,carol,

``path``: a video file, a folder of frames (sorted by name) or an image, relative to ``root`` (default:
the manifest's folder). ``label``: an emotion.classes name (any case). Optional columns: ``start`` and
``end``, 0-based frame numbers with ``end`` exclusive (empty: from the first / to the last frame);
``group``, the identity for validation splits (empty: the path); ``track``, main/left/right (see
``emotion.datasets.extraction``). Several rows may label different stretches of the same source. A
window is labelled by its last frame; frames outside every stretch only serve as history.
"""

from pathlib import Path

from emotion.classes import class_index
from emotion.datasets.csvfile import read_table
from emotion.datasets.extraction import TRACK_CHOICES, LandmarkExtractor, VideoJob, windows_from_jobs
from emotion.datasets.windows import WindowSet
from emotion.defaults import WINDOW

COLUMNS: tuple[str, ...] = ("path", "label", "start", "end", "group", "track")


def _frame(value: str, where: str, column: str) -> int | None:
    if not value.strip():
        return None
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{where}: {column} must be a frame number, got {value!r}") from None
    if number < 0:
        raise ValueError(f"{where}: {column} must be >= 0, got {number}")
    return number


def manifest_jobs(manifest: str | Path, root: str | Path | None = None) -> list[VideoJob]:
    """The manifest's rows as one job per (source, track), stretches merged in row order."""
    manifest = Path(manifest)
    base = Path(root) if root is not None else manifest.parent
    header, rows = read_table(manifest)
    if not {"path", "label"} <= set(header) or set(header) - set(COLUMNS):
        raise ValueError(f"{manifest}: header must hold path and label, optionally {', '.join(COLUMNS[2:])}; "
                         f"got {', '.join(header) or 'nothing'}")
    jobs: dict[tuple[Path, str], VideoJob] = {}
    for line, row in rows:
        where = f"{manifest}:{line}"
        if not row.get("path"):
            raise ValueError(f"{where}: no path")
        source = base / row["path"]
        if not source.exists():
            raise FileNotFoundError(f"{where}: no video, frame folder or image at {source}")
        try:
            label = class_index(row.get("label", ""))
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        start, end = _frame(row.get("start", ""), where, "start") or 0, _frame(row.get("end", ""), where, "end")
        if end is not None and end <= start:
            raise ValueError(f"{where}: end ({end}) must be after start ({start})")
        track = row.get("track") or "main"
        if track not in TRACK_CHOICES:
            raise ValueError(f"{where}: track must be one of {', '.join(TRACK_CHOICES)}, got {track!r}")
        group = row.get("group") or f"manifest/{row['path']}"
        job = jobs.setdefault((source, track), VideoJob(source, group, (), track))
        job.segments += ((start, end, label),)
    if not jobs:
        raise ValueError(f"{manifest}: no rows")
    return list(jobs.values())


def read_manifest(manifest: str | Path, extractor: LandmarkExtractor, root: str | Path | None = None,
                  window: int = WINDOW, stride: int = 15, single_class: bool = False, min_frames: int | None = None,
                  max_gap: int = 5) -> WindowSet:
    """Windows of every manifest row. Shape: -> WindowSet landmarks (N, window, 68, 2)."""
    jobs = manifest_jobs(manifest, root)
    return windows_from_jobs(jobs, extractor, window, stride, single_class, min_frames, max_gap,
                             meta={"dataset": "manifest", "manifest": str(manifest)})
