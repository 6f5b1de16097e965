"""`python -m emotion bench <name>`: run one benchmark of ``emotion.bench`` (imported only when chosen)."""

import argparse
import importlib

from emotion.cli import CommandParser, DefaultsFormatter

BENCHMARKS: dict[str, str] = {
    "model": "model size, FLOPs and latency per configuration",
    "perception": "tracked vs naive face tracking: frames/s, stage times, landmark difference",
    "e2e": "frames to published emotions through the whole pipeline",
    "temporal": "onset delay and held-label flips of the smoothing candidates on labelled sequences",
    "heads": "group k-fold CV of the still heads (shape, shape + appearance) on prepared photos",
    "experts": "the network's weight beside the still heads, on validation photos and real clips",
}
DESCRIPTION = "benchmarks: " + ", ".join(BENCHMARKS)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", choices=list(BENCHMARKS), help="; ".join(f"{k}: {v}" for k, v in BENCHMARKS.items()))
    parser.add_argument("options", nargs=argparse.REMAINDER, help="the benchmark's own options (see bench NAME --help)")


def run(args: argparse.Namespace) -> int:
    module = importlib.import_module(f"emotion.bench.{args.name}")
    parser = CommandParser(prog=f"python -m emotion bench {args.name}", description=module.DESCRIPTION,
                           formatter_class=DefaultsFormatter)
    module.add_arguments(parser)
    return int(module.run(parser.parse_args(args.options)) or 0)
