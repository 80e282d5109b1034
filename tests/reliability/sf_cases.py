"""Salesforce rows of the fault matrix (reliability_practices.md §6) as scenario functions.

Each scenario takes a fresh :class:`~tests.reliability.sf_helpers.SfEnv`, injects its fault, syncs with the
real client against the simulator and compares the raw table with the simulator's own records (set-equal on
Id + SystemModstamp) inside a ledger :func:`fault_case`. ``test_matrix_salesforce.py`` runs them all
(``-m reliability``); ``tests/connectors/test_salesforce_reliability_fast.py`` runs a representative few.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.salesforce.client import RetryPolicy, connect
from connectors.salesforce.sync import sync_object
from tests.reliability.ledger import fault_case

from .sf_helpers import (
    PAGE,
    SF_FAST_RETRY,
    SfEnv,
    sf_all,
    sf_compare,
    sf_options,
    sf_paged,
    sf_source_order,
    sf_source_rows,
    sf_warehouse_rows,
)

SECRETS = ("pw-secret-1", "tok-secret-1")


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


def _initial(env: SfEnv, objects: tuple[str, ...] = ("Task",), **kw: Any) -> None:
    for obj in objects:
        res = env.sync(sf_paged(**kw), objects=(obj,))
        assert res.status == "success", res.message


def _prefix_case(case: Any, env: SfEnv, pages: int, obj: str = "Task") -> None:
    """After a failed run: exactly the first ``pages`` committed pages landed, the cursor is their max."""
    expected = set(sf_source_order(env.ds, obj)[: pages * PAGE])
    got = {(i, ms) for i, (ms, _) in sf_warehouse_rows(env.wh, obj).items()}
    case.rows_compared += len(expected)
    case.rows_lost += len(expected - got)
    assert not got - expected, f"{len(got - expected)} rows from the failed page (or later) landed"
    top = max(ms for _, ms in expected)
    cursor = env.cursor(obj)
    assert cursor is not None and round(cursor.timestamp() * 1000) == top, "cursor moved past the committed pages"


def _stamp(env: SfEnv, ids: list[str], at: datetime, extra: str = "") -> None:
    env.execute(f'UPDATE sf."Task" SET "SystemModstamp" = ?{extra} WHERE list_contains(?, "Id")', [_naive(at), ids])


def _top_stamp(env: SfEnv) -> datetime:
    with env.ds.reading() as cur:
        top = cur.execute('SELECT max("SystemModstamp") FROM sf."Task"').fetchall()[0][0]
    return top.replace(tzinfo=UTC)


# -- row 3: concurrent long-running request limit ------------------------------------------------------------------
def row3_concurrent_limit_retried(env: SfEnv) -> None:
    with fault_case(3, "403 REQUEST_LIMIT_EXCEEDED (concurrent) on query pages") as case:
        env.sim.faults.add("concurrent_limit", "sf.query_more", after=1, times=3)
        res = env.sync()
        assert res.status == "success", res.message
        assert env.sim.salesforce.status_counters[("sf.query_more", 403)] == 3
        sf_compare(case, env.ds, env.wh, "Task")


def row3_concurrency_cap_respected(env: SfEnv) -> None:
    """Two objects synced at once through one client capped at one request in flight: the org limit is never hit."""
    from connectors.warehouse.raw import RawWarehouse

    env.plugin.concurrent_limit = 1  # the org allows one long-running request at a time
    env.plugin.handler_delay = 0.01  # every request is "long-running"
    client = connect(env.cfg, retry=SF_FAST_RETRY, max_concurrent=1)
    with fault_case(3, "concurrent request cap (two streams, one client)") as case, \
            RawWarehouse(env.tmp / "contacts.duckdb") as other:
        results: dict[str, Any] = {}

        def run(obj: str, wh: Any) -> None:
            results[obj] = sync_object(client, wh, obj, sf_paged())

        threads = [threading.Thread(target=run, args=("Task", env.wh)),
                   threading.Thread(target=run, args=("Contact", other))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert {o: r.status for o, r in results.items()} == {"Task": "success", "Contact": "success"}
        assert env.plugin.max_inflight <= 1
        refused = sum(n for (_, status), n in env.sim.salesforce.status_counters.items() if status == 403)
        assert refused == 0, f"{refused} requests refused by the concurrent limit: the client cap was not respected"
        sf_compare(case, env.ds, env.wh, "Task")
        sf_compare(case, env.ds, other, "Contact")


# -- row 4: 5xx on a page -----------------------------------------------------------------------------------------
def row4_status_retried(env: SfEnv, status: int) -> None:
    with fault_case(4, f"HTTP {status} on a query page (twice)") as case:
        env.sim.faults.add("status", "sf.query_more", status=status, after=1, times=2)
        res = env.sync()
        assert res.status == "success", res.message
        assert env.sim.salesforce.status_counters[("sf.query_more", status)] == 2
        sf_compare(case, env.ds, env.wh, "Task")


def row4_persistent_503_keeps_cursor(env: SfEnv) -> None:
    with fault_case(4, "HTTP 503 on every page after the second") as case:
        env.sim.faults.add("status", "sf.query_more", status=503, after=1, times=None)
        res = env.sync()
        assert res.status == "failed" and "gave up" in res.message
        _prefix_case(case, env, pages=2)
        env.sim.faults.clear()
        assert env.sync().status == "success"
        sf_compare(case, env.ds, env.wh, "Task")


# -- row 5: read timeout, QUERY_TIMEOUT ----------------------------------------------------------------------------
def row5_read_timeout_retried(env: SfEnv) -> None:
    with fault_case(5, "read timeout after the request was sent") as case:
        env.sim.faults.add("slow", "sf.query_more", delay=1.0, after=1, times=1)
        res = env.sync(sf_paged(request_timeout=0.3))
        assert res.status == "success", res.message
        sf_compare(case, env.ds, env.wh, "Task")


def row5_query_timeout_splits_window(env: SfEnv) -> None:
    with fault_case(5, "QUERY_TIMEOUT on windows over 300 rows") as case:
        env.plugin.query_timeout_rows = 300
        res = env.sync()
        assert res.status == "success", res.message
        assert res.window_splits >= 2
        sf_compare(case, env.ds, env.wh, "Task")


def row5_persistent_query_timeout_keeps_cursor(env: SfEnv) -> None:
    _initial(env)
    before = env.cursor()
    with fault_case(5, "QUERY_TIMEOUT on every query (incremental)") as case:
        moved = [i for i, _ in sf_source_order(env.ds, "Task")[:5]]
        _stamp(env, moved, env.ds.clock - timedelta(seconds=30))
        env.sim.faults.add("query_timeout", "sf.query_all", times=None)
        res = env.sync()
        assert res.status == "failed" and "too narrow to split" in res.message
        assert env.cursor() == before, "cursor advanced although nothing was read"
        got = sf_warehouse_rows(env.wh, "Task")
        assert all(got[i] != sf_source_rows(env.ds, "Task")[i] for i in moved)  # not loaded yet
        env.sim.faults.clear()
        assert env.sync().status == "success"
        sf_compare(case, env.ds, env.wh, "Task")


# -- row 6: TCP reset mid-body --------------------------------------------------------------------------------------
def row6_reset_retried(env: SfEnv, path: str) -> None:
    endpoint = "sf.bulk2.results" if path == "bulk" else "sf.query_more"
    opts = sf_paged(bulk_threshold=0, bulk_page_rows=300) if path == "bulk" else sf_paged()
    with fault_case(6, f"connection reset mid-body ({path})") as case:
        env.sim.faults.add("reset", endpoint, after=1, times=2)
        res = env.sync(opts)
        assert res.status == "success" and res.api_path == path, res.message
        sf_compare(case, env.ds, env.wh, "Task")


def row6_persistent_reset_lands_no_partial_page(env: SfEnv) -> None:
    with fault_case(6, "connection reset on every page after the second") as case:
        env.sim.faults.add("reset", "sf.query_more", after=1, times=None)
        res = env.sync()
        assert res.status == "failed"
        _prefix_case(case, env, pages=2)


# -- row 7: 401 mid-pagination --------------------------------------------------------------------------------------
def row7_one_reauth(env: SfEnv, path: str) -> None:
    endpoint = "sf.bulk2.results" if path == "bulk" else "sf.query_more"
    opts = sf_paged(bulk_threshold=0, bulk_page_rows=300) if path == "bulk" else sf_paged()
    with fault_case(7, f"401 INVALID_SESSION_ID mid-pagination ({path})") as case:
        env.sim.faults.add("session_expired", endpoint, after=1, times=1)
        res = env.sync(opts)
        assert res.status == "success", res.message
        assert env.sim.counters()["sf.login.soap"] == 2  # the first login and exactly one re-login
        sf_compare(case, env.ds, env.wh, "Task")


def row7_second_401_fails_without_secrets(env: SfEnv, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with fault_case(7, "401 again right after re-authenticating") as case:
        env.sim.faults.add("session_expired", "sf.query_more", after=1, times=2)
        res = env.sync()
        assert res.status == "failed" and "after re-authenticating once" in res.message
        assert env.sim.counters()["sf.login.soap"] == 2
        _prefix_case(case, env, pages=2)
        sessions = set(env.plugin.tokens._revoked)  # the session ids the simulator issued and revoked
        assert sessions
        text = caplog.text + res.message + str(env.wh.get_state("salesforce", "task").message)
        leaked = [s for s in (*SECRETS, *sessions) if s in text]
        assert not leaked, "a secret reached the logs or the error message"


# -- row 8: INVALID_QUERY_LOCATOR ----------------------------------------------------------------------------------
def row8_locator_restart(env: SfEnv) -> None:
    loaded: list[int] = []
    with fault_case(8, "INVALID_QUERY_LOCATOR at page 3") as case:
        env.sim.faults.add("invalid_query_locator", "sf.query_more", after=1, times=1)
        res = env.sync(progress=lambda _obj, n: loaded.append(n))
        assert res.status == "success", res.message
        sf_compare(case, env.ds, env.wh, "Task")
        # restarted from the committed watermark, not from the start: at most one page is read twice
        total = len(sf_source_rows(env.ds, "Task"))
        assert total < max(loaded) <= total + PAGE


# -- row 9: malformed pages -----------------------------------------------------------------------------------------
MALFORMED = ("bad_json", "truncated", "drop_next", "nan", "duplicate_keys", "huge")


def row9_malformed_page_fails_at_validation(env: SfEnv, kind: str) -> None:
    with fault_case(9, f"{kind} on every page after the second") as case:
        env.sim.faults.add(kind, "sf.query_more", after=1, times=None)
        res = env.sync(sf_paged(max_response_bytes=1024 * 1024))
        assert res.status == "failed", f"a {kind} page was accepted"
        assert ("gave up" in res.message) or ("cap" in res.message), res.message
        _prefix_case(case, env, pages=2)
        env.sim.faults.clear()
        assert env.sync().status == "success"
        sf_compare(case, env.ds, env.wh, "Task")


# -- row 10: the same record on two pages -----------------------------------------------------------------------------
def row10_record_on_two_pages(env: SfEnv) -> None:
    loaded: list[int] = []
    with fault_case(10, "each page repeats the previous page's last record") as case:
        env.sim.faults.add("repeat_record", "sf.query_more", times=None)
        res = env.sync(progress=lambda _obj, n: loaded.append(n))
        assert res.status == "success", res.message
        sf_compare(case, env.ds, env.wh, "Task")
        total = len(sf_source_rows(env.ds, "Task"))
        repeats = env.sim.counters()["sf.query_more"]
        assert max(loaded) == total + repeats  # extracted > landed, explained by the dedupe on Id


# -- row 11: record updated while the query pages -------------------------------------------------------------------
def row11_update_between_pages(env: SfEnv) -> None:
    order = [i for i, _ in sf_source_order(env.ds, "Task")]
    read_already, not_yet_read = order[0], order[2 * PAGE + 5]
    fired: list[bool] = []

    def update(_obj: str, n: int) -> None:
        if not fired:  # after page 1 is committed: one record already read, one on page 3 moves to the end
            fired.append(True)
            _stamp(env, [read_already, not_yet_read], env.ds.clock - timedelta(seconds=1), ', "Subject" = \'moved\'')

    with fault_case(11, "records updated between page 1 and page 3") as case:
        assert env.sync(progress=update).status == "success"
        assert fired
        assert env.sync().status == "success"  # the next run (lookback) picks the moved records up
        sf_compare(case, env.ds, env.wh, "Task")
        subjects = {r["Id"]: r["Subject"] for r in env.wh.fetch_arrow(
            'SELECT "Id", "Subject" FROM raw_salesforce.task WHERE list_contains(?, "Id")',
            [[read_already, not_yet_read]]).to_pylist()}
        assert subjects == {read_already: "moved", not_yet_read: "moved"}  # latest modstamp wins


# -- row 12: ties, clock skew, late commits (golden) ------------------------------------------------------------------
def row12_ties_skew_late_commit(env: SfEnv) -> None:
    """Three rows tied on one SystemModstamp split across runs, a late commit below the watermark, and a
    runner clock 5 minutes ahead then behind Salesforce's: nothing is lost."""
    opts = sf_paged(lookback=timedelta(minutes=2))
    _initial(env, lookback=timedelta(minutes=2))
    order = [i for i, _ in sf_source_order(env.ds, "Task")]
    a, b, c, d, e = order[10], order[20], order[30], order[40], order[50]
    tie = (_top_stamp(env) + timedelta(seconds=1)).replace(microsecond=123000)
    with fault_case(12, "3 tied rows across runs, late commits, runner clock skew ±5 min") as case:
        _stamp(env, [a, b], tie)
        client = connect(env.cfg, retry=SF_FAST_RETRY)
        server = client.server_now()
        ahead = sync_object(client, env.wh, "Task", opts, now=server + timedelta(minutes=5))
        assert ahead.status == "success" and ahead.rows_updated == 2
        assert env.cursor() == tie  # the watermark is the newest row seen, not the (skewed) clock
        _stamp(env, [c], tie)  # the third tied row commits after the run read the tie
        _stamp(env, [d], tie - timedelta(seconds=30))  # a transaction that committed late, below the watermark
        _stamp(env, [e], tie + timedelta(minutes=5))
        behind = sync_object(client, env.wh, "Task", opts, now=client.server_now() - timedelta(minutes=5))
        assert behind.status == "success"
        last = sync_object(client, env.wh, "Task", opts)
        assert last.status == "success"
        sf_compare(case, env.ds, env.wh, "Task")
        got = sf_warehouse_rows(env.wh, "Task")
        want = round(tie.timestamp() * 1000)
        assert [got[i][0] for i in (a, b, c)] == [want] * 3


