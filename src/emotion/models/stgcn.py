"""ST-GCN (Yan et al., 2018) over the face graph: data BN, a loop of blocks over a channel plan, global
average pooling and a linear head; optionally a geometry head and an appearance head beside it.

The geometry head is a linear classifier of the face's shape at the end of the window (the normalised
x, y of the last ``geometry_frames`` frames, averaged) whose logits are added to the network's: a
product of two experts. It is not trained with the network (it starts at zero, which adds nothing) but
fitted after it, mostly on real photos (``emotion.training.geometry``): global pooling over frames and
nodes keeps what the graph convolutions found but not where each landmark is, and a linear read of the
shape itself, fitted on real faces, reads new people's expressions better (``weights/MODEL_CARD.md``).

The appearance head is a linear classifier of the face's texture (``emotion.appearance``: a HOG
descriptor of the face crop, averaged over the last frames by the caller) fitted together with the
geometry head. A window without appearance (landmarks only: synthetic faces, a landmark file) passes
a zero descriptor, and the head then adds nothing.

Where a descriptor is seen, the network's logits count ``network_weight`` times (a buffer, 1 until the
heads' fit sets it, ``[geometry] network_weight``): the network was trained on the same photos the heads
were fitted on and reads new people's stills less well than the regularised heads do, so with the
texture in hand its vote counts less (``weights/MODEL_CARD.md``, "Expert weights"). A window without a
descriptor keeps the network at full weight: there the network and the geometry head are all there is.
"""

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from emotion.appearance import DESCRIPTOR_SIZE
from emotion.models.blocks import STGCNBlock


class STGCN(nn.Module):
    """Spatio-temporal graph convolutional network.

    ``blocks`` is the channel plan: one (out_channels, temporal_stride) pair per block. With
    ``edge_importance`` each block learns a (K, V, V) mask multiplied into the adjacency. With
    ``geometry_frames`` > 0 the geometry head adds its logits (channels 0 and 1 of the input must be the
    x, y positions, as ``emotion.features.make_features`` orders them). With ``appearance`` the appearance
    head adds the logits of a descriptor per window (zero descriptor: nothing), and the network's own
    logits count ``network_weight`` times where a descriptor is seen.

    Shape: x (N, C, T, V), appearance (N, DESCRIPTOR_SIZE) -> logits (N, num_classes).
    """

    def __init__(self, in_channels: int, num_classes: int, A: np.ndarray | torch.Tensor,
                 blocks: Sequence[tuple[int, int]], temporal_kernel: int = 9, dropout: float = 0.0,
                 edge_importance: bool = True, geometry_frames: int = 0, appearance: bool = False) -> None:
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
        self.geometry_frames = geometry_frames
        self.geometry = nn.Linear(2 * v, num_classes) if geometry_frames else None
        self.appearance = nn.Linear(DESCRIPTOR_SIZE, num_classes) if appearance else None
        for head in (self.geometry, self.appearance):
            if head is not None:
                nn.init.zeros_(head.weight)
                nn.init.zeros_(head.bias)
        if appearance:   # fitted with the heads, saved with the weights; not trained
            self.register_buffer("network_weight", torch.tensor(1.0))

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """The last block's output, before pooling.

        Shape: x (N, C, T, V) -> (N, C_last, T', V), T' = T reduced by the strides.
        """
        n, c, t, v = x.shape
        x = self.data_bn(x.permute(0, 3, 1, 2).reshape(n, v * c, t)).view(n, v, c, t).permute(0, 2, 3, 1)
        for i, block in enumerate(self.blocks):
            x = block(x, self.A * self.importance[i] if self.importance is not None else self.A)
        return x

    def geometry_input(self, x: torch.Tensor) -> torch.Tensor:
        """What the geometry head reads: the mean x, y of the last ``geometry_frames`` frames, channel-major.

        Shape: x (N, C, T, V) model input -> (N, 2 * V).
        """
        return x[:, :2, -self.geometry_frames:].mean(dim=2).flatten(1)

    def classify(self, fmap: torch.Tensor) -> torch.Tensor:
        """Global average pooling and the linear head.

        Shape: fmap (N, C_last, T', V) -> logits (N, num_classes).
        """
        return self.head(fmap.mean(dim=(2, 3)))

    def class_activation(self, fmap: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        """Class activation map (CAM) of one class per sample: the head's weights applied at every (t, v)
        (the graph network's part of the logits; the geometry head's is not in it).

        Shape: fmap (N, C_last, T', V), classes (N,) int -> (N, T', V).
        """
        return torch.einsum("nctv,nc->ntv", fmap, self.head.weight[classes])

    @staticmethod
    def seen(appearance: torch.Tensor) -> torch.Tensor:
        """1 where a descriptor was seen, 0 for a zero (absent) one.

        Shape: appearance (N, DESCRIPTOR_SIZE) -> (N, 1).
        """
        return (appearance.abs().sum(dim=1, keepdim=True) > 0).to(appearance.dtype)

    def forward(self, x: torch.Tensor, appearance: torch.Tensor | None = None) -> torch.Tensor:
        logits = self.classify(self.feature_map(x))
        if self.appearance is not None and appearance is not None:
            seen = self.seen(appearance)   # the appearance head adds nothing for a zero (absent) descriptor
            logits = logits * (1.0 - seen * (1.0 - self.network_weight)) + seen * self.appearance(appearance)
        if self.geometry is not None:
            logits = logits + self.geometry(self.geometry_input(x))
        return logits
