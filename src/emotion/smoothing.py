"""Per-track smoothing of class probabilities, so labels do not flicker, without lagging an onset.

Two stages, both configurable:

1. an exponential moving average of the probabilities whose time constant adapts to the change: frame-rate
   independent ``alpha = 1 - exp(-dt / tau)`` with ``tau = time_constant_ms / (1 + d / fast_change)``,
   where ``d`` is the total-variation distance (half the L1 distance, 0..1) between the new probabilities
   and the smoothed ones. Jitter (small ``d``) is averaged over ``time_constant_ms``; a real change (an
   onset moves ``d`` towards 1) passes within a frame or two, as a one-euro filter lets fast motion
   through. ``fast_change = 0`` keeps the time constant fixed; ``time_constant_ms = 0`` disables stage 1;
2. optional hysteresis on the label: the reported label changes only when another class's smoothed
   probability beats the current label's by at least ``switch_margin``. While it holds a label that is
   not the top class of the shown probabilities, ``held`` is true and clients should say so.

With ``switch_margin = 0`` (the default) the label is always the top class of the shown probabilities.
The defaults are tuned by ``python -m emotion bench temporal`` (weights/MODEL_CARD.md). The first
observation of a track is reported as it is.
"""

import math
from dataclasses import asdict, dataclass

import numpy as np

NOMINAL_FRAME_MS: float = 1000.0 / 30.0


@dataclass(frozen=True)
class SmoothingConfig:
    """Smoothing settings (config keys ``Smoothing.TimeConstantMs``, ``Smoothing.FastChange`` and
    ``Smoothing.SwitchMargin``)."""

    time_constant_ms: float = 200.0
    switch_margin: float = 0.0
    fast_change: float = 0.1

    def __post_init__(self) -> None:
        if not (math.isfinite(self.time_constant_ms) and self.time_constant_ms >= 0):
            raise ValueError(f"time_constant_ms must be a finite number >= 0, got {self.time_constant_ms}")
        if not (math.isfinite(self.fast_change) and self.fast_change >= 0):
            raise ValueError(f"fast_change must be a finite number >= 0, got {self.fast_change}")
        if not (0.0 <= self.switch_margin < 1.0):
            raise ValueError(f"switch_margin must lie in [0, 1), got {self.switch_margin}")

    def to_dict(self) -> dict:
        return asdict(self)


class TrackSmoother:
    """Smoothed probabilities and a hysteretic label for one track.

    Shape: ``update`` takes probabilities (C,) and returns smoothed (C,) float32.
    """

    def __init__(self, config: SmoothingConfig = SmoothingConfig()) -> None:
        self.config = config
        self.probabilities: np.ndarray | None = None
        self.label_index: int | None = None
        self._last_ms: float | None = None

    def update(self, probabilities: np.ndarray, timestamp_ms: float) -> np.ndarray:
        """Fold one observation in; returns the smoothed probabilities (also kept in ``.probabilities``)."""
        p = np.asarray(probabilities, dtype=np.float64)
        if self.probabilities is None or self.config.time_constant_ms == 0:
            smoothed = p
        else:
            dt = timestamp_ms - self._last_ms if self._last_ms is not None else 0.0
            if dt <= 0:  # repeated or out-of-order timestamp: weigh it like one frame at 30 fps
                dt = NOMINAL_FRAME_MS
            tau = self.config.time_constant_ms
            if self.config.fast_change > 0:
                tau /= 1.0 + 0.5 * float(np.abs(p - self.probabilities).sum()) / self.config.fast_change
            alpha = 1.0 - math.exp(-dt / tau)
            smoothed = (1.0 - alpha) * self.probabilities + alpha * p
        self._last_ms = timestamp_ms
        self.probabilities = smoothed
        best = int(np.argmax(smoothed))
        current = self.label_index
        if current is None or smoothed[best] - smoothed[current] >= self.config.switch_margin:
            self.label_index = best
        return smoothed.astype(np.float32)

    @property
    def held(self) -> bool:
        """True while hysteresis keeps a label that is not the top class of the smoothed probabilities."""
        return self.probabilities is not None and self.label_index != int(np.argmax(self.probabilities))
