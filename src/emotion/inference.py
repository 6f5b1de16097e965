"""Batched emotion prediction: pixel landmark windows of all tracks -> class probabilities, one forward pass."""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from emotion.checkpoint import load_checkpoint
from emotion.classifier import Classifier
from emotion.features import FeatureConfig, make_features
from emotion.models import ModelConfig
from emotion.models.deploy import for_inference
from emotion.normalize import NormalizationConfig
from emotion.paths import DEFAULT_WEIGHTS


class EmotionClassifier(Classifier):
    """A trained network with the normalisation and features it was trained with.

    ``model`` is the eager network (for export and inspection); predictions run its traced and frozen
    form (``emotion.models.deploy.for_inference``).
    """

    def __init__(self, model: nn.Module, model_config: ModelConfig, feature_config: FeatureConfig,
                 norm_config: NormalizationConfig, class_names: Sequence[str], window: int) -> None:
        self.model = model.eval()
        self.model_config = model_config
        self.feature_config = feature_config
        self.norm_config = norm_config
        self.class_names: tuple[str, ...] = tuple(class_names)
        self.window = int(window)
        self.appearance_frames = model_config.appearance_frames
        self._network = for_inference(self.model, feature_config.channels, self.window)

    @classmethod
    def from_checkpoint(cls, path: str | Path = DEFAULT_WEIGHTS, threads: int | None = None) -> "EmotionClassifier":
        """Load a checkpoint (CheckpointError if unusable); ``threads`` sets torch's intra-op thread count."""
        if threads is not None:
            if threads < 1:
                raise ValueError(f"threads must be >= 1, got {threads}")
            torch.set_num_threads(threads)
        ckpt = load_checkpoint(path)
        return cls(ckpt.model, ckpt.model_config, ckpt.feature_config, ckpt.norm_config, ckpt.class_names, ckpt.window)

    def probabilities(self, normalised: np.ndarray, appearance: np.ndarray | None) -> np.ndarray:
        """Features, the traced network, softmax. Shape: (N, T, 68, 2) normalised [, appearance
        (N, DESCRIPTOR_SIZE)] -> (N, classes)."""
        inputs = (make_features(normalised, self.feature_config),)
        if appearance is not None:
            inputs += (torch.from_numpy(appearance),)
        with torch.inference_mode():
            return torch.softmax(self._network(*inputs), dim=1).numpy()
