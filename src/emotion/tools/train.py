"""`python -m emotion train --config FILE --out DIR [--resume]`: train a model from one TOML config.

Writes best.pt, last.pt, metrics.json, confusion.png and learning_curve.png into DIR (see
``emotion.training.loop``). ``--resume`` continues from DIR/last.pt.
"""

import argparse
import sys
from pathlib import Path

from emotion.tools.preflight import int_range

DESCRIPTION = "train a model from a config file (synthetic and real sources, early stopping, checkpoints)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, required=True, help="TOML training config (see configs/)")
    parser.add_argument("--out", type=Path, required=True, help="run directory (checkpoints, metrics, plots)")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    parser.add_argument("--threads", type=int_range(1, 64), help="torch CPU threads (overrides the config's threads)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars (for logs)")


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from emotion.training.config import ConfigError, load_config
    from emotion.training.loop import train

    try:
        cfg = load_config(args.config)
        if args.threads is not None:
            cfg = dataclasses.replace(cfg, threads=args.threads)
    except ConfigError as exc:
        print(f"emotion train: error: {exc}", file=sys.stderr)
        return 2
    try:
        metrics = train(cfg, args.out, resume=args.resume, progress=not args.no_progress,
                        log=lambda msg: print(msg, flush=True))
    except (FileNotFoundError, ValueError) as exc:
        print(f"emotion train: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        saved = "the last finished epoch is in " + str(args.out / "last.pt") if (args.out / "last.pt").is_file() \
            else "no epoch finished yet"
        print(f"emotion train: interrupted; {saved}, run again with --resume to continue", file=sys.stderr)
        return 130
    val = metrics["validation"]
    print(f"done in {metrics['train_minutes']} min: validation accuracy {val['accuracy']:.4f}, "
          f"macro-F1 {val['macro_f1']:.4f} (best epoch {metrics['best_epoch']}); {args.out / 'best.pt'}")
    return 0
