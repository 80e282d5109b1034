"""Land a simulator dataset in a raw DuckDB warehouse through the real connectors (dbt tests, benchmarks).

    uv run python -m connectors.simulator.land --scale small --as-of 2026-06-30 --out /tmp/small.duckdb

The simulator's HubSpot rate limits are switched off and the connector's token buckets raised, so a `small`
dataset lands in seconds; everything else (clients, HTTP, merges, state) is the production path.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from connectors.hubspot.config import HubSpotConfig
from connectors.hubspot.sync import sync_hubspot
from connectors.salesforce.config import SalesforceConfig
from connectors.salesforce.sync import SyncOptions, sync_salesforce
from connectors.simulator.dataset.generate import generate
from connectors.simulator.dataset.store import Dataset
from connectors.simulator.server.settings import SimulatorSettings
from connectors.simulator.server.simulator import CrmSimulator
from connectors.warehouse.raw import RawWarehouse


def fast_settings() -> SimulatorSettings:
    settings = SimulatorSettings.default()
    settings.hubspot.enforce_rate_limits = False
    settings.salesforce.bulk_job_polls_before_complete = 0
    return settings


def ingest(dataset: Dataset, path: Path, verbose: bool = False) -> None:
    """Full sync of both CRMs into ``path``; raises if any object did not finish with ``success``."""

    def say(line: str) -> None:
        if verbose:
            print(line, file=sys.stderr, flush=True)

    with CrmSimulator(dataset, settings=fast_settings()) as sim:
        sf_env = {
            "SALESFORCE_URL": sim.salesforce_url,
            "SALESFORCE_USERNAME": "etl@example.com",
            "SALESFORCE_PASSWORD": "pw",
            "SALESFORCE_SECURITY_TOKEN": "tok",
        }
        hs_env = {"HUBSPOT_URL": sim.hubspot_url, "HUBSPOT_ACCESS_TOKEN": "pat-test"}
        with RawWarehouse(path) as wh:
            results = sync_salesforce(
                SalesforceConfig.from_env(sf_env), wh, options=SyncOptions(bulk_wait=0.01),
                progress=lambda obj, loaded: say(f"salesforce {obj}: {loaded:,} rows"),
            )
            results += sync_hubspot(
                HubSpotConfig.from_env(hs_env, general_per_10s=100_000, search_per_second=1_000), wh,
                progress=lambda r: say(f"hubspot {r.object}: {r.status}, {r.rows_inserted + r.rows_updated:,} rows"),
            )
    bad = [f"{r.object}: {r.status} {r.message}" for r in results if r.status != "success"]
    if bad:
        raise RuntimeError("ingestion did not finish: " + "; ".join(bad))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="small")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 6, 30))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    ingest(generate(args.scale, seed=args.seed, as_of=args.as_of), args.out, verbose=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
