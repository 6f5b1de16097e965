"""Config dataclasses <-> plain dicts, and the value checks config fields declare (no torch, no numpy).

- ``DictConfig``: a base for frozen config dataclasses stored in checkpoints and TOML files; ``to_dict``
  gives JSON-friendly values (tuples as lists, paths as strings), ``from_dict`` refuses unknown keys and
  turns lists back into tuples;
- ``checked(default, check)``: a dataclass field whose TOML value goes through ``check``; the checks below
  (``integer``, ``number``, ``probability``, ``nonnegative``, ``choice``, ``table``, ``path``) return the
  cleaned value or raise ValueError with the reason.
"""

import dataclasses
import math
from pathlib import Path
from typing import Any, Callable, TypeVar

T = TypeVar("T", bound="DictConfig")


def to_plain(value: Any) -> Any:
    """A JSON-friendly copy: dataclasses as dicts, tuples as lists, paths as strings, the rest as it is."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [to_plain(x) for x in value]
    if isinstance(value, dict):
        return {k: to_plain(x) for k, x in value.items()}
    return str(value) if isinstance(value, Path) else value


def _tuples(value: Any) -> Any:
    return tuple(_tuples(x) for x in value) if isinstance(value, list) else value


def check_keys(cls: type, data: Any) -> None:
    """ValueError unless ``data`` is a mapping whose every key is a field of the dataclass ``cls``."""
    if not isinstance(data, dict):
        raise ValueError(f"expected a table of {cls.__name__} fields, got {data!r}")
    known = sorted(f.name for f in dataclasses.fields(cls))
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ValueError(f"unknown {cls.__name__} key(s) {unknown}; known: {known}")


class DictConfig:
    """Mixin of config dataclasses: ``to_dict`` / ``from_dict`` round-trip, unknown keys are errors."""

    def to_dict(self) -> dict:
        """JSON-friendly field values (see ``to_plain``)."""
        return to_plain(self)

    @classmethod
    def from_dict(cls: type[T], data: dict) -> T:
        """An instance from ``to_dict``'s output (lists become tuples); unknown keys raise ValueError."""
        check_keys(cls, data)
        return cls(**{k: _tuples(v) for k, v in data.items()})


def checked(default: Any, check: Callable[[Any], Any]) -> Any:
    """A dataclass field whose TOML value goes through ``check`` (``metadata["check"]``)."""
    if isinstance(default, (dict, list)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata={"check": check})
    return dataclasses.field(default=default, metadata={"check": check})


def integer(lo: int | None = None, hi: int | None = None) -> Callable[[Any], int]:
    """Check: an int (not a bool) in [lo, hi]."""
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"expected an integer, got {v!r}")
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            raise ValueError(f"expected an integer in [{lo}, {hi}], got {v}")
        return v
    return check


def number(lo: float | None = None, hi: float | None = None, lo_open: bool = False,
           what: str | None = None) -> Callable[[Any], float]:
    """Check: a finite int or float (not a bool) in [lo, hi] (``lo_open``: (lo, hi]), as a float.

    ``what`` (e.g. "a probability in [0, 1]") replaces the generic reason in the message.
    """
    too_low = what or f"a number {'>' if lo_open else '>='} {lo}"
    too_high = what or f"a number <= {hi}"

    def check(v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(f"expected {what or 'a finite number'}, got {v!r}")
        v = float(v)
        if lo is not None and (v < lo or (lo_open and v == lo)):
            raise ValueError(f"expected {too_low}, got {v}")
        if hi is not None and v > hi:
            raise ValueError(f"expected {too_high}, got {v}")
        return v
    return check


probability: Callable[[Any], float] = number(0.0, 1.0, what="a probability in [0, 1]")
nonnegative: Callable[[Any], float] = number(0.0, what="a finite number >= 0")


def choice(*options: str) -> Callable[[Any], str]:
    """Check: one of ``options``."""
    def check(v: Any) -> str:
        if v not in options:
            raise ValueError(f"expected one of {', '.join(options)}, got {v!r}")
        return v
    return check


def boolean(v: Any) -> bool:
    """Check: true or false (not 0 or 1)."""
    if not isinstance(v, bool):
        raise ValueError(f"expected true or false, got {v!r}")
    return v


def table(v: Any) -> dict:
    """Check: a TOML table (a copy of it)."""
    if not isinstance(v, dict):
        raise ValueError(f"expected a table, got {v!r}")
    return dict(v)


def path(v: Any) -> Path:
    """Check: a non-empty path string."""
    if not isinstance(v, str) or not v:
        raise ValueError(f"expected a path string, got {v!r}")
    return Path(v)
