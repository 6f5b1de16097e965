"""The ST-GCN building blocks: graph convolution, temporal convolution, and the block that joins them."""

import torch
import torch.nn.functional as F
from torch import nn


class GraphConv(nn.Module):
    """Spatial graph convolution over K partition subsets: out = sum_k W_k x A_k^T (no bias: BN follows).

    The product is associative, so the cheaper order is chosen from the channel counts: gather over the
    graph first when ``in_channels <= out_channels`` (the graph product then runs on the narrower tensor), mix
    channels first otherwise. Both orders use the same weight, so checkpoints do not depend on it.

    Shape: x (N, C_in, T, V), A (K, V, V) with A[k, w, v] the weight of v at w -> (N, C_out, T, V).
    """

    def __init__(self, in_channels: int, out_channels: int, num_subsets: int) -> None:
        super().__init__()
        self.in_channels, self.out_channels, self.num_subsets = in_channels, out_channels, num_subsets
        self.weight = nn.Parameter(torch.empty(num_subsets, out_channels, in_channels))
        nn.init.kaiming_uniform_(self.weight.view(num_subsets * out_channels, in_channels), a=5 ** 0.5)
        self.gather_first = in_channels <= out_channels

    def forward(self, x: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
        n, _, t, v = x.shape
        k, c, c_out = self.num_subsets, self.in_channels, self.out_channels  # python ints: exportable weight shapes
        gather = A.transpose(1, 2)  # (K, V, W): right-multiplying a (..., V) row by gather[k] applies A[k]
        if self.gather_first:  # (N, 1, C*T, V) @ (K, V, W) -> (N, K, C*T, W), already in conv layout
            z = torch.matmul(x.reshape(n, 1, c * t, v), gather).view(n, k * c, t, v)
            return F.conv2d(z, self.weight.permute(1, 0, 2).reshape(c_out, k * c, 1, 1))
        y = F.conv2d(x, self.weight.reshape(k * c_out, c, 1, 1)).view(n, k, c_out * t, v)
        return torch.matmul(y, gather).sum(dim=1).view(n, c_out, t, v)


class STGCNBlock(nn.Module):
    """Graph conv -> BN -> ReLU -> temporal conv (kernel along T, optional stride) -> BN -> dropout, plus a
    residual (the input taken every ``stride`` frames; a 1x1 conv + BN when the channels change), then ReLU.

    Shape: x (N, C_in, T, V), A (K, V, V) -> (N, C_out, ceil(T / stride), V).
    """

    def __init__(self, in_channels: int, out_channels: int, num_subsets: int, stride: int = 1,
                 temporal_kernel: int = 9, dropout: float = 0.0) -> None:
        super().__init__()
        if temporal_kernel % 2 != 1:
            raise ValueError(f"temporal kernel must be odd, got {temporal_kernel}")
        self.gcn = GraphConv(in_channels, out_channels, num_subsets)
        self.gcn_bn = nn.BatchNorm2d(out_channels)
        self.tcn = nn.Sequential(
            nn.Conv2d(out_channels, out_channels, (temporal_kernel, 1), (stride, 1), ((temporal_kernel - 1) // 2, 0)),
            nn.BatchNorm2d(out_channels),
            nn.Dropout(dropout),
        )
        self.stride = stride
        if in_channels == out_channels:
            self.residual: nn.Module = nn.Identity()
        else:  # a 1x1 conv; the stride is applied by slicing first, which is the same map and faster on CPU
            self.residual = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.gcn_bn(self.gcn(x, A)))
        return F.relu(self.tcn(y) + self.residual(x[:, :, ::self.stride]))
