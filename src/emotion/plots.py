"""Plots people would rather look at than read: class probabilities over time per track, and the one
way every figure of the project is saved."""

from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from emotion.states import COLOURS  # noqa: E402


def save_figure(fig: plt.Figure, out: str | Path, dpi: int = 100) -> Path:
    """Write ``fig`` as a PNG to ``out`` (folders created), close it, return the path."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi)
    plt.close(fig)
    return out


def plot_probability_timelines(series: dict[tuple[str, int], list[tuple[float, np.ndarray]]],
                               class_names: Sequence[str], out: str | Path) -> Path:
    """One panel per (input, track): each class's smoothed probability against time (s)."""
    keys = sorted(series, key=lambda k: (k[0], k[1]))
    if not keys:
        raise ValueError("no faces to plot")
    fig, axes = plt.subplots(len(keys), 1, figsize=(10, 2.2 * len(keys)), squeeze=False, sharey=True)
    for ax, key in zip(axes[:, 0], keys):
        times = np.array([t for t, _ in series[key]])
        probs = np.stack([p for _, p in series[key]])
        for i, name in enumerate(class_names):
            b, g, r = COLOURS.get(name, (0, 0, 0))
            ax.plot(times, probs[:, i], label=name, color=(r / 255, g / 255, b / 255), lw=1.5)
        ax.set_title(f"{Path(key[0]).name}, track {key[1]}", fontsize=9)
        ax.set_ylim(0, 1)
        ax.set_ylabel("p")
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("time (s)")
    axes[0, 0].legend(ncol=len(class_names), fontsize=8, loc="upper right")
    fig.tight_layout()
    return save_figure(fig, out, dpi=100)
