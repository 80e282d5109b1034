"""Monthly FX rates (units per 1 USD) that drift over time, as Salesforce DatedConversionRate holds them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

CURRENCIES = ("USD", "EUR", "GBP", "JPY")
_BASE = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79, "JPY": 140.0}
_VOL = {"USD": 0.0, "EUR": 0.018, "GBP": 0.02, "JPY": 0.025}
DECIMALS = {"USD": 2, "EUR": 2, "GBP": 2, "JPY": 0}


def month_start(d: date) -> date:
    return d.replace(day=1)


def add_months(d: date, n: int) -> date:
    """``d`` plus ``n`` calendar months, clamped to the month's last day (DuckDB's interval semantics)."""
    y, m = divmod(d.month - 1 + n, 12)
    year, month = d.year + y, m + 1
    last = (date(year + (month // 12), month % 12 + 1, 1) - date(year, month, 1)).days
    return date(year, month, min(d.day, last))


@dataclass
class FxTable:
    """Rates per currency for consecutive months starting at ``first_month``; the last one is open-ended."""

    first_month: date
    rates: dict[str, np.ndarray]  # currency -> rate per month (rounded to 6 places, as stored)
    _lists: dict[str, list[float]] | None = None

    @property
    def months(self) -> list[date]:
        return [add_months(self.first_month, i) for i in range(len(self.rates["USD"]))]

    def index(self, d: date) -> int:
        i = (d.year - self.first_month.year) * 12 + d.month - self.first_month.month
        return int(min(max(i, 0), len(self.rates["USD"]) - 1))

    def rate(self, currency: str, d: date) -> float:
        if self._lists is None:
            self._lists = {c: v.tolist() for c, v in self.rates.items()}
        return self._lists[currency][self.index(d)]


def make_fx(rng: np.random.Generator, first_month: date, n_months: int) -> FxTable:
    rates = {}
    for cur in CURRENCIES:
        steps = rng.normal(0.0, _VOL[cur], n_months)
        steps[0] = 0.0
        # mean-reverting log walk so rates wander but stay plausible
        logs = np.zeros(n_months)
        for i in range(1, n_months):
            logs[i] = 0.9 * logs[i - 1] + steps[i]
        rates[cur] = np.round(_BASE[cur] * np.exp(logs), 6)
    return FxTable(first_month, rates)
