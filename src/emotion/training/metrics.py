"""Classification figures from a confusion matrix (numpy only): accuracy, macro-F1, per-class P/R/F1.

Convention: ``cm[i, j]`` counts windows of true class i predicted as class j. A class never predicted has
precision 0, a class never present has recall 0 (and is left out of the macro average, which is over the
classes present in the ground truth).

``balanced_macro_f1`` is the macro-F1 the same classifier would get on a class-balanced set (each row of
the confusion matrix scaled to the same support): on real photos, where Happy and Neutral outnumber Sad
30 to 1, plain macro-F1 mostly measures the rare classes' precision against a flood of common ones, not
how the model would do on a balanced test set.
"""

from typing import Sequence

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts of (true, predicted) pairs.

    Shape: y_true (N,), y_pred (N,) ints in [0, num_classes) -> (num_classes, num_classes) int64.
    """
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} must be equal 1-D shapes")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.size and (y.min() < 0 or y.max() >= num_classes):
            raise ValueError(f"{name} values must lie in [0, {num_classes}), got {y.min()}..{y.max()}")
    return np.bincount(y_true * num_classes + y_pred, minlength=num_classes ** 2).reshape(num_classes, num_classes)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros(num.shape, dtype=np.float64), where=den > 0)


def report(cm: np.ndarray, class_names: Sequence[str]) -> dict:
    """Accuracy, macro-F1, macro recall and per-class precision/recall/F1/support, JSON-ready.

    Shape: cm (K, K) with K == len(class_names).
    """
    cm = np.asarray(cm, dtype=np.int64)
    k = len(class_names)
    if cm.shape != (k, k):
        raise ValueError(f"confusion matrix {cm.shape} does not match {k} class names")
    tp = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    precision = _ratio(tp, predicted)
    recall = _ratio(tp, support)
    f1 = _ratio(2 * precision * recall, precision + recall)
    present = support > 0
    total = int(cm.sum())
    rates = _ratio(cm.astype(np.float64), support[:, None].astype(np.float64))      # rows scaled to support 1
    b_precision = _ratio(np.diag(rates), rates.sum(axis=0))
    b_f1 = _ratio(2 * b_precision * recall, b_precision + recall)
    return {
        "n": total,
        "accuracy": float(tp.sum() / total) if total else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "macro_recall": float(recall[present].mean()) if present.any() else 0.0,
        "balanced_macro_f1": float(b_f1[present].mean()) if present.any() else 0.0,
        "per_class": {
            name: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                   "support": int(support[i])}
            for i, name in enumerate(class_names)
        },
        "confusion": cm.tolist(),
        "class_names": list(class_names),
    }


def evaluate_predictions(y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str]) -> dict:
    """``report`` of the confusion matrix of these labels. Shape: y_true (N,), y_pred (N,)."""
    return report(confusion_matrix(y_true, y_pred, len(class_names)), class_names)


def format_report(rep: dict) -> str:
    """A small text table of a ``report``."""
    lines = [f"windows {rep['n']}  accuracy {rep['accuracy']:.4f}  macro-F1 {rep['macro_f1']:.4f}  "
             f"balanced macro-F1 {rep['balanced_macro_f1']:.4f}",
             f"{'class':<10} {'precision':>9} {'recall':>7} {'f1':>7} {'support':>8}"]
    for name, c in rep["per_class"].items():
        lines.append(f"{name:<10} {c['precision']:>9.3f} {c['recall']:>7.3f} {c['f1']:>7.3f} {c['support']:>8d}")
    return "\n".join(lines)
