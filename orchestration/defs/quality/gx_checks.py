"""``gx_suite`` checks: one blocking asset check per mart, all evaluated in one step after ``dbt build``.

The suites (``expectations.registry``) run over a read-only connection to the working file, compare volumes with
the last published serving file, and judge source freshness against ``ACCTWH_REFERENCE_TIME`` (ISO time; unset =
now, the demo sets the simulator's clock). A failed suite blocks ``published_marts`` in the same run, so nothing
reaches BI. The step also writes the run's HTML validation report next to the serving file.
"""

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from orchestration.defs.publish.assets import MART_KEYS
from orchestration.defs.resources import WarehouseResource

CHECK_NAME = "gx_suite"
REFERENCE_TIME_VAR = "ACCTWH_REFERENCE_TIME"
SAMPLE_ROWS = 5


def reference_time() -> datetime:
    value = (os.environ.get(REFERENCE_TIME_VAR) or "").strip()
    if not value:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise dg.Failure(description=f"{REFERENCE_TIME_VAR}={value!r} is not an ISO date-time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def report_paths(home: str, run_id: str) -> tuple[Path, Path]:
    """(this run's report, the latest report) under ``<home>/serving/reports/``."""
    folder = Path(home) / "serving" / "reports"
    return folder / f"validation-{run_id}.html", folder / "latest.html"


def check_metadata(result) -> dict[str, object]:  # an expectations.results.SuiteResult
    failed = result.failed
    lines = ["| expectation | result | unexpected | sample |", "|---|---|---|---|"]
    for outcome in result.outcomes:
        sample = "; ".join(", ".join(f"{k}={v}" for k, v in row.items()) for row in outcome.sample[:SAMPLE_ROWS])
        verdict = "skipped" if outcome.skipped else ("pass" if outcome.success else "**FAIL**")
        unexpected = "" if outcome.unexpected_count is None else outcome.unexpected_count
        lines.append(f"| {outcome.id} | {verdict} | {unexpected} | {sample.replace('|', '/')} |")
    return {
        "suite": result.suite,
        "rows": result.row_count,
        "expectations": len(result.outcomes),
        "failed_expectations": ", ".join(o.id for o in failed) or "none",
        "results": dg.MetadataValue.md("\n".join(lines)),
        "duration_s": round(result.duration_s, 2),
    }


@dg.multi_asset_check(
    specs=[dg.AssetCheckSpec(CHECK_NAME, asset=key, blocking=True,
                             description=f"Great Expectations suite gx_{key.path[-1]} (expectations/registry.py)")
           for key in MART_KEYS],
    name="gx_mart_suites",
    can_subset=True,
    pool="duckdb",  # a read-only connection cannot open the file while a writer holds it
)
def gx_mart_suites(context: dg.AssetCheckExecutionContext,
                   warehouse: WarehouseResource) -> Iterator[dg.AssetCheckResult]:
    from expectations.report import write_html_report
    from expectations.runner import validate_all

    selected = [key.asset_key.path[-1] for key in context.selected_asset_check_keys]
    published = Path(warehouse.home) / "serving" / "marts.duckdb"
    results = validate_all(warehouse.working_path.resolve(), marts=selected,
                           published_path=published if published.exists() else None,
                           reference_time=reference_time())
    run_report, latest = report_paths(warehouse.home, context.run.run_id)
    write_html_report(results, run_report, title="Account Warehouse validation", run_id=context.run.run_id)
    write_html_report(results, latest, title="Account Warehouse validation", run_id=context.run.run_id)
    context.log.info(f"validation report: {run_report}")
    for mart, result in results.items():
        if not result.success:
            context.log.error(f"gx_{mart}: {result.summary()}")
        yield dg.AssetCheckResult(
            asset_key=dg.AssetKey(["marts", mart]),
            check_name=CHECK_NAME,
            passed=result.success,
            severity=dg.AssetCheckSeverity.ERROR,
            description=result.summary(),
            metadata={**check_metadata(result), "report": dg.MetadataValue.path(str(run_report))},
        )


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(asset_checks=[gx_mart_suites])
