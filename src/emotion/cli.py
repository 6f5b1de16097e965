"""`python -m emotion <command>`: one entry point for the project's tools.

Each command lives in its own module exposing ``DESCRIPTION``, ``add_arguments(parser)`` and
``run(args) -> int``; only the chosen module is imported, so ``listen`` does not pay for torch. Bad input (``ValueError``,
``OSError`` and their kin such as ``CheckpointError``) ends a command with one line on stderr and exit 1;
set ``EMOTION_DEBUG=1`` for the traceback.
"""

import argparse
import importlib
import os
import sys

from emotion.tools.preflight import UsageError

COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("emotion.tools.demo", "run rcnode, a camera on the sample clip, the component and a listener"),
    "analyze": ("emotion.tools.analyze", "offline emotion analysis of videos, images or frame folders"),
    "camera": ("emotion.tools.camera", "a camera component: video, image folder or webcam over RoboComp"),
    "listen": ("emotion.tools.listen", "print (and draw) what the component publishes"),
    "monitor": ("emotion.tools.monitor", "rcmonitor-style view and control of a running component"),
    "rcnode": ("emotion.tools.rcnode", "run IceStorm in icebox (RoboComp's rcnode) for local use"),
    "synth": ("emotion.tools.synth", "generate labelled landmark sequences from the Surrey Face Model"),
    "prepare": ("emotion.tools.prepare", "turn a labelled video dataset into landmark windows"),
    "train": ("emotion.tools.train", "train a model from a config file"),
    "evaluate": ("emotion.tools.evaluate", "evaluate a checkpoint on prepared windows"),
    "bench": ("emotion.tools.bench", "benchmarks: model, perception, e2e"),
}


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: python -m emotion <command> [options]", "", "commands:"]
    lines += [f"  {name.ljust(width)}  {desc}" for name, (_, desc) in COMMANDS.items()]
    lines += ["", "python -m emotion <command> --help shows a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"emotion: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    parser = argparse.ArgumentParser(prog=f"python -m emotion {name}", description=module.DESCRIPTION)
    module.add_arguments(parser)
    args = parser.parse_args(rest)
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except UsageError as exc:  # the command line asks for something impossible
        if os.environ.get("EMOTION_DEBUG"):
            raise
        print(f"emotion {name}: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, OSError) as exc:  # bad input, bad file, bad config: one line, no traceback
        if os.environ.get("EMOTION_DEBUG"):
            raise
        print(f"emotion {name}: error: {exc}", file=sys.stderr)
        return 1
