"""SIGKILL the real ``nightly_refresh_job`` at random points, rerun, repeat (fault matrix rows 20-22).

``make test`` runs the fast chain (20+ kills, every stage); ``make test-reliability`` the long one (200 kills,
``ACCTWH_KILLS=N`` to change). ``ACCTWH_KILL_SEED`` replays a campaign; the seed is printed either way.
How kills are placed and what is compared after each run: ``kill_harness.py``.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

from connectors.simulator.dataset.advance import advance
from connectors.simulator.dataset.generate import generate
from connectors.simulator.land import fast_settings
from connectors.simulator.server.simulator import CrmSimulator
from tests.reliability.kill_harness import Campaign, Reference, Worker, make_reference
from tests.reliability.warehouse_compare import ingest_into

AS_OF = date(2025, 6, 30)
FAST_KILLS = 20
LONG_KILLS = 200
STAGES = {"extract", "merge", "checks", "dbt", "publish"}
PERSON_KEY = "kill-harness-person-key-not-a-secret"


def seed() -> int:
    value = os.environ.get("ACCTWH_KILL_SEED")
    return int(value) if value else random.SystemRandom().randrange(1, 2**31)


@dataclass
class Nightly:
    worker: Worker
    reference: Reference
    root: Path


@pytest.fixture(scope="module")
def nightly(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nightly]:
    """One tiny dataset, one simulator, one pre-loaded worker and one clean reference night for the module.

    Every night starts from yesterday's raw layer (a clean ingestion before the CRMs moved on one day), so the
    ingestion a kill interrupts lands real changes: a cursor committed ahead of its rows would lose some.
    """
    root = tmp_path_factory.mktemp("kill_nightly")
    dataset = generate("tiny", seed=42, as_of=AS_OF - timedelta(days=1))  # the demo dataset: passes every gate
    with CrmSimulator(dataset, settings=fast_settings()) as sim:
        baseline = root / "yesterday.duckdb"
        ingest_into(baseline, sim.salesforce_url, sim.hubspot_url)
        changes = advance(dataset, days=1)
        moved = sum(n for per_kind in changes.values() for n in per_kind.values())
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SALESFORCE_", "HUBSPOT_", "ACCTWH_"))}
        env.update({
            "ACCTWH_HOME": str(root / "unused"),  # the child sets the real home; set here so the resource reads it
            "SALESFORCE_URL": sim.salesforce_url, "SALESFORCE_USERNAME": "etl@example.com",
            "SALESFORCE_PASSWORD": "pw", "SALESFORCE_SECURITY_TOKEN": "tok",
            "HUBSPOT_URL": sim.hubspot_url, "HUBSPOT_ACCESS_TOKEN": "pat-test",
            "ACCTWH_PERSON_KEY_SECRET": PERSON_KEY,
            "ACCTWH_REFERENCE_TIME": sim.now().isoformat(),  # GX freshness judged at one fixed time for every run
            "PYTHONUNBUFFERED": "1",
        })
        env.pop("DAGSTER_HOME", None)
        worker = Worker(env, root / "worker").start()
        try:
            started = time.monotonic()
            reference = make_reference(worker, root / "reference", dataset.clock.date().isoformat(), baseline)
            steps = ", ".join(f"{s} {d:.1f}s" for s, d in reference.outcome.durations().items())
            print(f"\nCRMs moved one day ({moved} changes); worker loaded in {worker.load_s:.1f}s; clean night in "
                  f"{time.monotonic() - started:.1f}s "
                  f"({reference.raw_rows:,} raw rows, {reference.mart_rows:,} mart rows; {steps})")
            yield Nightly(worker, reference, root)
        finally:
            worker.close()


def campaign(nightly: Nightly, name: str, kills: int) -> None:
    s = seed()
    print(f"\n{name}: {kills} kills, seed {s} (ACCTWH_KILL_SEED={s} replays it)")
    as_of = nightly.reference.outcome_as_of
    report = Campaign(nightly.worker, nightly.reference, nightly.root / name, as_of, s).run(kills)
    print(report.summary())
    assert len(report.kills) >= kills, report.summary()
    assert set(report.by_stage()) >= STAGES, f"a stage was never hit: {report.summary()}"
    assert report.rows_compared > 0 and report.rows_lost == 0 and report.rows_duplicated == 0, report.summary()


@pytest.mark.timeout(1200)
def test_kill_nightly_fast(nightly: Nightly) -> None:
    campaign(nightly, "fast", FAST_KILLS)


@pytest.mark.reliability
@pytest.mark.timeout(8 * 3600)
def test_kill_nightly_long(nightly: Nightly) -> None:
    campaign(nightly, "long", int(os.environ.get("ACCTWH_KILLS") or LONG_KILLS))
