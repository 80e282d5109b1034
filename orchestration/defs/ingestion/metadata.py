"""Materialization metadata a person can read, built from a connector ``SyncResult`` and the raw table.

Keys (every raw-table materialization carries the ones that apply):

``status`` text, ``rows_inserted`` / ``rows_updated`` / ``rows_deleted`` int, ``dagster/row_count`` int (all rows,
deleted ones included), ``live_rows`` int, ``api_calls`` int, ``api_path`` text (Salesforce ``rest``/``bulk``,
HubSpot ``list``/``search``), ``cursor`` timestamp, ``lag_s`` float (server now - cursor, seconds), ``lag`` text,
``duration_s`` float, ``warnings`` text, ``message`` text, ``table`` text, ``synced_by`` text (the stream whose
sync wrote this table, for association/definition/stage tables), ``preview`` md (the last rows loaded, a few
non-personal columns only).

Secrets never reach here: only counts, names, timestamps and whitelisted columns are read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from connectors.warehouse.columns import quote_ident

PREVIEW_ROWS = 5
# Columns shown in previews. Contacts, users, owners and engagements show ids and timestamps only: no names,
# emails or phone numbers of people. Account/company names are fine.
SAFE_PREVIEW: dict[tuple[str, str], tuple[str, ...]] = {
    ("salesforce", "account"): ("Id", "Name", "Industry", "BillingCountry", "SystemModstamp"),
    ("salesforce", "opportunity"): ("Id", "AccountId", "StageName", "Amount", "CloseDate"),
    ("salesforce", "opportunitylineitem"): ("Id", "OpportunityId", "Quantity", "TotalPrice", "ServiceDate"),
    ("salesforce", "product2"): ("Id", "Name", "ProductCode", "IsActive"),
    ("salesforce", "contract"): ("Id", "AccountId", "Status", "StartDate", "ContractTerm"),
    ("salesforce", "opportunityhistory"): ("Id", "OpportunityId", "StageName", "CreatedDate"),
    ("salesforce", "currencytype"): ("Id", "IsoCode", "ConversionRate"),
    ("salesforce", "datedconversionrate"): ("Id", "IsoCode", "StartDate", "ConversionRate"),
    ("hubspot", "companies"): ("id", "name", "domain", "updated_at"),
    ("hubspot", "deals"): ("id", "dealstage", "amount", "closedate", "updated_at"),
    ("hubspot", "line_items"): ("id", "quantity", "amount", "updated_at"),
    ("hubspot", "products"): ("id", "name", "updated_at"),
    ("hubspot", "owners"): ("id", "type", "archived"),
    ("hubspot", "pipelines"): ("id", "label", "display_order"),
    ("hubspot", "pipeline_stages"): ("id", "label", "probability", "is_closed"),
    ("hubspot", "properties"): ("id", "type", "field_type", "loaded"),
}
DEFAULT_PREVIEW = {"salesforce": ("Id", "SystemModstamp"), "hubspot": ("id", "updated_at")}
ASSOC_PREVIEW = ("from_id", "to_id", "type_id", "category")
TRAILING = ("_is_deleted", "_loaded_at")


def raw_schema(source: str) -> str:
    return f"raw_{source}"


def preview_columns(source: str, table: str, existing: Sequence[str]) -> list[str]:
    wanted = ASSOC_PREVIEW if table.startswith("assoc_") else SAFE_PREVIEW.get((source, table),
                                                                                DEFAULT_PREVIEW[source])
    have = set(existing)
    return [c for c in (*wanted, *TRAILING) if c in have]


def table_columns(wh: Any, source: str, table: str) -> list[str]:
    rows = wh.fetch_arrow("SELECT column_name FROM information_schema.columns WHERE table_schema = ? "
                          "AND table_name = ? ORDER BY ordinal_position", [raw_schema(source), table])
    return rows.column("column_name").to_pylist()


def table_counts(wh: Any, source: str, table: str) -> tuple[int, int]:
    """(all rows, live rows) of ``raw_<source>.<table>``."""
    ref = f"{raw_schema(source)}.{quote_ident(table)}"
    row = wh.fetch_arrow(f"SELECT count(*) AS n, count(*) FILTER (WHERE NOT coalesce(_is_deleted, false)) AS live "
                         f"FROM {ref}").to_pylist()[0]
    return int(row["n"]), int(row["live"])


def md_preview(wh: Any, source: str, table: str) -> str:
    cols = preview_columns(source, table, table_columns(wh, source, table))
    if not cols:
        return "(no previewable columns)"
    ref = f"{raw_schema(source)}.{quote_ident(table)}"
    order = "_loaded_at DESC" if "_loaded_at" in cols else "1"
    rows = wh.fetch_arrow(f"SELECT {', '.join(quote_ident(c) for c in cols)} FROM {ref} "
                          f"ORDER BY {order} LIMIT {PREVIEW_ROWS}").to_pylist()
    if not rows:
        return "(empty table)"

    def cell(value: Any) -> str:
        text = "" if value is None else value.isoformat() if isinstance(value, datetime) else str(value)
        return text.replace("|", "\\|").replace("\n", " ")[:60]

    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(cell(r[c]) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def humanize(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def sync_metadata(result: Any, *, server_now: datetime | None, api_path: str | None) -> dict[str, Any]:
    """The per-stream part (counts, calls, cursor, lag, duration, status, warnings) of one ``SyncResult``."""
    md: dict[str, Any] = {
        "status": dg.MetadataValue.text(result.status),
        "rows_inserted": dg.MetadataValue.int(int(result.rows_inserted)),
        "rows_updated": dg.MetadataValue.int(int(result.rows_updated)),
        "rows_deleted": dg.MetadataValue.int(int(result.rows_deleted)),
        "api_calls": dg.MetadataValue.int(int(result.api_calls)),
        "duration_s": dg.MetadataValue.float(round(float(result.duration_s), 3)),
    }
    if api_path:
        md["api_path"] = dg.MetadataValue.text(api_path)
    cursor = result.cursor
    if cursor is not None:
        cursor = cursor if cursor.tzinfo else cursor.replace(tzinfo=UTC)
        md["cursor"] = dg.MetadataValue.timestamp(cursor)
        if server_now is not None:
            lag = (server_now - cursor).total_seconds()
            md["lag_s"] = dg.MetadataValue.float(round(lag, 1))
            md["lag"] = dg.MetadataValue.text(humanize(lag))
    warnings = list(getattr(result, "warnings", None) or [])
    details = getattr(result, "details", None) or {}
    if details.get("refused_properties"):
        warnings.append(f"refused hostile property names: {', '.join(map(str, details['refused_properties']))}")
    if details.get("dropped_ids"):
        warnings.append(f"{len(details['dropped_ids'])} records vanished between reads")
    md["warnings"] = dg.MetadataValue.text("; ".join(warnings) if warnings else "none")
    if result.message:
        md["message"] = dg.MetadataValue.text(result.message[:1000])
    return md


def table_metadata(wh: Any, source: str, table: str) -> dict[str, Any]:
    """Row counts and the preview of ``raw_<source>.<table>`` (empty dict parts if the table does not exist)."""
    md: dict[str, Any] = {"table": dg.MetadataValue.text(f"{raw_schema(source)}.{table}")}
    if not wh.table_exists(source, table):
        md["dagster/row_count"] = dg.MetadataValue.int(0)
        md["live_rows"] = dg.MetadataValue.int(0)
        md["preview"] = dg.MetadataValue.md("(table not created yet)")
        return md
    total, live = table_counts(wh, source, table)
    md["dagster/row_count"] = dg.MetadataValue.int(total)
    md["live_rows"] = dg.MetadataValue.int(live)
    md["preview"] = dg.MetadataValue.md(md_preview(wh, source, table))
    return md


def failure_message(source: str, bad: Sequence[Any]) -> str:
    """One line naming every stopped or failed stream and why."""
    not_started = [r for r in bad if r.status == "skipped" or (r.message or "").startswith("not started")]
    parts = [f"{r.object} {r.status}: {r.message or 'no message'}" for r in bad if r not in not_started]
    if not_started:
        parts.append(f"not started ({not_started[0].status}): {', '.join(r.object for r in not_started)}")
    return f"{source} sync incomplete ({len(bad)} stream(s)); committed data stays and the next run resumes. " + \
        " | ".join(parts)


def loaded_something(result: Any) -> bool:
    """Materialize a stream if it succeeded, or stopped (``partial``) after committing changes."""
    if result.status == "success":
        return True
    changed = result.rows_inserted + result.rows_updated + result.rows_deleted
    return result.status == "partial" and changed > 0
