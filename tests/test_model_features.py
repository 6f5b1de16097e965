"""Model input features: positions and velocities, channel-first."""

import numpy as np
import pytest
import torch

from emotion.features import FeatureConfig, make_features


def test_positions_and_velocities():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 5, 68, 2)).astype(np.float32)
    out = make_features(x, FeatureConfig(velocity=True))
    assert out.shape == (2, 4, 5, 68) and out.dtype == torch.float32
    np.testing.assert_allclose(out[:, :2].numpy(), x.transpose(0, 3, 1, 2))
    np.testing.assert_allclose(out[:, 2:, 0].numpy(), 0.0)                        # first frame: no velocity
    np.testing.assert_allclose(out[:, 2:, 3].numpy(), (x[:, 3] - x[:, 2]).transpose(0, 2, 1), rtol=1e-6)


def test_positions_only_and_config_round_trip():
    x = torch.randn(3, 4, 68, 2)
    cfg = FeatureConfig(velocity=False)
    assert cfg.channels == 2 and FeatureConfig().channels == 4
    assert torch.equal(make_features(x, cfg), x.permute(0, 3, 1, 2))
    assert FeatureConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match=r"unknown FeatureConfig key\(s\) \[.acceleration.\]"):
        FeatureConfig.from_dict({"velocity": True, "acceleration": True})


def test_bad_shape_is_refused():
    with pytest.raises(ValueError, match=r"\(N, T, 68, 2\)"):
        make_features(np.zeros((5, 68, 2)))
