"""``acctwh demo``: generate (or load) a CRM dataset, serve it, and show both official clients reading it.

Step 1 of the roadmap: the demo proves the simulator end to end. Later steps run the nightly
refresh (ingest -> dbt -> checks -> publish) here against the same simulator.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

from connectors.simulator.dataset.store import Dataset
from connectors.simulator.probe import ProbeRow, probe_hubspot, probe_salesforce


def _say(text: str = "") -> None:
    print(text, flush=True)


def _table(rows: list[ProbeRow]) -> list[str]:
    width = max((len(r.obj) for r in rows), default=10)
    lines = [f"    {'object':<{width}}  {'in dataset':>10}  {'served':>10}"]
    for r in rows:
        mark = "" if r.ok else "   <-- MISMATCH"
        lines.append(f"    {r.obj:<{width}}  {r.expected:>10,}  {r.served:>10,}{mark}")
    return lines


def _ground_truth_summary(dataset: Dataset) -> list[str]:
    gt = dataset.ground_truth
    if "account_arr_monthly" not in gt:
        return ["    (no ground truth: a replayed export)"]
    arr = gt["account_arr_monthly"]
    last_month = arr["month"].max()
    current = arr[arr["month"] == last_month]
    lines = [f"    ARR at {last_month}: ${current['arr'].sum():,.2f} across {(current['arr'] > 0).sum():,} accounts"]
    retention = gt.get("retention_monthly")
    if retention is not None and len(retention):
        latest = retention[retention["month"] == retention["month"].max()].iloc[0]
        lines.append(f"    NRR {latest['nrr']:.1%}  GRR {latest['grr']:.1%}  "
                     f"(cohort of {int(latest['cohort_accounts']):,} accounts, month {latest['month']})")
    movements = current["movement"].value_counts().to_dict()
    lines.append("    movements this month: " + ", ".join(f"{k} {v}" for k, v in sorted(movements.items())))
    return lines


def run_demo(*, scale: str | None, dataset_dir: Path | None, seed: int, as_of: date | None, home: Path,
             days: int) -> int:
    from connectors.simulator.dataset.folder import load, save
    from connectors.simulator.dataset.generate import generate
    from connectors.simulator.server.simulator import CrmSimulator

    home.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if dataset_dir is not None:
        _say(f"Loading dataset {dataset_dir} ...")
        dataset = load(dataset_dir, progress=True)
    else:
        scale = scale or "demo"
        _say(f"Generating the {scale} dataset (seed {seed}) ...")
        dataset = generate(scale, seed=seed, as_of=as_of, progress=True)
        out = save(dataset, home / "simulator" / f"{scale}-seed{seed}", overwrite=True, progress=True)
        _say(f"  saved to {out}")
    _say(f"  ready in {time.perf_counter() - started:.1f}s; simulated clock {dataset.clock:%Y-%m-%d %H:%M} UTC")

    failures = 0
    with CrmSimulator(dataset) as sim:
        _say(f"\nSimulator up: Salesforce {sim.salesforce_url}  HubSpot {sim.hubspot_url}")
        _say("\nSalesforce through simple-salesforce (SOAP login, queryAll incl. deleted rows):")
        rows = probe_salesforce(dataset, sim.salesforce_url)
        _say("\n".join(_table(rows)))
        _say("\nHubSpot through hubspot-api-client (CRM search, live records):")
        hs_rows = probe_hubspot(dataset, sim.hubspot_url)
        _say("\n".join(_table(hs_rows)))
        failures += sum(not r.ok for r in rows + hs_rows)
        _say("\nGround truth (from the generator's own subscription model):")
        _say("\n".join(_ground_truth_summary(dataset)))

        if days:
            from connectors.simulator.dataset.advance import advance
        for day in range(1, days + 1):
            before = dataset.clock
            summary = advance(dataset, days=1)
            kinds: dict[str, int] = {}
            for per_kind in summary.values():
                for kind, n in per_kind.items():
                    kinds[kind] = kinds.get(kind, 0) + n
            detail = ", ".join(f"{kind} {n:,}" for kind, n in sorted(kinds.items()))
            _say(f"\nDay {day}: the CRMs moved to {dataset.clock:%Y-%m-%d}; {sum(kinds.values()):,} changes ({detail})")
            sf_rows = [r for r in probe_salesforce(dataset, sim.salesforce_url, since=before) if r.expected]
            hs_rows = [r for r in probe_hubspot(dataset, sim.hubspot_url, since=before) if r.expected]
            _say("  changed since the last refresh, as the incremental queries see them:")
            _say("\n".join(_table(sf_rows + hs_rows)))
            failures += sum(not r.ok for r in sf_rows + hs_rows)
            _say("\n".join(_ground_truth_summary(dataset)))
    _say(f"\nDone in {time.perf_counter() - started:.1f}s. "
         + ("Every count matched." if not failures else f"{failures} counts did NOT match."))
    _say("Next steps of the roadmap turn this into the full pipeline: ingest -> dbt marts -> checks -> publish.")
    return 0 if not failures else 1
