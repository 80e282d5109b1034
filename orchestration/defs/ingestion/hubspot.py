"""HubSpot -> ``raw_hubspot``: one asset per raw table, all served by one ``sync_hubspot`` call per run.

Keys: ``["hubspot", <object type>]`` for the CRM objects, ``["hubspot", "owners" | "pipelines" |
"pipeline_stages" | "properties"]`` for the metadata snapshots and property definitions, and
``["hubspot", "assoc_<from>__<to>"]`` for the association tables (written by the ``<from>`` object's sync).

Selection -> streams: an object type or one of its association tables syncs that object type; owners and
pipelines are re-snapshotted on every run (a few calls); ``properties`` alone syncs every object type (the
definitions are read during each object's schema step). Partial (DAILY limit) and failed streams materialize
what loaded, then the step raises a ``dg.Failure`` naming them.
"""


from collections.abc import Iterator, Sequence
from typing import Any

import dagster as dg

from connectors.hubspot.config import ASSOCIATION_PAIRS, OBJECT_TYPES, tuning_from_env
from connectors.hubspot.errors import ConfigError, HubSpotError, StopRun
from connectors.hubspot.sync import sync_hubspot
from connectors.warehouse.raw import association_table
from orchestration.defs.resources import HubSpotResource, WarehouseResource

from .metadata import failure_message, loaded_something, sync_metadata, table_metadata

SOURCE = "hubspot"
KINDS = {"hubspot", "duckdb"}
META_TABLES = ("owners", "pipelines", "pipeline_stages", "properties")
ASSOC_TABLES: dict[str, tuple[str, str]] = {association_table(f, t): (f, t) for f, t in ASSOCIATION_PAIRS}
TABLES: tuple[str, ...] = (*OBJECT_TYPES, *META_TABLES, *ASSOC_TABLES)
# the stream (SyncResult.object) that writes each non-object table
WRITTEN_BY: dict[str, str] = {"owners": "owners", "pipelines": "pipelines", "pipeline_stages": "pipelines",
                              **{name: pair[0] for name, pair in ASSOC_TABLES.items()}}
PRIMARY_KEYS: dict[str, tuple[str, ...]] = {t: (("from_id", "to_id", "type_id") if t in ASSOC_TABLES else ("id",))
                                            for t in TABLES}
PULL_RETRY = dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)

_DESCRIPTIONS = {
    "owners": "HubSpot owners (full snapshot each run; departed owners flagged `_is_deleted`).",
    "pipelines": "HubSpot deal pipelines (full snapshot each run).",
    "pipeline_stages": "HubSpot deal pipeline stages with `probability` and `is_closed` (full snapshot each run).",
    "properties": "HubSpot property definitions of every synced object type (`loaded` = false for refused names).",
}


def asset_key(table: str) -> dg.AssetKey:
    return dg.AssetKey([SOURCE, table])


def _description(table: str) -> str:
    if table in ASSOC_TABLES:
        f, t = ASSOC_TABLES[table]
        return (f"HubSpot v4 associations {f} -> {t} (with labels) in `raw_hubspot.{table}`, refreshed for changed "
                f"{f} and re-snapshotted periodically; removed links flagged `_is_deleted`.")
    if table in _DESCRIPTIONS:
        return _DESCRIPTIONS[table] + f" Table `raw_hubspot.{table}`."
    return (f"HubSpot `{table}` in `raw_hubspot.{table}`: every property typed from its definition, merged on `id`, "
            "incremental on last-modified via search; archived records flagged `_is_deleted`.")


SPECS = [dg.AssetSpec(asset_key(t), description=_description(t), group_name=SOURCE, kinds=KINDS,
                      metadata={"table": f"raw_hubspot.{t}", "primary_key": ", ".join(PRIMARY_KEYS[t])})
         for t in TABLES]


def streams_for(tables: Sequence[str]) -> list[str]:
    """Object types to sync for the selected tables (owners/pipelines are always snapshotted)."""
    wanted = set(tables)
    if "properties" in wanted and not wanted & (set(OBJECT_TYPES) | set(ASSOC_TABLES)):
        return list(OBJECT_TYPES)
    needed = {t for t in wanted if t in OBJECT_TYPES} | {ASSOC_TABLES[t][0] for t in wanted if t in ASSOC_TABLES}
    return [o for o in OBJECT_TYPES if o in needed]