# -- row 13: formula drift ------------------------------------------------------------------------------------------
def row13_formula_drift(env: SfEnv) -> None:
    _initial(env, objects=("Account",))
    env.execute('UPDATE sf."Account" SET "Health_Score__c" = coalesce("Health_Score__c", 0) + 7')

    def drift() -> dict[str, tuple[Any, Any]]:
        with env.ds.reading() as cur:
            src = dict(cur.execute('SELECT "Id", CAST("Health_Score__c" AS DOUBLE) FROM sf."Account"').fetchall())
        got = {r["Id"]: r["h"] for r in env.wh.fetch_arrow(
            'SELECT "Id", CAST("Health_Score__c" AS DOUBLE) AS h FROM raw_salesforce.account').to_pylist()}
        return {k: (v, got.get(k)) for k, v in src.items() if got.get(k) is None or abs(got[k] - v) > 1e-9}

    with fault_case(13, "formula values change without a SystemModstamp change") as case:
        stale = env.sync(sf_paged(formula_every=None), objects=("Account",))
        assert stale.status == "success"
        assert drift(), "the incremental alone leaves formula values of untouched records stale"
        fixed = env.sync(sf_paged(formula_every=timedelta(0)), objects=("Account",))
        assert fixed.status == "success"
        left = drift()
        case.rows_lost += len(left)  # stale formula values count as lost (rows_compared: sf_compare below)
        assert fixed.rows_updated >= 1
        sf_compare(case, env.ds, env.wh, "Account")


