"""Rate-limited log lines: one line per kind of problem per interval, with how many were held back.

A component fed bad input at 30 fps must not print 30 lines a second, yet every kind of problem (bad
image, poll failure, ...) must still show up with its reason. ``RateLimitedLog.report(kind, message)``
prints the first report of a kind at once, then at most one per ``interval_s``, saying how many reports
of that kind were suppressed since the last printed one. ``message_shape`` gives a finer key for
problems whose messages differ only in their numbers (one bad-image reason must not hide another).
A line is at most ``MAX_MESSAGE_CHARS`` long whatever a caller sent, and a kind splits into at most
``MAX_DETAILS`` sub-kinds (more fall into one "other" sub-kind), so neither long values nor endless
distinct reasons can flood the log or grow its memory.
"""

import re
import threading
import time
from typing import Callable

MAX_MESSAGE_CHARS: int = 300
"""Longest message printed; a longer one is cut and says how long it was."""
MAX_DETAILS: int = 32
"""Most separately limited sub-kinds (``detail``) per kind."""
OTHER_DETAIL = "\0other"


def message_shape(message: str) -> str:
    """``message`` with every number replaced by ``#``: messages of one shape are one kind of problem."""
    return re.sub(r"-?\d+(\.\d+)?", "#", message)


class RateLimitedLog:
    """At most one printed line per kind per ``interval_s`` seconds (thread-safe)."""

    def __init__(self, interval_s: float = 5.0, log: Callable[[str], None] = print,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not interval_s > 0:
            raise ValueError(f"interval_s must be > 0, got {interval_s}")
        self.interval_s = float(interval_s)
        self.log = log
        self.clock = clock
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}
        self._details: dict[str, int] = {}
        self._lock = threading.Lock()

    def report(self, kind: str, message: str, detail: str | None = None) -> bool:
        """Log ``kind: message`` unless a line of this kind was printed less than ``interval_s`` ago.

        ``detail`` splits a kind into sub-kinds limited separately (e.g. ``message_shape(reason)``).
        Returns True when the line was printed.
        """
        now = self.clock()
        if len(message) > MAX_MESSAGE_CHARS:
            message = f"{message[:MAX_MESSAGE_CHARS]}... ({len(message)} characters)"
        detail = None if detail is None else detail[:MAX_MESSAGE_CHARS]
        with self._lock:
            kind_key = self._key(kind, detail)
            if detail is not None and kind_key not in self._last:
                if self._details.get(kind, 0) >= MAX_DETAILS:
                    kind_key = self._key(kind, OTHER_DETAIL)
                else:
                    self._details[kind] = self._details.get(kind, 0) + 1
            last = self._last.get(kind_key)
            if last is not None and now - last < self.interval_s:
                self._held[kind_key] = self._held.get(kind_key, 0) + 1
                return False
            self._last[kind_key] = now
            held = self._held.pop(kind_key, 0)
        suffix = f" (+{held} more held back since the last such line)" if held else ""
        self.log(f"{kind}: {message}{suffix}")
        return True

    def suppressed(self, kind: str, detail: str | None = None) -> int:
        """Reports of ``kind`` (and ``detail``) held back since its last printed line."""
        with self._lock:
            return self._held.get(self._key(kind, detail), 0)

    @staticmethod
    def _key(kind: str, detail: str | None) -> str:
        return kind if detail is None else f"{kind}\0{detail}"
