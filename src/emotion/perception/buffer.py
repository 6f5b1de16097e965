"""Per-track ring buffers: the last T landmark frames with their timestamps (the model's input window) and
the last few appearance descriptors (what a model with an appearance head reads, averaged)."""

from collections import deque

import numpy as np

from emotion.appearance import DESCRIPTOR_SIZE
from emotion.face68 import NUM_LANDMARKS


class LandmarkBuffer:
    """The last ``capacity`` frames of one face, oldest first when read.

    Shape: each frame (68, 2) float32 pixels; ``window()`` (T, 68, 2); ``timestamps`` (len,) int64 ms.
    """

    def __init__(self, capacity: int) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"buffer capacity must be a positive int, got {capacity!r}")
        self.capacity = capacity
        self._frames = np.zeros((capacity, NUM_LANDMARKS, 2), dtype=np.float32)
        self._times = np.zeros(capacity, dtype=np.int64)
        self._count = 0  # frames appended so far (the next slot is _count % capacity)

    def __len__(self) -> int:
        return min(self._count, self.capacity)

    def append(self, landmarks: np.ndarray, timestamp_ms: int) -> None:
        """Add the newest frame, dropping the oldest when full. Shape: landmarks (68, 2)."""
        points = np.asarray(landmarks, dtype=np.float32)
        if points.shape != (NUM_LANDMARKS, 2):
            raise ValueError(f"expected landmarks of shape ({NUM_LANDMARKS}, 2), got {points.shape}")
        if not np.isfinite(points).all():
            raise ValueError("landmarks contain NaN or infinity")
        slot = self._count % self.capacity
        self._frames[slot] = points
        self._times[slot] = int(timestamp_ms)
        self._count += 1

    def _order(self) -> np.ndarray:
        """Slot indices oldest first."""
        n = len(self)
        return (np.arange(n) + (self._count - n)) % self.capacity

    @property
    def timestamps(self) -> np.ndarray:
        """Timestamps (ms) of the held frames, oldest first. Shape: (len,) int64."""
        return self._times[self._order()]

    @property
    def latest(self) -> np.ndarray:
        """The newest frame. Shape: (68, 2) float32."""
        if not self._count:
            raise ValueError("the buffer is empty")
        return self._frames[(self._count - 1) % self.capacity].copy()

    def window(self, pad: bool = True) -> np.ndarray:
        """The held frames oldest first; with ``pad`` a short buffer repeats its earliest frame at the front.

        Shape: -> (capacity, 68, 2) float32 with pad, (len, 68, 2) without.
        """
        if not self._count:
            raise ValueError("the buffer is empty: no window to read")
        frames = self._frames[self._order()]
        missing = self.capacity - len(frames)
        if pad and missing:
            frames = np.concatenate([np.repeat(frames[:1], missing, axis=0), frames])
        return frames

    def clear(self) -> None:
        self._count = 0


class AppearanceBuffer:
    """The appearance descriptors (``emotion.appearance``) of a face's last ``capacity`` frames.

    A face need not be described on every frame (the engine describes it on the frames it is classified
    on): each descriptor is kept with its frame's index, and ``mean`` averages those of the ``capacity``
    frames up to the newest, however many of them were described.

    Shape: each descriptor (DESCRIPTOR_SIZE,); ``mean()`` (DESCRIPTOR_SIZE,) float32.
    """

    def __init__(self, capacity: int) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"buffer capacity must be a positive int, got {capacity!r}")
        self.capacity = capacity
        self._descriptors: deque[tuple[int, np.ndarray]] = deque(maxlen=capacity)

    def __len__(self) -> int:
        return len(self._descriptors)

    def append(self, descriptor: np.ndarray, frame: int | None = None) -> None:
        """Add the descriptor of frame ``frame`` (default: the frame after the newest), dropping those more
        than ``capacity`` frames older. Frames must increase."""
        values = np.asarray(descriptor, dtype=np.float32)
        if values.shape != (DESCRIPTOR_SIZE,) or not np.isfinite(values).all():
            raise ValueError(f"expected a finite descriptor of shape ({DESCRIPTOR_SIZE},), got {values.shape}")
        newest = self._descriptors[-1][0] if self._descriptors else None
        frame = (0 if newest is None else newest + 1) if frame is None else int(frame)
        if newest is not None and frame <= newest:
            raise ValueError(f"descriptor frames must increase: {frame} after {newest}")
        self._descriptors.append((frame, values))
        while self._descriptors[0][0] <= frame - self.capacity:
            self._descriptors.popleft()

    def mean(self) -> np.ndarray:
        """The mean of the held descriptors; zeros (none seen) when empty."""
        if not self._descriptors:
            return np.zeros(DESCRIPTOR_SIZE, np.float32)
        return np.mean([values for _, values in self._descriptors], axis=0, dtype=np.float32)

    def clear(self) -> None:
        self._descriptors.clear()
