"""Typing of every Salesforce and HubSpot type through a real merge, REST vs Bulk byte-identity."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

import duckdb
import pyarrow as pa
import pytest

from connectors.warehouse.columns import hubspot_columns, salesforce_columns
from connectors.warehouse.raw import RawWarehouse
from tests.warehouse.fixtures import deal_properties, opportunity_describe

SF_COLUMNS = salesforce_columns(opportunity_describe())[0]
HS_COLUMNS = hubspot_columns(deal_properties())[0]

# The same four logical records as Salesforce REST returns them (JSON-native values) ...
REST = [
    {
        "Id": "006000000000001AAA",
        "IsDeleted": False,
        "Name": "Big deal",
        "StageName": "Closed Won",
        "Products__c": "A;B",
        "Amount": 0.005,
        "Probability": 12.5,
        "Quantity__c": 3,
        "Score__c": 0.1,
        "Seats__c": 42,
        "BigCount__c": 9007199254740993,
        "CloseDate": "2024-02-29",
        "SystemModstamp": "2024-01-15T10:20:30.000+0000",
        "Meeting__c": "10:20:30.000Z",
        "AccountId": "001000000000001AAA",
        "Description": 'multi\nline, "quoted"',
        "Email__c": "a@b.c",
        "Phone__c": "+1 555",
        "Site__c": "https://x.y",
        "Kind__c": "k",
        "Payload__c": "p",
    },
    {
        "Id": "006000000000002AAA",
        "IsDeleted": True,
        "Name": None,
        "StageName": None,
        "Products__c": None,
        "Amount": 1e15,
        "Probability": None,
        "Quantity__c": None,
        "Score__c": None,
        "Seats__c": None,
        "BigCount__c": None,
        "CloseDate": None,
        "SystemModstamp": "2024-01-15T10:20:30.123+0000",
        "Meeting__c": None,
        "AccountId": None,
        "Description": None,
        "Email__c": None,
        "Phone__c": None,
        "Site__c": None,
        "Kind__c": None,
        "Payload__c": None,
    },
    {
        "Id": "006000000000003AAA",
        "IsDeleted": False,
        "Name": "Neg",
        "StageName": "Prospecting",
        "Products__c": "Only",
        "Amount": -1234.565,
        "Probability": 100.0,
        "Quantity__c": 1.005,
        "Score__c": -2.5e-7,
        "Seats__c": -7,
        "BigCount__c": 0,
        "CloseDate": "2023-12-31",
        "SystemModstamp": "2024-02-29T23:59:59.999+0000",
        "Meeting__c": "00:00:00.000Z",
        "AccountId": None,
        "Description": None,
        "Email__c": None,
        "Phone__c": None,
        "Site__c": None,
        "Kind__c": None,
        "Payload__c": None,
    },
    {
        "Id": "006000000000004AAA",
        "IsDeleted": False,
        "Name": "Whole",
        "StageName": "X",
        "Products__c": None,
        "Amount": 1500.0,
        "Probability": 0,
        "Quantity__c": 0.0,
        "Score__c": 1e300,
        "Seats__c": 0,
        "BigCount__c": -9223372036854775808,
        "CloseDate": "2024-02-29",
        "SystemModstamp": "2024-03-01T00:00:00.000+0000",
        "Meeting__c": "23:59:59.999Z",
        "AccountId": None,
        "Description": None,
        "Email__c": None,
        "Phone__c": None,
        "Site__c": None,
        "Kind__c": None,
        "Payload__c": None,
    },
]

# ... and as Bulk 2.0 CSV returns them (every value text; "" for null).
BULK_TEXT = {
    "006000000000001AAA": {
        "Amount": "0.005",
        "Probability": "12.5",
        "Quantity__c": "3",
        "Score__c": "0.1",
        "Seats__c": "42",
        "BigCount__c": "9007199254740993",
        "IsDeleted": "false",
        "SystemModstamp": "2024-01-15T10:20:30.000Z",
    },
    "006000000000002AAA": {
        "Amount": "1000000000000000",
        "IsDeleted": "true",
        "SystemModstamp": "2024-01-15T10:20:30.123Z",
    },
    "006000000000003AAA": {
        "Amount": "-1234.565",
        "Probability": "100",
        "Quantity__c": "1.005",
        "Score__c": "-2.5E-7",
        "Seats__c": "-7",
        "BigCount__c": "0",
        "IsDeleted": "false",
        "SystemModstamp": "2024-02-29T23:59:59.999Z",
    },
    "006000000000004AAA": {
        "Amount": "1500.00",
        "Probability": "0",
        "Quantity__c": "0",
        "Score__c": "1.0E300",
        "Seats__c": "0",
        "BigCount__c": "-9223372036854775808",
        "IsDeleted": "false",
        "SystemModstamp": "2024-03-01T00:00:00.000Z",
    },
}


def bulk_rows() -> list[dict[str, str]]:
    rows = []
    for rec in REST:
        row = {k: "" if v is None else str(v) for k, v in rec.items()}
        row.update(BULK_TEXT[rec["Id"]])
        rows.append(row)
    return rows


def load(wh: RawWarehouse, table: str, batch: pa.Table) -> pa.Table:
    wh.ensure_table("salesforce", table, SF_COLUMNS, "Id")
    wh.merge("salesforce", table, batch, primary_key="Id", cursor_column="SystemModstamp", deleted_column="IsDeleted")
    return wh.fetch_arrow(f'SELECT * EXCLUDE (_loaded_at) FROM raw_salesforce.{table} ORDER BY "Id"')


def duck_round(text: str, duck_type: str) -> Decimal:
    return duckdb.sql(f"SELECT CAST('{text}' AS {duck_type})").fetchall()[0][0]


def test_rest_and_bulk_give_byte_identical_rows(wh):
    rest = load(wh, "opp_rest", pa.Table.from_pylist(REST))
    bulk_batch = pa.Table.from_pylist(bulk_rows())
    assert all(pa.types.is_string(t) for t in bulk_batch.schema.types)
    bulk = load(wh, "opp_bulk", bulk_batch)
    assert rest.schema == bulk.schema
    assert rest.equals(bulk)
    diff = wh.fetch_arrow(
        "SELECT count(*) AS n FROM (SELECT * EXCLUDE (_loaded_at) FROM raw_salesforce.opp_rest "
        "EXCEPT SELECT * EXCLUDE (_loaded_at) FROM raw_salesforce.opp_bulk)"
    )
    assert diff.column("n")[0].as_py() == 0


def test_salesforce_boundary_values(wh):
    rows = {r["Id"]: r for r in load(wh, "opp", pa.Table.from_pylist(bulk_rows())).to_pylist()}
    r1, r2, r3, r4 = (rows[f"00600000000000{i}AAA"] for i in range(1, 5))
    # currency DECIMAL(18,2): 0.005 rounds the way DuckDB rounds text -> DECIMAL (half away from zero)
    assert r1["Amount"] == duck_round("0.005", "DECIMAL(18,2)") == Decimal("0.01")
    assert r2["Amount"] == Decimal("1000000000000000.00")
    assert r3["Amount"] == Decimal("-1234.57")
    assert r4["Amount"] == Decimal("1500.00")
    assert r3["Quantity__c"] == Decimal("1.01")  # a binary double 1.005 would have given 1.00
    assert r1["Probability"] == Decimal("12.50") and r2["Probability"] is None
    assert r1["Score__c"] == 0.1 and r3["Score__c"] == -2.5e-7 and r4["Score__c"] == 1e300
    assert r1["Seats__c"] == 42 and r3["Seats__c"] == -7
    assert r1["BigCount__c"] == 9007199254740993  # beyond 2**53: kept exact
    assert r4["BigCount__c"] == -9223372036854775808
    assert r1["CloseDate"] == date(2024, 2, 29)
    assert r1["SystemModstamp"] == datetime(2024, 1, 15, 10, 20, 30, tzinfo=UTC)
    assert r2["SystemModstamp"] == datetime(2024, 1, 15, 10, 20, 30, 123000, tzinfo=UTC)
    assert r3["SystemModstamp"] == datetime(2024, 2, 29, 23, 59, 59, 999000, tzinfo=UTC)
    assert r1["Meeting__c"] == time(10, 20, 30) and r4["Meeting__c"] == time(23, 59, 59, 999000)
    assert r1["Products__c"] == ["A", "B"] and r3["Products__c"] == ["Only"] and r2["Products__c"] is None
    assert r1["IsDeleted"] is False and r2["IsDeleted"] is True
    assert r1["Description"] == 'multi\nline, "quoted"'
    assert r2["Name"] is None and r2["AccountId"] is None  # "" -> NULL
    types = dict(
        zip(
            *[
                wh.fetch_arrow("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'opp'")
                .column(c)
                .to_pylist()
                for c in ("column_name", "data_type")
            ],
            strict=True,
        )
    )
    assert types["Amount"] == "DECIMAL(18,2)" and types["Score__c"] == "DOUBLE"
    assert "DOUBLE" not in (types["Amount"], types["Probability"], types["Quantity__c"])


def test_empty_string_is_null_for_every_type(wh):
    row = {c.name: "" for c in SF_COLUMNS}
    row.update(Id="006000000000009AAA", SystemModstamp="2024-01-15T10:20:30.000Z")
    out = load(wh, "opp", pa.Table.from_pylist([row])).to_pylist()[0]
    assert {k: v for k, v in out.items() if v is not None} == {
        "Id": "006000000000009AAA",
        "SystemModstamp": datetime(2024, 1, 15, 10, 20, 30, tzinfo=UTC),
        "_is_deleted": False,
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0.005", Decimal("0.01")), ("-0.005", Decimal("-0.01")), ("0.004", Decimal("0.00")), ("1e15", None)],
)
def test_scale_two_rounding_matches_duckdb(wh, text, expected):
    out = load(
        wh,
        "opp",
        pa.table(
            {"Id": ["006A"], "Amount": [text], "SystemModstamp": ["2024-01-01T00:00:00Z"], "IsDeleted": ["false"]}
        ),
    ).to_pylist()[0]
    assert out["Amount"] == duck_round(text, "DECIMAL(18,2)")
    if expected is not None:
        assert out["Amount"] == expected


HS_ROWS = [
    {
        "id": "101",
        "created_at": "2024-01-01T00:00:00.000Z",
        "updated_at": "1704067200000",
        "archived": "false",
        "archived_at": None,
        "dealname": "A",
        "amount": "1500.00",
        "closedate": "1704067200000",
        "contract_start": "2024-02-29",
        "is_renewal": "true",
        "dealstage": "closedwon",
        "products": "A;B",
        "hs_lastmodifieddate": "2024-01-01T00:00:00.000Z",
        "notes": "",
    },
    {
        "id": "102",
        "created_at": "2024-02-29T12:00:00Z",
        "updated_at": "2024-02-29T12:00:00.000Z",
        "archived": "true",
        "archived_at": "2024-03-01T00:00:00.000Z",
        "dealname": None,
        "amount": "-0.0000000005",
        "closedate": "2024-02-29T12:00:00.000Z",
        "contract_start": "1709164800000",
        "is_renewal": "false",
        "dealstage": "",
        "products": "",
        "hs_lastmodifieddate": "1709208000000",
        "notes": None,
    },
    {
        "id": "103",
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
        "archived": "false",
        "archived_at": "",
        "dealname": "x",
        "amount": "1000000000000000",
        "closedate": "",
        "contract_start": "",
        "is_renewal": "",
        "dealstage": "s",
        "products": "Only",
        "hs_lastmodifieddate": "2024-01-01T00:00:00Z",
        "notes": "n",
    },
]


def test_hubspot_types_and_boundaries(wh):
    wh.ensure_table("hubspot", "deals", HS_COLUMNS, "id")
    counts = wh.merge(
        "hubspot",
        "deals",
        pa.Table.from_pylist(HS_ROWS),
        primary_key="id",
        cursor_column="updated_at",
        deleted_column="archived",
        deleted_at_column="archived_at",
    )
    assert (counts.inserted, counts.deleted) == (3, 1)
    rows = {r["id"]: r for r in wh.fetch_arrow("SELECT * FROM raw_hubspot.deals").to_pylist()}
    a, b, c = rows["101"], rows["102"], rows["103"]
    jan1 = datetime(2024, 1, 1, tzinfo=UTC)
    assert a["updated_at"] == a["created_at"] == a["closedate"] == jan1  # epoch-ms == ISO
    assert b["hs_lastmodifieddate"] == b["closedate"] == datetime(2024, 2, 29, 12, tzinfo=UTC)
    assert a["contract_start"] == b["contract_start"] == date(2024, 2, 29)  # ISO and epoch-ms dates
    assert a["amount"] == Decimal("1500") and c["amount"] == Decimal("1000000000000000")
    assert b["amount"] == duck_round("-0.0000000005", "DECIMAL(38,9)")
    assert a["is_renewal"] is True and b["is_renewal"] is False and c["is_renewal"] is None
    assert a["products"] == ["A", "B"] and b["products"] is None and c["products"] == ["Only"]
    assert a["notes"] is None and b["dealstage"] is None  # "" -> NULL
    assert b["_is_deleted"] is True and b["_deleted_at"] == datetime(2024, 3, 1, tzinfo=UTC)  # archived_at wins
    assert a["_is_deleted"] is False and a["_deleted_at"] is None


def test_list_and_native_arrow_types_accepted(wh):
    """Extractors may hand over lists, Arrow timestamps, dates and decimals; same rows as text."""
    wh.ensure_table("salesforce", "opp", SF_COLUMNS, "Id")
    native = pa.table(
        {
            "Id": ["006N"],
            "Products__c": pa.array([["A", "B"]]),
            "SystemModstamp": pa.array(
                [datetime(2024, 1, 15, 10, 20, 30, 123000, tzinfo=UTC)], pa.timestamp("ms", "UTC")
            ),
            "CloseDate": pa.array([date(2024, 2, 29)]),
            "Amount": pa.array([Decimal("1234.56")], pa.decimal128(18, 2)),
            "Seats__c": pa.array([42.0]),
        }
    )
    wh.merge("salesforce", "opp", native, primary_key="Id", cursor_column="SystemModstamp")
    text = pa.table(
        {
            "Id": ["006T"],
            "Products__c": ["A;B"],
            "SystemModstamp": ["2024-01-15T10:20:30.123Z"],
            "CloseDate": ["2024-02-29"],
            "Amount": ["1234.56"],
            "Seats__c": ["42"],
        }
    )
    wh.merge("salesforce", "opp", text, primary_key="Id", cursor_column="SystemModstamp")
    rows = wh.fetch_arrow('SELECT * EXCLUDE ("Id", _loaded_at) FROM raw_salesforce.opp ORDER BY "Id"').to_pylist()
    assert rows[0] == rows[1]
