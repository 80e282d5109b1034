"""Asset checks on the raw tables.

``primary_key_unique`` (blocking, every raw table): no key value appears twice and none is null. Salesforce
tables are keyed on ``Id``, HubSpot tables on ``id``, association tables on ``(from_id, to_id, type_id)``.
Metadata: ``rows``, ``duplicate_keys``, ``null_keys``, ``duplicate_sample`` (up to 5 keys).

``completeness`` (WARN on mismatch; object tables, owners, pipelines, pipeline_stages): the live rows loaded vs
the source's count for the same window, one cheap count per table:

* Salesforce: ``SELECT COUNT() FROM <Object> WHERE SystemModstamp < <cursor second> [AND IsDeleted = false]``
  (one queryAll call; objects without ``SystemModstamp`` are compared whole) against the table's live rows with
  ``SystemModstamp`` below the same bound.
* HubSpot objects: a search with ``<last-modified> LTE cursor`` and ``limit 1`` returns ``total`` (live records;
  one search call) against live rows with ``updated_at <= cursor``.
* HubSpot owners / pipelines / stages: the snapshot is re-read (2-3 calls) and its size compared with live rows.

The window ends at the stream's committed cursor, so records changed after the sync do not count on the source
side; a record edited or deleted since the cursor can still make a small difference, hence WARN, not ERROR.
Metadata: ``loaded``, ``source``, ``difference``, ``window_end``.

* HubSpot association tables (``assoc_<from>__<to>``): v4 associations have no count endpoint, so the check
  re-reads the associations of the last window's changed records: the live ``<from>`` rows modified last up to
  the committed cursor (at most ``ASSOC_SAMPLE``, one v4 batch read) must have exactly the source's
  ``(from_id, to_id, type_id)`` rows live in the table. ``missing`` / ``stale`` count each side's extra links.
  Links added since the sync to a record that was not modified can differ until the weekly snapshot: WARN.

Property definitions carry only ``primary_key_unique``.
"""


from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from connectors.salesforce.sync import MULTI_CURRENCY_OBJECTS
from connectors.warehouse.columns import quote_ident
from orchestration.defs.resources import HubSpotResource, SalesforceResource, WarehouseResource

from . import hubspot as hs
from . import salesforce as sf
from .metadata import table_columns

PK_CHECK = "primary_key_unique"
COMPLETENESS_CHECK = "completeness"
SAMPLE = 5
HUBSPOT_COMPLETENESS = (*hs.OBJECT_TYPES, "owners", "pipelines", "pipeline_stages", *hs.ASSOC_TABLES)
ASSOC_SAMPLE = 1_000  # changed from-records whose associations are re-read (one v4 batch read per table)


# -- primary key ---------------------------------------------------------------------------------------------
def primary_key_result(wh: Any, source: str, table: str, key: Sequence[str], asset_key: dg.AssetKey
                       ) -> dg.AssetCheckResult:
    if not wh.table_exists(source, table):
        return dg.AssetCheckResult(asset_key=asset_key, check_name=PK_CHECK, passed=False,
                                   severity=dg.AssetCheckSeverity.WARN,
                                   description=f"raw_{source}.{table} does not exist yet")
    ref = f"raw_{source}.{quote_ident(table)}"
    cols = ", ".join(quote_ident(k) for k in key)
    null_any = " OR ".join(f"{quote_ident(k)} IS NULL" for k in key)
    stats = wh.fetch_arrow(f"SELECT count(*) AS n, count(*) FILTER (WHERE {null_any}) AS nulls FROM {ref}"
                           ).to_pylist()[0]
    dups = wh.fetch_arrow(f"SELECT {cols}, count(*) AS copies FROM {ref} WHERE NOT ({null_any}) GROUP BY {cols} "
                          f"HAVING count(*) > 1 ORDER BY copies DESC, {cols}").to_pylist()
    sample = [", ".join(str(d[k]) for k in key) + f" (x{d['copies']})" for d in dups[:SAMPLE]]
    passed = not dups and not stats["nulls"]
    return dg.AssetCheckResult(
        asset_key=asset_key, check_name=PK_CHECK, passed=passed,
        description=None if passed else f"{len(dups)} duplicated and {stats['nulls']} null key(s) in {ref}",
        metadata={"rows": dg.MetadataValue.int(int(stats["n"])), "duplicate_keys": dg.MetadataValue.int(len(dups)),
                  "null_keys": dg.MetadataValue.int(int(stats["nulls"])),
                  "duplicate_sample": dg.MetadataValue.text("; ".join(sample) if sample else "none"),
                  "primary_key": dg.MetadataValue.text(", ".join(key))})


