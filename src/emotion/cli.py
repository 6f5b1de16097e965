"""`python -m emotion <command>`: one entry point for the project's tools, one style for all of them.

Each command lives in its own module exposing ``DESCRIPTION``, ``add_arguments(parser)`` and
``run(args) -> int``; only the chosen module is imported, so ``listen`` does not pay for torch.
Every failure is one stderr line ``emotion <command>: error: ...``: exit 2 for a wrong command line
(argparse, ``UsageError``), 1 for a runtime failure (``ValueError``, ``OSError`` and their kin such as
``CheckpointError``, or any unexpected exception), 130 for Ctrl-C; ``EMOTION_DEBUG=1`` shows the
traceback. Every ``--help`` shows each option's default; ``--version`` prints the project's version.
"""

import argparse
import importlib
import os
import sys
from importlib import metadata
from types import ModuleType
from typing import NoReturn

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
    "export": ("emotion.tools.export", "export a checkpoint to ONNX for the component's torch-free runtime"),
    "bench": ("emotion.tools.bench", "benchmarks: model, perception, e2e"),
}


def version() -> str:
    """The installed project's version (pyproject.toml)."""
    try:
        return metadata.version("emotionrecognition")
    except metadata.PackageNotFoundError:
        return "unknown (not installed: make setup)"


class DefaultsFormatter(argparse.HelpFormatter):
    """Appends ``(default: X)`` to an option's help unless the help already states it (``none``: not
    set, the option's feature is off)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if ("default" in text.lower() or not action.option_strings or action.default is argparse.SUPPRESS
                or isinstance(action, (argparse._StoreTrueAction, argparse._VersionAction))):
            return text
        if action.default in (None, [], ""):
            return f"{text} (default: {'none' if action.default is None else repr(action.default)})"
        return f"{text} (default: %(default)s)"


class CommandParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, ``emotion <command>: error: ...``, exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog.replace('python -m ', '')}: error: {message} (see --help)\n")


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: python -m emotion <command> [options]", "", "commands:"]
    lines += [f"  {name.ljust(width)}  {desc}" for name, (_, desc) in COMMANDS.items()]
    lines += ["", "python -m emotion <command> --help shows a command's options; --version the version."]
    return "\n".join(lines)


def _ice_reason(exc: Exception) -> str | None:
    """One line for an Ice error (a malformed endpoint or proxy, an unreachable or refused peer), else None."""
    ice = sys.modules.get("Ice")
    if ice is None or not isinstance(exc, ice.Exception):
        return None
    from emotion.middleware.startup import ice_reason
    return f"{ice_reason(exc)} ({type(exc).__name__})"


def _fail(name: str, message: str, status: int) -> int:
    if os.environ.get("EMOTION_DEBUG"):
        raise
    print(f"emotion {name}: error: {' '.join(message.split())}", file=sys.stderr)
    return status


def command_parser(name: str) -> tuple[ModuleType, CommandParser]:
    """The module of command ``name`` (one of ``COMMANDS``) and its argument parser."""
    module = importlib.import_module(COMMANDS[name][0])
    parser = CommandParser(prog=f"python -m emotion {name}", description=module.DESCRIPTION,
                           formatter_class=DefaultsFormatter)
    parser.add_argument("--version", action="version", version=f"emotion {version()}")
    module.add_arguments(parser)
    return module, parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0 if argv else 2
    if argv[0] == "--version":
        print(f"emotion {version()}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"emotion: error: unknown command {name!r} (python -m emotion --help lists them)", file=sys.stderr)
        return 2
    module, parser = command_parser(name)
    args = parser.parse_args(rest)
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except UsageError as exc:  # the command line asks for something impossible
        return _fail(name, str(exc), 2)
    except (ValueError, OSError) as exc:  # bad file, bad config, unreachable peer: one line, no traceback
        return _fail(name, str(exc), 1)
    except Exception as exc:  # a bad endpoint or proxy (Ice's error), else a bug: still one line
        reason = _ice_reason(exc)
        if reason is not None:
            return _fail(name, reason, 1)
        return _fail(name, f"unexpected {type(exc).__name__}: {exc} (EMOTION_DEBUG=1 shows where)", 1)
