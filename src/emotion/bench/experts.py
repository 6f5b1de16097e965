"""`python -m emotion bench experts --weights W.pt`: how much the network's vote should count beside the
still heads where the face's texture is seen (``emotion.models.stgcn``, ``network_weight``).

For each candidate weight the checkpoint's network and heads are kept and only the weight is changed, then
scored on what has an image: the validation photos of a training run (``--stills``, read as held stills
with their descriptors, as ``evaluate`` reads them) and the hand-labelled real clips (``--clips`` over
``--media``, tracked and classified frame by frame as the component does, labelled by the component's
default smoothing, as ``bench temporal`` scores them). Windows without a descriptor (landmarks only) do not
depend on the weight. This is how ``[geometry] network_weight`` was chosen (``weights/MODEL_CARD.md``).
"""

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from emotion.paths import DEFAULT_WEIGHTS, REPO_ROOT, shared_dir

if TYPE_CHECKING:
    from emotion.checkpoint import Checkpoint
    from emotion.datasets.windows import WindowSet

DESCRIPTION = "the network's weight beside the still heads, on validation photos and real clips"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS,
                        help="a checkpoint (.pt) with an appearance head (default: the shipped one)")
    parser.add_argument("--network-weight", type=float, nargs="+", default=[0.0, 0.25, 0.5, 0.75, 1.0],
                        help="weights to score, each in [0, 1] (default: 0 0.25 0.5 0.75 1)")
    parser.add_argument("--stills", type=Path, default=REPO_ROOT / "runs" / "default" / "val" / "photos_muxspace_stills.npz",
                        help="validation stills of a training run (default: runs/default/val/photos_muxspace_stills.npz)")
    parser.add_argument("--clips", type=Path, default=REPO_ROOT / "docs" / "real_clips.csv",
                        help="manifest of hand-labelled real clips (default docs/real_clips.csv)")
    parser.add_argument("--media", type=Path, help="folder of the clips (default ../shared/media)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")


def score_weight(checkpoint: "Checkpoint", weight: float, stills: "WindowSet | None",
                 clips: tuple[Path, Path] | None) -> dict:
    """The figures of one network weight (set in ``checkpoint.model``): the stills' report and the real
    clips' temporal figures (``clips``: manifest, media folder)."""
    import torch

    from emotion.bench.temporal import clip_sequences, score
    from emotion.inference import EmotionClassifier
    from emotion.smoothing import SmoothingConfig
    from emotion.tools.evaluate import predict_windows
    from emotion.training.metrics import evaluate_predictions

    with torch.no_grad():
        checkpoint.model.network_weight.fill_(weight)
    classifier = EmotionClassifier(checkpoint.model, checkpoint.model_config, checkpoint.feature_config,
                                   checkpoint.norm_config, checkpoint.class_names, checkpoint.window)
    figures: dict = {"network_weight": weight}
    if stills is not None:
        probabilities = predict_windows(classifier, stills.landmarks, 256, progress=False, appearance=stills.appearance)
        figures["stills"] = evaluate_predictions(stills.labels, probabilities.argmax(axis=1), classifier.class_names)
    if clips is not None:
        figures["clips"] = score(clip_sequences(classifier, *clips), SmoothingConfig())
    return figures


def _line(figures: dict, class_names: tuple[str, ...]) -> str:
    parts = [f"network weight {figures['network_weight']:4.2f}"]
    if "stills" in figures:
        rep = figures["stills"]
        recall = " ".join(f"{c} {rep['per_class'][c]['recall']:.3f}" for c in class_names)
        parts.append(f"photos: accuracy {rep['accuracy']:.3f} macro-F1 {rep['macro_f1']:.3f} "
                     f"balanced {rep['balanced_macro_f1']:.3f} | recall {recall}")
    if "clips" in figures:
        clip = figures["clips"]
        parts.append(f"clips: onsets {clip['onsets']} median {clip['onset_delay_ms_median']:+.0f} ms "
                     f"p90 {clip['onset_delay_ms_p90']:+.0f} ms, {clip['held_flips_per_min']:.1f} flips/min, "
                     f"held accuracy {clip['held_accuracy']:.3f}")
    return " | ".join(parts)


def run(args: argparse.Namespace) -> int:
    from emotion.checkpoint import load_checkpoint
    from emotion.datasets.windows import WindowSet
    from emotion.models.deploy import has_appearance
    from emotion.training.data import fit_window, to_class_order

    bad = [w for w in args.network_weight if not 0.0 <= w <= 1.0]
    if bad:
        print(f"bench experts: --network-weight must be in [0, 1], got {bad[0]}", file=sys.stderr)
        return 2
    media = args.media or shared_dir() / "media"
    try:
        checkpoint = load_checkpoint(args.weights)
        if not has_appearance(checkpoint.model):
            raise ValueError(f"{args.weights} has no appearance head: its network always counts in full")
        stills = None
        if args.stills.is_file():
            stills = to_class_order(fit_window(WindowSet.load(args.stills), checkpoint.window), checkpoint.class_names)
            if stills.appearance is None:
                raise ValueError(f"{args.stills} has no appearance descriptors (prepare the photos again)")
        else:
            print(f"bench experts: no stills at {args.stills}; photos skipped (train once, or give --stills)",
                  file=sys.stderr)
        clips = (args.clips, media) if media.is_dir() and args.clips.is_file() else None
        if clips is None:
            print(f"bench experts: no clips ({args.clips}) or media ({media}); real clips skipped", file=sys.stderr)
        if stills is None and clips is None:
            print("bench experts: nothing to measure", file=sys.stderr)
            return 1
        rows = []
        for weight in args.network_weight:
            rows.append(score_weight(checkpoint, weight, stills, clips))
            if not args.json:
                print(_line(rows[-1], checkpoint.class_names), flush=True)
    except (OSError, ValueError) as exc:
        print(f"bench experts: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(rows, indent=2))
    return 0
