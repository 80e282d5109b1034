"""One ingestion run (Salesforce, then HubSpot) into a RawWarehouse, for the kill/resume tests.

Run as ``python tests/connectors/ingest_once.py WAREHOUSE_PATH`` with the connector environment set
(SALESFORCE_URL, SALESFORCE_USERNAME/PASSWORD/SECURITY_TOKEN, HUBSPOT_URL, HUBSPOT_ACCESS_TOKEN). Small merge
batches and pages make many commits. Every committed transaction prints one line ``commit <n> <operation>``
(flushed) so a parent process can time a kill. Knobs (environment):

- ``KILL_AT_COMMIT=K``: SIGKILL this process inside the K-th transaction, after all its writes, just before
  COMMIT (through the ``RawWarehouse.before_commit`` seam) — a crash mid-merge.
- ``KILL_AT_END=1``: SIGKILL after everything committed, before closing the warehouse or exiting.
- ``INGEST_FROZEN_NOW``: ISO time used as the HubSpot server clock (the list-start cursor of a full load is
  server time, which otherwise depends on wall time and could not be compared between runs).
- ``INGEST_SF_OBJECTS`` / ``INGEST_HS_OBJECTS``: comma-separated object lists.
- ``INGEST_SF_BATCH_ROWS`` (default 300), ``INGEST_SF_PAGE`` (REST batchSize, default 200),
  ``INGEST_HS_PAGE`` (HubSpot list page size, default 100), ``INGEST_HS_MERGE_ROWS`` (HubSpot rows per merge,
  default 200), ``INGEST_HS_PER_10S`` (client-side HubSpot request budget, default 150 per 10 s).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from connectors.hubspot import client as hs_client  # noqa: E402
from connectors.hubspot.config import HubSpotConfig  # noqa: E402
from connectors.hubspot.sync import sync_hubspot  # noqa: E402
from connectors.salesforce.client import RetryPolicy  # noqa: E402
from connectors.salesforce.config import SalesforceConfig  # noqa: E402
from connectors.salesforce.sync import SyncOptions, sync_salesforce  # noqa: E402
from connectors.warehouse.raw import RawWarehouse  # noqa: E402


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class TracingWarehouse(RawWarehouse):
    """Prints ``commit <n> <operation> <schema.table>`` after every committed transaction."""

    commits = 0
    target = "-"
    kill_at = 0

    # The seam as a property so that it is already armed for the bootstrap transaction in ``__init__``
    # (which assigns ``before_commit = None`` first).
    @property
    def before_commit(self) -> Any:
        return self._kill_hook if self.kill_at else None

    @before_commit.setter
    def before_commit(self, value: Any) -> None:
        pass

    def _kill_hook(self, operation: str) -> None:
        if type(self).commits + 1 >= self.kill_at:
            say(f"killing in commit {type(self).commits + 1} {operation} {self.target}")
            die()

    def _merge(self, source: str, table: str, *args: Any, **kwargs: Any) -> Any:
        self.target = f"{source}.{table}"
        try:
            return super()._merge(source, table, *args, **kwargs)
        finally:
            self.target = "-"

    @contextmanager
    def _transaction(self, operation: str) -> Iterator[None]:
        with super()._transaction(operation):
            yield
        type(self).commits += 1
        say(f"commit {type(self).commits} {operation} {self.target}")


def _objects(var: str) -> list[str] | None:
    value = os.environ.get(var, "").strip()
    return [o.strip() for o in value.split(",") if o.strip()] or None


def main(path: str) -> int:
    env = os.environ
    frozen = env.get("INGEST_FROZEN_NOW")
    if frozen:
        fixed = datetime.fromisoformat(frozen)
        hs_client.HubSpotClient.now = lambda self: fixed  # type: ignore[method-assign]
    TracingWarehouse.kill_at = int(env.get("KILL_AT_COMMIT") or 0)
    wh = TracingWarehouse(path)
    say("opened")
    sf_options = SyncOptions(batch_rows=int(env.get("INGEST_SF_BATCH_ROWS") or 300),
                             rest_page_size=int(env.get("INGEST_SF_PAGE") or 200),
                             bulk_threshold=float("inf"),
                             retry=RetryPolicy(max_attempts=6, base_delay=0.01, max_delay=0.2))
    sf_results = sync_salesforce(SalesforceConfig.from_env(), wh, objects=_objects("INGEST_SF_OBJECTS"),
                                 options=sf_options,
                                 progress=lambda obj, loaded: say(f"sf {obj} {loaded}"))
    for r in sf_results:
        say(f"result salesforce {r.object} {r.status} {r.message}")
    hs_knobs: dict[str, Any] = {"list_page_size": int(env.get("INGEST_HS_PAGE") or 100),
                                "general_per_10s": int(env.get("INGEST_HS_PER_10S") or 150),
                                "backoff_base_s": 0.05, "backoff_cap_s": 1.0, "retry_after_cap_s": 2.0}
    if "merge_batch_rows" in {f.name for f in fields(HubSpotConfig)}:  # pages merged per transaction
        hs_knobs["merge_batch_rows"] = int(env.get("INGEST_HS_MERGE_ROWS") or 200)
    hs_config = HubSpotConfig.from_env(**hs_knobs)
    hs_results = sync_hubspot(hs_config, wh, objects=_objects("INGEST_HS_OBJECTS"),
                              progress=lambda r: say(f"hs {r.object} {r.status}"))
    for r in hs_results:
        say(f"result hubspot {r.object} {r.status} {r.message}")
    bad = [r for r in [*sf_results, *hs_results] if r.status != "success"]
    say(f"done {TracingWarehouse.commits} commits, {len(bad)} not successful")
    if env.get("KILL_AT_END"):
        die()
    wh.close()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
