"""Plots people would rather look at than read: class probabilities over time per track, and the one
way every figure of the project is saved."""

from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from emotion.atomic import write_atomic  # noqa: E402
from emotion.states import COLOURS  # noqa: E402


def save_figure(fig: plt.Figure, out: str | Path, dpi: int = 100) -> Path:
    """Write ``fig`` to ``out`` (format from its suffix; folders created; atomically), close it, return the path."""
    out = Path(out)
    try:
        with write_atomic(out) as tmp:
            fig.savefig(tmp, dpi=dpi)
    finally:
        plt.close(fig)
    return out


def _rgb(name: str) -> tuple[float, float, float]:
    b, g, r = COLOURS.get(name, (0, 0, 0))
    return r / 255, g / 255, b / 255


def _timeline(ax: plt.Axes, times: np.ndarray, probs: np.ndarray, class_names: Sequence[str]) -> None:
    """Each class's probability against time. Shape: times (T,), probs (T, C)."""
    for i, name in enumerate(class_names):
        ax.plot(times, probs[:, i], label=name, color=_rgb(name), lw=1.5)
    ax.set_xlabel("time (s)", fontsize=8)
    ax.set_ylabel("probability")


def _bars(ax: plt.Axes, probs: np.ndarray, class_names: Sequence[str]) -> None:
    """One bar per class with its value on top (a photo, or a track seen in one frame). Shape: probs (C,)."""
    bars = ax.bar(list(class_names), probs, color=[_rgb(name) for name in class_names])
    for bar, p in zip(bars, probs):
        inside = p > 0.85  # no room above: write it inside the bar's top
        ax.text(bar.get_x() + bar.get_width() / 2, float(p) - 0.03 if inside else float(p) + 0.02, f"{p:.0%}",
                ha="center", va="top" if inside else "bottom", fontsize=8, color="white" if inside else "black")
    ax.set_ylabel("probability")


def plot_probability_timelines(series: dict[tuple[str, int], list[tuple[float, np.ndarray]]],
                               class_names: Sequence[str], out: str | Path, no_face: Sequence[str] = ()) -> Path:
    """One panel per (input, track): each class's probability against time (s), or a bar chart when the
    track has one frame (a photo); one panel per input in ``no_face`` saying so. The legend sits above
    the panels, never on a curve."""
    keys = sorted(series, key=lambda k: (k[0], k[1]))
    if not keys and not no_face:
        raise ValueError("no faces to plot")
    panels = len(keys) + len(no_face)
    fig, axes = plt.subplots(panels, 1, figsize=(10, 2.3 * panels + 0.5), squeeze=False)
    for ax, key in zip(axes[:, 0], keys):
        times = np.array([t for t, _ in series[key]])
        probs = np.stack([p for _, p in series[key]])
        if len(times) == 1:
            _bars(ax, probs[0], class_names)
            what = "one frame"
        else:
            _timeline(ax, times, probs, class_names)
            what = f"{len(times)} frames, {times[0]:.2f}-{times[-1]:.2f} s"
        ax.set_title(f"{Path(key[0]).name}, track {key[1]} ({what})", fontsize=9)
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    for ax, source in zip(axes[len(keys):, 0], no_face):
        ax.text(0.5, 0.5, f"{Path(source).name}: no face found", ha="center", va="center", fontsize=11)
        ax.set_axis_off()
    handles = [plt.Rectangle((0, 0), 1, 1, color=_rgb(name)) for name in class_names]
    fig.legend(handles, class_names, ncol=len(class_names), fontsize=8, loc="upper center", frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.4 / (2.3 * panels + 0.5)))
    return save_figure(fig, out, dpi=100)
