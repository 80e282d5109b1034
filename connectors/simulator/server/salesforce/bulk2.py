"""Bulk API 2.0 query jobs (crm_api_wire §A6, trap 10).

The client never sends the object: it is parsed from the SOQL. Invalid SOQL is rejected at creation
with the REST error codes (400); what only Bulk refuses (compound fields, OFFSET, COUNT()) creates a
job that ends ``Failed`` with an ``errorMessage``, which the client reports as a job failure. The
result is snapshotted when the job is created and served as CSV pages: every value quoted, nulls as
empty cells, the header repeated per page, ``Sforce-NumberOfRecords`` always set and
``Sforce-Locator`` the string ``null`` on the last page.
"""

from __future__ import annotations

import base64
import itertools
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ...dataset.store import Dataset, sf_format_datetime
from ..http import HttpError, Request, Response
from . import soql
from .cursors import Snapshots
from .query import CompiledQuery, compile_query, csv_value

DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
_JOB_IDS = itertools.count(1)  # process-wide: snapshot tables are named after job ids
DEFAULT_MAX_RECORDS = 50_000  # the client's default page size; also ours when maxRecords is absent


@dataclass
class Job:
    id: str
    operation: str
    object: str
    query: str
    created: datetime
    api_version: str
    column_delimiter: str
    line_ending: str
    created_by: str
    plan: CompiledQuery | None = None
    state: str = "UploadComplete"
    total: int = 0
    polls: int = 0
    error_message: str | None = None

    @property
    def table(self) -> str:
        return f"bulk_{self.id}"

    def info(self) -> dict[str, Any]:
        stamp = sf_format_datetime(self.created)
        out: dict[str, Any] = {
            "id": self.id, "operation": self.operation, "object": self.object, "createdById": self.created_by,
            "createdDate": stamp, "systemModstamp": stamp, "state": self.state,
            "concurrencyMode": "Parallel", "contentType": "CSV", "apiVersion": float(self.api_version),
            "jobType": "V2Query", "lineEnding": self.line_ending, "columnDelimiter": self.column_delimiter,
        }
        if self.state in ("JobComplete", "Failed", "Aborted"):
            out.update(numberRecordsProcessed=self.total if self.state == "JobComplete" else 0, retries=0,
                       totalProcessingTime=42)
        if self.error_message:
            out["errorMessage"] = self.error_message
        return out


def _bulk_refusal(query: soql.Query, plan: CompiledQuery) -> str | None:
    """Why Bulk API 2.0 would fail this otherwise valid query, or None."""
    if plan.compound_fields:
        return "FUNCTIONALITY_NOT_ENABLED: Selecting compound data not supported in Bulk Query"
    if query.offset is not None:
        return "FUNCTIONALITY_NOT_ENABLED: OFFSET clause is not supported in Bulk API"
    if query.is_count:
        return "FUNCTIONALITY_NOT_ENABLED: Aggregate queries are not supported in Bulk API"
    return None


