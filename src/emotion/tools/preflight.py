"""Checks a tool makes before it starts anything: right extension, writable output, values in range.

Each failure is one sentence: ``UsageError`` (the command line is wrong: exit 2) or ``OSError`` (the
world is not as asked: exit 1), printed by ``emotion.cli``. A free port is checked by
``emotion.middleware.processes.check_port_free``, a reachable rcnode by ``ping_topic_manager``.
"""

import argparse
import math
import tempfile
import zipfile
from pathlib import Path
from typing import Callable, Sequence


class UsageError(ValueError):
    """The command line asks for something impossible (bad extension, value out of range): exit 2."""


def check_suffix(path: Path, suffixes: Sequence[str], option: str) -> Path:
    """``path`` when its extension is one of ``suffixes`` (lower case, with the dot), else UsageError."""
    if Path(path).suffix.lower() not in suffixes:
        raise UsageError(f"{option} {path}: the file must end in {' or '.join(suffixes)}")
    return Path(path)


def check_writable(path: Path, option: str, suffixes: Sequence[str] = ()) -> Path:
    """``path`` when it has a right extension and a file can be created beside it (its folder is made if
    missing); UsageError or OSError naming ``option`` otherwise. Writes nothing at ``path`` itself."""
    path = Path(path)
    if suffixes:
        check_suffix(path, suffixes, option)
    if path.is_dir():
        raise UsageError(f"{option} {path}: is a folder, give a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".write-check-"):
            pass
    except OSError as exc:
        raise OSError(f"{option} {path}: cannot write there ({exc.strerror or exc})") from None
    return path


PICKLE_PROTO: int = 0x80
"""The first byte of a pickle of protocol 2 or later (what ``torch.save`` writes), then the protocol."""


def check_checkpoint_file(path: Path, option: str) -> Path:
    """``path`` when it exists and is a zip archive with a pickle (what ``torch.save`` writes), without
    importing torch; UsageError when missing, OSError when it cannot be a checkpoint. Its content is
    validated when it is loaded."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{option} {path}: no such file (train weights: python -m emotion train, see the README)")
    try:
        with zipfile.ZipFile(path) as archive:
            pickles = [name for name in archive.namelist() if name.endswith("data.pkl")]
            head = archive.open(pickles[0]).read(2) if pickles else b""
    except (zipfile.BadZipFile, OSError) as exc:
        raise OSError(f"{option} {path}: not a torch checkpoint (corrupt or truncated: {exc})") from None
    if not pickles:
        raise OSError(f"{option} {path}: not a torch checkpoint (a zip archive without data.pkl)")
    if len(head) < 2 or head[0] != PICKLE_PROTO or not 2 <= head[1] <= 5:
        raise OSError(f"{option} {path}: not a torch checkpoint (its data.pkl is not a pickle)")
    return path


def check_model_file(path: Path, option: str) -> Path:
    """``path`` when it exists and, unless it is an ONNX export, looks like a torch checkpoint
    (``check_checkpoint_file``); its content is validated when it is loaded."""
    from emotion.classifier import ONNX_SUFFIX  # here: numpy only for the commands that take a model

    path = Path(path)
    if path.suffix.lower() == ONNX_SUFFIX:
        if not path.is_file():
            raise UsageError(f"{option} {path}: no such file (export one: python -m emotion export, see the README)")
        return path
    return check_checkpoint_file(path, option)


def int_range(low: int, high: int) -> Callable[[str], int]:
    """An argparse ``type``: an integer in [low, high]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is out of range {low}..{high}")
        return value

    return parse


def float_range(low: float | None = None, high: float | None = None, low_open: bool = False) -> Callable[[str], float]:
    """An argparse ``type``: a finite number in [low, high] (``low_open``: low excluded, e.g. ``--fps > 0``)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if low is not None and (value < low or (low_open and value == low)):
            raise argparse.ArgumentTypeError(f"{value:g} must be {'>' if low_open else '>='} {low:g}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"{value:g} must be <= {high:g}")
        return value

    return parse