def _pk_specs(keys: Iterable[dg.AssetKey], what: str) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(PK_CHECK, asset=k, blocking=True,
                              description=f"{what} key is unique and never null (blocks downstream assets).")
            for k in keys]


@dg.multi_asset_check(specs=_pk_specs([sf.asset_key(o) for o in sf.OBJECTS], "Id"), can_subset=True,
                      pool="duckdb", name="salesforce_primary_keys")
def salesforce_primary_keys(context: dg.AssetCheckExecutionContext,
                            warehouse: WarehouseResource) -> Iterator[dg.AssetCheckResult]:
    selected = {c.asset_key for c in context.selected_asset_check_keys}
    with warehouse.open(read_only=True) as wh:
        for obj in sf.OBJECTS:
            if sf.asset_key(obj) in selected:
                yield primary_key_result(wh, "salesforce", obj.lower(), ("Id",), sf.asset_key(obj))


@dg.multi_asset_check(specs=_pk_specs([hs.asset_key(t) for t in hs.TABLES], "Primary"), can_subset=True,
                      pool="duckdb", name="hubspot_primary_keys")
def hubspot_primary_keys(context: dg.AssetCheckExecutionContext,
                         warehouse: WarehouseResource) -> Iterator[dg.AssetCheckResult]:
    selected = {c.asset_key for c in context.selected_asset_check_keys}
    with warehouse.open(read_only=True) as wh:
        for table in hs.TABLES:
            if hs.asset_key(table) in selected:
                yield primary_key_result(wh, "hubspot", table, hs.PRIMARY_KEYS[table], hs.asset_key(table))


# -- completeness --------------------------------------------------------------------------------------------
def completeness_result(asset_key: dg.AssetKey, loaded: int, source: int, window_end: datetime | None,
                        how: str) -> dg.AssetCheckResult:
    diff = loaded - source
    md: dict[str, Any] = {"loaded": dg.MetadataValue.int(loaded), "source": dg.MetadataValue.int(source),
                          "difference": dg.MetadataValue.int(diff), "method": dg.MetadataValue.text(how)}
    if window_end is not None:
        md["window_end"] = dg.MetadataValue.timestamp(window_end)
    return dg.AssetCheckResult(asset_key=asset_key, check_name=COMPLETENESS_CHECK, passed=diff == 0,
                               severity=dg.AssetCheckSeverity.WARN, metadata=md,
                               description=None if diff == 0 else f"loaded {loaded:,} live rows, source has {source:,}")


def _not_synced(asset_key: dg.AssetKey, why: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(asset_key=asset_key, check_name=COMPLETENESS_CHECK, passed=False,
                               severity=dg.AssetCheckSeverity.WARN, description=why)


def _floor_second(ts: datetime) -> datetime:
    ts = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC).replace(microsecond=0)


def _live_count(wh: Any, source: str, table: str, where: str = "", params: Sequence[Any] | None = None) -> int:
    cond = "NOT coalesce(_is_deleted, false)" + (f" AND {where}" if where else "")
    return int(wh.fetch_arrow(f"SELECT count(*) AS n FROM raw_{source}.{quote_ident(table)} WHERE {cond}",
                              list(params or [])).column("n")[0].as_py())


