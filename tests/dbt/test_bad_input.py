"""Bad source data stops the build at a named test that lists the offending records; ARR is never built over it.

Each case damages one record of the landed `small` raw tables (a copy), runs `dbt build`, and checks that the
named test failed, that its stored failures name the damaged line, and that the ARR fact was not (re)built.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb

from tests.dbt.warehouse_fixtures import AS_OF, run_dbt

WON_RECURRING_SF_LINES_ALL = """
    select l."Id" as l_id, o."Id" as o_id
    from raw_salesforce.opportunitylineitem l
    join raw_salesforce.opportunity o on o."Id" = l."OpportunityId"
    join raw_salesforce.product2 p on p."Id" = l."Product2Id"
    join raw_salesforce.account a on a."Id" = o."AccountId"
    where o."IsWon" and not o."IsDeleted" and not l."IsDeleted" and p."Family" = 'Platform'
      and a."MasterRecordId" is null and not a."IsDeleted"
"""
WON_RECURRING_SF_LINES = WON_RECURRING_SF_LINES_ALL + ' order by l."Id"'


HUBSPOT_ONLY_RECURRING_LINE = """
    select li.id
    from raw_hubspot.line_items li
    join raw_hubspot.assoc_deals__line_items dl on dl.to_id = li.id
    join raw_hubspot.deals d on d.id = dl.from_id
    join raw_hubspot.assoc_deals__companies dc on dc.from_id = d.id and dc.type_id = 5
    join raw_hubspot.companies c on c.id = dc.to_id
    where d.dealstage = 'closedwon' and not d.archived and not li.archived
      and li.recurringbillingfrequency is not null and c.salesforceaccountid is null
      and d.hs_salesforceopportunityid is null and c.domain is not null
      and not exists (select 1 from raw_salesforce.account a
                      where lower(a."Website") like '%' || lower(replace(c.domain, 'www.', '')) || '%')
    order by li.id limit 1
"""


def negative_price(con: duckdb.DuckDBPyConnection) -> set[str]:
    line_id, _ = con.execute(WON_RECURRING_SF_LINES + " limit 1").fetchone()
    con.execute('update raw_salesforce.opportunitylineitem set "TotalPrice" = -1200 where "Id" = ?', [line_id])
    return {f"salesforce:{line_id}"}


def unknown_currency(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Every recurring line of one other won opportunity takes the currency's (missing) rate."""
    opp_id = con.execute(WON_RECURRING_SF_LINES + " offset 40 limit 1").fetchone()[1]
    con.execute('update raw_salesforce.opportunity set "CurrencyIsoCode" = \'XTS\' where "Id" = ?', [opp_id])
    lines = con.execute(
        """select l."Id" from raw_salesforce.opportunitylineitem l
           join raw_salesforce.product2 p on p."Id" = l."Product2Id"
           where l."OpportunityId" = ? and not l."IsDeleted"
             and p."Family" in ('Platform', 'Analytics', 'Seats Add-on')""",
        [opp_id],
    ).fetchall()
    return {f"salesforce:{line_id}" for (line_id,) in lines}


def missing_term(con: duckdb.DuckDBPyConnection) -> set[str]:
    (line_id,) = con.execute(HUBSPOT_ONLY_RECURRING_LINE).fetchone()
    con.execute(
        "update raw_hubspot.line_items set hs_term_in_months = null, hs_recurring_billing_period = null where id = ?",
        [line_id],
    )
    return {f"hubspot:{line_id}"}


DAMAGES: dict[str, Callable[[duckdb.DuckDBPyConnection], set[str]]] = {
    "contract_lines_price_not_negative": negative_price,
    "contract_lines_known_currency": unknown_currency,
    "contract_lines_term_present": missing_term,
}


def test_bad_lines_fail_named_tests_with_their_ids(raw_small, tmp_path: Path):
    """Three damaged records in one build: each named test lists exactly its own, and no ARR is built."""
    _, raw_path = raw_small
    path = tmp_path / "working.duckdb"
    shutil.copy(raw_path, path)
    with duckdb.connect(str(path)) as con:
        expected = {test_name: damage(con) for test_name, damage in DAMAGES.items()}
    assert all(expected.values())
    result = run_dbt(["build", "--select", "+fct_account_arr_monthly", "--indirect-selection", "cautious"], path, AS_OF)
    assert not result.success
    statuses = result.statuses
    for test_name in DAMAGES:
        assert statuses[test_name] == "fail", (test_name, statuses.get(test_name))
    passing = [n for n, s in statuses.items() if n.startswith("contract_lines_") and n not in DAMAGES]
    assert passing and all(statuses[n] == "pass" for n in passing), {n: statuses[n] for n in passing}
    assert statuses["fct_account_arr_monthly"] == "skipped"
    with duckdb.connect(str(path), read_only=True) as con:
        for test_name, line_keys in expected.items():
            failing = {k for (k,) in con.execute(f"select line_key from dbt_test__audit.{test_name}").fetchall()}
            assert failing == line_keys, test_name
        built = con.execute(
            "select count(*) from information_schema.tables where table_name = 'fct_account_arr_monthly'"
        ).fetchone()[0]
    assert built == 0
