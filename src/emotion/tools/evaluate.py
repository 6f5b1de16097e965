"""`python -m emotion evaluate --checkpoint FILE --data WINDOWS.npz [--out DIR] [--json]`.

Runs the checkpoint (``.pt``) or its ONNX export (``.onnx``) through ``emotion.classifier`` (the component's
own prediction path)
on prepared windows and reports accuracy, macro-F1 and per-class precision/recall; with ``--out`` also
metrics.json and confusion.png. Windows of another length are cut or start-padded to the model's window;
classes are matched by name. A set with appearance descriptors (photos prepared by ``prepare``) gives them
to a model with an appearance head. With ``--mirror`` every window is also read as its mirror image (the
landmarks swapped left-right, the descriptor permuted to match): the report of the mirrored set and the
share of windows whose label the mirror changes, which a left-right symmetric model keeps near zero.
"""

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tqdm import tqdm

from emotion.atomic import write_text_atomic
from emotion.paths import DEFAULT_WEIGHTS
from emotion.tools.preflight import int_range

if TYPE_CHECKING:
    from emotion.classifier import Classifier
    from emotion.datasets.windows import WindowSet

DESCRIPTION = "evaluate a checkpoint on prepared windows (accuracy, macro-F1, per-class P/R, confusion PNG)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_WEIGHTS, help="model checkpoint (.pt) or ONNX export (.onnx) (default: shipped)")
    parser.add_argument("--data", type=Path, required=True, help="WindowSet .npz from prepare or synth")
    parser.add_argument("--out", type=Path, help="write metrics.json and confusion.png here")
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON instead of a table")
    parser.add_argument("--batch-size", type=int_range(1, 65536), default=256, help="windows per forward pass")
    parser.add_argument("--mirror", action="store_true",
                        help="also read every window mirrored; report it and the labels the mirror changes")


def predict_windows(classifier, landmarks: np.ndarray, batch_size: int, progress: bool = True,
                    appearance: np.ndarray | None = None) -> np.ndarray:
    """Class probabilities of every window, in batches.

    Shape: landmarks (N, T, 68, 2) pixels, appearance None or (N, DESCRIPTOR_SIZE) -> (N, K) float32.
    """
    if batch_size < 1:
        raise ValueError(f"batch size must be >= 1, got {batch_size}")
    chunks = [classifier.predict(np.asarray(landmarks[i:i + batch_size], dtype=np.float32),
                                 None if appearance is None else appearance[i:i + batch_size])
              for i in tqdm(range(0, len(landmarks), batch_size), desc="evaluate", unit="batch", disable=not progress)]
    return np.concatenate(chunks) if chunks else np.zeros((0, len(classifier.class_names)), np.float32)


def run(args: argparse.Namespace) -> int:
    from emotion.datasets.windows import WindowSet
    from emotion.classifier import load_classifier
    from emotion.training.data import fit_window, to_class_order
    from emotion.training.metrics import evaluate_predictions, format_report
    from emotion.training.plots import plot_confusion

    try:
        classifier = load_classifier(args.checkpoint)
        ws = WindowSet.load(args.data)
        ws = to_class_order(fit_window(ws, classifier.window), tuple(classifier.class_names))
        if len(ws) == 0:
            raise ValueError(f"{args.data} holds no windows")
        probs = predict_windows(classifier, ws.landmarks, args.batch_size, progress=not args.json,
                                appearance=ws.appearance)
        mirrored = mirrored_probabilities(classifier, ws, args.batch_size, not args.json) if args.mirror else None
    except (FileNotFoundError, ValueError) as exc:
        print(f"emotion evaluate: error: {exc}", file=sys.stderr)
        return 1
    rep = evaluate_predictions(ws.labels, probs.argmax(axis=1), classifier.class_names)
    rep.update(checkpoint=str(args.checkpoint), data=str(args.data))
    if mirrored is not None:
        rep["mirrored"] = evaluate_predictions(ws.labels, mirrored.argmax(axis=1), classifier.class_names)
        rep["mirror_changes"] = float(np.mean(mirrored.argmax(axis=1) != probs.argmax(axis=1)))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        write_text_atomic(args.out / "metrics.json", json.dumps(rep, indent=2))
        plot_confusion(np.array(rep["confusion"]), classifier.class_names, args.out / "confusion.png",
                       f"{args.data.name}: acc {rep['accuracy']:.3f}, macro-F1 {rep['macro_f1']:.3f}")
    if args.json:
        print(json.dumps(rep, indent=2))
    else:
        print(format_report(rep))
        if mirrored is not None:
            m = rep["mirrored"]
            print(f"mirrored: accuracy {m['accuracy']:.4f}  macro-F1 {m['macro_f1']:.4f}  balanced macro-F1 "
                  f"{m['balanced_macro_f1']:.4f}; the mirror image changes the label of "
                  f"{rep['mirror_changes']:.4f} of the windows")
    return 0


def mirrored_probabilities(classifier: "Classifier", ws: "WindowSet", batch_size: int, progress: bool) -> np.ndarray:
    """Class probabilities of every window's mirror image (``emotion.training.augment.mirror``; a descriptor
    mirrored by ``emotion.appearance.mirror_descriptor``).

    Shape: ws (N, T, 68, 2) pixels -> (N, K) float32.
    """
    from emotion.appearance import mirror_descriptor
    from emotion.training.augment import mirror

    looks = None if ws.appearance is None else np.ascontiguousarray(mirror_descriptor(ws.appearance))
    return predict_windows(classifier, mirror(np.asarray(ws.landmarks, np.float32)), batch_size, progress, looks)
