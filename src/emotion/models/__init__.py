"""The networks: one configuration class, two named sizes, one builder.

``COMPACT`` is the shipped size (small data, real-time CPU inference): three blocks that cut T early
(45 -> 15 -> 8 -> 4 frames, strides 3, 2, 2) while widening (32, 48, 96 channels), about 0.18M parameters
and 73M multiply-accumulates per window. ``REFERENCE`` is the ST-GCN paper's size (10 blocks, 64-128-256
channels, about 3.2M parameters). ``arch="ragcn"`` builds the multi-stream RA-GCN variant of either plan.
"""

from dataclasses import dataclass

from torch import nn

from emotion.configtools import DictConfig
from emotion.defaults import MAX_WINDOW, WINDOW
from emotion.graph import FaceGraph
from emotion.models.ragcn import RAGCN
from emotion.models.stgcn import STGCN

ARCHS: tuple[str, ...] = ("stgcn", "ragcn")
MAX_BLOCKS, MAX_CHANNELS, MAX_STRIDE, MAX_TEMPORAL_KERNEL, MAX_STREAMS = 32, 1024, 8, 31, 8
MAX_WEIGHTS: int = 50_000_000
"""Most weights a model config may ask for (about 200 MB of float32; REFERENCE has 3.2M), estimated from
its blocks before anything is allocated."""
MAX_ACTIVATION: int = 16_000_000
"""Most values of one block's output for one window (64 MB of float32; REFERENCE: about 0.2M)."""


def largest_activation(blocks: tuple[tuple[int, int], ...], window: int, nodes: int = 68) -> int:
    """Values of the largest block output (channels x frames x nodes) for one window."""
    largest, frames = 0, window
    for channels, stride in blocks:
        frames = -(-frames // stride)
        largest = max(largest, channels * frames * nodes)
    return largest


def estimated_weights(blocks: tuple[tuple[int, int], ...], temporal_kernel: int, num_streams: int) -> int:
    """An upper estimate of the weights of a network with these blocks (graph and temporal convolutions,
    residuals; 6 input channels), so a hostile size is refused before ``build_model`` allocates it."""
    total, previous = 0, 6
    for channels, _ in blocks:
        total += previous * channels * 4 + channels * channels * temporal_kernel + previous * channels
        previous = channels
    return total * num_streams


@dataclass(frozen=True)
class ModelConfig(DictConfig):
    """Network architecture and size; stored in every checkpoint.

    ``blocks``: one (out_channels, temporal_stride) pair per ST-GCN block. ``num_streams`` is 1 for
    "stgcn" and at least 2 for "ragcn". ``window``: frames per input window (T). ``geometry_frames``: the
    geometry head's frames (``emotion.models.stgcn``; 0 = none, "stgcn" only). ``appearance_frames``: the
    appearance head's frames, whose descriptors (``emotion.appearance``) the caller averages (0 = no
    appearance head; it needs a geometry head, fitted with it).
    """

    arch: str = "stgcn"
    blocks: tuple[tuple[int, int], ...] = ((32, 3), (48, 2), (96, 2))
    temporal_kernel: int = 9
    dropout: float = 0.1
    edge_importance: bool = True
    num_streams: int = 1
    window: int = WINDOW
    geometry_frames: int = 0
    appearance_frames: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "blocks", tuple((int(c), int(s)) for c, s in self.blocks))
        if self.arch not in ARCHS:
            raise ValueError(f"unknown arch {self.arch!r}; expected one of {ARCHS}")
        if not self.blocks or any(c < 1 or s < 1 for c, s in self.blocks):
            raise ValueError(f"blocks must be a non-empty list of (channels >= 1, stride >= 1), got {self.blocks}")
        if len(self.blocks) > MAX_BLOCKS or any(c > MAX_CHANNELS or s > MAX_STRIDE for c, s in self.blocks):
            raise ValueError(f"blocks must be at most {MAX_BLOCKS} of (channels <= {MAX_CHANNELS}, stride <= "
                             f"{MAX_STRIDE}), got {len(self.blocks)} blocks up to "
                             f"{max(c for c, _ in self.blocks)} channels, stride {max(s for _, s in self.blocks)}")
        if self.temporal_kernel < 1 or self.temporal_kernel % 2 == 0 or self.temporal_kernel > MAX_TEMPORAL_KERNEL:
            raise ValueError(f"temporal_kernel must be a positive odd number <= {MAX_TEMPORAL_KERNEL}, "
                             f"got {self.temporal_kernel}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}")
        if (self.arch == "stgcn") != (self.num_streams == 1) or not 1 <= self.num_streams <= MAX_STREAMS:
            raise ValueError(f"num_streams must be 1 for stgcn and 2..{MAX_STREAMS} for ragcn, got {self.num_streams} "
                             f"for {self.arch}")
        if not 1 <= self.window <= MAX_WINDOW:
            raise ValueError(f"window must be 1..{MAX_WINDOW} frames, got {self.window}")
        if not 0 <= self.geometry_frames <= self.window or (self.geometry_frames and self.arch != "stgcn"):
            raise ValueError(f"geometry_frames must be 0..window ({self.window}) frames, and 0 for {self.arch}, "
                             f"got {self.geometry_frames}")
        if not 0 <= self.appearance_frames <= self.window or (self.appearance_frames and not self.geometry_frames):
            raise ValueError(f"appearance_frames must be 0..window ({self.window}) frames, and 0 without a geometry "
                             f"head (geometry_frames), got {self.appearance_frames}")
        weights = estimated_weights(self.blocks, self.temporal_kernel, self.num_streams)
        if weights > MAX_WEIGHTS:
            raise ValueError(f"blocks ask for about {weights} weights, over the limit of {MAX_WEIGHTS}")
        activation = largest_activation(self.blocks, self.window)
        if activation > MAX_ACTIVATION:
            raise ValueError(f"blocks and window ask for {activation} values per window in one block, over the "
                             f"limit of {MAX_ACTIVATION}")


COMPACT = ModelConfig()
REFERENCE = ModelConfig(
    blocks=((64, 1), (64, 1), (64, 1), (64, 1), (128, 2), (128, 1), (128, 1), (256, 2), (256, 1), (256, 1)),
    dropout=0.5,
)
CONFIGS: dict[str, ModelConfig] = {"compact": COMPACT, "reference": REFERENCE}


def build_model(cfg: ModelConfig, in_channels: int, num_classes: int) -> nn.Module:
    """A freshly initialised network over the face graph.

    Shape of the result: (N, in_channels, T, 68) -> logits (N, num_classes).
    """
    if in_channels < 1 or num_classes < 2:
        raise ValueError(f"need in_channels >= 1 and num_classes >= 2, got {in_channels} and {num_classes}")
    A = FaceGraph().A
    common = dict(temporal_kernel=cfg.temporal_kernel, dropout=cfg.dropout, edge_importance=cfg.edge_importance)
    if cfg.arch == "ragcn":
        return RAGCN(in_channels, num_classes, A, cfg.blocks, cfg.num_streams, **common)
    return STGCN(in_channels, num_classes, A, cfg.blocks, geometry_frames=cfg.geometry_frames,
                 appearance=cfg.appearance_frames > 0, **common)
