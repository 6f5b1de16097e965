"""RoboComp's new config format (robocomp_core ConfigLoader), with errors that name file, line and key.

Format: one ``Dotted.Key = value`` per line, ``#`` starts a comment line, blank lines are ignored. The
line is split on the first ``=``; dotted keys nest (``Config.section("Ice")``); a quoted value stays a
string with its quotes stripped; an unquoted ``true``/``false``, integer or float is converted.
"""

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

Value = str | int | float | bool
MAX_CONFIG_BYTES: int = 1 << 20
"""Largest config file read (1 MiB; the shipped one is about 6 KB)."""
_KEY_PART = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


class ConfigError(ValueError):
    """A config problem; ``str(error)`` is one line: ``FILE:LINE: key 'KEY': problem``."""

    def __init__(self, path: Path | str, line: int | None, key: str | None, problem: str) -> None:
        where = f"{path}:{line}" if line else f"{path}"
        what = f" key {key!r}:" if key else ""
        super().__init__(f"{where}:{what} {problem}")
        self.path, self.line, self.key, self.problem = Path(path), line, key, problem


@dataclass
class Config:
    """The values of one config file, flat by dotted key, with the line each came from."""

    path: Path
    values: dict[str, Value] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)

    def __contains__(self, key: str) -> bool:
        return key in self.values

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def line(self, key: str) -> int | None:
        return self.lines.get(key)

    def section(self, prefix: str) -> dict[str, Value]:
        """Values under ``prefix.`` keyed by their full dotted name (e.g. every ``Ice.*`` property)."""
        start = prefix + "."
        return {k: v for k, v in self.values.items() if k.startswith(start)}

    def nested(self) -> dict[str, Any]:
        """The values as nested dicts (``{"Period": {"Compute": 50}}``)."""
        tree: dict[str, Any] = {}
        for key, value in self.values.items():
            node = tree
            *parents, leaf = key.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = value
        return tree

    def error(self, key: str, problem: str) -> ConfigError:
        """A ConfigError pointing at the line of ``key`` (or at the file when the key is missing)."""
        return ConfigError(self.path, self.line(key), key, problem)


def convert_value(text: str) -> Value:
    """Unquoted ``true``/``false``/int/float converted; anything else (and quoted text) stays a string."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _parse_value(path: Path, number: int, key: str, raw: str) -> Value:
    raw = raw.strip()
    if raw[:1] in ("'", '"'):
        quote = raw[0]
        if len(raw) < 2 or not raw.endswith(quote):
            raise ConfigError(path, number, key, f"unterminated {quote} quote in {raw!r}")
        return raw[1:-1]
    if raw.endswith(("'", '"')):
        raise ConfigError(path, number, key, f"closing quote without an opening one in {raw!r}")
    return convert_value(raw)


def _check_key(path: Path, number: int, key: str) -> None:
    if not key:
        raise ConfigError(path, number, None, "empty key before '='")
    for part in key.split("."):
        if not _KEY_PART.match(part):
            raise ConfigError(path, number, key, f"invalid key (part {part!r}: use letters, digits, '_', '-')")


def parse_config(text: str, path: Path | str = "<config>") -> Config:
    """Parse config text; ConfigError on the first malformed line, duplicate or clashing key."""
    path = Path(path)
    config = Config(path)
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if "=" not in stripped:
            raise ConfigError(path, number, None, f"expected 'Key = value', got {stripped!r}")
        key, raw = stripped.split("=", 1)
        key = key.strip()
        _check_key(path, number, key)
        if key in config.values:
            raise ConfigError(path, number, key, f"set twice (first on line {config.lines[key]})")
        for other in config.values:
            if other.startswith(key + ".") or key.startswith(other + "."):
                raise ConfigError(path, number, key, f"clashes with {other!r} (line {config.lines[other]}): "
                                  "a key cannot be both a value and a section")
        config.values[key] = _parse_value(path, number, key, raw)
        config.lines[key] = number
    return config


def read_config_text(path: Path) -> str:
    """The text of a regular file of at most MAX_CONFIG_BYTES, UTF-8; ConfigError (one line) otherwise.

    Opened without blocking and checked on the open descriptor, so a FIFO or device put in the config's
    place is refused at once instead of blocking the caller.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise ConfigError(path, None, None, f"cannot read config: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(path, None, None, "cannot read config: not a regular file")
        if info.st_size > MAX_CONFIG_BYTES:
            raise ConfigError(path, None, None, f"cannot read config: {info.st_size} bytes, over the limit of "
                              f"{MAX_CONFIG_BYTES}")
        data = handle.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(path, None, None, f"cannot read config: over the limit of {MAX_CONFIG_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(path, None, None, f"cannot read config: not UTF-8 text (byte {exc.start})") from None


def load_config(path: Path | str) -> Config:
    """Read and parse a config file; ConfigError (one line) when it is unreadable or malformed."""
    path = Path(path)
    return parse_config(read_config_text(path), path)


def render_config(values: Mapping[str, Value]) -> str:
    """Config text for ``values`` (strings quoted, numbers and booleans bare); parse_config reads it back."""
    lines = []
    for key, value in values.items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, (int, float)):
            text = repr(value)
        else:
            text = f'"{value}"'
        lines.append(f"{key} = {text}")
    return "\n".join(lines) + "\n"
