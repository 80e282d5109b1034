"""Extraction on its own: SOQL builders, REST and Bulk pages as Arrow, retries on damaged responses."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest

from connectors.salesforce import soql
from connectors.salesforce.client import connect
from connectors.salesforce.errors import (
    QueryLocatorExpired,
    RequestLimitExceeded,
    SessionExpiredError,
    TransientError,
)
from connectors.salesforce.extract_bulk import iter_bulk_pages, parse_csv_page
from connectors.salesforce.extract_rest import iter_rest_pages, text_value
from connectors.simulator.server.simulator import CrmSimulator

from .conftest import SF_FAST_RETRY, sf_config_for


def _fields(client, obj):
    d = client.describe(obj)
    return [(f["name"], f["type"]) for f in d["fields"] if f["type"] not in ("address", "location")]


def _read(client, obj, path, page=200):
    fields = _fields(client, obj)
    q = soql.window_query(obj, [n for n, _ in fields], None, client.server_now())
    pages = (iter_rest_pages(client, obj, q, fields, page) if path == "rest"
             else iter_bulk_pages(client, obj, q, fields, page, 0.01))
    return pa.concat_tables(list(pages))


def test_soql_builders():
    start = datetime(2025, 6, 1, 12, 30, 15, 999000, tzinfo=UTC)
    end = datetime(2025, 6, 30, tzinfo=UTC)
    assert soql.fmt_datetime(start) == "2025-06-01T12:30:15Z"
    assert soql.window_query("Account", ["Id", "Name"], start, end) == (
        "SELECT Id, Name FROM Account WHERE SystemModstamp >= 2025-06-01T12:30:15Z AND "
        "SystemModstamp < 2025-06-30T00:00:00Z ORDER BY SystemModstamp ASC, Id ASC")
    assert soql.window_query("Account", ["Id"], None, None, order=False) == "SELECT Id FROM Account"
    assert soql.count_query("Task", None, end) == "SELECT COUNT() FROM Task WHERE SystemModstamp < 2025-06-30T00:00:00Z"
    assert soql.columns_query("Account", ["Health_Score__c"], end) == (
        "SELECT Id, Health_Score__c FROM Account WHERE SystemModstamp < 2025-06-30T00:00:00Z")
    with pytest.raises(ValueError):
        soql.window_query("Account", ["Id", "Name; DROP"], None, None)


def test_text_values_match_bulk_csv():
    from decimal import Decimal
    assert text_value(True, "boolean") == "true"
    assert text_value(Decimal("1E+16"), "currency") == "10000000000000000"
    assert text_value("2025-01-02T03:04:05.000+0000", "datetime") == "2025-01-02T03:04:05.000Z"
    assert text_value("", "string") is None
    page = parse_csv_page('"Id","Amount"\n"a","1e+3"\n"b",\n', [("Id", "id"), ("Amount", "currency")], 2)
    assert page.to_pylist() == [{"Id": "a", "Amount": "1000"}, {"Id": "b", "Amount": None}]


@pytest.mark.parametrize("obj", ["Account", "Opportunity", "Task"])
def test_rest_and_bulk_give_identical_arrow(sf_sim_readonly, obj):
    client = connect(sf_config_for(sf_sim_readonly), retry=SF_FAST_RETRY)
    rest, bulk = _read(client, obj, "rest"), _read(client, obj, "bulk")
    assert rest.num_rows == bulk.num_rows > 0
    assert rest.equals(bulk)


@pytest.mark.parametrize(("kind", "endpoint", "extra"), [
    ("status", "sf.query_more", {"status": 503}),
    ("status", "sf.query_all", {"status": 500}),
    ("reset", "sf.query_more", {}),
    ("truncated", "sf.query_more", {}),
    ("bad_json", "sf.query_all", {}),
    ("drop_next", "sf.query_more", {}),
    ("reset", "sf.bulk2.results", {}),
    ("truncated", "sf.bulk2.results", {}),
    ("status", "sf.bulk2.create", {"status": 503}),
    ("session_expired", "sf.query_more", {}),
    ("session_expired", "sf.bulk2.results", {}),
])
def test_damaged_responses_are_retried(sf_tiny_readonly, kind, endpoint, extra):
    with CrmSimulator(sf_tiny_readonly) as sim:
        client = connect(sf_config_for(sim), retry=SF_FAST_RETRY)
        clean = _read(client, "Task", "bulk" if "bulk" in endpoint else "rest")
        # a session expires once; other faults hit twice in a row
        sim.faults.add(kind, endpoint, times=1 if kind == "session_expired" else 2, **extra)
        damaged = _read(client, "Task", "bulk" if "bulk" in endpoint else "rest")
        assert damaged.equals(clean)
        # REST re-logins are done by simple-salesforce itself: they show as extra SOAP logins
        assert client.retries + client.relogins + sim.counters()["sf.login.soap"] - 1 >= 1


def test_errors_that_must_not_be_retried(sf_tiny_readonly):
    with CrmSimulator(sf_tiny_readonly) as sim:
        client = connect(sf_config_for(sim), retry=SF_FAST_RETRY)
        sim.faults.add("status", "sf.query_more", status=500, times=None)
        with pytest.raises(TransientError, match="gave up"):
            _read(client, "Task", "rest")
        sim.faults.clear()
        sim.faults.add("request_limit", "sf.query_more", times=1)
        with pytest.raises(RequestLimitExceeded):
            _read(client, "Task", "rest")
        sim.faults.add("invalid_query_locator", "sf.query_more", times=1)
        with pytest.raises(QueryLocatorExpired):
            _read(client, "Task", "rest")


def test_direct_session_expiry_is_a_clear_error(sf_tiny_readonly):
    with CrmSimulator(sf_tiny_readonly) as sim:
        client = connect(sf_config_for(sim, SALESFORCE_SESSION_ID="00Dx!direct-secret-token"), retry=SF_FAST_RETRY)
        sim.faults.add("session_expired", "sf.query_more", times=1)
        with pytest.raises(SessionExpiredError, match="cannot be refreshed") as info:
            _read(client, "Task", "rest")
        assert "direct-secret-token" not in str(info.value)


def test_server_time_and_api_usage_come_from_headers(sf_sim_readonly):
    client = connect(sf_config_for(sf_sim_readonly), retry=SF_FAST_RETRY)
    client.describe_global()
    server = client.server_now()
    assert abs((server - sf_sim_readonly.now()).total_seconds()) < 3
    assert client.api_max == 15_000 and client.api_used and client.run_api_used >= 1
