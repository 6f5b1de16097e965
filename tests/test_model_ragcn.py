"""RA-GCN variant: streams, CAM masks, the training rule."""

import pytest
import torch
from torch import nn

from emotion.models import ModelConfig, build_model
from emotion.models.ragcn import RAGCN

torch.set_num_threads(1)
CFG = ModelConfig(arch="ragcn", num_streams=3, blocks=((8, 2), (16, 2)), dropout=0.0)


def test_streams_and_combined_output():
    model = build_model(CFG, 4, 5).eval()
    assert isinstance(model, RAGCN) and len(model.streams) == 3
    x = torch.randn(2, 4, 20, 68)
    streams = model.stream_logits(x)
    assert len(streams) == 3 and all(s.shape == (2, 5) for s in streams)
    torch.testing.assert_close(model(x), torch.stack(streams).mean(0))
    torch.testing.assert_close(model.combine(streams), model(x))


def test_mask_is_one_minus_scaled_cam_at_input_length():
    cam = torch.tensor([[[0.0, 2.0], [-1.0, 4.0]]])                 # (N=1, T'=2, V=2)
    mask = RAGCN._mask(cam, 4)
    assert mask.shape == (1, 1, 4, 2)
    expected = torch.tensor([[1.0, 0.5], [1.0, 0.5], [1.0, 0.0], [1.0, 0.0]])
    torch.testing.assert_close(mask[0, 0], expected)


def test_later_streams_see_a_masked_input(monkeypatch):
    model = build_model(CFG, 4, 5).eval()
    seen: list[torch.Tensor] = []
    for stream in model.streams:
        def recording(inp, original=stream.feature_map):
            seen.append(inp)
            return original(inp)
        monkeypatch.setattr(stream, "feature_map", recording)
    x = torch.randn(2, 4, 20, 68)
    model.stream_logits(x)
    assert len(seen) == 3 and torch.equal(seen[0], x)
    assert not torch.equal(seen[1], x) and (seen[1].abs() <= x.abs() + 1e-6).all()
    assert (seen[2].abs() <= seen[1].abs() + 1e-6).all()              # masks only accumulate


def test_ragcn_trains_with_per_stream_losses():
    torch.manual_seed(0)
    model = build_model(CFG, 4, 5).train()
    x, y = torch.randn(10, 4, 12, 68), torch.arange(10) % 5
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(25):
        streams = model.stream_logits(x)
        loss = nn.functional.cross_entropy(model.combine(streams), y)
        loss = loss + sum(nn.functional.cross_entropy(s, y) for s in streams)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]


def test_one_stream_is_refused():
    with pytest.raises(ValueError, match="num_streams"):
        ModelConfig(arch="ragcn", num_streams=1)
