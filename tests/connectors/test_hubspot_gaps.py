"""HubSpot Step 2 gaps: merged records, purge reconciliation, 1,500 long custom properties (no 414)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.hubspot.config import HubSpotConfig
from connectors.hubspot.errors import ApiError
from connectors.hubspot.sync import SyncOptions, sync_hubspot, sync_object
from connectors.salesforce.sync import SyncOptions as SalesforceOptions
from connectors.simulator.dataset import schema_hubspot as hss
from connectors.simulator.dataset.advance import merge_hubspot_records, purge_hubspot_records
from connectors.simulator.server.simulator import CrmSimulator
from connectors.warehouse.raw import RawWarehouse

from .hs_conftest_helpers import fast_client, hs_sim_tiny, raw_rows, source_rows, touch

__all__ = ["hs_sim_tiny"]
MERGE_TYPES = ("companies", "contacts", "deals")


def _live_ids(sim: CrmSimulator, ot: str, n: int) -> list[str]:
    return sorted(source_rows(sim.dataset, ot, archived=False), key=int)[:n]


def test_merges_land_a_map_and_flag_the_losers(hs_sim_tiny: CrmSimulator, tmp_path: Path):
    sim, ds = hs_sim_tiny, hs_sim_tiny.dataset
    client = fast_client(sim)
    with RawWarehouse(tmp_path / "wh.duckdb") as wh:
        first = sync_hubspot(client.config, wh, objects=list(MERGE_TYPES), client=client)
        assert all(r.status == "success" for r in first), [(r.object, r.message) for r in first]
        expected: dict[str, dict[str, str]] = {}
        for ot in MERGE_TYPES:
            winner, *losers = _live_ids(sim, ot, 3)
            merge_hubspot_records(ds, ot, winner, losers)
            expected[ot] = dict.fromkeys(losers, winner)
        # a request for a loser id returns the winner (simulator behaviour the connector relies on)
        loser, winner = next(iter(expected["companies"].items()))
        body = client.batch_read("companies", [loser], ["name"], archived=False)
        assert [r["id"] for r in body["results"]] == [winner] and not body.get("errors")
        assert loser not in source_rows(ds, "companies")  # gone from the live and the archived listing

        second = sync_hubspot(client.config, wh, objects=list(MERGE_TYPES), client=client)
        assert all(r.status == "success" for r in second), [(r.object, r.message) for r in second]
        for ot in MERGE_TYPES:
            got = {r["merged_id"]: r["winner_id"] for r in
                   wh.fetch_arrow(f"SELECT merged_id, winner_id FROM raw_hubspot.{ot}_merged_ids").to_pylist()}
            assert got == expected[ot], ot
            raw = raw_rows(wh, ot)
            for lost, won in expected[ot].items():
                assert raw[lost][1] is True, f"{ot} loser {lost} not flagged deleted"
                assert raw[won] == (source_rows(ds, ot)[won][0], False), f"{ot} winner {won}"
            rows = wh.fetch_arrow(f"SELECT _deleted_at, list_sort(hs_merged_object_ids) AS m FROM raw_hubspot.{ot} "
                                  "WHERE id IN (SELECT unnest(?))", [list(expected[ot])]).to_pylist()
            assert all(r["_deleted_at"] is not None for r in rows), ot
            src = source_rows(ds, ot)
            assert {k: raw.get(k) for k in src} == src, ot  # the rest still equals the source
        # a chain: the winner is merged again; every id absorbed so far now points at the new winner
        old_winner = next(iter(expected["companies"].values()))
        new_winner = _live_ids(sim, "companies", 4)[-1]
        sim.dataset.clock += timedelta(minutes=1)
        merge_hubspot_records(ds, "companies", new_winner, [old_winner])
        assert sync_object(client, wh, "companies").status == "success"
        got = {r["merged_id"]: r["winner_id"] for r in wh.fetch_arrow(
            "SELECT merged_id, winner_id FROM raw_hubspot.companies_merged_ids").to_pylist()}
        assert got == dict.fromkeys([*expected["companies"], old_winner], new_winner)
        assert raw_rows(wh, "companies")[old_winner][1] is True


def test_purged_records_are_flagged_by_the_periodic_id_reconciliation(hs_sim_tiny: CrmSimulator, tmp_path: Path):
    sim, ds = hs_sim_tiny, hs_sim_tiny.dataset
    assert HubSpotConfig(access_token="x").reconcile_every == SalesforceOptions().reconcile_every  # same cadence
    client = fast_client(sim)
    with RawWarehouse(tmp_path / "wh.duckdb") as wh:
        assert sync_object(client, wh, "contacts").status == "success"
        live = _live_ids(sim, "contacts", 2)
        archived = sorted(source_rows(ds, "contacts", archived=True))[:1]
        gone = [*live, *archived]
        assert purge_hubspot_records(ds, "contacts", gone) == len(gone)
        assert not set(gone) & set(source_rows(ds, "contacts"))
        # not due yet (weekly by default): the purged rows stay as they were
        r = sync_object(client, wh, "contacts")
        assert r.status == "success" and "reconciled" not in r.details
        raw = raw_rows(wh, "contacts")
        assert not any(raw[i][1] for i in live)
        # due (every run): exactly the purged live rows are flagged, nothing else changes
        every_run = fast_client(sim, reconcile_every=timedelta(0))
        r = sync_object(every_run, wh, "contacts")
        assert r.status == "success", r.message
        assert r.details["reconciled"]["flagged"] == len(live)
        after = raw_rows(wh, "contacts")
        assert {i for i in after if after[i][1]} - {i for i in raw if raw[i][1]} == set(live)
        state = wh.get_state("hubspot", "contacts")
        assert state.last_reconciled_at is not None
        # a forced reconciliation with nothing purged flags nothing
        r = sync_object(client, wh, "contacts", SyncOptions(reconcile=True))
        assert r.details["reconciled"]["flagged"] == 0


WIDE = 1_500
_KINDS = ("string", "number", "datetime", "date", "bool")


def _wide_name(i: int) -> str:
    return f"acct_custom_{_KINDS[i % 5]}_{i:04d}_".ljust(60, "x")


def _add_wide_properties(sim: CrmSimulator) -> None:
    ds = sim.dataset
    exprs = []
    for i in range(WIDE):
        kind = _KINDS[i % 5]
        expr = {"string": f"'v' || id || '_{i}'",
                "number": f"CAST(CAST(id AS BIGINT) % 997 + {i} AS VARCHAR) || '.25'",
                "datetime": f"'2025-01-02T03:04:{i % 60:02d}.000Z'",
                "date": f"'2025-03-{i % 28 + 1:02d}'",
                "bool": f"CASE WHEN (CAST(id AS BIGINT) + {i}) % 2 = 0 THEN 'true' ELSE 'false' END"}[kind]
        exprs.append(f'{expr} AS "{_wide_name(i)}"')
        ds.hs_properties["companies"].append(hss.prop(_wide_name(i), kind, hubspot_defined=False, group="custom"))
    with ds.lock:
        cur = ds.con.cursor()
        cur.execute(f"CREATE OR REPLACE TABLE hs.companies AS SELECT *, {', '.join(exprs)} FROM hs.companies")
        cur.close()


def _expected(i: int, rid: str) -> object:
    kind = _KINDS[i % 5]
    if kind == "string":
        return f"v{rid}_{i}"
    if kind == "number":
        return Decimal(f"{int(rid) % 997 + i}.25")
    if kind == "datetime":
        return datetime(2025, 1, 2, 3, 4, i % 60, tzinfo=UTC)
    if kind == "date":
        return date(2025, 3, i % 28 + 1)
    return (int(rid) + i) % 2 == 0


def test_1500_long_custom_properties_sync_typed_without_414(hs_sim_tiny: CrmSimulator, tmp_path: Path):
    sim = hs_sim_tiny
    _add_wide_properties(sim)
    client = fast_client(sim)
    names = [_wide_name(i) for i in range(WIDE)]
    assert len(names[0]) == 60
    # the simulator refuses long request lines like a real edge: properties in a GET query string would fail
    with pytest.raises(ApiError, match="414"):
        client.list_page("companies", names[:200], None, archived=False)
    sim.reset_counters()
    with RawWarehouse(tmp_path / "wh.duckdb") as wh:
        r = sync_object(client, wh, "companies")
        assert r.status == "success", r.message
        touched = touch(sim, "companies", 5)
        r = sync_object(client, wh, "companies")  # incremental: search carries the properties in its body
        assert r.status == "success", r.message
        assert r.details["search"]["requests"] >= 1
        assert not [k for k in sim.hubspot.status_counters if k[1] == 414]
        cols = wh.fetch_arrow("SELECT column_name, data_type FROM information_schema.columns WHERE "
                              "table_schema = 'raw_hubspot' AND table_name = 'companies'").to_pylist()
        types = {c["column_name"]: c["data_type"] for c in cols}
        want = {"string": "VARCHAR", "number": "DECIMAL(38,9)", "datetime": "TIMESTAMP WITH TIME ZONE",
                "date": "DATE", "bool": "BOOLEAN"}
        assert {n: types.get(n) for n in names} == {_wide_name(i): want[_KINDS[i % 5]] for i in range(WIDE)}
        rows = wh.fetch_arrow("SELECT * FROM raw_hubspot.companies WHERE NOT _is_deleted").to_pylist()
        assert len(rows) == len(source_rows(sim.dataset, "companies", archived=False))
        bad = [(row["id"], n) for row in rows for i, n in enumerate(names) if row[n] != _expected(i, row["id"])]
        assert not bad, bad[:5]
        raw = raw_rows(wh, "companies")
        src = source_rows(sim.dataset, "companies")
        assert all(raw[i] == src[i] for i in touched)
