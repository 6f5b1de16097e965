"""RA-GCN-style multi-stream network (after Song et al., "Richly Activated GCN", 2019).

Each stream is an ST-GCN. Stream 1 sees the whole input; stream s sees the input multiplied by
prod_{i<s} (1 - CAM_i), where CAM_i is stream i's class activation map for its predicted class, rectified,
scaled to [0, 1] per sample and stretched back to the input's T. Later streams are thus pushed towards
the landmarks and frames that earlier streams did not rely on. Masks carry no gradient.

Training: ``model(x)`` gives the combined logits (the mean of the streams' logits); ``model.stream_logits(x)``
gives each stream's logits, for an extra cross-entropy per stream:
``loss = CE(combined, y) + sum_s CE(stream_s, y)``. ``combine(stream_logits(x))`` equals ``model(x)``, so
a training loop can get both from one forward pass.
"""

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from emotion.models.stgcn import STGCN


class RAGCN(nn.Module):
    """Multi-stream ST-GCN with CAM-based input masking.

    Shape: x (N, C, T, V) -> logits (N, num_classes).
    """

    def __init__(self, in_channels: int, num_classes: int, A: np.ndarray | torch.Tensor,
                 blocks: Sequence[tuple[int, int]], num_streams: int = 2, temporal_kernel: int = 9,
                 dropout: float = 0.0, edge_importance: bool = True) -> None:
        super().__init__()
        if num_streams < 2:
            raise ValueError(f"RA-GCN needs at least 2 streams, got {num_streams}")
        self.streams = nn.ModuleList(
            STGCN(in_channels, num_classes, A, blocks, temporal_kernel, dropout, edge_importance)
            for _ in range(num_streams))

    @staticmethod
    def _mask(cam: torch.Tensor, t: int) -> torch.Tensor:
        """1 - CAM scaled to [0, 1], at the input's T. Shape: cam (N, T', V) -> (N, 1, T, V)."""
        cam = F.relu(cam)
        cam = cam / cam.amax(dim=(1, 2), keepdim=True).clamp_min(1e-6)
        return 1.0 - F.interpolate(cam[:, None], size=(t, cam.shape[-1]), mode="nearest")

    def stream_logits(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Each stream's logits, stream s fed the input masked by the earlier streams' CAMs.

        Shape: x (N, C, T, V) -> list of num_streams tensors (N, num_classes).
        """
        mask = torch.ones_like(x[:, :1])
        out = []
        for s, stream in enumerate(self.streams):
            fmap = stream.feature_map(x * mask)
            logits = stream.classify(fmap)
            out.append(logits)
            if s + 1 < len(self.streams):
                cam = stream.class_activation(fmap, logits.argmax(dim=1))
                mask = mask * self._mask(cam, x.shape[2]).detach()
        return out

    @staticmethod
    def combine(stream_logits: list[torch.Tensor]) -> torch.Tensor:
        """The combined prediction. Shape: list of (N, K) -> (N, K)."""
        return torch.stack(stream_logits).mean(dim=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.combine(self.stream_logits(x))