def _api_path(result: Any) -> str:
    path = getattr(result, "api_path", None)
    if path:
        return str(path)
    return "search" if "search" in (getattr(result, "details", None) or {}) else "list"


def run_hubspot(context: dg.AssetExecutionContext, hubspot: HubSpotResource, warehouse: WarehouseResource,
                tables: Sequence[str]) -> Iterator[dg.MaterializeResult]:
    from connectors.hubspot.client import connect
    from connectors.hubspot.sync import sync_metadata as sync_hubspot_metadata

    try:
        # the resource passes only token and URL to from_env: apply the tuning variables (read in the run process,
        # like the resource's EnvVars) here
        config = hubspot.config().with_(**tuning_from_env())
    except ConfigError as exc:
        raise dg.Failure(description=f"HubSpot configuration: {exc}", allow_retries=False) from None
    client = connect(config)
    streams = streams_for(tables)
    results: list[Any] = []

    def progress(result: Any) -> None:
        results.append(result)
        context.log.info(f"hubspot {result.object}: {result.status} +{result.rows_inserted} ~{result.rows_updated} "
                         f"-{result.rows_deleted} ({result.api_calls} calls, {result.duration_s:.1f}s)")

    error: BaseException | None = None
    with warehouse.open() as wh:
        try:
            if streams:
                sync_hubspot(config, wh, objects=streams, progress=progress, client=client)
            else:  # only owners / pipelines selected: sync_hubspot would fall back to every object type
                for r in sync_hubspot_metadata(client, wh):
                    progress(r)
        except StopRun as exc:
            error = dg.Failure(description=f"HubSpot: {exc}", allow_retries=False)
        except HubSpotError as exc:
            error = dg.Failure(description=f"HubSpot: {exc}", allow_retries=True)
        except Exception as exc:  # an unexpected error: materialize what loaded, then let it (and the retry) run
            error = exc
        yield from _materializations(wh, tables, results, client.server_now)
    bad = [r for r in results if r.status != "success"]
    if error is not None:
        raise error
    if bad:
        stopped = any(r.status == "partial" for r in bad)
        raise dg.Failure(description=failure_message("hubspot", bad),
                         metadata={"stopped_objects": dg.MetadataValue.text(", ".join(r.object for r in bad))},
                         allow_retries=not stopped)


def _materializations(wh: Any, tables: Sequence[str], results: list[Any], server_now: Any
                      ) -> Iterator[dg.MaterializeResult]:
    by_stream = {r.object: r for r in results}
    object_results = [r for r in results if r.object in OBJECT_TYPES]
    for table in tables:
        if table == "properties":
            if not object_results or not wh.table_exists(SOURCE, table):
                continue
            worst = next((r.status for r in object_results if r.status != "success"), "success")
            md = {"status": dg.MetadataValue.text(worst),
                  "synced_by": dg.MetadataValue.text(", ".join(r.object for r in object_results))}
            yield dg.MaterializeResult(asset_key=asset_key(table), metadata={**md, **table_metadata(wh, SOURCE, table)})
            continue
        stream = WRITTEN_BY.get(table, table)
        r = by_stream.get(stream)
        if r is None or not loaded_something(r):
            continue
        if table in ASSOC_TABLES and r.status == "success" and not wh.table_exists(SOURCE, table):
            wh.ensure_association_table(*ASSOC_TABLES[table])  # no links yet: an empty table dbt can select from
        if not wh.table_exists(SOURCE, table):
            continue
        if table == stream:
            md = sync_metadata(r, server_now=server_now, api_path=_api_path(r))
        else:
            md = {"status": dg.MetadataValue.text(r.status), "synced_by": dg.MetadataValue.text(stream)}
        yield dg.MaterializeResult(asset_key=asset_key(table), metadata={**md, **table_metadata(wh, SOURCE, table)})


@dg.multi_asset(
    name="hubspot_raw",
    specs=SPECS,
    can_subset=True,
    pool="duckdb",
    retry_policy=PULL_RETRY,
    description="Sync the selected HubSpot object types, owners and pipelines into raw_hubspot (one connector call "
                "per run).",
)
def hubspot_raw(context: dg.AssetExecutionContext, hubspot: HubSpotResource,
                warehouse: WarehouseResource) -> Iterator[dg.MaterializeResult]:
    selected = [t for t in TABLES if asset_key(t) in context.selected_asset_keys]
    yield from run_hubspot(context, hubspot, warehouse, selected)


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[hubspot_raw])
