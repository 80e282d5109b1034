"""Bulk API 2.0 ``queryAll`` extraction: result pages streamed into pyarrow Tables with pyarrow.csv.

The job is created and polled through simple-salesforce's Bulk 2.0 client (with a small ``wait``; the
library's default of 5 s would dominate small jobs); result pages are fetched one locator at a time, each
inside one retried call that also parses and checks it (row count = ``Sforce-NumberOfRecords``), so a reset
or truncated page is re-read from the same locator. Only one page is held in memory at a time. Empty cells
are null (Bulk cannot tell null from empty string); numbers in exponent form are made plain.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator, Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from simple_salesforce.bulk2 import Operation

from .client import SalesforceClient
from .errors import IncompletePage
from .extract_rest import NUMERIC_TYPES, plain_number

log = logging.getLogger("acctwh.salesforce")
DEFAULT_PAGE_ROWS = 10_000


def parse_csv_page(text: str, fields: Sequence[tuple[str, str]], expected_rows: int | None) -> pa.Table:
    """One Bulk result page as a Table of strings with exactly the ``fields`` columns."""
    schema = pa.schema([(name, pa.string()) for name, _ in fields])
    data = text.encode("utf-8")
    if not data.strip():
        table = schema.empty_table()
    else:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(block_size=max(1 << 20, len(data) + 1)),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name, _ in fields}, strings_can_be_null=True,
                quoted_strings_can_be_null=True, null_values=[""], include_columns=[n for n, _ in fields],
                include_missing_columns=False),
        )
    if expected_rows is not None and table.num_rows != expected_rows:
        raise IncompletePage(f"bulk page has {table.num_rows} rows, Sforce-NumberOfRecords says {expected_rows}")
    columns = []
    for name, sf_type in fields:
        col = table.column(name)
        if sf_type in NUMERIC_TYPES and len(col) and pc.any(pc.match_substring_regex(col, "[eE]")).as_py():
            col = pa.chunked_array([pa.array([None if v is None else plain_number(v) for v in col.to_pylist()],
                                             pa.string())])
        columns.append(col)
    return pa.Table.from_arrays(columns, schema=schema)


def create_job(client: SalesforceClient, obj: str, soql: str) -> str:
    """Create a Bulk 2.0 ``queryAll`` job; returns its id (the caller may record it to resume later)."""
    job = client.call(f"{obj} bulk create", lambda: client.bulk2(obj).create_job(Operation.query_all, soql))
    return str(job["id"])


def delete_job(client: SalesforceClient, obj: str, job_id: str) -> None:
    """Best-effort cleanup: results expire on their own."""
    try:
        client.bulk2(obj).delete_job(job_id, True)
    except Exception as exc:
        log.info("salesforce: could not delete bulk job for %s: %s", obj, type(exc).__name__)


def iter_job_pages(client: SalesforceClient, obj: str, job_id: str, fields: Sequence[tuple[str, str]],
                   page_rows: int = DEFAULT_PAGE_ROWS, wait: float = 0.2) -> Iterator[pa.Table]:
    """Wait for job ``job_id`` (new or resumed), then yield one Table per result page from the first locator."""
    client.call(f"{obj} bulk wait", lambda: client.bulk2(obj).wait_for_job(job_id, True, wait))
    locator = ""
    while True:
        def fetch(loc: str = locator) -> tuple[pa.Table, str]:
            result = client.bulk2(obj).get_query_results(job_id, loc, page_rows)
            return parse_csv_page(result["records"], fields, result["number_of_records"]), result["locator"]

        table, locator = client.call(f"{obj} bulk results", fetch)
        yield table
        if not locator:
            return


def iter_bulk_pages(client: SalesforceClient, obj: str, soql: str, fields: Sequence[tuple[str, str]],
                    page_rows: int = DEFAULT_PAGE_ROWS, wait: float = 0.2) -> Iterator[pa.Table]:
    """Yield one Table per Bulk 2.0 result page of ``queryAll(soql)``; the job is deleted afterwards."""
    job_id = create_job(client, obj, soql)
    try:
        yield from iter_job_pages(client, obj, job_id, fields, page_rows, wait)
    finally:
        delete_job(client, obj, job_id)
