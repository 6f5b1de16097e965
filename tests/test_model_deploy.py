"""The deployed (traced and frozen) network: same outputs as the eager one, any batch, eager fallback."""

import torch
from torch import nn

from emotion.models import CONFIGS, ModelConfig, build_model
from emotion.models.deploy import for_inference


def test_traced_network_matches_eager_for_any_batch():
    for cfg in (CONFIGS["compact"], ModelConfig(arch="ragcn", num_streams=2, blocks=((8, 2), (16, 2)))):
        model = build_model(cfg, 4, 5).eval()
        deployed = for_inference(model, 4, 45)
        assert deployed is not model
        with torch.inference_mode():
            for batch in (1, 4, 9):
                x = torch.randn(batch, 4, 45, 68)
                torch.testing.assert_close(deployed(x), model(x), atol=1e-5, rtol=0)


class ValueDependent(nn.Module):
    """A python branch on the input: tracing freezes one side, so the parity check must refuse it."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = x.mean(dim=(1, 2, 3))[:, None].repeat(1, 5)
        return logits if x.shape[0] % 2 == 0 else -logits


def test_a_model_the_tracer_gets_wrong_runs_eagerly():
    model = ValueDependent()
    assert for_inference(model, 4, 45) is model
