"""ONNX export: the exported graph computes what the torch model computes, at any batch size."""

import numpy as np
import pytest
import torch

from emotion.export import export_onnx
from emotion.models import ModelConfig, build_model

torch.set_num_threads(1)
ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install onnxruntime)")
pytest.importorskip("onnx", reason="onnx is not installed (pip install onnx)")


@pytest.mark.parametrize("cfg", [ModelConfig(blocks=((8, 3), (16, 1))),
                                 ModelConfig(arch="ragcn", num_streams=2, blocks=((8, 2), (12, 2)))],
                         ids=["stgcn", "ragcn"])
def test_onnx_parity(tmp_path, cfg):
    torch.manual_seed(0)
    model = build_model(cfg, 4, 5).train()
    path = export_onnx(model, tmp_path / "m.onnx", in_channels=4, window=45)
    assert model.training                                     # export leaves the model as it found it
    model.eval()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch in (1, 5):
        x = torch.randn(batch, 4, 45, 68)
        (got,) = session.run(None, {"features": x.numpy()})
        with torch.no_grad():
            np.testing.assert_allclose(got, model(x).numpy(), rtol=1e-4, atol=1e-5)
