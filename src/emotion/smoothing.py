"""Per-track smoothing of class probabilities, so labels do not flicker, without lagging an onset.

Three stages, each optional:

1. an exponential moving average of the probabilities whose time constant adapts to the change: frame-rate
   independent ``alpha = 1 - exp(-dt / tau)`` with ``tau = time_constant_ms / (1 + d / fast_change)``,
   where ``d`` is the total-variation distance (half the L1 distance, 0..1) between the new probabilities
   and the smoothed ones. Jitter (small ``d``) is averaged over ``time_constant_ms``; a real change (an
   onset moves ``d`` towards 1) passes within a frame or two, as a one-euro filter lets fast motion
   through. ``fast_change = 0`` keeps the time constant fixed; ``time_constant_ms = 0`` disables stage 1;
2. a sticky state filter (``stay_ms > 0``): the forward pass of a hidden Markov model whose state, the
   face's emotion, stays from one frame to the next with probability ``exp(-dt / stay_ms)`` (else it
   jumps to any class alike) and whose evidence is the averaged probabilities raised to ``evidence``
   per 33 ms of video (at most 1: consecutive windows overlap in all but one frame and are far from
   independent, so a frame never counts as more than one observation; scaled by the frame interval, so
   24 and 30 fps video are filtered alike). The
   shown probabilities are the filter's belief: a near tie that jitter tips back and forth stays with the
   class the face has shown, while a clear change (an onset) overturns the belief within a few frames;
3. optional hysteresis on the label: the reported label changes only when another class's smoothed
   probability beats the current label's by at least ``switch_margin``. While it holds a label that is
   not the top class of the shown probabilities, ``held`` is true and clients should say so.

With ``switch_margin = 0`` (the default) the label is always the top class of the shown probabilities.
The defaults (the state filter alone: ``stay_ms = 300``, ``evidence = 1``) are tuned by
``python -m emotion bench temporal`` on the shipped weights (weights/MODEL_CARD.md, "Onsets and flicker"): the
most onsets labelled by their apex frame while real clips stay right and held faces flip less than once in
two seconds. The first
observation of a track is reported as it is.
"""

import math
from dataclasses import asdict, dataclass

import numpy as np

NOMINAL_FRAME_MS: float = 1000.0 / 30.0
SMOOTHING_KEYS: tuple[str, ...] = ("TimeConstantMs", "SwitchMargin", "FastChange", "StayMs", "Evidence")
"""The component's ``Smoothing.<key>`` config keys, in ``SmoothingConfig`` field order."""


@dataclass(frozen=True)
class SmoothingConfig:
    """Smoothing settings (config keys ``Smoothing.TimeConstantMs``, ``Smoothing.SwitchMargin``,
    ``Smoothing.FastChange``, ``Smoothing.StayMs`` and ``Smoothing.Evidence``)."""

    time_constant_ms: float = 0.0
    switch_margin: float = 0.0
    fast_change: float = 0.1
    stay_ms: float = 300.0
    evidence: float = 1.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.time_constant_ms) and self.time_constant_ms >= 0):
            raise ValueError(f"time_constant_ms must be a finite number >= 0, got {self.time_constant_ms}")
        if not (math.isfinite(self.fast_change) and self.fast_change >= 0):
            raise ValueError(f"fast_change must be a finite number >= 0, got {self.fast_change}")
        if not (math.isfinite(self.stay_ms) and self.stay_ms >= 0):
            raise ValueError(f"stay_ms must be a finite number >= 0, got {self.stay_ms}")
        if not (0.0 < self.evidence <= 1.0):
            raise ValueError(f"evidence must lie in (0, 1], got {self.evidence}")
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
        self._averaged: np.ndarray | None = None
        self._last_ms: float | None = None

    def update(self, probabilities: np.ndarray, timestamp_ms: float) -> np.ndarray:
        """Fold one observation in; returns the shown probabilities (also kept in ``.probabilities``)."""
        p = np.asarray(probabilities, dtype=np.float64)
        dt = NOMINAL_FRAME_MS
        if self._last_ms is not None and timestamp_ms > self._last_ms:  # repeated or out-of-order: one frame
            dt = timestamp_ms - self._last_ms
        self._last_ms = timestamp_ms
        self._averaged = self._average(p, dt)
        shown = self._filter(self._averaged, dt)
        self.probabilities = shown
        best = int(np.argmax(shown))
        current = self.label_index
        if current is None or shown[best] - shown[current] >= self.config.switch_margin:
            self.label_index = best
        return shown.astype(np.float32)

    def _average(self, p: np.ndarray, dt: float) -> np.ndarray:
        """Stage 1: the exponential average with its change-adapted time constant."""
        previous, tau = self._averaged, self.config.time_constant_ms
        if previous is None or tau == 0:
            return p
        if self.config.fast_change > 0:
            tau /= 1.0 + 0.5 * float(np.abs(p - previous).sum()) / self.config.fast_change
        alpha = 1.0 - math.exp(-dt / tau)
        return (1.0 - alpha) * previous + alpha * p

    def _filter(self, q: np.ndarray, dt: float) -> np.ndarray:
        """Stage 2: one forward step of the sticky state filter (the belief after this evidence)."""
        belief = self.probabilities
        if belief is None or self.config.stay_ms == 0:
            return q
        stay = math.exp(-dt / self.config.stay_ms)
        prior = stay * belief + (1.0 - stay) / len(belief)
        weight = self.config.evidence * min(dt / NOMINAL_FRAME_MS, 3.0)     # evidence per 33 ms of video
        posterior = prior * np.power(np.clip(q, 1e-12, 1.0), weight)
        return posterior / posterior.sum()

    @property
    def held(self) -> bool:
        """True while hysteresis keeps a label that is not the top class of the smoothed probabilities."""
        return self.probabilities is not None and self.label_index != int(np.argmax(self.probabilities))
