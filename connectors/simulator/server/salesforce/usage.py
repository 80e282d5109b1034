"""The org's daily API request allowance: reported in Sforce-Limit-Info, refused with 403 when used up."""

from __future__ import annotations

import threading

from ..http import HttpError


class ApiUsage:
    def __init__(self, daily_max: int) -> None:
        self.daily_max = daily_max
        self.used = 0
        self._lock = threading.Lock()

    def consume(self) -> None:
        """Count one API request, or raise 403 REQUEST_LIMIT_EXCEEDED when the allowance is spent."""
        with self._lock:
            if self.used >= self.daily_max:
                raise HttpError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            self.used += 1

    @property
    def remaining(self) -> int:
        return max(0, self.daily_max - self.used)

    def header(self) -> str:
        return f"api-usage={self.used}/{self.daily_max}"
