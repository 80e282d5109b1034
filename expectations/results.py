"""Plain result types: what the Dagster checks turn into metadata and what the HTML report renders."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ExpectationOutcome:
    id: str  # readable rule id, e.g. "arr_non_negative"
    expectation: str  # the GX expectation type that judged it, e.g. "expect_column_values_to_be_between"
    description: str
    success: bool
    unexpected_count: int | None  # failing rows (column checks) or unexpected rows (SQL checks)
    element_count: int | None  # rows evaluated; None for SQL checks, whose query scans whatever it needs
    sample: tuple[dict[str, Any], ...] = ()  # up to sample_size failing keys with the offending values
    observed_value: Any = None
    note: str | None = None  # why a check was skipped, or the error that failed it
    skipped: bool = False


@dataclass(frozen=True)
class SuiteResult:
    mart: str
    suite: str
    success: bool
    row_count: int | None
    outcomes: tuple[ExpectationOutcome, ...]
    duration_s: float
    error: str | None = None  # the suite could not run at all (e.g. the mart is missing); success is then False

    @property
    def failed(self) -> tuple[ExpectationOutcome, ...]:
        return tuple(o for o in self.outcomes if not o.success)

    def outcome(self, check_id: str) -> ExpectationOutcome:
        for o in self.outcomes:
            if o.id == check_id:
                return o
        raise KeyError(f"{self.suite} has no expectation {check_id!r}")

    def summary(self) -> str:
        if self.error:
            return f"{self.suite}: error: {self.error}"
        if self.success:
            return f"{self.suite}: {len(self.outcomes)} expectations passed"
        return f"{self.suite}: failed " + ", ".join(
            f"{o.id} ({o.unexpected_count if o.unexpected_count is not None else '?'} unexpected)" for o in self.failed
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (samples are already plain values), e.g. for Dagster check metadata."""
        return asdict(self)
