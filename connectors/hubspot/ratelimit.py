"""Client-side request pacing: rolling-window token buckets (at most ``capacity`` requests in any ``period``).

A rolling window (a log of the last ``capacity`` admission times) is the exact dual of HubSpot's own
"N per rolling 10 s" and "N per second" policies, so a full burst is allowed but the server's window
can never be exceeded by this process. ``penalize`` pushes the next admission out after a 429.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class TokenBucket:
    def __init__(self, capacity: int, period: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if capacity < 1 or period <= 0:
            raise ValueError("capacity must be >= 1 and period > 0")
        self.capacity = capacity
        self.period = period
        self.clock = clock
        self.sleep = sleep
        self._log: deque[float] = deque()
        self._not_before = 0.0
        self._lock = threading.Lock()
        self.waited_s = 0.0

    def acquire(self) -> float:
        """Block until a request may be sent; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self.clock()
                while self._log and self._log[0] <= now - self.period:
                    self._log.popleft()
                wait = max(0.0, self._not_before - now)
                if not wait and len(self._log) < self.capacity:
                    self._log.append(now)
                    self.waited_s += waited
                    return waited
                if not wait:
                    wait = self._log[0] + self.period - now + 1e-3
            self.sleep(wait)
            waited += wait

    def penalize(self, seconds: float) -> None:
        with self._lock:
            self._not_before = max(self._not_before, self.clock() + seconds)
