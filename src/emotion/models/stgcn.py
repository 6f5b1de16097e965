"""ST-GCN (Yan et al., 2018) over the face graph: data BN, a loop of blocks over a channel plan, global
average pooling and a linear head."""

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from emotion.models.blocks import STGCNBlock


class STGCN(nn.Module):
    """Spatio-temporal graph convolutional network.

    ``blocks`` is the channel plan: one (out_channels, temporal_stride) pair per block. With
    ``edge_importance`` each block learns a (K, V, V) mask multiplied into the adjacency.

    Shape: x (N, C, T, V) -> logits (N, num_classes).
    """

    def __init__(self, in_channels: int, num_classes: int, A: np.ndarray | torch.Tensor,
                 blocks: Sequence[tuple[int, int]], temporal_kernel: int = 9, dropout: float = 0.0,
                 edge_importance: bool = True) -> None:
        super().__init__()
        A = torch.as_tensor(A, dtype=torch.float32)
        if A.ndim != 3 or A.shape[1] != A.shape[2]:
            raise ValueError(f"adjacency must be (K, V, V), got {tuple(A.shape)}")
        if not blocks:
            raise ValueError("the channel plan needs at least one block")
        k, v = A.shape[0], A.shape[1]
        self.register_buffer("A", A, persistent=False)  # the graph is recorded by the checkpoint, not the weights
        self.data_bn = nn.BatchNorm1d(in_channels * v)
        channels = [in_channels] + [c for c, _ in blocks]
        self.blocks = nn.ModuleList(
            STGCNBlock(c_in, c_out, k, stride, temporal_kernel, dropout)
            for c_in, (c_out, stride) in zip(channels[:-1], blocks))
        self.importance = nn.ParameterList(
            nn.Parameter(torch.ones(k, v, v)) for _ in blocks) if edge_importance else None
        self.head = nn.Linear(channels[-1], num_classes)

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """The last block's output, before pooling.

        Shape: x (N, C, T, V) -> (N, C_last, T', V), T' = T reduced by the strides.
        """
        n, c, t, v = x.shape
        x = self.data_bn(x.permute(0, 3, 1, 2).reshape(n, v * c, t)).view(n, v, c, t).permute(0, 2, 3, 1)
        for i, block in enumerate(self.blocks):
            x = block(x, self.A * self.importance[i] if self.importance is not None else self.A)
        return x

    def classify(self, fmap: torch.Tensor) -> torch.Tensor:
        """Global average pooling and the linear head.

        Shape: fmap (N, C_last, T', V) -> logits (N, num_classes).
        """
        return self.head(fmap.mean(dim=(2, 3)))

    def class_activation(self, fmap: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        """Class activation map (CAM) of one class per sample: the head's weights applied at every (t, v).

        Shape: fmap (N, C_last, T', V), classes (N,) int -> (N, T', V).
        """
        return torch.einsum("nctv,nc->ntv", fmap, self.head.weight[classes])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.feature_map(x))
