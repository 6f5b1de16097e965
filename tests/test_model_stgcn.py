"""ST-GCN: configs, shapes, graph convolution orders, sizes, and that it can learn."""

import pytest
import torch
from torch import nn

from emotion.graph import FaceGraph
from emotion.models import COMPACT, REFERENCE, ModelConfig, build_model
from emotion.models.blocks import GraphConv

torch.set_num_threads(1)
TINY = ModelConfig(blocks=((8, 2), (16, 2)), dropout=0.0)


def _params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_config_round_trip_and_validation():
    assert ModelConfig.from_dict(COMPACT.to_dict()) == COMPACT
    assert ModelConfig.from_dict(REFERENCE.to_dict()) == REFERENCE
    assert REFERENCE.blocks[0] == (64, 1) and len(REFERENCE.blocks) == 10
    assert [c for c, _ in REFERENCE.blocks] == [64] * 4 + [128] * 3 + [256] * 3
    for bad in ({"arch": "lstm"}, {"blocks": ()}, {"blocks": ((8, 0),)}, {"temporal_kernel": 8},
                {"arch": "ragcn"}, {"dropout": 1.0}):
        with pytest.raises(ValueError):
            ModelConfig(**bad)
    with pytest.raises(ValueError, match=r"unknown ModelConfig key\(s\) \[.heads.\]; known: .*blocks"):
        ModelConfig.from_dict({**COMPACT.to_dict(), "heads": 4})


def test_sizes():
    assert _params(build_model(COMPACT, 4, 5)) <= 500_000
    assert 2_500_000 < _params(build_model(REFERENCE, 4, 5)) < 4_000_000


def test_output_and_feature_map_shapes():
    model = build_model(ModelConfig(blocks=((8, 3), (16, 2))), 2, 5).eval()
    x = torch.randn(3, 2, 45, 68)
    assert model(x).shape == (3, 5)
    assert model.feature_map(x).shape == (3, 16, 8, 68)    # 45 -> 15 -> 8 frames


@pytest.mark.parametrize("c_in,c_out", [(4, 8), (8, 4)])
def test_graph_conv_orders_match_the_definition(c_in, c_out):
    torch.manual_seed(0)
    A = torch.as_tensor(FaceGraph().A) * torch.rand(3, 68, 68)
    conv = GraphConv(c_in, c_out, 3)
    assert conv.gather_first == (c_in <= c_out)
    x = torch.randn(2, c_in, 5, 68)
    # out[n, o, t, w] = sum_k sum_c sum_v W[k, o, c] x[n, c, t, v] A[k, w, v]
    expected = torch.einsum("koc,nctv,kwv->notw", conv.weight, x, A)
    torch.testing.assert_close(conv(x, A), expected, rtol=1e-4, atol=1e-5)


def test_edge_importance_is_learned_only_when_asked():
    with_imp = build_model(TINY, 4, 5)
    without = build_model(ModelConfig(blocks=TINY.blocks, edge_importance=False), 4, 5)
    assert len(with_imp.importance) == 2 and without.importance is None
    assert _params(with_imp) - _params(without) == 2 * 3 * 68 * 68


def test_small_model_overfits_a_small_batch():
    torch.manual_seed(0)
    model = build_model(TINY, 4, 5)
    x, y = torch.randn(10, 4, 12, 68), torch.arange(10) % 5
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(30):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]
    assert (model.eval()(x).argmax(1) == y).float().mean() >= 0.9


def test_geometry_head_reads_the_mean_shape_of_the_last_frames_and_starts_at_zero():
    for bad in ({"geometry_frames": -1}, {"geometry_frames": 46},
                {"arch": "ragcn", "num_streams": 2, "geometry_frames": 3}):
        with pytest.raises(ValueError, match="geometry_frames"):
            ModelConfig(**bad)
    assert ModelConfig.from_dict(TINY.to_dict()).geometry_frames == 0  # checkpoints before the head load without it
    plain = build_model(TINY, 4, 5).eval()
    with_head = build_model(ModelConfig(blocks=TINY.blocks, geometry_frames=3), 4, 5).eval()
    assert plain.geometry is None and _params(with_head) - _params(plain) == 2 * 68 * 5 + 5
    x = torch.randn(2, 4, 20, 68)
    with torch.no_grad():
        torch.testing.assert_close(with_head(x), with_head.classify(with_head.feature_map(x)))  # zero: adds nothing
        torch.nn.init.normal_(with_head.geometry.weight)
        with_head.head.weight.zero_()
        with_head.head.bias.zero_()  # only the geometry head is left to speak
        expected = x[:, :2, -3:].mean(dim=2).flatten(1) @ with_head.geometry.weight.T
        torch.testing.assert_close(with_head(x), expected)
        earlier = x.clone()
        earlier[:, :, :17] = torch.randn(2, 4, 17, 68)  # every frame before the last three
        earlier[:, 2:] = torch.randn(2, 2, 20, 68)  # and the velocity channels
        torch.testing.assert_close(with_head(earlier), with_head(x))
