"""The networks: one configuration class, two named sizes, one builder.

``COMPACT`` is the shipped size (small data, real-time CPU inference): three blocks that cut T early
(45 -> 15 -> 8 -> 4 frames, strides 3, 2, 2) while widening (32, 48, 96 channels), about 0.18M parameters
and 73M multiply-accumulates per window. ``REFERENCE`` is the ST-GCN paper's size (10 blocks, 64-128-256
channels, about 3.2M parameters). ``arch="ragcn"`` builds the multi-stream RA-GCN variant of either plan.
"""

from dataclasses import dataclass

from torch import nn

from emotion.configtools import DictConfig
from emotion.defaults import WINDOW
from emotion.graph import FaceGraph
from emotion.models.ragcn import RAGCN
from emotion.models.stgcn import STGCN

ARCHS: tuple[str, ...] = ("stgcn", "ragcn")


@dataclass(frozen=True)
class ModelConfig(DictConfig):
    """Network architecture and size; stored in every checkpoint.

    ``blocks``: one (out_channels, temporal_stride) pair per ST-GCN block. ``num_streams`` is 1 for
    "stgcn" and at least 2 for "ragcn". ``window``: frames per input window (T).
    """

    arch: str = "stgcn"
    blocks: tuple[tuple[int, int], ...] = ((32, 3), (48, 2), (96, 2))
    temporal_kernel: int = 9
    dropout: float = 0.1
    edge_importance: bool = True
    num_streams: int = 1
    window: int = WINDOW

    def __post_init__(self) -> None:
        object.__setattr__(self, "blocks", tuple((int(c), int(s)) for c, s in self.blocks))
        if self.arch not in ARCHS:
            raise ValueError(f"unknown arch {self.arch!r}; expected one of {ARCHS}")
        if not self.blocks or any(c < 1 or s < 1 for c, s in self.blocks):
            raise ValueError(f"blocks must be a non-empty list of (channels >= 1, stride >= 1), got {self.blocks}")
        if self.temporal_kernel < 1 or self.temporal_kernel % 2 == 0:
            raise ValueError(f"temporal_kernel must be a positive odd number, got {self.temporal_kernel}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}")
        if (self.arch == "stgcn") != (self.num_streams == 1) or self.num_streams < 1:
            raise ValueError(f"num_streams must be 1 for stgcn and >= 2 for ragcn, got {self.num_streams} for {self.arch}")
        if self.window < 1:
            raise ValueError(f"window must be >= 1, got {self.window}")


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
    return STGCN(in_channels, num_classes, A, cfg.blocks, **common)
