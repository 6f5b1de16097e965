"""Annotated-video output (MP4, mpeg4 codec: what OpenCV's bundled FFmpeg writes everywhere)."""

from pathlib import Path

import cv2
import numpy as np


class VideoWriter:
    """Writes BGR frames of one size to an MP4; refuses an unwritable path with a clear error."""

    def __init__(self, path: str | Path, fps: float, size: tuple[int, int]) -> None:
        if not (fps > 0):
            raise ValueError(f"video fps must be > 0, got {fps}")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.size = (int(size[0]), int(size[1]))
        self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), self.size)
        if not self._writer.isOpened():
            raise OSError(f"cannot write video {self.path} (mp4v, {self.size[0]}x{self.size[1]} at {fps} fps)")
        self.frames = 0

    def write(self, frame: np.ndarray) -> None:
        """Append a frame (resized when it differs from the video's size). Shape: (H, W, 3) uint8."""
        if (frame.shape[1], frame.shape[0]) != self.size:
            frame = cv2.resize(frame, self.size)
        self._writer.write(frame)
        self.frames += 1

    def close(self) -> None:
        self._writer.release()

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
