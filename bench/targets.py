"""The targets the figures are judged against (set for the `large` preset on a quiet machine)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_EXPONENT = 1.1  # "about linear"; a little over 1.0 is noise and cache effects, 2.0 would be quadratic


@dataclass(frozen=True)
class Target:
    stage: str
    metric: str  # a key of the stage's median figures
    limit: float
    at_least: bool  # True: value >= limit; False: value <= limit
    label: str

    def met(self, value: float | None) -> bool | None:
        if value is None:
            return None
        return value >= self.limit if self.at_least else value <= self.limit


TARGETS: tuple[Target, ...] = (
    Target("ingest_full", "records_per_s", 25_000, True, ">= 25,000 rec/s"),
    Target("ingest_full", "peak_rss_mib", 1024, False, "<= 1 GiB RSS"),
    Target("nightly", "seconds", 60, False, "<= 60 s"),
    Target("dbt_full", "seconds", 60, False, "<= 60 s"),
)


def stage_verdicts(stages: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One verdict per target whose stage was measured."""
    out = []
    for t in TARGETS:
        if t.stage in stages:
            value = stages[t.stage].get(t.metric)
            # a stage that failed (e.g. a nightly stopped by the gate) meets no target, however fast it was
            met = False if stages[t.stage].get("success") is False else t.met(value)
            out.append({"stage": t.stage, "metric": t.metric, "value": value, "target": t.label, "met": met})
    return out


def exponent_met(exponent: float | None) -> bool | None:
    return None if exponent is None else exponent <= MAX_EXPONENT


def verdict_text(met: bool | None) -> str:
    return {True: "met", False: "MISSED", None: "n/a"}[met]
