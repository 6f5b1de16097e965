"""How often each track is classified: every k-th frame, k fixed or chosen from the load.

The model reruns a track's whole window for one new frame; consecutive windows overlap in all but one
frame, so classifying a track every k-th frame and reusing its last probabilities in between (the
smoother still runs every frame) costs 1/k of the model time for a label at most k - 1 frames older.
Tracks are staggered (a track is due when ``(tick + track_id) % k == 0``), so a room of faces spreads its
classifications over the k frames instead of paying them all in one. A new track is classified at once.

``every = 0`` chooses k from the load: the model may use ``model_share`` of one core; k grows with the
face-frames per second times the measured cost per classified face, up to ``max_every``. One light
camera is classified every frame, a room full of people every ``max_every``-th.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from emotion.configtools import DictConfig

LOAD_HALF_LIFE_S: float = 2.0
"""The load estimate (face-frames per second, ms per classified face) follows changes within seconds."""


@dataclass(frozen=True)
class CadenceConfig(DictConfig):
    """Classification cadence (component keys ``Model.ClassifyEvery``, ``Model.MaxEvery``, ``Model.Share``)."""

    every: int = 0
    """Classify each track every this many frames; 0 = from the load (up to ``max_every``)."""
    max_every: int = 6
    """Largest k chosen from the load (6 frames = 0.2 s at 30 fps, about the smoothing's time constant)."""
    model_share: float = 0.1
    """Fraction of one core the model may use before k grows."""

    def __post_init__(self) -> None:
        if isinstance(self.every, bool) or not isinstance(self.every, int) or self.every < 0:
            raise ValueError(f"cadence every must be an int >= 0, got {self.every!r}")
        if isinstance(self.max_every, bool) or not isinstance(self.max_every, int) or self.max_every < 1:
            raise ValueError(f"cadence max_every must be an int >= 1, got {self.max_every!r}")
        if not (math.isfinite(self.model_share) and 0.0 < self.model_share <= 1.0):
            raise ValueError(f"cadence model_share must lie in (0, 1], got {self.model_share!r}")


EVERY_FRAME = CadenceConfig(every=1)
"""The reference cadence: every track on every frame."""


class ClassifyCadence:
    """The current k (``every``) and the load it is chosen from; ``observe`` after each model call."""

    def __init__(self, config: CadenceConfig = CadenceConfig(), clock=time.monotonic) -> None:
        self.config = config
        self._clock = clock
        self._last_s: float | None = None
        self._face_frames_per_s = 0.0
        self._ms_per_face = 0.0
        self.every = config.every or 1

    @staticmethod
    def due(track_id: int, tick: int, every: int, age: int | None) -> bool:
        """Whether a track is classified this frame: new (``age`` None), its turn, or overdue."""
        return age is None or every <= 1 or (tick + track_id) % every == 0 or age >= 2 * every

    def observe(self, face_frames: int, classified: int, inference_ms: float) -> int:
        """Account one round (``face_frames`` faces seen, ``classified`` of them through the model in
        ``inference_ms``); the k for the next round."""
        if self.config.every:
            return self.every
        now = self._clock()
        if self._last_s is not None:
            dt = max(now - self._last_s, 1e-6)
            weight = 1.0 - 0.5 ** (dt / LOAD_HALF_LIFE_S)
            self._face_frames_per_s += weight * (face_frames / dt - self._face_frames_per_s)
        self._last_s = now
        if classified:
            per_face = inference_ms / classified
            self._ms_per_face = per_face if not self._ms_per_face else 0.9 * self._ms_per_face + 0.1 * per_face
        model_ms_per_s = self._face_frames_per_s * self._ms_per_face
        wanted = math.ceil(model_ms_per_s / (1000.0 * self.config.model_share))
        self.every = int(min(max(wanted, 1), self.config.max_every))
        return self.every


CONFIG_KEYS: dict[str, str] = {"every": "Model.ClassifyEvery", "max_every": "Model.MaxEvery",
                               "model_share": "Model.Share"}
"""The component config key of each CadenceConfig field."""


def load_cadence_config(path=None) -> CadenceConfig:
    """The component's cadence: the ``CONFIG_KEYS`` of the component config at ``path`` (default
    etc/config) over the defaults; ValueError naming the file at fault."""
    from emotion.middleware.config import load_config
    from emotion.paths import COMPONENT_CONFIG

    config = load_config(path or COMPONENT_CONFIG)
    values = {name: config.get(key) for name, key in CONFIG_KEYS.items() if key in config}
    try:
        return CadenceConfig(**{k: float(v) if k == "model_share" else v for k, v in values.items()})
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{config.path}: {exc}") from None


def offline_every(config: CadenceConfig) -> int:
    """The fixed k an offline run uses for the component's cadence: its fixed k, else 1 (every frame, what
    the component does when it has the time, as for one face at 30 fps); offline results must not depend
    on the machine's speed, and analyze is how a user checks what the model says."""
    return config.every or 1
