"""Merge semantics: errors roll back, idempotence, dedupe, deletes, schema drift, reconciliation, associations."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest

from connectors.warehouse.columns import Column, HostileIdentifierError, salesforce_columns
from connectors.warehouse.errors import LoadError, SchemaDriftError
from connectors.warehouse.raw import RawWarehouse
from connectors.warehouse.state import StreamState
from tests.warehouse.fixtures import opportunity_describe, sf_field

COLS = [
    Column("Id", "VARCHAR", "id"),
    Column("Name", "VARCHAR", "string"),
    Column("Amount", "DECIMAL(18,2)", "currency"),
    Column("IsDeleted", "BOOLEAN", "boolean"),
    Column("SystemModstamp", "TIMESTAMPTZ", "datetime"),
]
T1, T2, T3 = "2024-01-01T00:00:00.000Z", "2024-01-02T00:00:00.000Z", "2024-01-03T00:00:00.000Z"


def batch(*rows: tuple) -> pa.Table:
    names = ["Id", "Name", "Amount", "IsDeleted", "SystemModstamp"]
    return pa.Table.from_pylist([dict(zip(names, r, strict=True)) for r in rows])


def merge(wh: RawWarehouse, b: pa.Table, **kw):
    return wh.merge(
        "salesforce",
        "opportunity",
        b,
        primary_key="Id",
        cursor_column="SystemModstamp",
        deleted_column="IsDeleted",
        **kw,
    )


def snapshot(wh: RawWarehouse, table: str = "raw_salesforce.opportunity") -> list[dict]:
    return wh.fetch_arrow(f"SELECT * FROM {table} ORDER BY ALL").to_pylist()


@pytest.fixture
def opp(wh):
    wh.ensure_table("salesforce", "Opportunity", COLS, "Id")
    return wh


def test_bad_value_names_table_pk_column_value_and_writes_nothing(opp, clock):
    merge(
        opp,
        batch(("006A", "a", "1.00", "false", T1)),
        state=StreamState("salesforce", "Opportunity", cursor=datetime(2024, 1, 1, tzinfo=UTC)),
    )
    before, state_before = snapshot(opp), opp.get_state("salesforce", "Opportunity")
    clock.tick()
    bad = batch(
        ("006A", "changed", "2.00", "false", T2),
        ("006B", "b", "12abc", "false", T2),
        ("006C", "c", "3.00", "false", T2),
    )
    with pytest.raises(LoadError) as err:
        merge(opp, bad, state=StreamState("salesforce", "Opportunity", cursor=datetime(2024, 1, 2, tzinfo=UTC)))
    message = str(err.value)
    for part in ("raw_salesforce.opportunity", "006B", "Amount", "12abc"):
        assert part in message
    assert (err.value.table, err.value.primary_key_value, err.value.column, err.value.value) == (
        "raw_salesforce.opportunity",
        "006B",
        "Amount",
        "12abc",
    )
    assert snapshot(opp) == before
    assert opp.get_state("salesforce", "Opportunity") == state_before


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("Amount", "1e20"),
        ("Amount", "NaN"),
        ("IsDeleted", "maybe"),
        ("SystemModstamp", "2023-02-29T00:00:00Z"),
        ("SystemModstamp", "yesterday"),
    ],
)
def test_unconvertible_values_are_errors_not_nulls(opp, column, value):
    row = {"Id": "006X", "Name": "x", "Amount": "1", "IsDeleted": "false", "SystemModstamp": T1, column: value}
    with pytest.raises(LoadError) as err:
        merge(opp, pa.Table.from_pylist([row]))
    assert err.value.column == column and err.value.value == value and err.value.primary_key_value == "006X"
    assert opp.table_rows("salesforce", "opportunity") == 0


def test_fractional_value_in_integer_column_is_an_error(wh):
    wh.ensure_table("salesforce", "x", [Column("Id", "VARCHAR", "id"), Column("Seats", "BIGINT", "int")], "Id")
    wh.merge("salesforce", "x", pa.table({"Id": ["1", "2"], "Seats": ["42.0", "7"]}), primary_key="Id")
    with pytest.raises(LoadError, match=r"Seats.*42\.5"):
        wh.merge("salesforce", "x", pa.table({"Id": ["3"], "Seats": ["42.5"]}), primary_key="Id")
    assert wh.fetch_arrow('SELECT "Seats" FROM raw_salesforce.x ORDER BY 1').column(0).to_pylist() == [7, 42]


def test_null_primary_key_is_an_error(opp):
    with pytest.raises(LoadError, match="null primary key"):
        merge(opp, batch(("006A", "a", "1", "false", T1), ("", "b", "1", "false", T1)))
    assert opp.table_rows("salesforce", "opportunity") == 0


def test_hostile_batch_column_refused_and_unknown_column_refused(opp):
    with pytest.raises(HostileIdentifierError):
        opp.merge("salesforce", "opportunity", pa.table({"Id": ["1"], 'x"; DROP TABLE y; --': ["v"]}), primary_key="Id")
    with pytest.raises(LoadError, match="not in the table"):
        opp.merge("salesforce", "opportunity", pa.table({"Id": ["1"], "Nope__c": ["v"]}), primary_key="Id")
    with pytest.raises(HostileIdentifierError):
        opp.merge("salesforce", 'opportunity"; --', pa.table({"Id": ["1"]}), primary_key="Id")
    assert opp.table_rows("salesforce", "opportunity") == 0


def test_hostile_describe_names_are_skipped_and_everything_else_loads(wh):
    hostile = ['Evil"; DROP TABLE raw_salesforce.opportunity; --', "a b", "N\u0430me__c"]
    columns, refused = salesforce_columns(opportunity_describe([sf_field(n, "string") for n in hostile]))
    assert refused == hostile
    wh.ensure_table("salesforce", "Opportunity", columns, "Id")
    counts = wh.merge(
        "salesforce", "Opportunity", pa.table({"Id": ["006A"], "Amount": ["5.5"], "Name": ["n"]}), primary_key="Id"
    )
    assert counts.inserted == 1
    names = wh.fetch_arrow("SELECT column_name FROM duckdb_columns() WHERE table_name = 'opportunity'")
    assert not set(hostile) & set(names.column(0).to_pylist())


def test_case_collision_in_columns_is_an_error(wh):
    with pytest.raises(HostileIdentifierError):
        wh.ensure_table(
            "salesforce",
            "x",
            [Column("Id", "VARCHAR", "id"), Column("Foo__c", "VARCHAR", "s"), Column("foo__c", "VARCHAR", "s")],
            "Id",
        )
    with pytest.raises(HostileIdentifierError):
        wh.merge("salesforce", "x", pa.table({"Id": ["1"], "ID": ["1"]}), primary_key="Id")


def test_idempotent_remerge_and_loaded_at_only_for_changed_rows(opp, clock):
    b = batch(("006A", "a", 10.5, False, T1), ("006B", "b", 20.0, False, T1), ("006C", None, None, False, T1))
    first = merge(opp, b)
    assert (first.inserted, first.updated, first.unchanged) == (3, 0, 0)
    before = snapshot(opp)
    clock.tick()
    again = merge(opp, b)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert snapshot(opp) == before  # table hash unchanged, _loaded_at included
    # the same records in Bulk text form are the same data: still unchanged
    text = batch(
        ("006A", "a", "10.50", "false", "2024-01-01T00:00:00.000+0000"),
        ("006B", "b", "20", "false", T1),
        ("006C", "", "", "false", T1),
    )
    assert merge(opp, text).unchanged == 3
    t_change = clock.tick()
    changed = merge(opp, batch(("006A", "a", 10.5, False, T1), ("006B", "b", 20.01, False, T2)))
    assert (changed.inserted, changed.updated, changed.unchanged) == (0, 1, 1)
    loaded = {r["Id"]: r["_loaded_at"] for r in snapshot(opp)}
    assert loaded["006B"] == t_change
    assert loaded["006A"] == loaded["006C"] == before[0]["_loaded_at"]


def test_absent_columns_keep_their_value(opp):
    merge(opp, batch(("006A", "a", 10.5, False, T1)))
    opp.merge("salesforce", "opportunity", pa.table({"Id": ["006A"], "Name": ["renamed"]}), primary_key="Id")
    row = snapshot(opp)[0]
    assert row["Name"] == "renamed" and str(row["Amount"]) == "10.50" and row["IsDeleted"] is False


def test_dedupe_within_batch_by_cursor_desc_then_position(opp):
    b = batch(
        ("006A", "v2", 2, False, T2),
        ("006A", "v3", 3, False, T3),
        ("006A", "v1", 1, False, T1),
        ("006B", "first", 1, False, T1),
        ("006B", "last", 2, False, T1),
    )
    counts = merge(opp, b)
    assert (counts.inserted, counts.total) == (2, 2)
    rows = {r["Id"]: r["Name"] for r in snapshot(opp)}
    assert rows == {"006A": "v3", "006B": "last"}


def test_delete_and_undelete(opp, clock):
    merge(opp, batch(("006A", "a", 1, False, T1)))
    counts = merge(opp, batch(("006A", "a", 1, True, T2)))
    assert (counts.updated, counts.deleted) == (1, 1)
    row = snapshot(opp)[0]
    assert row["_is_deleted"] is True and row["_deleted_at"] == datetime(2024, 1, 2, tzinfo=UTC)
    assert merge(opp, batch(("006A", "a", 1, True, T2))).unchanged == 1  # idempotent while deleted
    merge(opp, batch(("006A", "a", 1, False, T3)))
    row = snapshot(opp)[0]
    assert row["_is_deleted"] is False and row["_deleted_at"] is None


def test_deleted_at_column_overrides_cursor(opp):
    opp.ensure_table("salesforce", "Opportunity", [*COLS, Column("PurgedAt__c", "TIMESTAMPTZ", "datetime")], "Id")
    b = pa.table({"Id": ["006A"], "IsDeleted": ["true"], "SystemModstamp": [T3], "PurgedAt__c": [T1]})
    opp.merge(
        "salesforce",
        "opportunity",
        b,
        primary_key="Id",
        cursor_column="SystemModstamp",
        deleted_column="IsDeleted",
        deleted_at_column="PurgedAt__c",
    )
    assert snapshot(opp)[0]["_deleted_at"] == datetime(2024, 1, 1, tzinfo=UTC)


def test_merge_without_deleted_column_keeps_flags(opp):
    merge(opp, batch(("006A", "a", 1, True, T1)))
    opp.merge("salesforce", "opportunity", pa.table({"Id": ["006A"], "Name": ["b"]}), primary_key="Id")
    row = snapshot(opp)[0]
    assert row["_is_deleted"] is True and row["Name"] == "b"


def test_reconciliation_flags_only_missing_ids(opp, clock):
    merge(opp, batch(*[(f"006{i}", "x", i, False, T1) for i in range(5)]))
    merge(opp, batch(("0064", "x", 4, True, T2)))  # already soft-deleted
    when = datetime(2024, 2, 1, tzinfo=UTC)
    state = StreamState("salesforce", "Opportunity", last_reconciled_at=when, status="success")
    flagged = opp.flag_missing_as_deleted(
        "salesforce", "opportunity", "Id", pa.array(["0060", "0062"]), when, state=state
    )
    assert flagged == 2  # 0061 and 0063; 0064 already deleted keeps its _deleted_at
    rows = {r["Id"]: (r["_is_deleted"], r["_deleted_at"]) for r in snapshot(opp)}
    assert rows == {
        "0060": (False, None),
        "0061": (True, when),
        "0062": (False, None),
        "0063": (True, when),
        "0064": (True, datetime(2024, 1, 2, tzinfo=UTC)),
    }
    assert opp.get_state("salesforce", "Opportunity").last_reconciled_at == when
    assert opp.flag_missing_as_deleted("salesforce", "opportunity", "Id", ["0060", "0062"], when) == 0
    with pytest.raises(LoadError, match="empty"):
        opp.flag_missing_as_deleted("salesforce", "opportunity", "Id", [], when)


def test_reconciliation_skips_rows_loaded_after_snapshot_start(opp, clock):
    merge(opp, batch(("006A", "a", 1, False, T1)))
    snapshot_start = clock.tick()
    clock.tick()
    merge(opp, batch(("006NEW", "created during snapshot", 1, False, T2)))
    flagged = opp.flag_missing_as_deleted(
        "salesforce", "opportunity", "Id", ["006A"], clock.tick(), only_loaded_before=snapshot_start
    )
    assert flagged == 0


def test_schema_add_remove_retype_recorded(wh):
    v1 = [*COLS, Column("Old__c", "VARCHAR", "string")]
    assert [c.change for c in wh.ensure_table("salesforce", "Opportunity", v1, "Id")] == ["created"]
    assert wh.ensure_table("salesforce", "Opportunity", v1, "Id") == []
    wh.merge(
        "salesforce", "opportunity", pa.table({"Id": ["006A"], "Amount": ["1.50"], "Old__c": ["o"]}), primary_key="Id"
    )
    v2 = [c for c in COLS if c.name != "Amount"] + [
        Column("Amount", "VARCHAR", "string"),
        Column("New__c", "DECIMAL(18,2)", "currency"),
    ]
    changes = wh.ensure_table("salesforce", "Opportunity", v2, "Id")
    assert {(c.column_name, c.change, c.old_type, c.new_type) for c in changes} == {
        ("New__c", "added", None, "DECIMAL(18,2)"),
        ("Amount", "retyped", "DECIMAL(18,2)", "VARCHAR"),
        ("Old__c", "removed", "VARCHAR", None),
    }
    assert wh.ensure_table("salesforce", "Opportunity", v2, "Id") == []  # recorded once
    types = {
        r["column_name"]: r["data_type"]
        for r in wh.fetch_arrow(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'opportunity'"
        ).to_pylist()
    }
    assert types["Amount"] == "DECIMAL(18,2)" and types["New__c"] == "DECIMAL(18,2)" and "Old__c" in types
    row = wh.fetch_arrow('SELECT "Old__c", "Amount" FROM raw_salesforce.opportunity').to_pylist()[0]
    assert row == {"Old__c": "o", "Amount": pytest.approx(1.5)}  # removed column kept with its data
    recorded = [(c.change, c.column_name) for c in wh.schema_changes("salesforce", "opportunity")]
    assert recorded[0] == ("created", None)
    assert sorted(recorded[1:]) == [("added", "New__c"), ("removed", "Old__c"), ("retyped", "Amount")]
    changes = wh.ensure_table("salesforce", "Opportunity", [*v2, Column("Old__c", "VARCHAR", "string")], "Id")
    assert [(c.change, c.column_name) for c in changes] == [("restored", "Old__c")]


def test_schema_policy_fail_raises_without_ddl(tmp_path):
    with RawWarehouse(tmp_path / "w.duckdb", schema_policy="fail") as wh:
        wh.ensure_table("salesforce", "Opportunity", COLS, "Id")
        with pytest.raises(SchemaDriftError, match="added New__c"):
            wh.ensure_table("salesforce", "Opportunity", [*COLS, Column("New__c", "VARCHAR", "string")], "Id")
        assert "New__c" not in wh.fetch_arrow("SELECT * FROM raw_salesforce.opportunity").column_names
        assert [c.change for c in wh.schema_changes()] == ["created"]


def test_ddl_from_merge_rolls_back_with_bad_data(opp):
    cols = [*COLS, Column("New__c", "DECIMAL(18,2)", "currency")]
    with pytest.raises(LoadError):
        opp.merge(
            "salesforce", "opportunity", pa.table({"Id": ["006A"], "New__c": ["bad"]}), primary_key="Id", columns=cols
        )
    assert "New__c" not in opp.fetch_arrow("SELECT * FROM raw_salesforce.opportunity").column_names
    assert [c.change for c in opp.schema_changes()] == ["created"]
    counts = opp.merge(
        "salesforce", "opportunity", pa.table({"Id": ["006A"], "New__c": ["1.25"]}), primary_key="Id", columns=cols
    )
    assert counts.inserted == 1
    assert [c.change for c in opp.schema_changes()] == ["created", "added"]


def test_association_table_composite_key_merge(wh):
    b = pa.table(
        {
            "from_id": ["1", "1", "1", "2"],
            "to_id": ["10", "10", "11", "10"],
            "type_id": [1, 1, 1, 3],
            "category": ["HUBSPOT_DEFINED"] * 4,
            "label": [None, "Champion", None, None],
        }
    )
    counts = wh.merge_associations("deals", "contacts", b)
    assert (counts.inserted, counts.total) == (3, 3)  # duplicate (1,10,1) deduped, last wins
    rows = snapshot(wh, "raw_hubspot.assoc_deals__contacts")
    assert [(r["from_id"], r["to_id"], r["type_id"], r["label"]) for r in rows] == [
        ("1", "10", 1, "Champion"),
        ("1", "11", 1, None),
        ("2", "10", 3, None),
    ]
    same_pair_other_type = pa.table({"from_id": ["1"], "to_id": ["10"], "type_id": [5]})
    assert wh.merge_associations("deals", "contacts", same_pair_other_type).inserted == 1
    assert wh.merge_associations("deals", "contacts", b).unchanged == 3
    # a full snapshot for deal 1 without (1,11,1): flagged deleted, other deals untouched
    snap = pa.table({"from_id": ["1", "1"], "to_id": ["10", "10"], "type_id": [1, 5]})
    counts = wh.merge_associations("deals", "contacts", snap, snapshot_from_ids=["1"])
    assert counts.deleted == 1
    deleted = wh.fetch_arrow(
        "SELECT from_id, to_id, type_id FROM raw_hubspot.assoc_deals__contacts WHERE _is_deleted"
    ).to_pylist()
    assert deleted == [{"from_id": "1", "to_id": "11", "type_id": 1}]
    wh.merge_associations("deals", "contacts", pa.table({"from_id": ["1"], "to_id": ["11"], "type_id": [1]}))
    assert (
        wh.fetch_arrow("SELECT count(*) FROM raw_hubspot.assoc_deals__contacts WHERE _is_deleted").column(0)[0].as_py()
        == 0
    )
    pk = wh.fetch_arrow(
        "SELECT constraint_column_names FROM duckdb_constraints() "
        "WHERE table_name = 'assoc_deals__contacts' AND constraint_type = 'PRIMARY KEY'"
    )
    assert pk.column(0)[0].as_py() == ["from_id", "to_id", "type_id"]


def test_state_roundtrip_and_runs(wh):
    assert wh.get_state("hubspot", "deals").status == "never"
    st = StreamState(
        "hubspot",
        "deals",
        cursor=datetime(2024, 5, 1, tzinfo=UTC),
        cursor_id="42",
        status="partial",
        rows_total=10,
        api_calls=3,
        schema_version=2,
        extra={"bulk_job": "750x", "locator": None},
    )
    wh.put_state(st)
    got = wh.get_state("hubspot", "deals")
    assert got.cursor == st.cursor and got.extra == st.extra and got.status == "partial" and got.schema_version == 2
    with pytest.raises(ValueError):
        wh.put_state(StreamState("hubspot", "deals", status="done"))
    wh.record_run("r1", "hubspot", "deals", status="partial", rows_inserted=5, api_path="search")
    assert wh.fetch_arrow("SELECT status, rows_inserted FROM _meta.sync_runs").to_pylist() == [
        {"status": "partial", "rows_inserted": 5}
    ]


def test_read_only_mode(tmp_path):
    path = tmp_path / "w.duckdb"
    with RawWarehouse(path) as wh:
        wh.ensure_table("salesforce", "Opportunity", COLS, "Id")
        merge(wh, batch(("006A", "a", 1, False, T1)))
    with RawWarehouse(path, read_only=True) as ro:
        assert ro.table_rows("salesforce", "opportunity") == 1
        assert ro.fetch_arrow('SELECT "Id" FROM raw_salesforce.opportunity WHERE "Id" = ?', ["006A"]).num_rows == 1
        with pytest.raises(LoadError, match="read_only"):
            merge(ro, batch(("006B", "b", 1, False, T1)))