# -- row 14: soft delete, undelete, hard delete, purge, merge ----------------------------------------------------------
def row14_deletes(env: SfEnv) -> None:
    # changes are stamped within the last 2 minutes before the dataset clock: inside the window getDeleted is
    # asked for after the initial run (its coverage end minus the 10-minute lookback)
    _initial(env, objects=("Account", "Task"))
    opts = sf_paged(reconcile_every=None)  # hard deletes must come from getDeleted, not a reconciliation
    clock = env.ds.clock
    src = sf_source_rows(env.ds, "Task")
    soft, undeleted, hard, purged = [i for i, _ in sf_source_order(env.ds, "Task") if not src[i][1]][:4]
    with env.ds.reading() as cur:
        winner, loser = (r[0] for r in cur.execute(
            'SELECT "Id" FROM sf."Account" WHERE NOT "IsDeleted" ORDER BY "Id" LIMIT 2').fetchall())
    with fault_case(14, "soft delete, undelete, hard delete (getDeleted), merge") as case:
        _stamp(env, [soft, undeleted], clock - timedelta(seconds=100), ', "IsDeleted" = true')
        assert env.sync(opts).status == "success"
        assert sf_warehouse_rows(env.wh, "Task")[undeleted][1] is True
        _stamp(env, [undeleted], clock - timedelta(seconds=80), ', "IsDeleted" = false')
        deleted_at = clock - timedelta(seconds=60)
        env.plugin.hard_delete("Task", [hard], deleted_at)
        env.execute('UPDATE sf."Account" SET "IsDeleted" = true, "MasterRecordId" = ?, "SystemModstamp" = ? '
                    'WHERE "Id" = ?', [winner, _naive(clock - timedelta(seconds=45)), loser])
        for obj in ("Account", "Task"):
            res = env.sync(opts, objects=(obj,))
            assert res.status == "success", res.message
            sf_compare(case, env.ds, env.wh, obj)
        rows = {r["Id"]: r for r in env.wh.fetch_arrow(
            'SELECT "Id", _is_deleted, _deleted_at FROM raw_salesforce.task WHERE list_contains(?, "Id")',
            [[soft, undeleted, hard]]).to_pylist()}
        assert rows[hard]["_is_deleted"] is True and rows[hard]["_deleted_at"] == deleted_at
        assert rows[soft]["_is_deleted"] is True and rows[undeleted]["_is_deleted"] is False
        merged = env.wh.fetch_arrow('SELECT _is_deleted, "MasterRecordId" FROM raw_salesforce.account '
                                    'WHERE "Id" = ?', [loser]).to_pylist()[0]
        assert merged == {"_is_deleted": True, "MasterRecordId": winner}

    with fault_case(14, "hard delete after the delete log was purged (INVALID_REPLICATION_DATE)") as case:
        env.plugin.hard_delete("Task", [purged], clock - timedelta(seconds=30))
        env.plugin.purge_delete_log()
        res = env.sync(opts)
        assert res.status == "success" and "INVALID_REPLICATION_DATE" in res.message
        sf_compare(case, env.ds, env.wh, "Task")
        assert sf_warehouse_rows(env.wh, "Task")[purged][1] is True


