"""Typed component parameters: config values, validation with a reason, and CommonBehavior's view of them.

A ``ParameterSpec`` declares one config key (type, default, whether it may change at run time, bounds or
choices). A ``ParameterSet`` holds the current values; ``update`` validates every change before applying
any of them, so a refused ``setParameterList`` changes nothing.
"""

import threading
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from emotion.middleware.config import Config, Value

_TYPE_NAMES = {bool: "bool", int: "int", float: "float", str: "string"}


@dataclass(frozen=True)
class ParameterSpec:
    """One parameter: ``name`` is its dotted config key."""

    name: str
    type: type
    default: Value
    editable: bool = False
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None
    doc: str = ""

    @property
    def type_name(self) -> str:
        return _TYPE_NAMES[self.type]

    def parse(self, value: Any) -> Value:
        """The value converted to ``type`` and checked; ValueError with the reason otherwise."""
        converted = self._convert(value)
        if self.minimum is not None and converted < self.minimum:
            raise ValueError(f"{self.name} must be >= {self.minimum:g}, got {shown(value)}")
        if self.maximum is not None and converted > self.maximum:
            raise ValueError(f"{self.name} must be <= {self.maximum:g}, got {shown(value)}")
        if self.choices is not None and converted not in self.choices:
            raise ValueError(f"{self.name} must be one of {', '.join(self.choices)}, got {shown(value)}")
        return converted

    def _convert(self, value: Any) -> Value:
        if self.type is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("true", "1", "yes", "on"):
                return True
            if text in ("false", "0", "no", "off"):
                return False
            raise ValueError(f"{self.name} must be true or false, got {shown(value)}")
        if self.type is str:
            return str(value)
        if isinstance(value, bool):
            raise ValueError(f"{self.name} must be a {self.type_name}, got {shown(value)}")
        try:
            if self.type is int and isinstance(value, float):
                if not value.is_integer():
                    raise ValueError
                return int(value)
            return self.type(str(value).strip()) if isinstance(value, str) else self.type(value)
        except ValueError:
            raise ValueError(f"{self.name} must be a{'n' if self.type is int else ''} {self.type_name}, "
                             f"got {shown(value)}") from None


SHOWN_CHARS: int = 60
"""Most characters of a refused value echoed in an error (a caller's 10 MB value is not a 10 MB line)."""


def shown(value: Any, limit: int = SHOWN_CHARS) -> str:
    """``repr(value)``, cut to ``limit`` characters with the full length said when longer."""
    text = repr(value) if len(str(value)) <= 4 * limit else repr(str(value)[:limit])
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(str(value))} characters)"


def format_value(value: Value) -> str:
    """A value as CommonBehavior's Parameter.value string (``true``/``false`` for booleans)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class ParameterSet:
    """Current values of a list of specs (thread-safe)."""

    def __init__(self, specs: Iterable[ParameterSpec]) -> None:
        self.specs: dict[str, ParameterSpec] = {}
        for spec in specs:
            if spec.name in self.specs:
                raise ValueError(f"parameter {spec.name!r} declared twice")
            self.specs[spec.name] = spec
        self._values: dict[str, Value] = {name: spec.default for name, spec in self.specs.items()}
        self._lock = threading.Lock()

    def __getitem__(self, name: str) -> Value:
        with self._lock:
            return self._values[name]

    def load(self, config: Config) -> None:
        """Take every declared key present in ``config``; ConfigError naming the line of a bad value."""
        parsed = {}
        for name, spec in self.specs.items():
            if name in config:
                try:
                    parsed[name] = spec.parse(config.get(name))
                except ValueError as exc:
                    raise config.error(name, str(exc)) from None
        with self._lock:
            self._values.update(parsed)

    def validate(self, changes: Mapping[str, Any]) -> dict[str, Value]:
        """Parsed values of ``changes``; ValueError naming the first unknown, read-only or bad one."""
        parsed = {}
        for name, value in changes.items():
            spec = self.specs.get(name)
            if spec is None:
                raise ValueError(f"unknown parameter {shown(name)}; editable ones: {', '.join(self.editable())}")
            if not spec.editable:
                raise ValueError(f"parameter {shown(name)} is read-only (change it in the config and restart)")
            parsed[name] = spec.parse(value)
        return parsed

    def update(self, changes: Mapping[str, Any]) -> dict[str, Value]:
        """Validate all changes, then apply them together; the applied values."""
        parsed = self.validate(changes)
        with self._lock:
            self._values.update(parsed)
        return parsed

    def editable(self) -> list[str]:
        return [name for name, spec in self.specs.items() if spec.editable]

    def snapshot(self) -> dict[str, Value]:
        with self._lock:
            return dict(self._values)
