"""ONNX export of a network, for runtimes other than torch (onnxruntime, OpenVINO, TensorRT)."""

import warnings
from pathlib import Path

import torch
from torch import nn

from emotion.face68 import NUM_LANDMARKS


def export_onnx(model: nn.Module, path: str | Path, in_channels: int, window: int, opset: int = 17) -> Path:
    """Write ``model`` as ONNX with a dynamic batch axis; input "features", output "logits".

    Shape of the exported graph: features (N, in_channels, window, 68) -> logits (N, num_classes).
    Needs the ``onnx`` package (torch's TorchScript-based exporter, so onnxscript is not required).
    """
    try:
        import onnx  # noqa: F401  (the exporter needs it; fail with a clear message instead of deep inside torch)
    except ImportError as exc:
        raise RuntimeError("ONNX export needs the onnx package: pip install onnx") from exc
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    was_training = model.training
    model.eval()
    try:
        example = torch.zeros(2, in_channels, window, NUM_LANDMARKS)
        with warnings.catch_warnings():  # the TorchScript exporter is chosen on purpose (no onnxscript needed)
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                model, (example,), str(path), dynamo=False, opset_version=opset,
                input_names=["features"], output_names=["logits"],
                dynamic_axes={"features": {0: "batch"}, "logits": {0: "batch"}},
            )
    finally:
        model.train(was_training)
    return path
