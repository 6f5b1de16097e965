"""Per-track smoothing of class probabilities, so labels do not flicker on transition frames.

Two stages, both configurable:

1. exponential moving average of the probabilities with a time constant in milliseconds (frame-rate
   independent: ``alpha = 1 - exp(-dt / time_constant_ms)``; 0 disables it);
2. hysteresis on the label: the reported label changes only when another class's smoothed probability
   beats the current label's by at least ``switch_margin``.

The first observation of a track is reported as it is.
"""

import math
from dataclasses import asdict, dataclass

import numpy as np

NOMINAL_FRAME_MS: float = 1000.0 / 30.0


@dataclass(frozen=True)
class SmoothingConfig:
    """Smoothing settings (config keys ``Smoothing.TimeConstantMs`` and ``Smoothing.SwitchMargin``)."""

    time_constant_ms: float = 200.0
    switch_margin: float = 0.10

    def __post_init__(self) -> None:
        if not (math.isfinite(self.time_constant_ms) and self.time_constant_ms >= 0):
            raise ValueError(f"time_constant_ms must be a finite number >= 0, got {self.time_constant_ms}")
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
            alpha = 1.0 - math.exp(-dt / self.config.time_constant_ms)
            smoothed = (1.0 - alpha) * self.probabilities + alpha * p
        self._last_ms = timestamp_ms
        self.probabilities = smoothed
        best = int(np.argmax(smoothed))
        current = self.label_index
        if current is None or smoothed[best] - smoothed[current] >= self.config.switch_margin:
            self.label_index = best
        return smoothed.astype(np.float32)
