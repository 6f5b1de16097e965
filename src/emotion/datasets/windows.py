"""WindowSet: labelled landmark windows, the one format that synth, readers, prepare, train and evaluate share.

A window is T consecutive frames of 68 iBUG landmarks in image pixels (not normalised: training and
inference both normalise with ``emotion.normalize.normalize_landmarks``). Its label describes the face at
the END of the window, which is what the component reports. ``groups`` names the identity or video each
window comes from, so validation can be split without leakage.

A set may also carry each window's ``appearance``: the appearance descriptor (``emotion.appearance``) of
its end frame, a zero row where there is none (a photo's still has one; synthetic faces have none).

On disk: one compressed ``.npz`` with ``landmarks`` float16 (N, T, 68, 2), ``labels`` int64 (N,),
``groups`` str (N,), ``class_names`` str (C,), ``meta`` (a JSON string) and, when present,
``appearance`` float16 (N, DESCRIPTOR_SIZE).
"""

import json
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from emotion.appearance import DESCRIPTOR_SIZE
from emotion.atomic import write_atomic
from emotion.classes import EMOTIONS
from emotion.face68 import NUM_LANDMARKS


@dataclass
class WindowSet:
    """Labelled windows. Shape: landmarks (N, T, 68, 2), labels (N,), groups (N,), appearance None or
    (N, DESCRIPTOR_SIZE)."""

    landmarks: np.ndarray
    labels: np.ndarray
    groups: np.ndarray
    class_names: tuple[str, ...] = EMOTIONS
    meta: dict = field(default_factory=dict)
    appearance: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.landmarks = np.asarray(self.landmarks)
        self.labels = np.asarray(self.labels, dtype=np.int64)
        self.groups = np.asarray(self.groups).astype(str)
        self.class_names = tuple(self.class_names)
        n = len(self.landmarks)
        if self.landmarks.ndim != 4 or self.landmarks.shape[2:] != (NUM_LANDMARKS, 2):
            raise ValueError(f"landmarks must be (N, T, {NUM_LANDMARKS}, 2), got {self.landmarks.shape}")
        if self.labels.shape != (n,) or self.groups.shape != (n,):
            raise ValueError(f"labels {self.labels.shape} and groups {self.groups.shape} must both be ({n},)")
        if self.appearance is not None:
            self.appearance = np.asarray(self.appearance)
            if self.appearance.shape != (n, DESCRIPTOR_SIZE):
                stale = self.appearance.ndim == 2 and len(self.appearance) == n
                raise ValueError(f"appearance must be ({n}, {DESCRIPTOR_SIZE}), got {self.appearance.shape}"
                                 + (": descriptors of another version (prepare the photos again)" if stale else ""))
        if n and (self.labels.min() < 0 or self.labels.max() >= len(self.class_names)):
            raise ValueError(f"labels must lie in [0, {len(self.class_names)}), got {self.labels.min()}..{self.labels.max()}")

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def window(self) -> int:
        """Frames per window (T)."""
        return int(self.landmarks.shape[1])

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(self.labels, minlength=len(self.class_names))
        return {name: int(c) for name, c in zip(self.class_names, counts)}

    def subset(self, index: np.ndarray) -> "WindowSet":
        """The windows at ``index`` (boolean mask or integer indices)."""
        return WindowSet(self.landmarks[index], self.labels[index], self.groups[index], self.class_names, dict(self.meta),
                         None if self.appearance is None else self.appearance[index])

    def appearance_or_zeros(self) -> np.ndarray:
        """``appearance``, or zero rows (none seen) when the set has none. Shape: (N, DESCRIPTOR_SIZE) float32."""
        if self.appearance is None:
            return np.zeros((len(self), DESCRIPTOR_SIZE), np.float32)
        return self.appearance.astype(np.float32)

    def save(self, path: str | Path) -> Path:
        """Write the set (landmarks as float16) to ``path``, atomically (``emotion.atomic``)."""
        path = Path(path)
        with write_atomic(path) as tmp:
            self._write(tmp)
        return path

    def _write(self, path: Path) -> None:
        arrays = {} if self.appearance is None else {"appearance": self.appearance.astype(np.float16)}
        np.savez_compressed(
            path,
            landmarks=self.landmarks.astype(np.float16),
            labels=self.labels,
            groups=self.groups,
            class_names=np.asarray(self.class_names),
            meta=np.asarray(json.dumps(self.meta)),
            **arrays,
        )

    @classmethod
    def load(cls, path: str | Path) -> "WindowSet":
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no window file at {path}")
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls(
                    data["landmarks"], data["labels"], data["groups"],
                    tuple(str(c) for c in data["class_names"]), json.loads(str(data["meta"])),
                    data["appearance"] if "appearance" in data.files else None,
                )
        except (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            raise ValueError(f"{path} is not a window file (truncated or corrupt?): {reason}") from None

    @classmethod
    def concatenate(cls, sets: list["WindowSet"]) -> "WindowSet":
        """Join sets with the same class names and window length; appearance is kept when any set has it
        (zero rows for the others)."""
        if not sets:
            raise ValueError("nothing to concatenate")
        names, t = sets[0].class_names, sets[0].window
        for s in sets:
            if s.class_names != names or s.window != t:
                raise ValueError(f"cannot join sets with classes {s.class_names}/T={s.window} and {names}/T={t}")
        return cls(
            np.concatenate([s.landmarks for s in sets]), np.concatenate([s.labels for s in sets]),
            np.concatenate([s.groups for s in sets]), names, {"parts": [s.meta for s in sets]},
            np.concatenate([s.appearance_or_zeros() for s in sets]) if any(s.appearance is not None for s in sets)
            else None,
        )