def salesforce_completeness_result(client: Any, wh: Any, obj: str) -> dg.AssetCheckResult:
    from connectors.salesforce.extract_rest import rest_count
    from connectors.salesforce.soql import fmt_datetime

    key, table = sf.asset_key(obj), obj.lower()
    if not wh.table_exists("salesforce", table):
        return _not_synced(key, f"raw_salesforce.{table} does not exist yet")
    columns = set(table_columns(wh, "salesforce", table))
    cursor = wh.get_state("salesforce", table).cursor
    live_filter = " AND IsDeleted = false" if "IsDeleted" in columns else ""
    if "SystemModstamp" in columns:
        if cursor is None:
            return _not_synced(key, f"{obj} has no committed cursor yet")
        end = _floor_second(cursor)
        soql = f"SELECT COUNT() FROM {obj} WHERE SystemModstamp < {fmt_datetime(end)}{live_filter}"
        loaded = _live_count(wh, "salesforce", table, '"SystemModstamp" < ?', [end])
    else:
        end = None
        soql = f"SELECT COUNT() FROM {obj}" + (f" WHERE {live_filter[5:]}" if live_filter else "")
        loaded = _live_count(wh, "salesforce", table)
    return completeness_result(key, loaded, rest_count(client, obj, soql), end, soql)


def hubspot_completeness_result(client: Any, wh: Any, table: str, snapshots: dict[str, int]
                                ) -> dg.AssetCheckResult:
    from connectors.hubspot.extract import last_modified_property, to_ms

    key = hs.asset_key(table)
    if not wh.table_exists("hubspot", table):
        return _not_synced(key, f"raw_hubspot.{table} does not exist yet")
    if table in snapshots:
        return completeness_result(key, _live_count(wh, "hubspot", table), snapshots[table], None,
                                   f"re-read {table} snapshot")
    cursor = wh.get_state("hubspot", table).cursor
    if cursor is None:
        return _not_synced(key, f"{table} has no committed cursor yet")
    prop = last_modified_property(table)
    body = {"filterGroups": [{"filters": [{"propertyName": prop, "operator": "LTE", "value": str(to_ms(cursor))}]}],
            "properties": ["hs_object_id"], "limit": 1}
    source = int(client.search(table, body).get("total") or 0)
    loaded = _live_count(wh, "hubspot", table, "updated_at <= ?", [cursor])
    return completeness_result(key, loaded, source, cursor, f"search {prop} LTE cursor (total)")


def hubspot_association_completeness_result(client: Any, wh: Any, table: str) -> dg.AssetCheckResult:
    """The associations of the last window's changed ``<from>`` records equal the source's (see module doc)."""
    from connectors.hubspot.associations import read_group

    from_type, to_type = hs.ASSOC_TABLES[table]
    key = hs.asset_key(table)
    for needed in (table, from_type):
        if not wh.table_exists("hubspot", needed):
            return _not_synced(key, f"raw_hubspot.{needed} does not exist yet")
    cursor = wh.get_state("hubspot", from_type).cursor
    if cursor is None:
        return _not_synced(key, f"{from_type} has no committed cursor yet")
    ids = wh.fetch_arrow(f"SELECT id FROM raw_hubspot.{quote_ident(from_type)} WHERE NOT coalesce(_is_deleted, false) "
                         f"AND updated_at <= ? ORDER BY updated_at DESC, id LIMIT {ASSOC_SAMPLE}",
                         [cursor]).column("id").to_pylist()
    source: set[tuple[str, str, int]] = set()
    if ids:
        src = read_group(client, from_type, to_type, ids)
        source = set(zip(src.column("from_id").to_pylist(), src.column("to_id").to_pylist(),
                         src.column("type_id").to_pylist(), strict=True))
    got = wh.fetch_arrow(f"SELECT from_id, to_id, CAST(type_id AS BIGINT) AS type_id FROM raw_hubspot."
                         f"{quote_ident(table)} WHERE NOT coalesce(_is_deleted, false) AND from_id IN "
                         "(SELECT unnest(?::VARCHAR[]))", [ids]).to_pylist()
    loaded = {(r["from_id"], r["to_id"], r["type_id"]) for r in got}
    missing, stale = source - loaded, loaded - source
    result = completeness_result(key, len(loaded), len(source), cursor,
                                 f"v4 batch read of the {len(ids)} {from_type} modified last")
    sample = "; ".join(f"{f}->{t} ({ty})" for f, t, ty in sorted(missing | stale)[:SAMPLE])
    md = {**result.metadata, "missing": dg.MetadataValue.int(len(missing)), "stale": dg.MetadataValue.int(len(stale)),
          "sampled_from_ids": dg.MetadataValue.int(len(ids)),
          "difference_sample": dg.MetadataValue.text(sample or "none")}
    passed = not missing and not stale
    return dg.AssetCheckResult(asset_key=key, check_name=COMPLETENESS_CHECK, passed=passed,
                               severity=dg.AssetCheckSeverity.WARN, metadata=md,
                               description=None if passed else f"{len(missing)} source link(s) missing and "
                               f"{len(stale)} stale link(s) for {len(ids)} recently changed {from_type}")


