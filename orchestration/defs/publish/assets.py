"""``published_marts``: the last step of the nightly refresh.

The marts dbt builds in the working file are candidates. This asset depends on every mart, so the blocking checks
on them (dbt tests of error severity and the Great Expectations suites) must all pass in the same run before it
starts; Dagster skips it otherwise, the serving file is not touched and BI keeps reading the last good version.
It then writes a brand-new serving DuckDB file plus one Parquet file per mart and swaps them in atomically
(``connectors.warehouse.serving``).
"""

import dagster as dg

from connectors.warehouse.serving import PublishError, ServingError, publish
from orchestration.defs.dbt.assets import account_dbt_models
from orchestration.defs.resources import WarehouseResource

MART_KEYS = sorted((k for k in account_dbt_models.keys if k.path[0] == "marts"), key=lambda k: k.path[-1])
MART_NAMES = [k.path[-1] for k in MART_KEYS]


@dg.asset(
    key="published_marts",
    deps=MART_KEYS,
    group_name="serving",
    kinds={"duckdb", "parquet"},
    pool="duckdb",  # reads the working file: never while a writer holds its lock
    description="Checked marts copied into <home>/serving/marts.duckdb and serving/parquet/<mart>.parquet, "
    "swapped in atomically; the last versions are kept for `acctwh rollback`.",
)
def published_marts(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    try:
        result = publish(warehouse.working_path.resolve(), warehouse.home, MART_NAMES,
                         metadata={"dagster_run_id": context.run.run_id})
    except PublishError as exc:  # names the mart or file; nothing was swapped
        raise dg.Failure(description=f"publish failed, serving file unchanged: {exc}", allow_retries=False) from None
    except ServingError as exc:
        raise dg.Failure(description=f"publish failed, serving file unchanged: {exc}") from None
    rows = "\n".join(f"| {m} | {n:,} |" for m, n in sorted(result.row_counts.items()))
    return dg.MaterializeResult(
        metadata={
            "version": result.version,
            "previous_version": result.previous_version or "none",
            "serving_file": dg.MetadataValue.path(str(result.serving_path)),
            "parquet_dir": dg.MetadataValue.path(str(result.parquet_dir)),
            "rows_per_mart": dg.MetadataValue.md("| mart | rows |\n|---|---|\n" + rows),
            "total_rows": sum(result.row_counts.values()),
            "duckdb_mib": round(result.duckdb_bytes / 2**20, 1),
            "parquet_mib": round(result.parquet_bytes / 2**20, 1),
            "duration_s": round(result.duration_s, 2),
            "pruned_versions": ", ".join(result.pruned) or "none",
        }
    )


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[published_marts])
