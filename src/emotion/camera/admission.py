"""How fast new camera ids are admitted: a token bucket, so a stream of fresh ids costs the component at
most ``rate`` new cameras a second (after a first ``burst``, enough for every real camera to start at once)."""

import threading
import time
from typing import Callable


class Admission:
    """``take()`` is True at most ``burst`` times at once and ``rate`` times a second after (thread-safe)."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if not rate > 0 or burst < 1:
            raise ValueError(f"need rate > 0 and burst >= 1, got {rate} and {burst}")
        self.rate, self.burst, self.clock = float(rate), int(burst), clock
        self._tokens = float(burst)
        self._at = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self.clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.rate)
        self._at = now

    def available(self) -> bool:
        """Whether ``take()`` would admit now (takes nothing)."""
        with self._lock:
            self._refill()
            return self._tokens >= 1.0

    def take(self) -> bool:
        """One admission if the bucket holds one (refilled at ``rate`` per second up to ``burst``)."""
        with self._lock:
            self._refill()
            if self._tokens < 1.0:
                return False
            self._tokens -= 1.0
            return True
