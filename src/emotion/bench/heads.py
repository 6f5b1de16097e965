"""`python -m emotion bench heads --stills PHOTOS.npz`: how well the still heads' regression reads photos of
people it was not fitted on, by group k-fold cross-validation, with and without the appearance head.

The regression is the one ``train`` fits after the epochs (``emotion.training.geometry``: class-balanced,
L2 on standardised inputs, each training photo also mirrored and moved onto other face shapes), here on
the photos alone and without the network, so it can be scored on every photo once: each fold is fitted on
the other folds' groups (people, near-duplicates) and predicts its own. This is how the defaults of
``appearance_l2`` and ``identity_copies`` were chosen (``weights/MODEL_CARD.md``); with thousands of photos
per class pooled it is far steadier than the 21 Sad photos of the training run's validation.
"""

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from emotion.face68 import NUM_LANDMARKS
from emotion.tools.preflight import float_range, int_range

if TYPE_CHECKING:
    from emotion.datasets.windows import WindowSet
    from emotion.training.config import GeometryConfig

DESCRIPTION = "group k-fold CV of the still heads (shape, shape + appearance) on prepared photos"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stills", type=Path, required=True, help="photos from prepare (with appearance)")
    parser.add_argument("--appearance-l2", type=float_range(0.0), nargs="+", default=[0.03, 0.1, 0.3],
                        help="appearance head L2 weights to score (default: 0.03 0.1 0.3)")
    parser.add_argument("--l2", type=float_range(0.0), default=None,
                        help="the shape weights' L2 (default: GeometryConfig's)")
    parser.add_argument("--identity-copies", type=int_range(0, 10), default=None,
                        help="copies of each photo moved onto other face shapes (default: GeometryConfig's)")
    parser.add_argument("--identity-scale", type=float_range(0.0), default=None,
                        help="how far a copy moves, times a Neutral photo's offset (default: GeometryConfig's)")
    parser.add_argument("--folds", type=int_range(2, 20), default=5, help="folds of groups")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")


def cross_validate(stills: "WindowSet", appearance_l2: float | None, config: "GeometryConfig", folds: int,
                   seed: int = 0) -> np.ndarray:
    """Out-of-fold predicted classes of every still; ``appearance_l2`` None: shape only. ``config`` is the
    ``GeometryConfig`` whose ``l2``, identity copies and iterations the fit uses (the copies are made from
    each fold's training photos).

    Shape: stills WindowSet (N, 1, 68, 2) -> (N,) int.
    """
    from emotion.normalize import normalize_landmarks
    from emotion.training.geometry import (balanced_weights, fit_logistic, photo_rows, standardise,
                                           with_identity_copies)

    def shape_of(frames: np.ndarray) -> np.ndarray:
        return normalize_landmarks(frames[:, 0]).reshape(len(frames), -1)

    def rows(photos, mirrored: bool) -> tuple[torch.Tensor, np.ndarray]:
        shapes, looks, labels = photo_rows(photos, shape_of, mirrored, appearance_l2 is not None)
        return torch.from_numpy(shapes if looks is None else np.hstack([shapes, looks])), labels

    own, _ = rows(stills, mirrored=False)
    penalty = torch.full((own.shape[1],), config.l2)
    if appearance_l2 is not None:
        penalty[2 * NUM_LANDMARKS:] = appearance_l2          # the descriptor's columns, after the shape's
    groups = np.unique(stills.groups, return_inverse=True)[1]
    fold = np.random.default_rng(seed).integers(0, folds, groups.max() + 1)[groups]
    predicted = np.zeros(len(stills), np.int64)
    classes, rng = len(stills.class_names), np.random.default_rng([seed, 13])
    for k in range(folds):
        fitted = with_identity_copies(stills.subset(fold != k), config.identity_copies, config.identity_scale, rng)
        x, y = rows(fitted, mirrored=True)
        mean, std = standardise(x)
        linear = fit_logistic((x - mean) / std, torch.from_numpy(y), balanced_weights(y, classes, 1.0), penalty,
                              classes, config.max_iter)
        with torch.no_grad():
            predicted[fold == k] = linear((own[fold == k] - mean) / std).argmax(1).numpy()
    return predicted


def run(args: argparse.Namespace) -> int:
    from emotion.datasets.windows import WindowSet
    from emotion.training.config import GeometryConfig
    from emotion.training.metrics import evaluate_predictions

    try:
        stills = WindowSet.load(args.stills)
        given = {"l2": args.l2, "identity_copies": args.identity_copies, "identity_scale": args.identity_scale}
        config = dataclasses.replace(GeometryConfig(), **{k: v for k, v in given.items() if v is not None})
        rows = {}
        for appearance_l2 in [None, *args.appearance_l2]:
            name = "shape" if appearance_l2 is None else f"shape + appearance (l2 {appearance_l2:g})"
            rep = evaluate_predictions(stills.labels, cross_validate(stills, appearance_l2, config, args.folds),
                                       stills.class_names)
            rows[name] = rep
            if not args.json:
                recall = " ".join(f"{c} {rep['per_class'][c]['recall']:.3f}" for c in stills.class_names)
                print(f"{name:32s} accuracy {rep['accuracy']:.3f} macro-F1 {rep['macro_f1']:.3f} "
                      f"balanced {rep['balanced_macro_f1']:.3f} | recall {recall}", flush=True)
    except (OSError, ValueError) as exc:
        print(f"emotion bench heads: error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({name: {k: rep[k] for k in ("accuracy", "macro_f1", "balanced_macro_f1", "per_class")}
                          for name, rep in rows.items()}, indent=2))
    return 0
