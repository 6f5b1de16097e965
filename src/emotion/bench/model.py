"""`python -m emotion bench model`: parameters, MACs and single-thread CPU latency of the named model sizes.

``latency_ms_b{1,8}`` time the network as the component runs it: ``runtime`` is etc/config's, "onnx"
(its ONNX export on onnxruntime, ``emotion.onnx_classifier``, features and softmax included) for a
``.onnx`` ``Model.Weights``, else "torchscript" (traced and frozen, ``emotion.models.deploy``). For
comparison ``latency_ms_b{1,8}_onnx``, ``_torchscript`` and ``_eager`` (the plain PyTorch module).

``per_face_frame_ms``: the model's cost per face and frame as the component runs it, i.e. with the
component's classification cadence (``emotion.cadence``, etc/config's ``Model.*``): ``LOADS`` faces at
30 frames/s are replayed round by round (the cadence's clock advances 1/30 s per round, every model
call is real and timed), and the model time is divided by the face-frames. The headline is the heaviest
load (4 cameras x 5 faces, where the cost matters); ``per_face_frame_ms_by_faces`` has each load (a
light load may spend its small share of a core on classifying every frame)."""

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode
from tqdm import tqdm

from emotion.appearance import DESCRIPTOR_SIZE
from emotion.classes import NUM_CLASSES
from emotion.features import FeatureConfig
from emotion.face68 import NUM_LANDMARKS
from emotion.models import CONFIGS, ModelConfig, build_model
from emotion.models.deploy import for_inference
from emotion.cadence import CadenceConfig, ClassifyCadence, load_cadence_config

