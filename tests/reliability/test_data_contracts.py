"""Data-contract rows of the fault matrix (reliability_practices.md §6): 17 (a mart-required field dropped at the
source), 18 (an amount retyped to text), 23 (bad values: the cases tests/orchestration/test_gate.py does not cover)
and 24 (volume anomalies). Each ends in an error that blocks the publish, never in NULL revenue.

Gate cases reuse test_gate's helpers on the dbt-built `small` warehouse: a clean publish, then the corrupted
candidate must fail the named expectation and leave the served file byte-identical.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from connectors.warehouse.columns import Column
from connectors.warehouse.errors import LoadError
from connectors.warehouse.raw import RawWarehouse
from orchestration.defs.quality.gx_checks import REFERENCE_TIME_VAR
from tests.dbt.warehouse_fixtures import AS_OF, run_dbt
from tests.orchestration.test_gate import ARR, check_result, run_gate, sha256
from tests.reliability.ledger import fault_case

LINE_ITEM_COLUMNS = [Column("Id", "VARCHAR", "id"), Column("OpportunityId", "VARCHAR", "reference"),
                     Column("TotalPrice", "DECIMAL(18,2)", "currency"),
                     Column("SystemModstamp", "TIMESTAMPTZ", "datetime")]


@pytest.fixture
def gate_home(built_small, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "warehouse"
    home.mkdir()
    shutil.copy(built_small.path, home / "working.duckdb")
    monkeypatch.setenv(REFERENCE_TIME_VAR, built_small.dataset.clock.isoformat())
    return home


def blocked_by(home: Path, corrupt: Callable[[duckdb.DuckDBPyConnection], int], mart: str, expectation: str) -> int:
    """Publish clean, corrupt the candidate, re-run the gate: the check fails naming ``expectation``, nothing is
    published, BI's file is unchanged. Returns the rows the corruption touched."""
    first = run_gate(home)
    assert first.success, [e.description for e in first.get_asset_check_evaluations() if not e.passed]
    serving = home / "serving" / "marts.duckdb"
    before = sha256(serving)
    with duckdb.connect(str(home / "working.duckdb")) as con:
        touched = corrupt(con)
    assert touched > 0
    result = run_gate(home)
    assert not result.success
    evaluation = check_result(result, mart)
    assert not evaluation.passed
    assert expectation in evaluation.metadata["failed_expectations"].value
    assert not result.asset_materializations_for_node("published_marts")
    assert sha256(serving) == before
    return touched


# -- row 18: an amount arrives as text ------------------------------------------------------------------------


def test_amount_retyped_to_text_is_a_load_error_not_a_null(tmp_path: Path) -> None:
    """Salesforce starts describing TotalPrice as a string and sends "1,000": the batch fails naming the record,
    column and value; the earlier good value stays (never NULL revenue)."""
    with fault_case(18, 'OpportunityLineItem.TotalPrice retyped to text "1,000"') as case, \
            RawWarehouse(tmp_path / "working.duckdb") as wh:
        good = pa.table({"Id": ["00k1"], "OpportunityId": ["0061"], "TotalPrice": [1200.0],
                         "SystemModstamp": ["2025-06-01T00:00:00Z"]})
        wh.merge("salesforce", "opportunitylineitem", good, primary_key="Id", cursor_column="SystemModstamp",
                 columns=LINE_ITEM_COLUMNS)
        retyped = [*LINE_ITEM_COLUMNS[:2], Column("TotalPrice", "VARCHAR", "string"), LINE_ITEM_COLUMNS[3]]
        bad = pa.table({"Id": ["00k1", "00k2"], "OpportunityId": ["0061", "0061"], "TotalPrice": ["1,000", "5"],
                        "SystemModstamp": ["2025-06-02T00:00:00Z"] * 2})
        with pytest.raises(LoadError) as err:
            wh.merge("salesforce", "opportunitylineitem", bad, primary_key="Id", cursor_column="SystemModstamp",
                     columns=retyped)
        assert "TotalPrice" in str(err.value) and "1,000" in str(err.value) and "00k1" in str(err.value)
        rows = wh.fetch_arrow('select "Id", "TotalPrice" from raw_salesforce.opportunitylineitem').to_pylist()
        assert [(r["Id"], float(r["TotalPrice"])) for r in rows] == [("00k1", 1200.0)]  # rolled back, not NULL
        case.rows_compared = 2
        case.rows_lost = sum(1 for r in rows if r["TotalPrice"] is None)


# -- row 23: bad values the gate tests do not cover -----------------------------------------------------------