# -- row 19: hostile field names -------------------------------------------------------------------------------------
HOSTILE = ('x"; DROP TABLE t; --', "Amount__c", "amount__c", "A" * 300)


def row19_hostile_field_names(env: SfEnv) -> None:
    from connectors.simulator.dataset.schema_salesforce import custom_text_field

    fields = env.ds.sf_describe["Task"]["fields"]
    for name in (*HOSTILE, "Table"):  # "Table" is a reserved word in DuckDB: loaded, always quoted
        spec = custom_text_field("Tmp__c")
        spec["name"] = name
        fields.append(spec)
    env.execute('ALTER TABLE sf."Task" ADD COLUMN "Table" VARCHAR')
    env.execute('UPDATE sf."Task" SET "Table" = \'tbl-\' || "Id"')
    env.wh.con.execute("CREATE TABLE t AS SELECT 42 AS x")  # a canary the hostile name tries to drop
    with fault_case(19, "hostile field names (injection, case collision, reserved word, 300 chars)") as case:
        res = env.sync()
        assert res.status == "success", res.message
        assert "refused hostile field name" in res.message and "DROP TABLE" in res.message
        assert "'Amount__c' and 'amount__c' on Task differ only in case" in res.message
        assert "'AAAA" in res.message
        sf_compare(case, env.ds, env.wh, "Task")
        assert env.wh.fetch_arrow("SELECT x FROM t").to_pylist() == [{"x": 42}]  # no DDL ran from a name
        columns = {r["column_name"] for r in env.wh.fetch_arrow(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'raw_salesforce' "
            "AND table_name = 'task'").to_pylist()}
        assert "Table" in columns and not {c.lower() for c in columns} & {h.lower() for h in HOSTILE}
        got = env.wh.fetch_arrow('SELECT count(*) AS n FROM raw_salesforce.task WHERE "Table" = \'tbl-\' || "Id"')
        assert got["n"][0].as_py() == len(sf_source_rows(env.ds, "Task"))


def fast_retry(max_attempts: int = 6) -> RetryPolicy:
    return RetryPolicy(max_attempts=max_attempts, base_delay=0.001, max_delay=0.01)


__all__ = ["MALFORMED", "fast_retry", "sf_all", "sf_options"]
