"""End-to-end Salesforce sync against the simulator into a RawWarehouse (``raw_salesforce``)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from connectors.salesforce.client import RetryPolicy, connect
from connectors.salesforce.sync import sync_object, sync_salesforce
from connectors.simulator.dataset.advance import advance
from connectors.simulator.server.settings import SimulatorSettings
from connectors.simulator.server.simulator import CrmSimulator
from connectors.warehouse.raw import RawWarehouse
from tests.reliability.sf_helpers import sf_assert_matches, sf_source_rows

from .conftest import sf_config_for, sf_options


def _all(results, status="success"):
    bad = [(r.object, r.status, r.message) for r in results if r.status != status]
    assert not bad, bad


def test_initial_incremental_and_advance_match_source(sf_small, tmp_path):
    ds = sf_small
    with CrmSimulator(ds) as sim, RawWarehouse(tmp_path / "wh.duckdb") as wh:
        cfg = sf_config_for(sim)
        first = sync_salesforce(cfg, wh, options=sf_options())
        _all(first)
        objects = [r.object for r in first]
        assert {"Account", "Task", "DatedConversionRate", "CurrencyType"} <= set(objects)
        for obj in objects:
            sf_assert_matches(ds, wh, obj)
        assert sum(r.rows_inserted for r in first) == sum(len(sf_source_rows(ds, o)) for o in objects)

        again = sync_salesforce(cfg, wh, options=sf_options())
        _all(again)
        assert [(r.rows_inserted, r.rows_updated) for r in again] == [(0, 0)] * len(again)

        summary = advance(ds, days=3)
        assert summary
        third = sync_salesforce(cfg, wh, options=sf_options(formula_every=timedelta(0), reconcile_every=timedelta(0)))
        _all(third)
        assert sum(r.rows_inserted + r.rows_updated for r in third) > 0
        for obj in objects:
            sf_assert_matches(ds, wh, obj)
        # formula drift (no SystemModstamp bump) is caught by the formula snapshot
        with ds.reading() as cur:
            src = dict(cur.execute('SELECT "Id", "Health_Score__c" FROM sf."Account"').fetchall())
        got = {r["Id"]: r["h"] for r in wh.fetch_arrow(
            'SELECT "Id", CAST("Health_Score__c" AS DOUBLE) AS h FROM raw_salesforce.account').to_pylist()}
        assert {k: got[k] for k in src} == pytest.approx(src)


def test_ties_across_pages_and_late_commit(sf_small, tmp_path):
    ds = sf_small
    with CrmSimulator(ds) as sim, RawWarehouse(tmp_path / "wh.duckdb") as wh:
        client = connect(sf_config_for(sim))
        opts = sf_options(rest_page_size=2000, batch_rows=2000)
        assert sync_object(client, wh, "Task", opts).status == "success"
        # 5,000 records on one millisecond, newer than the cursor, spanning three REST pages
        with ds.lock:
            ds.con.execute(
                'UPDATE sf."Task" SET "SystemModstamp" = TIMESTAMP \'2025-06-29 23:50:00.123\', "Subject" = \'tie\' '
                'WHERE "Id" IN (SELECT "Id" FROM sf."Task" ORDER BY "Id" LIMIT 5000)')
        res = sync_object(client, wh, "Task", opts)
        assert res.status == "success" and res.rows_updated >= 5000
        ties = wh.fetch_arrow("SELECT count(*) AS n FROM raw_salesforce.task WHERE \"Subject\" = 'tie'")
        assert ties["n"][0].as_py() == 5000
        sf_assert_matches(ds, wh, "Task")
        # a record committed late: its SystemModstamp is below the high-water mark but inside the lookback
        cursor = wh.get_state("salesforce", "task").cursor
        with ds.lock:
            ds.con.execute('UPDATE sf."Task" SET "SystemModstamp" = ?, "Subject" = \'late\' WHERE "Id" = '
                           '(SELECT max("Id") FROM sf."Task" WHERE "Subject" <> \'tie\')',
                           [(cursor - timedelta(minutes=5)).replace(tzinfo=None)])
        res = sync_object(client, wh, "Task", opts)
        assert res.status == "success" and res.rows_updated == 1
        sf_assert_matches(ds, wh, "Task")


def test_rest_and_bulk_give_identical_tables(sf_tiny, tmp_path):
    with CrmSimulator(sf_tiny) as sim, RawWarehouse(tmp_path / "rest.duckdb") as rest, \
            RawWarehouse(tmp_path / "bulk.duckdb") as bulk:
        cfg = sf_config_for(sim)
        r = sync_salesforce(cfg, rest, options=sf_options(bulk_threshold=float("inf")))
        b = sync_salesforce(cfg, bulk, options=sf_options(bulk_threshold=0, bulk_page_rows=300))
        _all(r)
        _all(b)
        assert {x.api_path for x in r} == {"rest"} and {x.api_path for x in b} == {"bulk"}
        for res in r:
            sql = f'SELECT * EXCLUDE (_loaded_at) FROM raw_salesforce.{res.object.lower()} ORDER BY "Id"'
            assert rest.fetch_arrow(sql).equals(bulk.fetch_arrow(sql)), res.object


def test_soft_delete_undelete_hard_delete_and_merge(sf_tiny, tmp_path):
    ds = sf_tiny
    with CrmSimulator(ds) as sim, RawWarehouse(tmp_path / "wh.duckdb") as wh:
        cfg = sf_config_for(sim)
        _all(sync_salesforce(cfg, wh, objects=["Account", "Contact", "Task"], options=sf_options()))
        stamp = "TIMESTAMP '2025-06-29 23:55:00'"
        with ds.reading() as cur:
            tasks = [r[0] for r in cur.execute('SELECT "Id" FROM sf."Task" WHERE NOT "IsDeleted" ORDER BY "Id" '
                                               "LIMIT 2").fetchall()]
            accounts = [r[0] for r in cur.execute('SELECT "Id" FROM sf."Account" WHERE NOT "IsDeleted" '
                                                  'ORDER BY "Id" LIMIT 2').fetchall()]
            contact = cur.execute('SELECT min("Id") FROM sf."Contact" WHERE NOT "IsDeleted"').fetchall()[0][0]
        with ds.lock:
            ds.con.execute(f'UPDATE sf."Task" SET "IsDeleted" = true, "SystemModstamp" = {stamp} WHERE "Id" IN (?, ?)',
                           tasks)
        _all(sync_salesforce(cfg, wh, objects=["Task"], options=sf_options()))
        with ds.lock:
            ds.con.execute(f'UPDATE sf."Task" SET "IsDeleted" = false, "SystemModstamp" = {stamp} + INTERVAL 1 MINUTE '
                           'WHERE "Id" = ?', [tasks[1]])
            ds.con.execute('DELETE FROM sf."Contact" WHERE "Id" = ?', [contact])
            ds.con.execute(f'UPDATE sf."Account" SET "IsDeleted" = true, "MasterRecordId" = ?, '
                           f'"SystemModstamp" = {stamp} WHERE "Id" = ?', [accounts[0], accounts[1]])
        results = sync_salesforce(cfg, wh, objects=["Account", "Contact", "Task"],
                                  options=sf_options(reconcile_every=timedelta(0)))
        _all(results)
        for obj in ("Account", "Contact", "Task"):
            sf_assert_matches(ds, wh, obj)

        def row(table, rid):
            return wh.fetch_arrow(f'SELECT * FROM raw_salesforce.{table} WHERE "Id" = ?', [rid]).to_pylist()[0]

        assert row("task", tasks[0])["_is_deleted"] is True
        assert row("task", tasks[1])["_is_deleted"] is False  # undeleted
        assert row("contact", contact)["_is_deleted"] is True  # hard delete found by reconciliation
        merged = row("account", accounts[1])
        assert merged["_is_deleted"] is True and merged["MasterRecordId"] == accounts[0]
        assert next(r for r in results if r.object == "Contact").rows_deleted == 1


def test_new_custom_field_is_backfilled_and_hostile_name_refused(sf_tiny, tmp_path):
    from connectors.simulator.dataset.schema_salesforce import custom_text_field

    ds = sf_tiny
    with CrmSimulator(ds) as sim, RawWarehouse(tmp_path / "wh.duckdb") as wh:
        cfg = sf_config_for(sim)
        _all(sync_salesforce(cfg, wh, objects=["Account", "Contact"], options=sf_options()))
        with ds.lock:  # a new field filled on every row, no SystemModstamp bump
            ds.con.execute('ALTER TABLE sf."Account" ADD COLUMN "Region__c" VARCHAR')
            ds.con.execute('UPDATE sf."Account" SET "Region__c" = \'R-\' || "Id"')
            ds.sf_describe["Account"]["fields"].append(custom_text_field("Region__c"))
            hostile = custom_text_field("Evil__c")
            hostile["name"] = 'Evil"; DROP TABLE x; --'
            ds.sf_describe["Contact"]["fields"].append(hostile)
        results = sync_salesforce(cfg, wh, objects=["Account", "Contact"], options=sf_options())
        account, contact = results
        assert account.status == "success"
        got = wh.fetch_arrow('SELECT "Id", "Region__c" FROM raw_salesforce.account').to_pylist()
        assert got and all(r["Region__c"] == "R-" + r["Id"] for r in got)
        assert contact.status == "success" and "refused hostile field name" in contact.message
        sf_assert_matches(ds, wh, "Contact")


def test_injected_faults_complete_with_identical_results(sf_tiny, tmp_path):
    settings = SimulatorSettings.default()
    settings.salesforce.session_ttl_requests = 15
    with CrmSimulator(sf_tiny) as clean_sim, RawWarehouse(tmp_path / "clean.duckdb") as clean, \
            CrmSimulator(sf_tiny, settings=settings) as sim, RawWarehouse(tmp_path / "faulty.duckdb") as faulty:
        _all(sync_salesforce(sf_config_for(clean_sim), clean, options=sf_options(rest_page_size=200)))
        for kind, endpoint, extra in [("status", "sf.query_more", {"status": 503}),
                                      ("status", "sf.query_all", {"status": 500}),
                                      ("reset", "sf.query_more", {}), ("truncated", "sf.query_more", {}),
                                      ("bad_json", "sf.query_all", {}), ("drop_next", "sf.query_more", {}),
                                      ("invalid_query_locator", "sf.query_more", {})]:
            sim.faults.add(kind, endpoint, after=3, times=2, **extra)
        # the faults stack on the same requests (up to 8 failures in a row), so allow more attempts
        retry = RetryPolicy(max_attempts=12, base_delay=0.001, max_delay=0.01)
        results = sync_salesforce(sf_config_for(sim), faulty, options=sf_options(rest_page_size=200, retry=retry))
        _all(results)
        assert sim.counters()["sf.login.soap"] > 1  # sessions expired and were renewed
        for r in results:
            sql = f'SELECT * EXCLUDE (_loaded_at) FROM raw_salesforce.{r.object.lower()} ORDER BY "Id"'
            assert clean.fetch_arrow(sql).equals(faulty.fetch_arrow(sql)), r.object


def _cursor_is_last_committed(wh, obj):
    state = wh.get_state("salesforce", obj.lower())
    top = wh.fetch_arrow(f'SELECT max("SystemModstamp") AS m FROM raw_salesforce.{obj.lower()}')["m"][0].as_py()
    assert state.status == "partial" and state.cursor == top


def test_request_limit_stops_cleanly_and_next_run_resumes(sf_tiny, tmp_path):
    with CrmSimulator(sf_tiny) as sim, RawWarehouse(tmp_path / "wh.duckdb") as wh:
        cfg = sf_config_for(sim)
        opts = sf_options(rest_page_size=200, batch_rows=200)
        sim.faults.add("request_limit", "sf.query_more", after=8, times=1)
        results = sync_salesforce(cfg, wh, options=opts)
        statuses = [r.status for r in results]
        assert "partial" in statuses and "success" not in statuses[statuses.index("partial"):]
        stopped = results[statuses.index("partial")]
        assert "REQUEST_LIMIT_EXCEEDED" in stopped.message and stopped.rows_inserted > 0
        _cursor_is_last_committed(wh, stopped.object)
        _all(sync_salesforce(cfg, wh, options=opts))
        for r in results:
            sf_assert_matches(sf_tiny, wh, r.object)


def test_quota_guard_stops_at_share_and_next_run_resumes(sf_tiny, tmp_path):
    settings = SimulatorSettings.default()
    settings.salesforce.daily_api_max = 100
    with CrmSimulator(sf_tiny, settings=settings) as sim, RawWarehouse(tmp_path / "wh.duckdb") as wh:
        cfg = sf_config_for(sim)
        opts = sf_options(rest_page_size=200, batch_rows=200, quota_share=0.2)
        results = sync_salesforce(cfg, wh, options=opts)
        stopped = next(r for r in results if r.status == "partial")
        assert "quota guard" in stopped.message
        assert sum(r.api_calls for r in results) <= 0.2 * 100
        if stopped.rows_inserted:
            _cursor_is_last_committed(wh, stopped.object)
        second = sync_salesforce(cfg, wh, options=sf_options(rest_page_size=200, batch_rows=200, quota_share=0.6))
        _all(second)
        for r in second:
            sf_assert_matches(sf_tiny, wh, r.object)
