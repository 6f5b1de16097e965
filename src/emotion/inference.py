"""Batched emotion prediction: pixel landmark windows of all tracks -> class probabilities, one forward pass."""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from emotion.checkpoint import load_checkpoint
from emotion.face68 import NUM_LANDMARKS
from emotion.features import FeatureConfig, make_features
from emotion.models import ModelConfig
from emotion.models.deploy import for_inference
from emotion.normalize import NormalizationConfig, normalize_landmarks
from emotion.paths import DEFAULT_WEIGHTS


class EmotionClassifier:
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

    def predict(self, windows: np.ndarray) -> np.ndarray:
        """Class probabilities for each window (normalise, make features, one batched no-grad forward).

        Shape: windows (N, T, 68, 2) pixel landmarks, T = self.window -> (N, len(class_names)) float32, rows
        summing to 1. N may be 0.
        """
        windows = np.asarray(windows)
        if windows.ndim != 4 or windows.shape[1:] != (self.window, NUM_LANDMARKS, 2):
            raise ValueError(f"expected windows of shape (N, {self.window}, {NUM_LANDMARKS}, 2), got {windows.shape}")
        if len(windows) == 0:
            return np.zeros((0, len(self.class_names)), dtype=np.float32)
        x = make_features(normalize_landmarks(windows, self.norm_config), self.feature_config)
        with torch.inference_mode():
            probs = torch.softmax(self._network(x), dim=1)
        return probs.numpy().astype(np.float32, copy=False)
