from __future__ import annotations

import pytest

from connectors.warehouse.columns import (
    Column,
    HostileIdentifierError,
    cast_sql,
    hubspot_columns,
    normalize_type,
    salesforce_columns,
    validate_identifier,
)
from tests.warehouse.fixtures import (
    HS_EXPECTED_TYPES,
    SF_EXPECTED_TYPES,
    deal_properties,
    hs_prop,
    opportunity_describe,
    sf_field,
)

HOSTILE = [
    'Name"; DROP TABLE x; --',
    "a b",
    "N\u0430me",  # Cyrillic a
    "Ｎame",  # fullwidth N
    "",
    "1abc",
    "_private",
    "abc\n",
    "a-b",
    "a" * 256,
    "Name;",
    "x'y",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_identifiers_refused(name):
    with pytest.raises(HostileIdentifierError) as err:
        validate_identifier(name, where="salesforce Account field")
    assert "salesforce Account field" in str(err.value)


@pytest.mark.parametrize("name", ["Id", "Amount", "My_Field__c", "a" * 255, "hs_object_id", "x1"])
def test_plain_identifiers_accepted(name):
    assert validate_identifier(name, where="w") == name


def test_non_string_refused():
    with pytest.raises(HostileIdentifierError):
        validate_identifier(None, where="w")  # type: ignore[arg-type]


def test_salesforce_types_for_every_describe_type():
    columns, refused = salesforce_columns(opportunity_describe())
    assert refused == []
    got = {c.name: c.duck_type for c in columns}
    assert got == SF_EXPECTED_TYPES  # compound (address, location) and non-queryable fields left out
    assert [c.name for c in columns] == list(SF_EXPECTED_TYPES)  # describe order kept


def test_salesforce_decimal_precision_capped_and_fallbacks():
    describe = {
        "name": "X",
        "fields": [
            sf_field("Id", "id"),
            sf_field("Huge__c", "currency", precision=40, scale=4),
            sf_field("Whole__c", "currency", precision=18, scale=0),
            sf_field("NoPrec__c", "currency"),
            sf_field("Pct__c", "percent", precision=3, scale=0),
        ],
    }
    got = {c.name: c.duck_type for c in salesforce_columns(describe)[0]}
    assert got["Huge__c"] == "DECIMAL(38,4)"
    assert got["Whole__c"] == "DECIMAL(18,0)"
    assert got["NoPrec__c"] == "DECIMAL(38,9)"  # never DOUBLE for money
    assert got["Pct__c"] == "DECIMAL(3,0)"


def test_salesforce_hostile_fields_skipped_and_returned():
    extra = [sf_field(n, "string") for n in ('Name2"; DROP TABLE x; --', "a b", "N\u0430me__c")]
    columns, refused = salesforce_columns(opportunity_describe(extra))
    assert refused == ['Name2"; DROP TABLE x; --', "a b", "N\u0430me__c"]
    assert {c.name for c in columns} == set(SF_EXPECTED_TYPES)


def test_salesforce_case_collision_is_an_error():
    describe = opportunity_describe([sf_field("Foo__c", "string"), sf_field("foo__c", "string")])
    with pytest.raises(HostileIdentifierError, match=r"Foo__c.*foo__c"):
        salesforce_columns(describe)


def test_hubspot_types_fixed_columns_first():
    columns, refused = hubspot_columns(deal_properties())
    assert refused == []
    assert [c.name for c in columns][:5] == ["id", "created_at", "updated_at", "archived", "archived_at"]
    assert {c.name: c.duck_type for c in columns} == HS_EXPECTED_TYPES


def test_hubspot_hostile_refused_and_collision():
    columns, refused = hubspot_columns(deal_properties([hs_prop("bad name", "string"), hs_prop("x;y", "number")]))
    assert refused == ["bad name", "x;y"]
    assert len(columns) == len(HS_EXPECTED_TYPES)
    with pytest.raises(HostileIdentifierError):
        hubspot_columns(deal_properties([hs_prop("DealName", "string")]))
    with pytest.raises(HostileIdentifierError):
        hubspot_columns([hs_prop("ID", "string")])  # collides with the fixed `id`


def test_cast_sql_never_uses_try_cast():
    for duck_type in ["VARCHAR", "VARCHAR[]", "TIMESTAMPTZ", "DATE", "BIGINT", "DECIMAL(18,2)", "BOOLEAN", "TIME"]:
        sql = cast_sql(Column("c", duck_type, "x"), '"c"')
        assert "TRY" not in sql.upper()


def test_normalize_type():
    assert normalize_type("TIMESTAMP WITH TIME ZONE") == "TIMESTAMPTZ"
    assert normalize_type("decimal(18, 2)") == "DECIMAL(18,2)"
    assert normalize_type("varchar[]") == "VARCHAR[]"
