"""The model a tool or the component runs, loaded from a file: an ONNX export (``.onnx``, onnxruntime, no
torch in the process) or a torch checkpoint (any other suffix). Both are a ``Classifier``."""

from pathlib import Path

import numpy as np

from emotion.appearance import DESCRIPTOR_SIZE
from emotion.face68 import NUM_LANDMARKS
from emotion.normalize import NormalizationConfig, normalize_landmarks

ONNX_SUFFIX: str = ".onnx"


class Classifier:
    """Class probabilities of pixel landmark windows: the window check and the normalisation, shared by
    the runtimes, around each runtime's ``probabilities``."""

    class_names: tuple[str, ...]
    window: int
    norm_config: NormalizationConfig
    appearance_frames: int = 0
    """Frames whose appearance descriptors the model wants averaged (0: it reads landmarks only)."""

    def predict(self, windows: np.ndarray, appearance: np.ndarray | None = None) -> np.ndarray:
        """Class probabilities for each window (normalise, one batched forward). ``appearance``: each
        window's mean descriptor of its last ``appearance_frames`` frames (``emotion.appearance``), a zero
        row where none was seen; ignored by a model without an appearance head, zeros when not given.

        Shape: windows (N, T, 68, 2) pixel landmarks, T = self.window, appearance (N, DESCRIPTOR_SIZE) ->
        (N, len(class_names)) float32, rows summing to 1. N may be 0.
        """
        windows = np.asarray(windows)
        if windows.ndim != 4 or windows.shape[1:] != (self.window, NUM_LANDMARKS, 2):
            raise ValueError(f"expected windows of shape (N, {self.window}, {NUM_LANDMARKS}, 2), got {windows.shape}")
        if appearance is not None and np.shape(appearance) != (len(windows), DESCRIPTOR_SIZE):
            raise ValueError(f"expected appearance of shape ({len(windows)}, {DESCRIPTOR_SIZE}), got {np.shape(appearance)}")
        if len(windows) == 0:
            return np.zeros((0, len(self.class_names)), dtype=np.float32)
        normalised = np.ascontiguousarray(normalize_landmarks(windows, self.norm_config), dtype=np.float32)
        if not self.appearance_frames:
            return self.probabilities(normalised, None).astype(np.float32, copy=False)
        if appearance is None:
            appearance = np.zeros((len(windows), DESCRIPTOR_SIZE), np.float32)
        appearance = np.ascontiguousarray(appearance, dtype=np.float32)
        if not np.isfinite(appearance).all():
            raise ValueError("appearance descriptors contain NaN or infinity")
        return self.probabilities(normalised, appearance).astype(np.float32, copy=False)

    def probabilities(self, normalised: np.ndarray, appearance: np.ndarray | None) -> np.ndarray:
        """The runtime's forward. Shape: (N, T, 68, 2) normalised float32, N >= 1, appearance
        (N, DESCRIPTOR_SIZE) float32 for a model with an appearance head, else None -> (N, classes)."""
        raise NotImplementedError


def load_classifier(path: str | Path, threads: int | None = None) -> Classifier:
    """The model in ``path`` (``threads``: the runtime's intra-op threads); ValueError/OSError if unusable."""
    path = Path(path)
    if path.suffix.lower() == ONNX_SUFFIX:
        from emotion.onnx_classifier import OnnxEmotionClassifier
        return OnnxEmotionClassifier.from_file(path, threads)
    from emotion.inference import EmotionClassifier
    return EmotionClassifier.from_checkpoint(path, threads)
