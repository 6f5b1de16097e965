"""`python -m emotion bench temporal`: how fast a label follows an onset, and how still it stays when held.

Two kinds of labelled sequences, each classified once frame by frame as the component does (a causal
window of the model's length, its start padded with the earliest frame), then labelled by every smoothing
candidate (``emotion.smoothing``) so all are compared on the same probabilities:

- photo onsets: real face shapes from photos the model was not trained on (``--stills``: a training run's
  ``val/photos_*.npz``) made into sequences (``emotion.datasets.photo_windows.expression_frames``): the rest
  face for ``rest`` frames, a smoothstep onset of 9-30 frames (CK+'s range at 30 fps) to the photo's
  expression, then ``held`` frames of it, with head motion, blinks and dlib-like jitter; Neutral photos are
  held throughout;
- real clips: ``--clips`` (a manifest, default ``docs/real_clips.csv``, frames hand-labelled in ranges) over
  ``--media`` (default ../shared/media), the main face tracked by the component's tracker.

Figures per candidate: onset delay (first frame from which the label is the target for 100 ms, minus the
apex frame, in ms: negative is before the apex; a sequence that never gets there counts as a miss and as
infinitely late), the share of onsets whose label at the apex frame itself is the target (what a reader
of neutral-to-apex sequences such as CK+'s sees at their last frame), the share labelled within 150 ms of
the apex, label changes per minute inside
held stretches (from 500 ms after the apex, whole Neutral sequences, the real clips' ranges after their
first 500 ms) and the share of held frames labelled right.
"""

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotion.classes import EMOTIONS
from emotion.paths import DEPLOYED_MODEL, REPO_ROOT, shared_dir
from emotion.smoothing import SmoothingConfig, TrackSmoother

DESCRIPTION = "onset delay and held-label stability of the smoothing candidates on labelled sequences"
FPS: float = 30.0
SETTLE_FRAMES: int = 3            # the label must stay for this many frames (100 ms) to count as reached
HELD_AFTER_MS: float = 500.0      # held stretches start this long after the apex / the range start
CANDIDATES: tuple[SmoothingConfig, ...] = (
    SmoothingConfig(0.0, 0.0, 0.0, 0.0),                  # the network's own probabilities
    SmoothingConfig(200.0, 0.1, 0.0, 0.0),                # the rule before this benchmark existed
    SmoothingConfig(200.0, 0.0, 0.1, 0.0),                # a change-adapted average alone
    SmoothingConfig(),                                    # the default: the sticky state filter alone ...
    SmoothingConfig(0.0, 0.0, 0.0, 500.0, 1.0),
    SmoothingConfig(0.0, 0.0, 0.0, 700.0, 1.0),           # ... the default before the 96-pixel crop's weights
    SmoothingConfig(0.0, 0.0, 0.0, 700.0, 0.7),
    SmoothingConfig(0.0, 0.0, 0.0, 700.0, 0.3),           # the default before the at-apex figure
    SmoothingConfig(0.0, 0.0, 0.0, 1500.0, 0.3),          # ... stickier
)


@dataclass
class Sequence:
    """Per-frame probabilities of one face and what is true of them.

    Shape: probabilities (F, C); truth (F,) class per frame (-1 unlabelled); held (F,) bool.
    ``apex`` is the frame an onset reaches its target (None: no onset to time), searched for from frame
    ``search_from`` (where the face starts to move, or the previous labelled range ends).
    """

    probabilities: np.ndarray
    truth: np.ndarray
    held: np.ndarray
    apex: int | None
    target: int | None
    search_from: int
    kind: str
    fps: float = FPS


def causal_windows(frames: np.ndarray, window: int) -> np.ndarray:
    """The window the component's buffer holds at each frame (its start padded with the first frame).

    Shape: frames (F, 68, 2) -> (F, window, 68, 2).
    """
    padded = np.concatenate([np.repeat(frames[:1], window - 1, axis=0), frames])
    return np.lib.stride_tricks.sliding_window_view(padded, window, axis=0).transpose(0, 3, 1, 2)


