"""Training plots: confusion matrix and learning curve PNGs (matplotlib, no display needed)."""

from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from emotion.plots import save_figure  # noqa: E402


def _save(fig: plt.Figure, out: str | Path) -> Path:
    return save_figure(fig, out, dpi=110)


def plot_confusion(cm: np.ndarray, class_names: Sequence[str], out: str | Path, title: str = "") -> Path:
    """Row-normalised confusion matrix (true class per row) with counts, as a PNG.

    Shape: cm (K, K) counts, K == len(class_names).
    """
    cm = np.asarray(cm, dtype=np.float64)
    if cm.shape != (len(class_names),) * 2:
        raise ValueError(f"confusion matrix {cm.shape} does not match {len(class_names)} class names")
    rows = cm.sum(axis=1, keepdims=True)
    frac = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    im = ax.imshow(frac, vmin=0, vmax=1, cmap="Blues")
    for i in range(len(class_names)):
        for j in range(len(class_names)):
            ax.text(j, i, f"{frac[i, j]:.2f}\n({int(cm[i, j])})", ha="center", va="center", fontsize=7,
                    color="white" if frac[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(class_names)), class_names, rotation=30)
    ax.set_yticks(range(len(class_names)), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title or "confusion (row-normalised)", fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    return _save(fig, out)


def plot_learning_curve(history: list[dict], out: str | Path) -> Path:
    """Loss (train, val) and macro-F1 / accuracy (val, and macro-F1 per source when rows have
    ``val_parts_macro_f1``) per epoch from history rows
    ``{"epoch", "train_loss", "val_loss", "val_macro_f1", "val_accuracy"[, "val_parts_macro_f1"]}``."""
    if not history:
        raise ValueError("no epochs to plot")
    epochs = [h["epoch"] for h in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
    ax1.plot(epochs, [h["train_loss"] for h in history], "o-", label="train")
    ax1.plot(epochs, [h["val_loss"] for h in history], "o-", label="validation")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("loss")
    ax1.legend()
    ax2.plot(epochs, [h["val_macro_f1"] for h in history], "o-", label="val macro-F1")
    ax2.plot(epochs, [h["val_accuracy"] for h in history], "s--", label="val accuracy")
    for name in history[-1].get("val_parts_macro_f1", {}):
        ax2.plot(epochs, [h.get("val_parts_macro_f1", {}).get(name, np.nan) for h in history], ".:",
                 label=f"macro-F1 {name}")
    ax2.set_xlabel("epoch")
    ax2.set_ylim(0, 1)
    ax2.legend()
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, out)