DESCRIPTION = "parameters, MACs and batch-1/batch-8 CPU latency of the compact and reference models"
BATCHES: tuple[int, ...] = (1, 8)
LOADS: tuple[int, ...] = (1, 5, 20)
"""Faces at 30 frames/s replayed for ``per_face_frame_ms``: 1x1, 1x5 and 4x5 of ``bench e2e``."""
RATE: float = 30.0
REPLAY_ROUNDS: int = 300
"""Rounds replayed per load (10 s at 30 fps: the load estimate settles within the first 2-3 s)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--configs", nargs="+", choices=sorted(CONFIGS), default=list(CONFIGS),
                        help="model sizes to measure (default: all)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    parser.add_argument("--repeats", type=int, default=200, help="timed runs per measurement (default 200)")
    parser.add_argument("--max-seconds", type=float, default=10.0,
                        help="stop a measurement early after this long (default 10; at least 5 runs are made)")
    parser.add_argument("--rounds", type=int, default=REPLAY_ROUNDS,
                        help=f"replayed 30 fps rounds per load for per_face_frame_ms (default {REPLAY_ROUNDS})")
    parser.add_argument("--no-velocity", action="store_true", help="position channels only (2 instead of 4)")


def count_macs(model: nn.Module, x: torch.Tensor) -> int:
    """Multiply-accumulates of one forward pass (torch's FLOP counter / 2). Shape: x (N, C, T, V)."""
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    return counter.get_total_flops() // 2


def median_latency_ms(run_batch: Callable[[int], object], batch: int, repeats: int, max_seconds: float,
                      warmup: int = 5) -> float:
    """Median wall time of ``run_batch(batch)`` in milliseconds, after ``warmup`` untimed runs."""
    times: list[float] = []
    with torch.inference_mode():
        for _ in range(warmup):
            run_batch(batch)
        deadline = time.perf_counter() + max_seconds
        while len(times) < repeats and (len(times) < 5 or time.perf_counter() < deadline):
            start = time.perf_counter()
            run_batch(batch)
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


class _ReplayClock:
    """The cadence's clock in a replay: advanced by the replay, not by the wall."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def per_face_frame_ms(run_batch: Callable[[int], object], faces: int, cadence: CadenceConfig,
                      rounds: int = REPLAY_ROUNDS) -> tuple[float, int]:
    """Model ms per face-frame for ``faces`` tracks at ``RATE`` under ``cadence`` (the last quarter of
    the rounds, once the load estimate has settled), and the cadence's final k. ``run_batch(n)`` runs
    the model on n windows."""
    clock = _ReplayClock()
    policy = ClassifyCadence(cadence, clock)
    ages: dict[int, int | None] = dict.fromkeys(range(1, faces + 1))
    spent_ms, face_frames = 0.0, 0
    with torch.inference_mode():
        for tick in range(1, rounds + 1):
            clock.now += 1.0 / RATE
            due = [t for t, age in ages.items() if ClassifyCadence.due(t, tick, policy.every, age)]
            start = time.perf_counter()
            if due:
                run_batch(len(due))
            ms = (time.perf_counter() - start) * 1e3
            for track in ages:
                ages[track] = 0 if track in due else ages[track] + 1
            policy.observe(faces, len(due), ms)
            if tick > rounds * 3 // 4:
                spent_ms += ms
                face_frames += faces
    return spent_ms / face_frames, policy.every


def onnx_model(model: nn.Module, cfg: ModelConfig, features: FeatureConfig, threads: int, folder: Path):
    """``model`` exported to ONNX (through a checkpoint in ``folder``) and loaded as the component loads it."""
    from emotion.checkpoint import save_checkpoint
    from emotion.classes import EMOTIONS
    from emotion.models.onnx_export import export_onnx
    from emotion.normalize import NormalizationConfig
    from emotion.onnx_classifier import OnnxEmotionClassifier

    checkpoint = save_checkpoint(folder / "model.pt", model, cfg, features, NormalizationConfig(), EMOTIONS, {})
    return OnnxEmotionClassifier.from_file(export_onnx(checkpoint, folder / "model.onnx"), threads)


def measure(cfg: ModelConfig, features: FeatureConfig, repeats: int, max_seconds: float,
            cadence: CadenceConfig = CadenceConfig(), rounds: int = REPLAY_ROUNDS, runtime: str = "onnx",
            threads: int = 1) -> dict:
    """Figures of one model size: params, macs (batch 1), latency_ms_b{1,8} in ``runtime`` with their
    _onnx, _torchscript and _eager twins, per_face_frame_ms (and by load) in ``runtime`` under ``cadence``."""
    in_channels = features.channels
    model = build_model(cfg, in_channels, NUM_CLASSES).eval()
    deployed = for_inference(model, in_channels, cfg.window)
    shape = (in_channels, cfg.window, NUM_LANDMARKS)
    result = {"params": sum(p.numel() for p in model.parameters()),
              "macs": count_macs(model, torch.zeros(1, *shape)), "blocks": [list(b) for b in cfg.blocks],
              "traced": deployed is not model, "runtime": runtime}
    with tempfile.TemporaryDirectory(prefix="emotion-bench-model-") as folder:
        exported = onnx_model(model, cfg, features, threads, Path(folder))
    largest = max(max(BATCHES), max(LOADS))
    normalised = np.random.default_rng(0).normal(0, 0.3, (largest, cfg.window, NUM_LANDMARKS, 2)).astype(np.float32)
    x = torch.randn(largest, *shape)  # made once: the timed calls only slice their batch
    appearance = torch.rand(largest, DESCRIPTOR_SIZE) if cfg.appearance_frames else None
    extra = (lambda n: (appearance[:n],)) if appearance is not None else (lambda n: ())
    described = appearance.numpy() if appearance is not None else None
    runners = {"onnx": lambda n: exported.probabilities(normalised[:n], None if described is None else described[:n]),
               "torchscript": lambda n: deployed(x[:n], *extra(n)), "eager": lambda n: model(x[:n], *extra(n))}
    for batch in BATCHES:
        for name in runners:
            result[f"latency_ms_b{batch}_{name}"] = round(median_latency_ms(runners[name], batch, repeats, max_seconds), 3)
        result[f"latency_ms_b{batch}"] = result[f"latency_ms_b{batch}_{runtime}"]
    by_faces, every = {}, {}
    for faces in LOADS:
        cost, k = per_face_frame_ms(runners[runtime], faces, cadence, rounds)
        by_faces[str(faces)], every[str(faces)] = round(cost, 4), k
    result["per_face_frame_ms"] = by_faces[str(max(LOADS))]
    result["per_face_frame_ms_by_faces"] = by_faces
    result["classify_every_by_faces"] = every
    return result


def deployed_runtime() -> str:
    """The runtime of etc/config's ``Model.Weights``: "onnx" for an ONNX export, else "torchscript"."""
    from emotion.classifier import ONNX_SUFFIX
    from emotion.middleware.config import load_config
    from emotion.paths import COMPONENT_CONFIG

    weights = str(load_config(COMPONENT_CONFIG).get("Model.Weights", ""))
    return "onnx" if weights.lower().endswith(ONNX_SUFFIX) else "torchscript"


def run(args: argparse.Namespace) -> int:
    if args.threads < 1 or args.repeats < 1 or args.rounds < 4:
        raise SystemExit("--threads and --repeats must be >= 1, --rounds >= 4")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    features = FeatureConfig(velocity=not args.no_velocity)
    cadence, runtime = load_cadence_config(), deployed_runtime()
    results = {name: measure(CONFIGS[name], features, args.repeats, args.max_seconds, cadence, args.rounds, runtime,
                             args.threads)
               for name in tqdm(args.configs, desc="bench model", unit="model", disable=args.json)}
    if args.json:
        print(json.dumps({**results, "threads": args.threads, "in_channels": features.channels, "runtime": runtime,
                          "cadence": cadence.to_dict(), "rate": RATE}))
        return 0
    print(f"model sizes, input (N, {features.channels}, T, {NUM_LANDMARKS}), {args.threads} thread(s), median latency")
    print(f"b1/b8: as the component runs it ({runtime}, etc/config Model.Weights); onnx: onnxruntime, features and "
          "softmax included; ts: traced and frozen; eager: the plain module")
    print(f"{'config':<10} {'params':>10} {'MMACs':>9} {'b1 ms':>8} {'b8 ms':>8} {'onnx b1':>8} {'onnx b8':>8} "
          f"{'ts b1':>8} {'ts b8':>8} {'eager b1':>9} {'eager b8':>9}  blocks (channels, stride)")
    for name, r in results.items():
        figures = "".join(f" {r[f'latency_ms_b{b}{suffix}']:>{8 if suffix != '_eager' else 9}.2f}"
                          for suffix in ("", "_onnx", "_torchscript", "_eager") for b in BATCHES)
        print(f"{name:<10} {r['params']:>10,} {r['macs'] / 1e6:>9.1f}{figures}  {r['blocks']}")
    print(f"per face-frame as the component runs it ({runtime}, cadence {cadence.to_dict()}, {RATE:g} fps):")
    for name, r in results.items():
        loads = ", ".join(f"{n} faces {ms:.3f} ms (k={r['classify_every_by_faces'][n]})"
                          for n, ms in r["per_face_frame_ms_by_faces"].items())
        print(f"{name:<10} {loads}")
    return 0
