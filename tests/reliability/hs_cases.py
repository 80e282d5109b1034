"""The HubSpot rows of the fault matrix (reliability_practices.md §6), one function per case.

``test_matrix_hubspot.py`` (marked ``reliability``) runs every case; ``test_matrix_hubspot_fast.py`` runs a few
representative ones in ``make test``. Each case injects a fault into a private ``tiny`` simulator, syncs with
the real client over HTTP, and compares raw with the simulator's records inside a ledger ``fault_case``.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.hubspot.sync import SyncOptions, sync_hubspot, sync_object
from connectors.simulator.dataset import schema_hubspot as hss
from connectors.simulator.dataset.advance import merge_hubspot_records, purge_hubspot_records
from connectors.warehouse.raw import RawWarehouse
from tests.connectors.hs_conftest_helpers import TOKEN, raw_rows, source_rows, touch
from tests.reliability.hs_matrix import (
    add_tied_notes,
    client_for,
    compare,
    landed,
    live_ids,
    next_day,
    stamp_records,
    statuses,
    tiny_sim,
)
from tests.reliability.ledger import fault_case

OBJECTS = ("companies", "contacts", "deals")
NO_ASSOC = SyncOptions(associations=False)


def _ok(results: Any) -> None:
    results = results if isinstance(results, list) else [results]
    assert all(r.status == "success" for r in results), [(r.object, r.status, r.message) for r in results]


# -- row 1: 429 TEN_SECONDLY_ROLLING storm ---------------------------------------------------------------------
def row1_storm(tmp_path: Path, storm: int = 20) -> None:
    window = 0.02  # the 10 s rolling window, shrunk for the test
    delays: list[float] = []

    def sleep(seconds: float) -> None:
        delays.append(seconds)
        time.sleep(seconds)

    with tiny_sim() as sim, RawWarehouse(tmp_path / "wh.duckdb") as wh:
        client = client_for(sim, sleep=sleep, rate_limit_window_s=window, max_retries=storm + 5)
        with fault_case(1, f"{storm} x 429 TEN_SECONDLY_ROLLING in a row on a list page") as case:
            sim.faults.add("rate_limit", "hs.objects.list", after=2, times=storm, policy="TEN_SECONDLY_ROLLING")
            r = sync_object(client, wh, "contacts")
            _ok(r)
            assert statuses(sim, "hs.objects.list", 429) == storm
            assert client.retries["objects.list"] == storm  # one retry per 429, no extra requests
            waits = [d for d in delays if d >= window]
            assert len(waits) == storm and all(window <= d <= window * 1.25 + 0.01 for d in waits), waits
            assert len({round(d, 6) for d in waits}) > storm // 2, "no jitter"
            compare(case, wh, sim, ["contacts"])


def row1_storm_exhausted(tmp_path: Path) -> None:
    with tiny_sim() as sim, RawWarehouse(tmp_path / "wh.duckdb") as wh:
        client = client_for(sim, max_retries=4)
        with fault_case(1, "endless 429 storm: bounded attempts, clean stop, resume") as case:
            sim.faults.add("rate_limit", "hs.objects.list", after=3, times=None)
            r = sync_object(client, wh, "contacts", NO_ASSOC)
            assert r.status == "partial" and "gave up after 5 attempts" in r.message, r.message
            assert statuses(sim, "hs.objects.list", 429) == 5  # bounded: max_retries + 1
            state = wh.get_state("hubspot", "contacts")
            assert state.cursor is None and state.extra.get("phase") == "full" and state.extra.get("list_after")
            assert wh.table_rows("hubspot", "contacts") == 3 * 20  # the committed pages, nothing of the failed one
            sim.faults.clear()
            _ok(sync_object(client, wh, "contacts", NO_ASSOC))
            compare(case, wh, sim, ["contacts"])


# -- row 2: 429 DAILY ------------------------------------------------------------------------------------------
def row2_daily(tmp_path: Path) -> None:
    with tiny_sim() as sim, RawWarehouse(tmp_path / "wh.duckdb") as wh:
        client = client_for(sim)
        _ok(sync_hubspot(client.config, wh, objects=list(OBJECTS), client=client))
        next_day(sim)
        for ot in OBJECTS:
            touch(sim, ot, 30)
        before = {ot: wh.get_state("hubspot", ot).cursor for ot in OBJECTS}
        raw_before = {ot: raw_rows(wh, ot) for ot in OBJECTS}
        with fault_case(2, "429 DAILY on the first search: stop, keep cursor, resume") as case:
            sim.reset_counters()
            fault = sim.faults.add("rate_limit", "hs.search", policy="DAILY", times=None)
            results = sync_hubspot(client.config, wh, objects=list(OBJECTS), client=client)
            assert [r.status for r in results if r.object in OBJECTS] == ["partial"] * 3
            assert all("daily" in r.message.lower() for r in results if r.object in OBJECTS)
            assert sim.counters().get("hs.search", 0) == 1, "retried or continued after a DAILY 429"
            for ot in OBJECTS:
                state = wh.get_state("hubspot", ot)
                assert state.cursor == before[ot], ot
                assert raw_rows(wh, ot) == raw_before[ot], ot
            assert wh.get_state("hubspot", "companies").status == "partial"
            sim.faults.faults.remove(fault)
            _ok(sync_hubspot(client.config, wh, objects=list(OBJECTS), client=client))
            compare(case, wh, sim, OBJECTS)


# -- row 4: 5xx on a page ----------------------------------------------------------------------------------------
def row4_5xx(tmp_path: Path, status: int) -> None:
    with tiny_sim() as sim, RawWarehouse(tmp_path / "wh.duckdb") as wh:
        client = client_for(sim)
        with fault_case(4, f"HTTP {status} on a list page and on a search page") as case:
            sim.faults.add("status", "hs.objects.list", status=status, after=2, times=2)
            _ok(sync_object(client, wh, "contacts"))
            next_day(sim)
            touch(sim, "contacts", 60)
            sim.faults.add("status", "hs.search", status=status, after=1, times=2)
            _ok(sync_object(client, wh, "contacts"))
            assert statuses(sim, "hs.objects.list", status) == statuses(sim, "hs.search", status) == 2
            assert client.retries["objects.list"] == client.retries["objects.search"] == 2
            compare(case, wh, sim, ["contacts"])


def row4_persistent(tmp_path: Path) -> None:
    with tiny_sim() as sim, RawWarehouse(tmp_path / "wh.duckdb") as wh:
        client = client_for(sim, max_retries=3)
        with fault_case(4, "503 on page 4 until the retries run out: pages 1-3 only, resume") as case:
            fault = sim.faults.add("status", "hs.objects.list", status=503, after=3, times=None)
            r = sync_object(client, wh, "contacts", NO_ASSOC)
            assert r.status == "partial", r.message
            assert wh.table_rows("hubspot", "contacts") == 60
            assert wh.get_state("hubspot", "contacts").cursor is None
            sim.faults.faults.remove(fault)
            r = sync_object(client, wh, "contacts", NO_ASSOC)
            _ok(r)
            assert r.rows_inserted + r.rows_deleted == len(source_rows(sim.dataset, "contacts")) - 60
            compare(case, wh, sim, ["contacts"])


# -- row 5: read timeout -------------------------------------------------------------------------------------------
def row5_timeout(tmp_path: Path) -> None:
    with tiny_sim() as sim, RawWarehouse(tmp_path / "wh.duckdb") as wh:
        client = client_for(sim, timeout_s=0.3)
        with fault_case(5, "read timeout on a list page and a search page") as case:
            sim.faults.add("slow", "hs.objects.list", delay=1.0, after=2, times=1)
            _ok(sync_object(client, wh, "contacts"))
            next_day(sim)
            touch(sim, "contacts", 50)
            sim.faults.add("slow", "hs.search", delay=1.0, after=1, times=1)
            _ok(sync_object(client, wh, "contacts"))
            assert client.retries["objects.list"] >= 1 and client.retries["objects.search"] >= 1
            compare(case, wh, sim, ["contacts"])


# -- row 6: connection reset mid-body ------------------------------------------------------------------------------
def row6_reset(tmp_path: Path) -> None:
    with tiny_sim() as sim, RawWarehouse(tmp_path / "wh.duckdb") as wh:
        client = client_for(sim)
        with fault_case(6, "reset mid-body on list, batch-read-of-associations and search pages") as case:
            for route in ("hs.objects.list", "hs.associations.batch_read"):
                sim.faults.add("reset", route, after=2, times=2)
            _ok(sync_object(client, wh, "deals"))
            next_day(sim)
            touch(sim, "deals", 50)
            sim.faults.add("reset", "hs.search", after=1, times=2)
            _ok(sync_object(client, wh, "deals"))
            assert client.retries["objects.list"] == 2 and client.retries["objects.search"] == 2
            assert client.retries["associations.batch_read"] == 2
            compare(case, wh, sim, ["deals"])


def row6_persistent(tmp_path: Path) -> None:
    with tiny_sim() as sim, RawWarehouse(tmp_path / "wh.duckdb") as wh:
        client = client_for(sim, max_retries=2)
        with fault_case(6, "resets on page 3 until the retries run out: no partial page lands") as case:
            fault = sim.faults.add("reset", "hs.objects.list", after=2, times=None)
            assert sync_object(client, wh, "contacts", NO_ASSOC).status == "partial"
            assert wh.table_rows("hubspot", "contacts") == 40
            sim.faults.faults.remove(fault)
            _ok(sync_object(client, wh, "contacts", NO_ASSOC))
            compare(case, wh, sim, ["contacts"])


# -- row 7: 401 EXPIRED_AUTHENTICATION -----------------------------------------------------------------------------
def row7_expired(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with tiny_sim() as sim, RawWarehouse(tmp_path / "wh.duckdb") as wh:
        client = client_for(sim)
        with fault_case(7, "401 EXPIRED_AUTHENTICATION mid-run") as case:
            sim.faults.add("session_expired", "hs.objects.list", after=2, times=1)
            order = ["contacts", "companies", "deals"]
            results = sync_hubspot(client.config, wh, objects=order, client=client)
            by = {r.object: r for r in results}
            assert by["contacts"].status == "failed"
            assert "HUBSPOT_ACCESS_TOKEN" in by["contacts"].message and "401" in by["contacts"].message
            assert by["companies"].status == by["deals"].status == "failed"
            assert by["companies"].message.startswith("not started") and by["companies"].api_calls == 0
            assert statuses(sim, "hs.objects.list", 401) == 1, "a 401 was retried"
            text = caplog.text + repr(results) + str(wh.fetch_arrow("SELECT * FROM _meta.sync_runs").to_pylist())
            assert TOKEN not in text
            # what committed before the 401 is exact (nothing half-written)
            rows = landed(wh, "contacts")
            src = source_rows(sim.dataset, "contacts")
            case.rows_compared = len(rows)
            case.rows_lost = sum(1 for r in rows if src.get(r["id"]) != (r["ms"], r["d"]))
            case.rows_duplicated = len(rows) - len({r["id"] for r in rows})
            assert 0 < len(rows) < len(src)


# -- row 9: malformed pages ----------------------------------------------------------------------------------------
def row9_malformed(tmp_path: Path, kind: str) -> None:
    with tiny_sim() as sim, RawWarehouse(tmp_path / "wh.duckdb") as wh:
        client = client_for(sim)
        with fault_case(9, f"{kind} body on one list page (retried)") as case:
            sim.faults.add(kind, "hs.objects.list", after=2, times=1)
            _ok(sync_object(client, wh, "contacts", NO_ASSOC))
            # parsed strictly: NaN and repeated keys are rejected like broken JSON, never half-read
            assert client.retries["objects.list"] == 1, f"{kind} page accepted"
            compare(case, wh, sim, ["contacts"])


def row9_persistent(tmp_path: Path, kind: str) -> None:
    with tiny_sim() as sim, RawWarehouse(tmp_path / "wh.duckdb") as wh:
        client = client_for(sim, max_retries=2)
        _ok(sync_object(client, wh, "contacts", NO_ASSOC))
        next_day(sim)
        touch(sim, "contacts", 50)
        cursor = wh.get_state("hubspot", "contacts").cursor
        before = raw_rows(wh, "contacts")
        with fault_case(9, f"{kind} body on every search page: nothing lands, cursor unchanged") as case:
            fault = sim.faults.add(kind, "hs.search", times=None)
            r = sync_object(client, wh, "contacts", NO_ASSOC)
            assert r.status == "partial" and "malformed" in r.message, r.message
            assert wh.get_state("hubspot", "contacts").cursor == cursor
            assert raw_rows(wh, "contacts") == before
            sim.faults.faults.remove(fault)
            _ok(sync_object(client, wh, "contacts", NO_ASSOC))
            compare(case, wh, sim, ["contacts"])


# -- rows 10 and 11: the same record on two pages, records moving during a search ----------------------------------
def _counting_search(client: Any, on_page: Any = None) -> list[int]:
    """Wrap ``client.search`` to count the records each response carries (and run ``on_page(n)`` after it)."""
    counts: list[int] = []
    real = client.search

    def search(object_type: str, body: dict[str, Any]) -> dict[str, Any]:
        resp = real(object_type, body)
        counts.append(len(resp.get("results") or []))
        if on_page is not None:
            on_page(len(counts), resp)
        return resp

    client.search = search
    return counts


def row10_same_record_twice(tmp_path: Path) -> None:
    with tiny_sim() as sim, RawWarehouse(tmp_path / "wh.duckdb") as wh:
        client = client_for(sim)
        _ok(sync_object(client, wh, "contacts", NO_ASSOC))
        clock = next_day(sim)
        ids = live_ids(sim, "contacts")[:60]
        # groups of three ties: pages of 20 end inside a group, so the next page re-reads its records
        stamp_records(sim, "contacts", {i: clock + timedelta(milliseconds=k // 3) for k, i in enumerate(ids)})
        counts = _counting_search(client)
        with fault_case(10, "the same records on two search pages") as case:
            _ok(sync_object(client, wh, "contacts", NO_ASSOC))
            assert sum(counts) > len(ids), "no record was read twice"
            compare(case, wh, sim, ["contacts"])


def row11_moving_records(tmp_path: Path) -> None:
    with tiny_sim() as sim, RawWarehouse(tmp_path / "wh.duckdb") as wh:
        client = client_for(sim, lookback=timedelta(seconds=10))  # smaller than the spread of the edits below
        _ok(sync_object(client, wh, "contacts", NO_ASSOC))
        clock = next_day(sim)
        ids = live_ids(sim, "contacts")[:60]
        stamp_records(sim, "contacts", {i: clock + timedelta(seconds=5 * k) for k, i in enumerate(ids)})

        def move(n: int, resp: dict[str, Any]) -> None:
            if n == 2:  # between pages 2 and 3: an already-read record is edited again and moves to the end
                stamp_records(sim, "contacts", {ids[5]: clock + timedelta(seconds=400)})

        _counting_search(client, move)
        with fault_case(11, "a record edited mid-search moves across pages") as case:
            _ok(sync_object(client, wh, "contacts", NO_ASSOC))
            compare(case, wh, sim, ["contacts"])  # this run already has every record, the moved one's new version


# -- row 12: late commits and search lag, caught by the lookback ---------------------------------------------------
def row12_late_commit(tmp_path: Path) -> None:
    with tiny_sim() as sim, RawWarehouse(tmp_path / "wh.duckdb") as wh:
        client = client_for(sim)
        _ok(sync_object(client, wh, "deals", NO_ASSOC))
        clock = next_day(sim)
        ids = live_ids(sim, "deals")
        tied = clock + timedelta(minutes=3)
        stamp_records(sim, "deals", {ids[0]: tied, ids[1]: tied, ids[2]: clock + timedelta(minutes=1)})
        _ok(sync_object(client, wh, "deals", NO_ASSOC))
        cursor = wh.get_state("hubspot", "deals").cursor
        assert cursor is not None and cursor.timestamp() == tied.timestamp()
        with fault_case(12, "late commits at and behind the cursor: a third tied row and an older edit") as case:
            # committed after the run but stamped earlier: a 3rd record at the cursor's (tied) timestamp, another
            # 4 minutes behind the cursor (inside the 10-minute lookback)
            stamp_records(sim, "deals", {ids[3]: tied, ids[4]: clock + timedelta(minutes=-1)})
            _ok(sync_object(client, wh, "deals", NO_ASSOC))
            compare(case, wh, sim, ["deals"])


def row12_search_lag(tmp_path: Path) -> None:
    with tiny_sim() as sim, RawWarehouse(tmp_path / "wh.duckdb") as wh:
        client = client_for(sim)
        _ok(sync_object(client, wh, "deals", NO_ASSOC))
        clock = next_day(sim)
        ids = live_ids(sim, "deals")
        # 30 edits a while ago (indexed) and 10 in the last minute (not yet in the search index)
        stamp_records(sim, "deals", {i: clock - timedelta(minutes=5) + timedelta(seconds=k) for k, i in
                                     enumerate(ids[:30])})
        stamp_records(sim, "deals", {i: clock - timedelta(seconds=30) + timedelta(seconds=k) for k, i in
                                     enumerate(ids[30:40])})
        with fault_case(12, "search index lag hides the newest edits for one run") as case:
            lag = sim.faults.add("search_lag", "hs.search", delay=60, times=None)
            _ok(sync_object(client, wh, "deals", NO_ASSOC))
            raw = raw_rows(wh, "deals")
            src = source_rows(sim.dataset, "deals")
            assert any(raw[i] != src[i] for i in ids[30:40]), "the lag hid nothing"
            sim.faults.faults.remove(lag)
            _ok(sync_object(client, wh, "deals", NO_ASSOC))
            compare(case, wh, sim, ["deals"])


# -- row 14: archive, restore, merge, purge ------------------------------------------------------------------------
def row14_lifecycle(tmp_path: Path) -> None:
    with tiny_sim() as sim, RawWarehouse(tmp_path / "wh.duckdb") as wh:
        ds = sim.dataset
        client = client_for(sim, reconcile_every=timedelta(0))
        _ok(sync_hubspot(client.config, wh, objects=["companies", "contacts"], client=client))
        clock = next_day(sim)
        contacts = live_ids(sim, "contacts")
        archived = sorted(source_rows(ds, "contacts", archived=True))
        with ds.lock:
            cur = ds.con.cursor()
            cur.execute('UPDATE hs.contacts SET archived = true, "archivedAt" = ?, "updatedAt" = ? WHERE id IN (?, ?)',
                        [clock.replace(tzinfo=None), clock.replace(tzinfo=None), contacts[0], contacts[1]])
            if archived:  # restore one that was archived before the first sync
                cur.execute('UPDATE hs.contacts SET archived = false, "archivedAt" = NULL, "updatedAt" = ?, '
                            "lastmodifieddate = ? WHERE id = ?",
                            [clock.replace(tzinfo=None), clock.strftime("%Y-%m-%dT%H:%M:%S.000Z"), archived[0]])
            cur.close()
        companies = live_ids(sim, "companies")
        merge_hubspot_records(ds, "companies", companies[0], companies[1:3])
        purge_hubspot_records(ds, "contacts", [contacts[2]])
        with fault_case(14, "archive, restore, merge and purge in one run") as case:
            _ok(sync_hubspot(client.config, wh, objects=["companies", "contacts"], client=client))
            raw_c, raw_co = raw_rows(wh, "contacts"), raw_rows(wh, "companies")
            assert raw_c[contacts[0]][1] and raw_c[contacts[1]][1] and raw_c[contacts[2]][1]
            if archived:
                assert raw_c[archived[0]][1] is False
            assert raw_co[companies[1]][1] and raw_co[companies[2]][1] and not raw_co[companies[0]][1]
            compare(case, wh, sim, ["companies", "contacts"])


# -- row 15: 25,000 tied records past the 10k search cap -----------------------------------------------------------
def row15_tied_past_cap(tmp_path: Path, n: int = 25_000) -> None:
    with tiny_sim() as sim, RawWarehouse(tmp_path / "wh.duckdb") as wh:
        client = client_for(sim, search_page_size=200, merge_batch_rows=20_000, association_batch_size=1_000)
        _ok(sync_object(client, wh, "notes", NO_ASSOC))
        clock = next_day(sim)
        add_tied_notes(sim, n, clock + timedelta(seconds=1, milliseconds=123))
        with fault_case(15, f"{n:,} tied records past the 10k search cap") as case:
            sim.reset_counters()
            r = sync_object(client, wh, "notes", NO_ASSOC)
            _ok(r)
            requests = sim.counters().get("hs.search", 0)
            assert requests == r.details["search"]["requests"] <= 3 * (n // 200 + 1) + 40, requests
            assert wh.table_rows("hubspot", "notes") == len(source_rows(sim.dataset, "notes"))
            compare(case, wh, sim, ["notes"])


# -- row 16: a new property between runs ---------------------------------------------------------------------------
def row16_new_property(tmp_path: Path) -> None:
    with tiny_sim() as sim, RawWarehouse(tmp_path / "wh.duckdb") as wh:
        ds = sim.dataset
        client = client_for(sim)
        _ok(sync_object(client, wh, "companies", NO_ASSOC))
        with ds.lock:
            cur = ds.con.cursor()
            cur.execute("ALTER TABLE hs.companies ADD COLUMN acct_segment VARCHAR")
            cur.execute("UPDATE hs.companies SET acct_segment = 'S' || (CAST(id AS BIGINT) % 4)")
            cur.close()
        ds.hs_properties["companies"].append(hss.custom_property("acct_segment"))
        with fault_case(16, "a new custom property between runs") as case:
            r = sync_object(client, wh, "companies", NO_ASSOC)
            _ok(r)
            assert r.details["backfilled"]["properties"] == ["acct_segment"]
            changes = [(c.column_name, c.change) for c in wh.schema_changes("hubspot", "companies")]
            assert ("acct_segment", "added") in changes, changes
            with ds.reading() as src_cur:
                want = set(src_cur.execute("SELECT id, acct_segment FROM hs.companies").fetchall())
            got = {(x["id"], x["acct_segment"]) for x in
                   wh.fetch_arrow("SELECT id, acct_segment FROM raw_hubspot.companies").to_pylist()}
            case.rows_compared += len(want)
            case.rows_lost += len(want - got)
            compare(case, wh, sim, ["companies"])
