"""How much of a core the live component's face searches may take: the search interval stretches under load.

A search (full-frame HOG detection plus the region checks of faces too small for it) costs 3-40 ms, while
following a tracked face costs ~1 ms. One camera searching every ``detect_every`` frames spends a few
percent of a core on it; four cameras of small faces spend a third of one, which the frames then miss.
``SearchBudget`` is shared by every camera's tracker of a component: each search reports its time, and
when the searches of the last seconds, scaled back to the configured interval, would take more than
``share`` of one core, each tracker waits ``stretch`` times ``detect_every`` frames between searches
(up to ``max_stretch``). Tracked faces are still followed on every frame; only new faces are found later
(within ``detect_every * max_stretch`` frames) and a face that leaves unnoticed by the follow checks is
dropped later. Offline runs (``analyze``, ``prepare``) use no budget: their searches do not depend on
the machine's speed.
"""

from __future__ import annotations

import collections
import math
import threading
import time
from typing import Callable

WINDOW_S: float = 3.0
"""Seconds of searches the load is measured over."""
MAX_SEARCHES: int = 4096
"""Searches remembered at most (bounded whatever the number of cameras)."""


class SearchBudget:
    """The stretch of every tracker's search interval, from the searches' measured time (thread-safe)."""

    def __init__(self, share: float, max_stretch: int, clock: Callable[[], float] = time.monotonic) -> None:
        if not (math.isfinite(share) and 0.0 < share <= 1.0):
            raise ValueError(f"search share must lie in (0, 1], got {share!r}")
        if max_stretch < 1:
            raise ValueError(f"max search stretch must be >= 1, got {max_stretch!r}")
        self.share, self.max_stretch = share, max_stretch
        self._clock = clock
        self._lock = threading.Lock()
        self._searches: collections.deque[tuple[float, float]] = collections.deque(maxlen=MAX_SEARCHES)
        """(when, ms at the unstretched interval) of the recent searches."""
        self.stretch = 1

    def record(self, elapsed_ms: float) -> None:
        """One search took ``elapsed_ms``; the stretch for the next schedules."""
        now = self._clock()
        with self._lock:
            # a search made at stretch s stands for s searches of the unstretched schedule
            self._searches.append((now, elapsed_ms * self.stretch))
            while self._searches and self._searches[0][0] < now - WINDOW_S:
                self._searches.popleft()
            unstretched_ms_per_s = sum(ms for _, ms in self._searches) / WINDOW_S
            wanted = math.ceil(unstretched_ms_per_s / (1000.0 * self.share))
            self.stretch = int(min(max(wanted, 1), self.max_stretch))
