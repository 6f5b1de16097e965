"""A figure of sample sequences per class (for docs/synth.md and the model card): landmarks drawn as
connected face parts, several frames across each window, one row per class."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from emotion.datasets.windows import WindowSet  # noqa: E402
from emotion.face68 import CLOSED_PARTS, PARTS  # noqa: E402
from emotion.normalize import normalize_landmarks  # noqa: E402
from emotion.plots import save_figure  # noqa: E402


def draw_landmarks(ax: plt.Axes, points: np.ndarray, colour: str = "k") -> None:
    """Draw one face (68 points, y down) as connected parts on ``ax``. Shape: points (68, 2)."""
    for name, idx in PARTS.items():
        idx = list(idx) + ([idx[0]] if name in CLOSED_PARTS else [])
        ax.plot(points[idx, 0], points[idx, 1], "-", color=colour, lw=1.0)
    ax.set_aspect("equal")
    ax.invert_yaxis()
    ax.axis("off")


def plot_samples(windows: WindowSet, out: str | Path, per_class: int = 2, frames: int = 4, seed: int = 0) -> Path:
    """Save a grid: per class ``per_class`` windows, each shown at ``frames`` evenly spaced frames
    (normalised, so pose roll and size are removed; the last frame is the labelled one)."""
    rng = np.random.default_rng(seed)
    scenarios = windows.meta.get("scenarios")
    rows = len(windows.class_names)
    fig, axes = plt.subplots(rows, per_class * frames, figsize=(1.6 * per_class * frames, 1.9 * rows),
                             squeeze=False)
    times = np.linspace(0, windows.window - 1, frames).round().astype(int)
    for r, name in enumerate(windows.class_names):
        members = np.flatnonzero(windows.labels == r)
        picks = rng.choice(members, min(per_class, len(members)), replace=False) if len(members) else []
        for k in range(per_class):
            for j, t in enumerate(times):
                ax = axes[r, k * frames + j]
                if k >= len(picks):
                    ax.axis("off")
                    continue
                i = picks[k]
                draw_landmarks(ax, normalize_landmarks(windows.landmarks[i, t]), "C3" if j == frames - 1 else "k")
                title = f"t={t}"
                if j == 0:
                    title = f"{name}" + (f" ({scenarios[i]})" if scenarios else "") + f"\nt={t}"
                ax.set_title(title, fontsize=7)
    fig.suptitle("synthetic windows: frames across time, last (red) frame defines the label", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, out, dpi=90)