def photo_sequences(classifier, stills_path: Path, per_class: int, seed: int) -> list[Sequence]:
    """Onset (expressive photos) and held (Neutral photos) sequences from a stills file."""
    from emotion.datasets.photo_windows import NEUTRAL, PhotoWindowConfig, class_offsets, expression_frames
    from emotion.datasets.windows import WindowSet
    from emotion.training.augment import AugmentConfig, augment_batch
    from emotion.training.data import to_class_order

    stills = to_class_order(WindowSet.load(stills_path))
    stills = WindowSet(stills.landmarks[:, -1:], stills.labels, stills.groups, stills.class_names, stills.meta)
    offsets = class_offsets(stills)
    rng = np.random.default_rng(seed)
    jitter = AugmentConfig(mirror_p=0.0, rotation_deg=0.0, scale=0.0, aniso=0.0, shift=0.0, jitter=0.015,
                           jitter_max=0.015, speed_p=0.0, pad_p=0.0, dropout_p=0.0)
    motion = PhotoWindowConfig(blink_p=0.5)
    sequences = []
    for c in np.unique(stills.labels):
        chosen = rng.permutation(np.flatnonzero(stills.labels == c))[:per_class]
        for i in chosen:
            rest, ramp, held = int(rng.integers(30, 46)), int(rng.integers(9, 31)), 60
            weight = np.concatenate([np.zeros(rest), (np.arange(1, ramp + 1) / ramp), np.ones(held)])
            weight = weight * weight * (3 - 2 * weight)
            if c == NEUTRAL:
                weight = np.zeros_like(weight)
            frames = expression_frames(stills.landmarks[i:i + 1, 0], np.array([c]), weight[None], offsets,
                                       np.array([c == NEUTRAL]), rng, motion)
            frames = augment_batch(frames, jitter, rng)[0]
            probs = classifier.predict(causal_windows(frames, classifier.window))
            apex = rest + ramp - 1
            truth = np.full(len(frames), NEUTRAL)
            truth[apex:] = c
            held_mask = np.zeros(len(frames), bool)
            if c == NEUTRAL:
                held_mask[:] = True
                sequences.append(Sequence(probs, truth, held_mask, None, None, 0, "photo held neutral"))
            else:
                held_mask[apex + int(HELD_AFTER_MS * FPS / 1000):] = True
                held_mask[10:rest] = True     # the rest stretch before the onset is held Neutral
                sequences.append(Sequence(probs, truth, held_mask, apex, int(c), rest, "photo onset"))
    return sequences


def clip_sequences(classifier, manifest: Path, media: Path) -> list[Sequence]:
    """The hand-labelled real clips: main face's raw probabilities per frame, ranges as truth."""
    from emotion.datasets.manifest import manifest_jobs
    from emotion.datasets.video import iter_frames, source_fps
    from emotion.engine import EmotionEngine

    sequences = []
    for job in manifest_jobs(manifest, media):
        engine = EmotionEngine(classifier, smoothing=CANDIDATES[0])
        per_track: dict[int, dict[int, np.ndarray]] = {}
        count = 0
        for index, time_s, frame in iter_frames(job.source):
            for face in engine.process(frame, int(round(time_s * 1000))):
                per_track.setdefault(face.track_id, {})[index] = face.probabilities
            count = index + 1
        if not per_track:
            continue
        seen = max(per_track.values(), key=len)
        probs = np.full((count, len(EMOTIONS)), np.nan, np.float32)
        for index, p in seen.items():
            probs[index] = p
        truth = job.frame_labels(count)
        held = np.zeros(count, bool)
        fps = source_fps(job.source)
        skip = int(HELD_AFTER_MS * fps / 1000)
        ordered = sorted(job.segments)
        for k, (start, end, label) in enumerate(ordered):
            held[start + skip:count if end is None else end] = True
            if k and ordered[k - 1][2] != label and ordered[k - 1][1] is not None:
                sequences.append(Sequence(probs, truth, np.zeros(count, bool), start, label, ordered[k - 1][1],
                                          "clip onset", fps))
        sequences.append(Sequence(probs, truth, held, None, None, 0, "clip held", fps))
    return sequences


def smoothed_labels(probabilities: np.ndarray, config: SmoothingConfig, fps: float = FPS) -> np.ndarray:
    """The label a candidate shows at each frame (-1 where there is no face). Shape: (F, C) -> (F,)."""
    smoother = TrackSmoother(config)
    out = np.full(len(probabilities), -1)
    for f, p in enumerate(probabilities):
        if np.isfinite(p).all():
            smoother.update(p, f * 1000.0 / fps)
            out[f] = smoother.label_index
    return out


def onset_delay_ms(labels: np.ndarray, apex: int, target: int, search_from: int, fps: float = FPS) -> float:
    """Delay of the first settled target label after ``search_from`` relative to the apex (inf: never)."""
    hit = labels == target
    for f in range(search_from, len(labels) - SETTLE_FRAMES + 1):
        if hit[f:f + SETTLE_FRAMES].all():
            return (f - apex) * 1000.0 / fps
    return float("inf")


