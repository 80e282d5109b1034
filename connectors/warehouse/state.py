"""Per-stream sync state, stored in ``_meta.stream_state`` in the same transaction as the data it describes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

STATUSES = ("never", "running", "success", "partial", "failed")


@dataclass
class StreamState:
    """One row of ``_meta.stream_state``; ``get_state`` returns a fresh one (status ``never``) for unknown streams.

    ``partial`` means the run stopped cleanly (quota, daily limit) with everything loaded so far committed and the
    cursor at the last committed batch; the next run resumes from there.
    """

    source: str
    stream: str
    cursor: datetime | None = None
    cursor_id: str | None = None
    status: str = "never"
    message: str | None = None
    rows_total: int = 0
    api_calls: int = 0
    last_full_sync_at: datetime | None = None
    last_reconciled_at: datetime | None = None
    last_formula_snapshot_at: datetime | None = None
    last_association_snapshot_at: datetime | None = None
    schema_version: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    updated_at: datetime | None = None

    def validate(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"stream state {self.source}/{self.stream}: status {self.status!r} not in {STATUSES}")
