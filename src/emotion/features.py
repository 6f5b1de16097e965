"""Model input: normalised landmark windows -> (N, C, T, V) tensors of positions and, optionally, velocities.

Velocity is the frame-to-frame difference of the normalised positions, 0 for the first frame.
"""

from dataclasses import dataclass

import numpy as np
import torch

from emotion.configtools import DictConfig
from emotion.face68 import NUM_LANDMARKS


@dataclass(frozen=True)
class FeatureConfig(DictConfig):
    """Which channels the model sees; stored in every checkpoint."""

    velocity: bool = True

    @property
    def channels(self) -> int:
        """Input channels C: x, y (+ dx, dy)."""
        return 4 if self.velocity else 2


def make_features(x: np.ndarray | torch.Tensor, config: FeatureConfig = FeatureConfig()) -> torch.Tensor:
    """Stack positions (and velocities) channel-first.

    Shape: x (N, T, 68, 2) normalised landmarks -> float32 tensor (N, C, T, 68), C = config.channels,
    channels ordered x, y, dx, dy.
    """
    pos = x.float() if isinstance(x, torch.Tensor) else torch.from_numpy(np.asarray(x, dtype=np.float32))
    if pos.ndim != 4 or pos.shape[2:] != (NUM_LANDMARKS, 2):
        raise ValueError(f"expected normalised landmarks of shape (N, T, {NUM_LANDMARKS}, 2), got {tuple(pos.shape)}")
    parts = [pos]
    if config.velocity:
        vel = torch.zeros_like(pos)
        vel[:, 1:] = pos[:, 1:] - pos[:, :-1]
        parts.append(vel)
    return torch.cat(parts, dim=-1).permute(0, 3, 1, 2).contiguous()
