"""HubSpot's request quotas per access token: a rolling 10 s burst window, a daily total and the
separate, stricter per-second window of the search endpoints.

Windows run on real (monotonic) time, because they model how fast a client hammers the server;
the daily total counts every admitted request since the simulator started.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable

from ..settings import HubSpotSettings

TEN_SECONDS = 10.0
MESSAGES = {
    "TEN_SECONDLY_ROLLING": "You have reached your ten_secondly_rolling limit.",
    "DAILY": "You have reached your daily limit.",
    "SECONDLY": "You have reached your secondly limit.",
}


class RateLimiter:
    def __init__(self, settings: HubSpotSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.clock = clock
        self._lock = threading.Lock()
        self._burst: dict[str, deque[float]] = defaultdict(deque)
        self._search: dict[str, deque[float]] = defaultdict(deque)
        self._daily: dict[str, int] = defaultdict(int)

    @staticmethod
    def _trim(window: deque[float], now: float, span: float) -> None:
        while window and window[0] <= now - span:
            window.popleft()

    def admit(self, token: str, search: bool, enforce: bool = True) -> str | None:
        """Count one request; the violated policy name when it must be refused (then it is not counted).

        With ``enforce`` off every request is admitted but still counted, so the rate-limit headers
        keep telling the truth about usage.
        """
        s = self.settings
        with self._lock:
            now = self.clock()
            if enforce and self._daily[token] >= s.daily_max:
                return "DAILY"
            if search:
                window, span, cap, policy = self._search[token], 1.0, s.search_per_second, "SECONDLY"
            else:
                window, span, cap, policy = self._burst[token], TEN_SECONDS, s.ten_secondly_max, \
                    "TEN_SECONDLY_ROLLING"
            self._trim(window, now, span)
            if enforce and len(window) >= cap:
                return policy
            window.append(now)
            self._daily[token] += 1
            return None

    def remaining(self, token: str) -> tuple[int, int]:
        """(requests left in the rolling 10 s window, requests left today)."""
        with self._lock:
            window = self._burst[token]
            self._trim(window, self.clock(), TEN_SECONDS)
            return (max(0, self.settings.ten_secondly_max - len(window)),
                    max(0, self.settings.daily_max - self._daily[token]))