def score(sequences: list[Sequence], config: SmoothingConfig) -> dict:
    """One candidate's figures over the sequences (see the module docstring)."""
    delays, at_apex, flips, held_frames, held_right, minutes = [], [], 0, 0, 0, 0.0
    for seq in sequences:
        labels = smoothed_labels(seq.probabilities, config, seq.fps)
        if seq.apex is not None:
            delays.append(onset_delay_ms(labels, seq.apex, seq.target, seq.search_from, seq.fps))
            at_apex.append(labels[seq.apex] == seq.target)
        shown = seq.held & (labels >= 0)
        if shown.any():
            idx = np.flatnonzero(shown)
            runs = np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1)
            flips += sum(int((np.diff(labels[r]) != 0).sum()) for r in runs)
            held_frames += int(shown.sum())
            minutes += shown.sum() / seq.fps / 60.0
            held_right += int((labels[shown] == seq.truth[shown]).sum())
    delays = np.array(delays)
    finite = np.isfinite(delays)
    return {
        "onsets": int(len(delays)),
        "onset_delay_ms_median": float(np.median(delays)) if len(delays) else None,
        "onset_delay_ms_p90": float(np.percentile(delays, 90, method="higher")) if len(delays) else None,
        "onset_at_apex": float(np.mean(at_apex)) if at_apex else None,
        "onset_within_150ms": float(np.mean(delays <= 150.0)) if len(delays) else None,
        "onset_missed": float(np.mean(~finite)) if len(delays) else None,
        "held_minutes": round(minutes, 2),
        "held_flips_per_min": flips / minutes if minutes else None,
        "held_accuracy": held_right / held_frames if held_frames else None,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--weights", type=Path, default=DEPLOYED_MODEL,
                        help="the model, .onnx or .pt (default: the shipped one)")
    parser.add_argument("--stills", type=Path, default=REPO_ROOT / "runs" / "default" / "val" / "photos_muxspace_stills.npz",
                        help="validation stills of a training run (default: runs/default/val/photos_muxspace_stills.npz)")
    parser.add_argument("--per-class", type=int, default=40, help="photo sequences per class (default 40)")
    parser.add_argument("--clips", type=Path, default=REPO_ROOT / "docs" / "real_clips.csv",
                        help="manifest of hand-labelled real clips (default docs/real_clips.csv)")
    parser.add_argument("--media", type=Path, help="folder of the clips (default ../shared/media)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the photo sequences (default 0)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")


def _table(results: dict) -> str:
    lines = []
    for part, rows in results.items():
        lines.append(f"[{part}]")
        lines.append(f"{'tau ms':>6} {'margin':>6} {'fast':>5} {'stay ms':>7} {'evid':>4} | {'onsets':>6} {'median':>7} {'p90':>7} "
                     f"{'apex':>5} {'<=150':>6} {'missed':>6} | {'flips/min':>9} {'held acc':>8}")
        for row in rows:
            c, r = row["config"], row["figures"]

            def f(key: str, fmt: str) -> str:
                v = r[key]
                return format(v, fmt) if v is not None and np.isfinite(v) else "-" if v is None else "inf"
            lines.append(f"{c['time_constant_ms']:>6.0f} {c['switch_margin']:>6.2f} {c['fast_change']:>5.2f} "
                         f"{c['stay_ms']:>7.0f} {c['evidence']:>4.1f} | "
                         f"{r['onsets']:>6d} {f('onset_delay_ms_median', '7.0f')} {f('onset_delay_ms_p90', '7.0f')} "
                         f"{f('onset_at_apex', '5.2f')} {f('onset_within_150ms', '6.2f')} {f('onset_missed', '6.2f')} | "
                         f"{f('held_flips_per_min', '9.2f')} {f('held_accuracy', '8.3f')}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from emotion.classifier import load_classifier

    if args.per_class < 1:
        print("bench temporal: --per-class must be >= 1", file=sys.stderr)
        return 2
    media = args.media or shared_dir() / "media"
    try:
        classifier = load_classifier(args.weights, threads=2)
        parts: dict[str, list[Sequence]] = {}
        if args.stills.is_file():
            try:
                parts["photo sequences"] = photo_sequences(classifier, args.stills, args.per_class, args.seed)
            except ValueError as exc:  # a readable file that cannot make onsets (no Neutral photo, ...)
                print(f"bench temporal: {args.stills}: {exc}; photo sequences skipped", file=sys.stderr)
        else:
            print(f"bench temporal: no stills at {args.stills}; photo sequences skipped "
                  f"(train once, or give --stills)", file=sys.stderr)
        if media.is_dir() and args.clips.is_file():
            parts["real clips"] = clip_sequences(classifier, args.clips, media)
        else:
            print(f"bench temporal: no clips ({args.clips}) or media ({media}); real clips skipped", file=sys.stderr)
    except (OSError, ValueError) as exc:
        print(f"bench temporal: {exc}", file=sys.stderr)
        return 1
    if not parts:
        print("bench temporal: nothing to measure", file=sys.stderr)
        return 1
    results = {name: [{"config": c.to_dict(), "figures": score(seqs, c)} for c in CANDIDATES]
               for name, seqs in parts.items()}
    print(json.dumps(results, indent=2) if args.json else _table(results))
    return 0