def _completeness_specs(keys: Iterable[dg.AssetKey], source: str) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(COMPLETENESS_CHECK, asset=k,
                              description=f"Live rows loaded match the {source} count up to the committed cursor.")
            for k in keys]


@dg.multi_asset_check(specs=_completeness_specs([sf.asset_key(o) for o in sf.OBJECTS], "Salesforce"),
                      can_subset=True, pool="duckdb", name="salesforce_completeness")
def salesforce_completeness(context: dg.AssetCheckExecutionContext, salesforce: SalesforceResource,
                            warehouse: WarehouseResource) -> Iterator[dg.AssetCheckResult]:
    from connectors.salesforce.client import connect
    from connectors.salesforce.errors import SalesforceConnectorError

    selected = {c.asset_key for c in context.selected_asset_check_keys}
    try:
        client = connect(salesforce.config())
    except SalesforceConnectorError as exc:
        raise dg.Failure(description=f"Salesforce: {exc}", allow_retries=False) from None
    with warehouse.open(read_only=True) as wh:
        for obj in sf.OBJECTS:
            key = sf.asset_key(obj)
            if key not in selected:
                continue
            if obj in MULTI_CURRENCY_OBJECTS and not wh.table_exists("salesforce", obj.lower()):
                yield dg.AssetCheckResult(asset_key=key, check_name=COMPLETENESS_CHECK, passed=True,
                                          description="not in this org (single-currency)")
                continue
            yield salesforce_completeness_result(client, wh, obj)


@dg.multi_asset_check(specs=_completeness_specs([hs.asset_key(t) for t in HUBSPOT_COMPLETENESS], "HubSpot"),
                      can_subset=True, pool="duckdb", name="hubspot_completeness")
def hubspot_completeness(context: dg.AssetCheckExecutionContext, hubspot: HubSpotResource,
                         warehouse: WarehouseResource) -> Iterator[dg.AssetCheckResult]:
    from connectors.hubspot import metadata as hs_meta
    from connectors.hubspot.client import connect
    from connectors.hubspot.errors import HubSpotError

    selected = [t for t in HUBSPOT_COMPLETENESS
                if hs.asset_key(t) in {c.asset_key for c in context.selected_asset_check_keys}]
    try:
        client = connect(hubspot.config())
        snapshots: dict[str, int] = {}
        if "owners" in selected:
            snapshots["owners"] = hs_meta.fetch_owners(client).num_rows
        if {"pipelines", "pipeline_stages"} & set(selected):
            pipelines, stages = hs_meta.fetch_pipelines(client, "deals")
            snapshots.update(pipelines=pipelines.num_rows, pipeline_stages=stages.num_rows)
        with warehouse.open(read_only=True) as wh:
            results = [hubspot_association_completeness_result(client, wh, t) if t in hs.ASSOC_TABLES
                       else hubspot_completeness_result(client, wh, t, snapshots) for t in selected]
    except HubSpotError as exc:
        raise dg.Failure(description=f"HubSpot: {exc}", allow_retries=False) from None
    yield from results


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(asset_checks=[salesforce_primary_keys, hubspot_primary_keys, salesforce_completeness,
                                        hubspot_completeness])
