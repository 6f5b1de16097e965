"""The network as the component runs it: traced and frozen by TorchScript for CPU inference.

Freezing folds the weights into the graph, which removes most of the per-operator overhead that dominates
a batch-1 forward of the compact model (~25 % faster on one core, same outputs to float precision).
Tracing records the operators once; the shapes the tracer sees as tensors (batch size, frames) stay
dynamic, so one traced module serves any batch. A model that cannot be traced runs eagerly.
"""

import warnings

import torch
from torch import nn

from emotion.appearance import DESCRIPTOR_SIZE
from emotion.face68 import NUM_LANDMARKS

PARITY_ATOL: float = 1e-4
"""Largest difference in logits between the traced and the eager model accepted at load time."""


def for_inference(model: nn.Module, in_channels: int, window: int) -> nn.Module:
    """``model`` (eval mode) traced and frozen, checked against the eager model on two batch sizes; the
    eager model itself when tracing fails or disagrees.

    Shape: forward (N, in_channels, window, 68) [, appearance (N, DESCRIPTOR_SIZE) for a model with an
    appearance head] -> logits (N, num_classes), as the eager model.
    """
    model = model.eval()
    generator = torch.Generator().manual_seed(0)
    examples = [(torch.randn(n, in_channels, window, NUM_LANDMARKS, generator=generator),) for n in (2, 3)]
    if has_appearance(model):   # the first face of each batch without appearance (a zero descriptor)
        examples = [(x, torch.rand(len(x), DESCRIPTOR_SIZE, generator=generator) * (torch.arange(len(x)) > 0)[:, None])
                    for (x,) in examples]
    try:
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's notes on python ints taken from shapes
            traced = torch.jit.freeze(torch.jit.trace(model, examples[0], check_trace=False))
            for inputs in examples:
                if not torch.allclose(traced(*inputs), model(*inputs), atol=PARITY_ATOL, rtol=0.0):
                    return model
    except (RuntimeError, torch.jit.Error):
        return model
    return traced


def has_appearance(model: nn.Module) -> bool:
    """Whether ``model`` reads an appearance descriptor beside its window (``emotion.models.stgcn``)."""
    return getattr(model, "appearance", None) is not None
