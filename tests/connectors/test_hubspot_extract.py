"""Extraction against the simulator, without the raw layer: lists, chunked properties, search windows, faults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from connectors.hubspot import associations, extract, metadata
from connectors.hubspot.config import HubSpotConfig
from connectors.hubspot.errors import ConfigError, DailyLimitReached
from connectors.simulator.server.simulator import CrmSimulator

from .hs_conftest_helpers import TOKEN, fast_client, hs_sim_small, hs_sim_small_module, small_dataset, source_rows

__all__ = ["hs_sim_small", "hs_sim_small_module"]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _props(client, ot):
    return [d["name"] for d in metadata.fetch_property_definitions(client, ot)]


def _ids(pages):
    out = {}
    for p in pages:
        for row in p.table.select(["id", "updatedAt", "archived"]).to_pylist():
            out[row["id"]] = row
    return out


def test_config_from_env_and_redaction():
    with pytest.raises(ConfigError, match="HUBSPOT_ACCESS_TOKEN"):
        HubSpotConfig.from_env({})
    cfg = HubSpotConfig.from_env({"HUBSPOT_ACCESS_TOKEN": TOKEN, "HUBSPOT_URL": "http://127.0.0.1:1"})
    assert TOKEN not in repr(cfg) and TOKEN not in str(cfg)
    assert cfg.url == "http://127.0.0.1:1"


def test_list_and_search_equal_source(hs_sim_small: CrmSimulator):
    client = fast_client(hs_sim_small)
    ds = hs_sim_small.dataset
    for ot in ("companies", "contacts", "calls"):
        props = _props(client, ot)
        live = _ids(extract.iter_list(client, ot, props, archived=False))
        gone = _ids(extract.iter_list(client, ot, props, archived=True))
        assert set(live) == set(source_rows(ds, ot, archived=False))
        assert set(gone) == set(source_rows(ds, ot, archived=True))
        found = _ids(extract.iter_search(client, ot, props, EPOCH, client.now()))
        assert set(found) == set(live)
    assert TOKEN not in repr(client)


def test_chunked_properties_merge_by_id(hs_sim_small: CrmSimulator):
    client = fast_client(hs_sim_small, url_property_chars=40)
    props = _props(client, "deals")
    assert len(extract.chunk_properties(props, 40)) > 3
    pages = list(extract.iter_list(client, "deals", props, archived=False))
    got = pd.concat([p.table.to_pandas() for p in pages]).set_index("id").sort_index()
    plain = fast_client(hs_sim_small)
    ref = pd.concat([p.table.to_pandas() for p in extract.iter_list(plain, "deals", props, archived=False)])
    pd.testing.assert_frame_equal(got, ref.set_index("id").sort_index())
    assert client.calls["objects.batch_read"] > 0


def test_search_past_the_cap_with_identical_timestamps():
    ds = small_dataset("tiny")
    stamp = datetime(2025, 6, 1, 12, 0, 0, 123000)
    n = 25_000
    with ds.lock:
        cur = ds.con.cursor()
        cols = [r[0] for r in cur.execute("SELECT column_name FROM information_schema.columns WHERE "
                                          "table_schema='hs' AND table_name='notes'").fetchall()]
        select = []
        for c in cols:
            if c in ("id", "hs_object_id"):
                select.append("CAST(900000000 + i AS VARCHAR)")
            elif c in ("updatedAt", "createdAt"):
                select.append(f"TIMESTAMP '{stamp}'")
            elif c == "archived":
                select.append("FALSE")
            elif c == "hs_lastmodifieddate":
                select.append("'2025-06-01T12:00:00.123Z'")
            else:
                select.append("NULL")
        cur.execute(f"INSERT INTO hs.notes SELECT {', '.join(select)} FROM range({n}) t(i)")
        cur.close()
    with CrmSimulator(ds) as sim:
        sim.settings.hubspot.enforce_rate_limits = False
        client = fast_client(sim)
        stats = extract.SearchStats()
        start = datetime(2025, 6, 1, 11, tzinfo=UTC)
        found = _ids(extract.iter_search(client, "notes", ["hs_lastmodifieddate"], start, client.now(), stats))
        expected = {i for i, (ms, arch) in source_rows(ds, "notes", archived=False).items()
                    if ms >= int(start.timestamp() * 1000)}
        assert set(found) == expected and len(expected) >= n
        assert stats.tie_drains >= 1
        assert stats.requests <= 3 * (len(expected) // 200 + 1) + 40
        assert sim.counters().get("hs.search", 0) == stats.requests


def test_faults_are_retried(hs_sim_small: CrmSimulator):
    client = fast_client(hs_sim_small)
    props = _props(client, "contacts")
    ref = _ids(extract.iter_list(client, "contacts", props, archived=False))
    ref_search = _ids(extract.iter_search(client, "contacts", props, EPOCH, client.now()))
    f = hs_sim_small.faults
    f.add("rate_limit", "hs.objects.list", times=5, policy="TEN_SECONDLY_ROLLING")
    f.add("status", "hs.objects.list", status=502, after=2, times=2)
    f.add("reset", "hs.objects.list", after=4, times=1)
    f.add("truncated", "hs.objects.list", after=6, times=1)
    f.add("bad_json", "hs.search", after=1, times=1)
    f.add("rate_limit", "hs.search", policy="SECONDLY", after=2, times=3)
    f.add("rate_limit", "hs.search", policy="TEN_SECONDLY_ROLLING", after=3, times=2, retry_after=1)
    assert _ids(extract.iter_list(client, "contacts", props, archived=False)) == ref
    assert _ids(extract.iter_search(client, "contacts", props, EPOCH, client.now())) == ref_search
    assert sum(client.retries.values()) >= 10


def test_daily_limit_stops(hs_sim_small: CrmSimulator):
    client = fast_client(hs_sim_small)
    hs_sim_small.faults.add("rate_limit", "hs.objects.list", policy="DAILY", after=1, times=None)
    pages = extract.iter_list(client, "companies", ["name"], archived=False)
    next(pages)
    with pytest.raises(DailyLimitReached):
        next(pages)


def test_associations_equal_source(hs_sim_small: CrmSimulator):
    client = fast_client(hs_sim_small, association_batch_size=50)
    ds = hs_sim_small.dataset
    with ds.reading() as cur:
        ids = [r[0] for r in cur.execute("SELECT id FROM hs.deals").fetchall()]
        src = set(cur.execute("SELECT from_id, to_id, type_id FROM hs.associations "
                              "WHERE from_type='deals' AND to_type='contacts'").fetchall())
    got = set()
    for _, table in associations.iter_associations(client, "deals", "contacts", ids):
        got |= {(r["from_id"], r["to_id"], r["type_id"]) for r in table.to_pylist()}
    assert got == src


def test_server_time_from_date_header(hs_sim_small: CrmSimulator):
    client = fast_client(hs_sim_small)
    now = client.now()
    assert abs(now - (hs_sim_small.dataset.clock + timedelta(seconds=600))) < timedelta(seconds=30)