class Bulk2Jobs:
    def __init__(self, dataset: Dataset, snapshots: Snapshots, recycle_bin_days: int, polls_before_complete: int,
                 user_id: str) -> None:
        self.dataset = dataset
        self.snapshots = snapshots
        self.recycle_bin_days = recycle_bin_days
        self.polls_before_complete = polls_before_complete
        self.user_id = user_id
        self.jobs: dict[str, Job] = {}
        self.created_count = 0
        self._lock = threading.Lock()

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self.jobs.get(job_id)
        if job is None:
            raise HttpError(404, "NOT_FOUND", "The requested resource does not exist")
        return job

    def create(self, request: Request, version: str) -> Response:
        body = request.json()
        if not isinstance(body, dict):
            raise HttpError(400, "INVALIDJOB", "The job request must be a JSON object")
        operation = body.get("operation")
        if operation not in ("query", "queryAll"):
            raise HttpError(400, "INVALIDJOB", f"Invalid operation for a query job: {operation!r}")
        delimiter = body.get("columnDelimiter") or "COMMA"
        line_ending = body.get("lineEnding") or "LF"
        if delimiter not in DELIMITERS:
            raise HttpError(400, "INVALIDJOB", f"Invalid columnDelimiter: {delimiter}")
        if line_ending not in LINE_ENDINGS:
            raise HttpError(400, "INVALIDJOB", f"Invalid lineEnding: {line_ending}")
        text = body.get("query")
        if not isinstance(text, str) or not text.strip():
            raise HttpError(400, "INVALIDJOB", "A query is required for query jobs")
        parsed = soql.parse(text)
        plan = compile_query(self.dataset, parsed, include_deleted=operation == "queryAll",
                             recycle_bin_days=self.recycle_bin_days)
        job = Job(f"7505g{next(_JOB_IDS):010d}AAA", operation, plan.object, text,
                  self.dataset.clock, version, delimiter, line_ending, self.user_id)
        refusal = _bulk_refusal(parsed, plan)
        if refusal:
            job.state, job.error_message = "Failed", refusal
        else:
            job.plan = plan
            job.total = self.snapshots.create(job.table, plan)  # results are what matched at creation
        with self._lock:
            self.jobs[job.id] = job
            self.created_count += 1
        info = job.info()
        if not refusal:
            info["state"] = "UploadComplete"
        return Response.json(info)

    def status(self, job_id: str) -> Response:
        job = self.get(job_id)
        with self._lock:
            if job.state in ("UploadComplete", "InProgress"):
                job.polls += 1
                job.state = "JobComplete" if job.polls > self.polls_before_complete else "InProgress"
        return Response.json(job.info())

    def abort(self, request: Request, job_id: str) -> Response:
        job = self.get(job_id)
        body = request.json()
        if not isinstance(body, dict) or body.get("state") != "Aborted":
            raise HttpError(400, "INVALIDJOBSTATE", "A query job can only be set to state Aborted")
        with self._lock:
            if job.state in ("JobComplete", "Failed", "Aborted"):
                raise HttpError(400, "INVALIDJOBSTATE", f"Job {job.id} is already {job.state}")
            job.state = "Aborted"
        self.snapshots.drop(job.table)
        return Response.json(job.info())

    def delete(self, job_id: str) -> Response:
        job = self.get(job_id)
        with self._lock:
            self.jobs.pop(job.id, None)
        self.snapshots.drop(job.table)
        return Response(204)

    def results(self, request: Request, job_id: str) -> Response:
        job = self.get(job_id)
        if job.state == "Aborted" or job.state == "Failed":
            raise HttpError(400, "INVALIDJOBSTATE", f"Job {job.id} is {job.state}; it has no results")
        if job.state != "JobComplete" or job.plan is None:
            raise HttpError(400, "JOB_NOT_COMPLETE", f"Job {job.id} is not complete; its state is {job.state}")
        size = _positive_int(request.param("maxRecords"), DEFAULT_MAX_RECORDS, "maxRecords")
        offset = _decode_locator(request.param("locator"))
        if offset > job.total:
            raise HttpError(400, "INVALID_QUERY_LOCATOR", "Invalid locator")
        delimiter, line_ending = DELIMITERS[job.column_delimiter], LINE_ENDINGS[job.line_ending]
        rendered = self.snapshots.csv_page(job.table, offset, size, [(c.index, c.sf_type) for c in job.plan.columns],
                                           delimiter, line_ending)
        if rendered is not None:  # the same text as render_csv, built by DuckDB
            body, count = rendered
            text = render_csv(job.plan, [], delimiter, line_ending) + body
        else:
            rows = self.snapshots.rows(job.table, offset, size)
            count = len(rows)
            text = render_csv(job.plan, rows, delimiter, line_ending)
        end = offset + count
        locator = _encode_locator(end) if end < job.total else "null"
        return Response.text(text, content_type="text/csv", headers={
            "Sforce-NumberOfRecords": str(count),
            "Sforce-Locator": locator,
        })


def render_csv(plan: CompiledQuery, rows: list[tuple[Any, ...]], delimiter: str, line_ending: str) -> str:
    """One result page: the header then every row, every value quoted and nulls as empty cells."""
    def cell(value: str | None) -> str:
        return "" if value is None else '"' + value.replace('"', '""') + '"'

    lines = [delimiter.join(cell(c.name) for c in plan.columns)]
    for row in rows:
        lines.append(delimiter.join(cell(csv_value(row[c.index], c.sf_type)) for c in plan.columns))
    return line_ending.join(lines) + line_ending


def _encode_locator(offset: int) -> str:
    # Salesforce's locators look like base64 of the offset without padding ("MTAwMDA" = 10000)
    return base64.b64encode(str(offset).encode()).decode().rstrip("=")


def _decode_locator(value: str | None) -> int:
    if not value or value == "null":
        return 0
    try:
        return int(base64.b64decode(value + "=" * (-len(value) % 4)).decode())
    except ValueError:
        raise HttpError(400, "INVALID_QUERY_LOCATOR", f"Invalid locator: {value}") from None


def _positive_int(value: str | None, default: int, name: str) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise HttpError(400, "INVALIDPARAMETER", f"{name} must be a positive integer") from None
    if number <= 0:
        raise HttpError(400, "INVALIDPARAMETER", f"{name} must be a positive integer")
    return number
