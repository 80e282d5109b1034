from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectors.warehouse.raw import RawWarehouse


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: int = 60) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def wh(tmp_path, clock):
    warehouse = RawWarehouse(tmp_path / "warehouse.duckdb", clock=clock)
    yield warehouse
    warehouse.close()
