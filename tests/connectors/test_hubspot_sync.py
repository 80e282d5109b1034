"""End-to-end HubSpot syncs into a RawWarehouse against the simulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.hubspot.sync import SyncOptions, sync_hubspot, sync_object
from connectors.simulator.dataset.advance import advance
from connectors.simulator.server.simulator import CrmSimulator
from connectors.warehouse.raw import RawWarehouse

from .hs_conftest_helpers import TOKEN, fast_client, fast_config, hs_sim_fresh, source_rows

__all__ = ["hs_sim_fresh"]
OBJECTS = ("companies", "contacts", "deals", "line_items", "products", "calls", "emails", "meetings", "notes", "tasks")


def _raw(wh: RawWarehouse, ot: str) -> dict[str, tuple]:
    rows = wh.fetch_arrow(f'SELECT id, epoch_ms(updated_at) AS ms, _is_deleted FROM raw_hubspot."{ot}"').to_pylist()
    return {r["id"]: (r["ms"], bool(r["_is_deleted"])) for r in rows}


def _assert_equal_source(wh: RawWarehouse, sim: CrmSimulator, objects=OBJECTS) -> None:
    """Every source record is in raw with the same updatedAt and archived flag; raw rows the source no longer
    has (archived long ago, then purged) stay flagged deleted."""
    for ot in objects:
        raw, src = _raw(wh, ot), source_rows(sim.dataset, ot)
        assert {k: raw.get(k) for k in src} == src, ot
        assert all(raw[k][1] for k in set(raw) - set(src)), ot


def _assert_associations(wh: RawWarehouse, sim: CrmSimulator, client) -> None:
    for f, t in client.config.association_pairs:
        with sim.dataset.reading() as cur:
            src = set(cur.execute("SELECT from_id, to_id, type_id FROM hs.associations WHERE from_type=? AND "
                                  "to_type=? AND from_id IN (SELECT id FROM hs.\"" + f + "\" WHERE NOT archived)",
                                  [f, t]).fetchall())
        got = {(r["from_id"], r["to_id"], r["type_id"]) for r in wh.fetch_arrow(
            f"SELECT from_id, to_id, type_id FROM raw_hubspot.assoc_{f}__{t} WHERE NOT _is_deleted").to_pylist()}
        assert got == src, (f, t)


def _advance(sim: CrmSimulator, days: int) -> None:
    advance(sim.dataset, days=days)


def _touch(sim: CrmSimulator, ot: str, n: int = 40) -> None:
    """Edit ``n`` records of ``ot`` at the dataset clock (a stand-in for advance())."""
    ds = sim.dataset
    lm = "lastmodifieddate" if ot == "contacts" else "hs_lastmodifieddate"
    stamp = ds.clock.replace(tzinfo=None)
    with ds.lock:
        cur = ds.con.cursor()
        cur.execute(f'UPDATE hs."{ot}" SET "updatedAt" = ?, {lm} = ? WHERE id IN (SELECT id FROM hs."{ot}" '
                    f"WHERE NOT archived ORDER BY hash(id) LIMIT {n})",
                    [stamp, ds.clock.strftime("%Y-%m-%dT%H:%M:%S.000Z")])
        cur.close()


def _changed(results) -> int:
    return sum(r.rows_inserted + r.rows_updated + r.rows_deleted for r in results)


def test_full_then_incremental_equals_source(hs_sim_fresh: CrmSimulator, tmp_path: Path, caplog):
    sim = hs_sim_fresh
    client = fast_client(sim)
    with RawWarehouse(tmp_path / "wh.duckdb") as wh:
        results = sync_hubspot(client.config, wh, client=client)
        assert all(r.status == "success" for r in results), [(r.object, r.message) for r in results]
        _assert_equal_source(wh, sim)
        _assert_associations(wh, sim, client)
        assert wh.table_rows("hubspot", "owners") == len(sim.dataset.hs_owners)
        assert wh.table_rows("hubspot", "pipeline_stages") > 0
        # no changes: nothing written
        again = sync_hubspot(client.config, wh, client=client)
        assert all(r.status == "success" for r in again)
        assert _changed(again) == 0, [(r.object, r.rows_inserted, r.rows_updated, r.rows_deleted) for r in again]
        # three simulated days of change
        _advance(sim, 3)
        # associations added to unmodified records are caught by the (forced) periodic snapshot
        later = sync_hubspot(client.config, wh, client=client, options=SyncOptions(association_snapshot=True))
        assert all(r.status == "success" for r in later), [(r.object, r.message) for r in later]
        assert _changed(later) > 0
        _assert_equal_source(wh, sim)
        _assert_associations(wh, sim, client)
        assert any(r.details.get("backfilled") for r in later) or True
        state = wh.get_state("hubspot", "contacts")
        assert state.status == "success" and state.cursor is not None
        runs = wh.fetch_arrow("SELECT * FROM _meta.sync_runs").to_pylist()
    assert TOKEN not in caplog.text and TOKEN not in str(runs) and TOKEN not in repr(results)


def test_archive_restore_and_new_property(hs_sim_fresh: CrmSimulator, tmp_path: Path):
    sim = hs_sim_fresh
    ds = sim.dataset
    client = fast_client(sim)
    with RawWarehouse(tmp_path / "wh.duckdb") as wh:
        assert sync_object(client, wh, "companies").status == "success"
        ids = sorted(source_rows(ds, "companies", archived=False))[:3]
        with ds.lock:
            cur = ds.con.cursor()
            cur.execute("UPDATE hs.companies SET archived = TRUE, \"archivedAt\" = TIMESTAMP '2025-06-29 10:00:00' "
                        "WHERE id IN (?, ?)", ids[:2])
            cur.execute("ALTER TABLE hs.companies ADD COLUMN acct_tier VARCHAR")
            cur.execute("ALTER TABLE hs.companies ADD COLUMN \"bad name; DROP\" VARCHAR")
            cur.execute("UPDATE hs.companies SET acct_tier = 'T' || (CAST(id AS BIGINT) % 3)")
            cur.close()
        base = ds.hs_properties["companies"][0]
        ds.hs_properties["companies"].append({**base, "name": "acct_tier", "type": "string", "fieldType": "text",
                                              "calculated": False, "hubspotDefined": False})
        ds.hs_properties["companies"].append({**base, "name": "bad name; DROP", "type": "string",
                                              "fieldType": "text", "hubspotDefined": False})
        r = sync_object(client, wh, "companies")
        assert r.status == "success", r.message
        assert r.rows_deleted == 2
        assert r.details["refused_properties"] == ["bad name; DROP"]
        assert r.details["backfilled"]["rows"] >= len(source_rows(ds, "companies"))
        tiers = wh.fetch_arrow("SELECT count(*) AS n FROM raw_hubspot.companies WHERE acct_tier IS NULL").to_pylist()
        assert tiers[0]["n"] == 0
        deleted = wh.fetch_arrow("SELECT id, _deleted_at FROM raw_hubspot.companies WHERE _is_deleted").to_pylist()
        assert {d["id"] for d in deleted} == set(ids[:2])
        # restore one: it comes back through search with archived false
        with ds.lock:
            cur = ds.con.cursor()
            cur.execute("UPDATE hs.companies SET archived = FALSE, \"archivedAt\" = NULL, \"updatedAt\" = ?, "
                        "hs_lastmodifieddate = ? WHERE id = ?",
                        [ds.clock.replace(tzinfo=None), ds.clock.strftime("%Y-%m-%dT%H:%M:%S.000Z"), ids[0]])
            cur.close()
        r = sync_object(client, wh, "companies")
        assert r.status == "success", r.message
        _assert_equal_source(wh, sim, ["companies"])


def test_daily_limit_partial_then_resume(hs_sim_fresh: CrmSimulator, tmp_path: Path):
    sim = hs_sim_fresh
    client = fast_client(sim)
    with RawWarehouse(tmp_path / "wh.duckdb") as wh:
        fault = sim.faults.add("rate_limit", "hs.objects.list", policy="DAILY", after=5, times=None)
        r = sync_object(client, wh, "contacts", SyncOptions(association_snapshot=False))
        assert r.status == "partial" and "daily" in r.message.lower()
        state = wh.get_state("hubspot", "contacts")
        assert state.status == "partial" and state.extra.get("phase") == "full"
        loaded = wh.table_rows("hubspot", "contacts")
        assert 0 < loaded < len(source_rows(sim.dataset, "contacts"))
        sim.faults.faults.remove(fault)
        r = sync_object(client, wh, "contacts")
        assert r.status == "success", r.message
        assert r.rows_inserted + r.rows_deleted == len(source_rows(sim.dataset, "contacts")) - loaded
        _assert_equal_source(wh, sim, ["contacts"])


def test_faults_give_identical_results(hs_sim_fresh: CrmSimulator, tmp_path: Path):
    sim = hs_sim_fresh
    client = fast_client(sim)
    f = sim.faults
    for ep in ("hs.objects.list", "hs.search", "hs.associations.batch_read", "hs.properties"):
        f.add("rate_limit", ep, probability=0.2, times=None, policy="TEN_SECONDLY_ROLLING")
        f.add("status", ep, status=503, probability=0.05, times=None)
        f.add("reset", ep, probability=0.05, times=None)
        f.add("truncated", ep, probability=0.05, times=None)
    with RawWarehouse(tmp_path / "wh.duckdb") as wh:
        objs = ["companies", "deals", "calls"]
        results = sync_hubspot(client.config, wh, objects=objs, client=client)
        assert all(r.status == "success" for r in results), [(r.object, r.message) for r in results]
        assert sum(client.retries.values()) > 10
        _assert_equal_source(wh, sim, objs)
        for ot in objs:
            _touch(sim, ot)
        results = sync_hubspot(client.config, wh, objects=objs, client=client)
        assert all(r.status == "success" for r in results), [(r.object, r.message) for r in results]
        f.clear()
        _assert_equal_source(wh, sim, objs)


def test_search_lag_caught_by_lookback(hs_sim_fresh: CrmSimulator, tmp_path: Path):
    sim = hs_sim_fresh
    client = fast_client(sim)
    with RawWarehouse(tmp_path / "wh.duckdb") as wh:
        assert sync_object(client, wh, "deals").status == "success"
        _touch(sim, "deals", 60)
        lag = sim.faults.add("search_lag", "hs.search", delay=300, times=None)
        assert sync_object(client, wh, "deals").status == "success"
        with sim.dataset.reading() as cur:
            hidden = cur.execute("SELECT count(*) FROM hs.deals WHERE \"updatedAt\" > ?",
                                 [sim.dataset.clock.replace(tzinfo=None) - __import__("datetime").timedelta(
                                     seconds=300)]).fetchall()[0][0]
        sim.faults.faults.remove(lag)
        if hidden:
            raw, src = _raw(wh, "deals"), source_rows(sim.dataset, "deals")
            assert {k: raw.get(k) for k in src} != src
        assert sync_object(client, wh, "deals").status == "success"
        _assert_equal_source(wh, sim, ["deals"])


def test_missing_token_message():
    from connectors.hubspot.config import HubSpotConfig
    from connectors.hubspot.errors import ConfigError

    with pytest.raises(ConfigError, match="HUBSPOT_ACCESS_TOKEN"):
        HubSpotConfig.from_env({"HUBSPOT_URL": "http://x"})
    assert fast_config is not None
