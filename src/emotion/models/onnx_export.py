"""A checkpoint as an ONNX graph for the component's torch-free runtime (``emotion.onnx_classifier``).

The graph is the whole prediction after normalisation: features (``emotion.features``), the network and
the softmax, so the runtime only normalises. A model with an appearance head takes a second input, the
window's appearance descriptor (``emotion.appearance``; zeros: none seen). Everything else a prediction needs (class names, window,
normalisation, the source checkpoint's SHA-256) is JSON in the model's metadata under ``METADATA_KEY``.
An export is checked against the checkpoint on random windows before it is written.
"""

import hashlib
import json
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from emotion.atomic import write_atomic
from emotion.checkpoint import Checkpoint, load_checkpoint
from emotion.appearance import DESCRIPTOR_SIZE
from emotion.face68 import NUM_LANDMARKS
from emotion.features import FeatureConfig, make_features
from emotion.models.deploy import has_appearance
from emotion.onnx_classifier import FORMAT_VERSION, METADATA_KEY, OnnxEmotionClassifier

OPSET: int = 17
PARITY_ATOL: float = 1e-5
"""Largest difference in probabilities between the export and the checkpoint accepted."""


class _Prediction(nn.Module):
    """Features, network, softmax. Shape: (N, T, 68, 2) normalised landmarks [, appearance
    (N, DESCRIPTOR_SIZE)] -> (N, classes) probabilities."""

    def __init__(self, network: nn.Module, features: FeatureConfig) -> None:
        super().__init__()
        self.network = network.eval()
        self.features = features

    def forward(self, landmarks: torch.Tensor, *appearance: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.network(make_features(landmarks, self.features), *appearance), dim=1)


def file_sha256(path: Path) -> str:
    """The hex SHA-256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def metadata(ckpt: Checkpoint, checkpoint_sha256: str) -> dict:
    """What the runtime needs besides the graph, as stored under ``METADATA_KEY``."""
    return {"format_version": FORMAT_VERSION, "class_names": list(ckpt.class_names), "window": ckpt.window,
            "norm_config": ckpt.norm_config.to_dict(), "feature_config": ckpt.feature_config.to_dict(),
            "model_config": ckpt.model_config.to_dict(), "checkpoint_sha256": checkpoint_sha256}


def export_onnx(checkpoint: str | Path, out: str | Path) -> Path:
    """Write the ONNX form of ``checkpoint`` to ``out`` (atomically); ValueError when it does not match."""
    import onnx

    checkpoint, out = Path(checkpoint), Path(out)
    ckpt = load_checkpoint(checkpoint)
    prediction = _Prediction(ckpt.model, ckpt.feature_config).eval()
    example: tuple[torch.Tensor, ...] = (torch.zeros(2, ckpt.window, NUM_LANDMARKS, 2),)
    names = ["landmarks"]
    if has_appearance(ckpt.model):
        example, names = example + (torch.ones(2, DESCRIPTOR_SIZE),), names + ["appearance"]
    with write_atomic(out) as tmp:
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
            torch.onnx.export(prediction, example, str(tmp), input_names=names, output_names=["probabilities"],
                              dynamic_axes={**{name: {0: "faces"} for name in names}, "probabilities": {0: "faces"}},
                              opset_version=OPSET, dynamo=False)
        model = onnx.load(str(tmp))
        entry = model.metadata_props.add()
        entry.key, entry.value = METADATA_KEY, json.dumps(metadata(ckpt, file_sha256(checkpoint)))
        onnx.save(model, str(tmp))
        exported = OnnxEmotionClassifier.from_file(tmp)  # read back as the component reads it
        rng = np.random.default_rng(0)
        windows = rng.normal(0.0, 0.3, (5, ckpt.window, NUM_LANDMARKS, 2)).astype(np.float32)
        appearance = None
        if len(names) > 1:   # the first face without appearance
            appearance = (rng.random((5, DESCRIPTOR_SIZE)) * (np.arange(5) > 0)[:, None]).astype(np.float32)
        with torch.inference_mode():
            tensors = [torch.from_numpy(a) for a in (windows, appearance) if a is not None]
            expected = prediction(*tensors).numpy()
        got = exported.probabilities(windows, appearance)
        difference = float(np.abs(got - expected).max())
        if difference > PARITY_ATOL:
            raise ValueError(f"the ONNX export of {checkpoint} differs from it by {difference:.2g} (> {PARITY_ATOL})")
    return out
