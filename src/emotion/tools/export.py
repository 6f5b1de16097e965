"""`python -m emotion export [--checkpoint CKPT.pt] [--out MODEL.onnx]`: the checkpoint as the ONNX model the
component runs without torch (``Model.Weights = "....onnx"``), checked against it before it is written."""

import argparse
from pathlib import Path

from emotion.classifier import ONNX_SUFFIX
from emotion.paths import DEFAULT_WEIGHTS
from emotion.tools.preflight import check_checkpoint_file, check_writable

DESCRIPTION = "export a checkpoint to ONNX for the component's torch-free runtime"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_WEIGHTS, help="model checkpoint (default: shipped)")
    parser.add_argument("--out", type=Path, help="ONNX file to write (default: the checkpoint's path with .onnx)")


def run(args: argparse.Namespace) -> int:
    out = args.out or args.checkpoint.with_suffix(ONNX_SUFFIX)
    check_writable(out, "--out", (ONNX_SUFFIX,))
    check_checkpoint_file(args.checkpoint, "--checkpoint")
    from emotion.models.onnx_export import export_onnx

    export_onnx(args.checkpoint, out)
    print(f"export: {args.checkpoint} -> {out} ({out.stat().st_size / 1e6:.2f} MB, matches the checkpoint)")
    return 0
