"""`bench model`: figures come from real measurements of the configured sizes."""

import argparse
import json

import torch

from emotion.bench import model as bench_model
from emotion.models import ModelConfig, build_model

torch.set_num_threads(1)


def test_count_macs_matches_hand_count():
    cfg = ModelConfig(blocks=((8, 1),), edge_importance=False)
    model = build_model(cfg, 2, 5).eval()
    t, v = 10, 68
    expected = (3 * 2 * t * v * v        # gather over the graph (K * C_in * T * V * V)
                + 3 * 2 * 8 * t * v      # 1x1 conv of the K gathered copies
                + 8 * 8 * 9 * t * v      # temporal conv, kernel 9
                + 2 * 8 * t * v          # residual 1x1 conv
                + 8 * 5)                 # head
    assert bench_model.count_macs(model, torch.zeros(1, 2, t, v)) == expected


def test_run_json(capsys):
    parser = argparse.ArgumentParser()
    bench_model.add_arguments(parser)
    args = parser.parse_args(["--json", "--configs", "compact", "--repeats", "2", "--max-seconds", "0", "--rounds", "8"])
    assert bench_model.run(args) == 0
    result = json.loads(capsys.readouterr().out)
    compact = result["compact"]
    assert {"params", "macs", "latency_ms_b1", "latency_ms_b8", "latency_ms_b1_eager", "latency_ms_b1_onnx",
            "latency_ms_b1_torchscript"} <= set(compact)
    assert compact["traced"] is True and result["runtime"] == compact["runtime"] == "onnx"   # etc/config deploys .onnx
    assert compact["latency_ms_b1"] == compact["latency_ms_b1_onnx"]
    assert 0 < compact["params"] <= 500_000 and compact["latency_ms_b1"] > 0
    assert compact["latency_ms_b8"] > compact["latency_ms_b1"]
    assert result["threads"] == 1 and 0 < compact["per_face_frame_ms"] == compact["per_face_frame_ms_by_faces"]["20"]


def test_per_face_frame_cost_follows_the_cadence():
    """Replayed rounds: a fixed k classifies 1/k of the face-frames; from the load, k grows with the faces."""
    from emotion.cadence import CadenceConfig
    from emotion.models import COMPACT
    from emotion.models.deploy import for_inference

    network = for_inference(build_model(COMPACT, 4, 5).eval(), 4, COMPACT.window)
    x = torch.randn(20, 4, COMPACT.window, 68)

    def run_batch(n: int) -> None:
        network(x[:n])

    every_frame, k1 = bench_model.per_face_frame_ms(run_batch, 5, CadenceConfig(every=1), rounds=40)
    every_fourth, k4 = bench_model.per_face_frame_ms(run_batch, 5, CadenceConfig(every=4), rounds=40)
    assert (k1, k4) == (1, 4) and 0 < every_fourth < 0.6 * every_frame
    _, light = bench_model.per_face_frame_ms(run_batch, 1, CadenceConfig(model_share=0.5), rounds=60)
    _, heavy = bench_model.per_face_frame_ms(run_batch, 20, CadenceConfig(model_share=0.05),
                                             rounds=60)
    assert light == 1 and heavy == CadenceConfig().max_every