def null_account_id(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute(f"update {ARR} set account_id = null where (account_id, month) in "
                       f"(select account_id, month from {ARR} where arr > 0 order by account_id, month limit 1)"
                       ).fetchone()[0]


def orphan_opportunity(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("update marts.fct_opportunities set account_id = 'ORPHAN-0000' where opportunity_id = "
                       "(select min(opportunity_id) from marts.fct_opportunities where account_id is not null)"
                       ).fetchone()[0]


@pytest.mark.parametrize(
    ("corrupt", "mart", "expectation"),
    [
        (null_account_id, "fct_account_arr_monthly", "account_id_not_null"),
        # Found missing by this test (the gate had no orphan check): now `account_in_dim_accounts` on every fact.
        pytest.param(orphan_opportunity, "fct_opportunities", "account_in_dim_accounts",
                     marks=pytest.mark.reliability),
    ],
    ids=["null-account-id", "orphan-opportunity"],
)
def test_bad_values_block_the_publish(gate_home: Path, corrupt: Callable[[duckdb.DuckDBPyConnection], int],
                                      mart: str, expectation: str) -> None:
    with fault_case(23, f"{corrupt.__name__} in {mart}") as case:
        case.rows_compared = blocked_by(gate_home, corrupt, mart, expectation)


# -- row 24: volume anomalies -----------------------------------------------------------------------------------


def no_rows(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute(f"delete from {ARR}").fetchone()[0]


def half_the_active_accounts_gone(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute(f"""
        delete from {ARR} where account_id in (
            select account_id from (select distinct account_id from {ARR} where arr > 0) order by account_id
            limit (select cast(ceil(count(distinct account_id) * 0.5) as integer) from {ARR} where arr > 0))
    """).fetchone()[0]


@pytest.mark.reliability
@pytest.mark.parametrize("corrupt", [no_rows, half_the_active_accounts_gone], ids=["zero-rows", "minus-50pct"])
def test_volume_anomaly_blocks_the_publish(gate_home: Path, corrupt: Callable[[duckdb.DuckDBPyConnection], int]
                                           ) -> None:
    with fault_case(24, f"{corrupt.__name__} in fct_account_arr_monthly") as case:
        case.rows_compared = blocked_by(gate_home, corrupt, "fct_account_arr_monthly", "active_accounts_volume")


# -- row 17: a mart-required field disappears from the source -------------------------------------------------


@pytest.mark.reliability
def test_required_field_hidden_fails_the_build_instead_of_null_revenue(raw_small, tmp_path: Path) -> None:
    """FLS hides OpportunityLineItem.TotalPrice: the column is gone from raw. dbt must error (so no publish can
    follow) and the ARR fact must not be built; it must never come out with NULL/zero revenue."""
    _, raw_path = raw_small
    path = tmp_path / "working.duckdb"
    shutil.copy(raw_path, path)
    with duckdb.connect(str(path)) as con:
        con.execute('alter table raw_salesforce.opportunitylineitem drop column "TotalPrice"')
    with fault_case(17, "OpportunityLineItem.TotalPrice hidden by field-level security") as case:
        result = run_dbt(["build", "--select", "+fct_account_arr_monthly"], path, AS_OF)
        assert not result.success
        errors = {name for name, status in result.statuses.items() if status == "error"}
        assert "stg_salesforce__opportunity_line_items" in errors, errors  # fails where the column is read
        assert result.statuses.get("fct_account_arr_monthly") in (None, "skipped", "error")
        with duckdb.connect(str(path), read_only=True) as con:
            built = con.execute("select count(*) from information_schema.tables "
                                "where table_name = 'fct_account_arr_monthly'").fetchone()[0]
        assert built == 0
        case.rows_compared = 1


@pytest.mark.reliability
def test_an_empty_source_without_its_required_columns_still_builds(raw_small, tmp_path: Path) -> None:
    """A CRM with no line items lands an empty table without property columns (nothing to type them from): no
    revenue can be lost, so the required-column check must not stop the build (a Salesforce-only export)."""
    _, raw_path = raw_small
    path = tmp_path / "working.duckdb"
    shutil.copy(raw_path, path)
    with duckdb.connect(str(path)) as con:
        con.execute("delete from raw_hubspot.line_items")
        con.execute("alter table raw_hubspot.line_items drop column amount")
    result = run_dbt(["build", "--select", "stg_hubspot__line_items"], path, AS_OF)
    assert result.success, result.statuses
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("select count(*) from staging.stg_hubspot__line_items").fetchone()[0] == 0
