"""Salesforce -> ``raw_salesforce``: one asset per raw table, all served by one ``sync_salesforce`` call per run.

Asset keys are ``["salesforce", <object lower>]`` so dbt sources named ``salesforce`` with those table names
resolve to them. The multi-asset is subsettable: a run syncs exactly the selected objects. The multi-currency
tables (``CurrencyType``, ``DatedConversionRate``) exist only in multi-currency orgs: an object missing from the
org's describeGlobal is materialized as absent (``present_in_org: false``, no table) so the dbt step downstream
still runs (its staging model reads an empty relation).

A ``partial`` result (quota guard, 403 REQUEST_LIMIT_EXCEEDED) or a ``failed`` one never looks like success: the
tables that loaded are materialized (their ``status`` metadata says what happened), then the step raises a
``dg.Failure`` naming the stopped objects and why. Committed data stays; the next run resumes from the cursor.
"""


from collections.abc import Iterator, Sequence
from typing import Any

import dagster as dg

from connectors.salesforce.errors import CleanStop, ConfigError, SalesforceConnectorError, SessionExpiredError
from connectors.salesforce.sync import DEFAULT_OBJECTS, MULTI_CURRENCY_OBJECTS, SyncOptions, sync_salesforce
from orchestration.defs.resources import SalesforceResource, WarehouseResource

from .metadata import failure_message, loaded_something, sync_metadata, table_metadata

SOURCE = "salesforce"
OBJECTS: tuple[str, ...] = (*DEFAULT_OBJECTS, *MULTI_CURRENCY_OBJECTS)
KINDS = {"salesforce", "duckdb"}
PULL_RETRY = dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


def asset_key(obj: str) -> dg.AssetKey:
    return dg.AssetKey([SOURCE, obj.lower()])


def _spec(obj: str) -> dg.AssetSpec:
    optional = obj in MULTI_CURRENCY_OBJECTS
    return dg.AssetSpec(
        asset_key(obj),
        description=(f"Salesforce `{obj}` landed in `raw_salesforce.{obj.lower()}`: every queryable field, merged on "
                     "`Id`, soft/hard deletes flagged in `_is_deleted`, incremental on `SystemModstamp`."
                     + (" Present only in multi-currency orgs." if optional else "")),
        group_name=SOURCE,
        kinds=KINDS,
        skippable=optional,
        metadata={"table": f"raw_salesforce.{obj.lower()}", "primary_key": "Id", "salesforce_object": obj},
    )


SPECS = [_spec(o) for o in OBJECTS]


def connector_failure(source: str, exc: Exception, *, retry: bool = False) -> dg.Failure:
    return dg.Failure(description=f"{source}: {exc}", allow_retries=retry)


def run_salesforce(context: dg.AssetExecutionContext, salesforce: SalesforceResource, warehouse: WarehouseResource,
                   objects: Sequence[str], options: SyncOptions | None = None) -> Iterator[dg.MaterializeResult]:
    from connectors.salesforce.client import connect

    try:
        # tuning variables are read in the run process, like the resource's EnvVars (resolved there too)
        options = options or SyncOptions.from_env()
        config = salesforce.config()
    except ConfigError as exc:
        raise connector_failure("Salesforce configuration", exc) from None
    try:
        client = connect(config, **options.connect_kwargs())
        available = {o["name"] for o in client.describe_global().get("sobjects", []) if o.get("queryable", True)}
    except SessionExpiredError as exc:
        raise connector_failure("Salesforce login", exc) from None
    except CleanStop as exc:
        raise connector_failure("Salesforce", exc) from None
    except SalesforceConnectorError as exc:  # transient: let the retry policy try again
        raise connector_failure("Salesforce", exc, retry=True) from None

    # CurrencyType/DatedConversionRate exist only in multi-currency orgs; a trimmed org (or the simulator fed a
    # partial export) may lack others. Absent objects are recorded, not failed: dbt reads them as empty.
    absent = [o for o in objects if o not in available]
    if absent:
        level = context.log.info if set(absent) <= set(MULTI_CURRENCY_OBJECTS) else context.log.warning
        level(f"salesforce: {', '.join(absent)} not in this org; recorded as absent")
    wanted = [o for o in objects if o not in absent]
    results: list[Any] = []
    with warehouse.open() as wh:
        if wanted:
            results = sync_salesforce(config, wh, objects=wanted, options=options, client=client)
        server_now = client.server_now()
        for r in results:
            table = r.object.lower()
            context.log.info(f"salesforce {r.object}: {r.status} +{r.rows_inserted} ~{r.rows_updated} "
                             f"-{r.rows_deleted} ({r.api_calls} calls, {r.api_path}, {r.duration_s:.1f}s)")
            if loaded_something(r) and wh.table_exists(SOURCE, table):
                yield dg.MaterializeResult(
                    asset_key=asset_key(r.object),
                    metadata={**sync_metadata(r, server_now=server_now, api_path=r.api_path),
                              **table_metadata(wh, SOURCE, table)})
    for obj in absent:  # materialized as absent so downstream dbt runs (staging reads an empty relation)
        yield dg.MaterializeResult(
            asset_key=asset_key(obj),
            metadata={"present_in_org": False,
                      "note": dg.MetadataValue.text(f"{obj} is not in this org's describeGlobal; no table landed")})
    bad = [r for r in results if r.status != "success"]
    if bad:
        stopped = any(r.status in ("partial", "skipped") for r in bad)
        raise dg.Failure(description=failure_message("salesforce", bad),
                         metadata={"stopped_objects": dg.MetadataValue.text(", ".join(r.object for r in bad))},
                         allow_retries=not stopped)


@dg.multi_asset(
    name="salesforce_raw",
    specs=SPECS,
    can_subset=True,
    pool="duckdb",
    retry_policy=PULL_RETRY,
    description="Sync the selected Salesforce objects into raw_salesforce (one connector call per run).",
)
def salesforce_raw(context: dg.AssetExecutionContext, salesforce: SalesforceResource,
                   warehouse: WarehouseResource) -> Iterator[dg.MaterializeResult]:
    selected = [o for o in OBJECTS if asset_key(o) in context.selected_asset_keys]
    yield from run_salesforce(context, salesforce, warehouse, selected)


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[salesforce_raw])
