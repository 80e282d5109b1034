"""End-to-end consistency: the RAW CRM records, read only through the documented rules, reproduce the
ground truth's ``account_arr_monthly`` (metrics_definitions.md §2.1-2.3, §2.7).

The derivation (``reference_arr.py``) reads the Salesforce and HubSpot tables of the dataset and takes from
the ground truth only the source-id -> ``global_account_key`` mapping (``accounts``, ``account_aliases``);
it never reads ``contract_lines``. The readings chosen where the document leaves room, i.e. what the dbt
layer must do:

Salesforce (§2.1a)
  OpportunityLineItem (not deleted) of opportunities with ``IsWon`` and not ``IsDeleted``. Recurring by
  ``Product2.Family`` through the seed ``FAMILY_RECURRING`` (Platform, Analytics, Seats Add-on: recurring;
  Professional Services, Onboarding: one-time). start = coalesce(ServiceDate, CloseDate); term =
  coalesce(Term_Months__c, 12); inclusive end = start + term months - 1 day (month arithmetic clamps to
  the month's last day, as DuckDB's ``+ interval``); mrr_local = TotalPrice / term. Account =
  Opportunity.AccountId resolved through the MasterRecordId chain to the survivor.

HubSpot (§2.1b), only for companies whose revenue system of record is HubSpot
  System of record (§2.7, var revenue_system_of_record = salesforce): a HubSpot company is *linked* to
  Salesforce when its ``salesforceaccountid`` is a Salesforce Account Id (15- or 18-character form,
  resolved to the survivor), or else when its normalised ``domain`` (fallback ``website``) equals the
  normalised ``Website`` of exactly one live Salesforce Account. A linked company's revenue comes from
  Salesforce and all its deals are ignored; an unlinked company's global account has HubSpot as its system
  of record. Deals are attributed to their primary company (deal->company association type 5). Mirrored
  deals (``hs_salesforceopportunityid``) are *not* filtered by that property: the test proves the
  system-of-record rule alone drops exactly them.
  Line items associated (deal->line_items) to non-archived deals in a closed-won stage (pipeline stage
  metadata ``isClosed`` true and ``probability`` 1.0), line item not archived; recurring iff
  ``recurringbillingfrequency`` is set and not ``one_time``; months per period from the frequency; start =
  coalesce(hs_recurring_billing_start_date, date(closedate)); term = coalesce(hs_term_in_months, ISO-8601
  months of hs_recurring_billing_period); mrr_local = amount / months per period.

Renewals and supersede (§2.1 overlap)
  Salesforce: ``Opportunity.Type = 'Renewal'``. HubSpot: ``dealtype = 'renewal'`` (the portal's Renewal
  option). ``existingbusiness`` is *not* a renewal marker: upsells and cross-sells carry it too, and a
  mid-term seats add-on must stack, not supersede the running seats line. Per (global account, product
  code) a renewal line ends every line that started before it and is still running at its start at
  ``new_start - 1 day``; all other lines stack.

FX (§2.1 currency), fixed at the close date for the line's life
  Salesforce: USD = local / DatedConversionRate.ConversionRate of the opportunity currency where
  StartDate <= CloseDate < coalesce(NextStartDate, 9999-12-31). HubSpot: the deal's implied rate
  ``amount / amount_in_home_currency`` (units per USD); the same DatedConversionRate table at the deal's
  close date (UTC) is the fallback, and the two are asserted to agree.

ARR (§2.2/2.3)
  A line counts in month m iff start <= least(eom(m), as_of) and end >= eom(m); arr = round(12 x sum
  mrr_usd, 2) per account-month; rows from the first active month through the month after the last active
  month, capped at the as-of month; movements with the zero-boundary cases (new, reactivation, churn) first.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from connectors.simulator.dataset.generate import generate
from connectors.simulator.dataset.store import Dataset
from tests.simulator import reference_arr as ref

CASES = {
    "small-2025-06-30": ("small", 7, date(2025, 6, 30)),
    "tiny-2024-02-29": ("tiny", 3, date(2024, 2, 29)),
}


@pytest.fixture(scope="module", params=list(CASES))
def case(request: pytest.FixtureRequest) -> tuple[Dataset, date, ref.Derived]:
    scale, seed, as_of = CASES[request.param]
    ds = generate(scale, seed=seed, as_of=as_of)
    return ds, as_of, ref.derive(ds, as_of)


def test_records_reproduce_account_arr_monthly(case: tuple[Dataset, date, ref.Derived]) -> None:
    ds, _, derived = case
    unmapped = derived.lines[derived.lines["global_account_key"].str.startswith("?")]
    assert unmapped.empty, f"source accounts without a global key: {sorted(set(unmapped['global_account_key']))[:10]}"
    truth = ds.ground_truth["account_arr_monthly"]
    diff = ref.compare(derived, truth)
    assert not diff, "\n" + diff
    assert len(derived.arr) == len(truth)


def test_system_of_record_alone_drops_the_mirrored_deals(case: tuple[Dataset, date, ref.Derived]) -> None:
    ds, _, derived = case
    lines, excluded = derived.lines, derived.hs_excluded
    hs = lines[lines["source_system"] == "hubspot"]
    assert len(hs) and len(excluded), "both HubSpot-only revenue and mirrored deals must be present"
    assert hs["_mirror_of"].isna().all(), "a deal synced from Salesforce survived the system-of-record rule"
    assert excluded["mirror_of"].notna().all(), "a HubSpot-native deal was dropped by the system-of-record rule"
    # the records-derived link agrees with the truth's identity for every HubSpot company
    acc = ds.ground_truth["accounts"].set_index("global_account_key")
    ident = derived.identity
    wrong = [
        (cid, rule, key)
        for cid, rule in ident.hs_link_rule.items()
        if (key := ident.key_of_hs.get(cid)) is not None
        and (rule != "none") != (acc.at[key, "salesforce_account_id"] != "")
    ]
    assert not wrong, f"HubSpot companies whose Salesforce link the records get wrong: {wrong[:10]}"
    domain_only = acc[acc["link"] == "domain"].index
    linked_by_domain = {ident.key_of_hs[c] for c, r in ident.hs_link_rule.items() if r == "domain"}
    assert set(domain_only) <= linked_by_domain


def test_hubspot_deal_rate_matches_dated_conversion_rate(case: tuple[Dataset, date, ref.Derived]) -> None:
    ds, _, derived = case
    hs = derived.lines[(derived.lines["source_system"] == "hubspot") & (derived.lines["currency"] != "USD")]
    assert len(hs), "no non-USD HubSpot revenue to check"
    with ds.reading() as cur:
        rates = cur.execute(
            'SELECT "IsoCode", "StartDate", "NextStartDate", "ConversionRate" FROM sf."DatedConversionRate"'
        ).fetchall()
    for r in hs.itertuples():
        dated = next(v for c, s, n, v in rates if c == r.currency and s <= r.close_date < n)
        assert abs(r.fx_rate / dated - 1) < 1e-6, (r.line_key, r.fx_rate, dated)


def test_the_cases_exercise_the_rules(case: tuple[Dataset, date, ref.Derived]) -> None:
    """Guard against a vacuous pass: early renewals that supersede, stacking add-ons, several currencies."""
    _, _, derived = case
    lines = derived.lines
    assert (lines["service_end_date"] < lines["natural_end_date"]).any()
    assert lines["is_renewal"].any() and (~lines["is_renewal"]).any()
    assert lines["currency"].nunique() >= 3
    assert set(lines["source_system"]) == {"salesforce", "hubspot"}


def test_rule_helpers() -> None:
    assert [ref.iso_months(p) for p in ("P12M", "P2Y", "P1Y6M", "", None, "PT5H")] == [12, 24, 18, None, None, None]
    assert ref.normalise_domain("https://WWW.Acme.com:443/about ") == "acme.com"
    assert ref.add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    lines = pd.DataFrame(
        {
            "line_key": ["a", "b", "c", "d"],
            "global_account_key": ["A"] * 4,
            "product_code": ["P", "S", "S", "P"],
            "is_renewal": [False, False, False, True],
            "service_start_date": [date(2024, 1, 15), date(2024, 1, 15), date(2024, 6, 15), date(2024, 11, 15)],
            "natural_end_date": [date(2025, 1, 14), date(2025, 1, 14), date(2025, 1, 14), date(2025, 11, 14)],
            "mrr_usd": [100.0, 10.0, 5.0, 120.0],
        }
    )
    out = ref.supersede(lines).set_index("line_key")["service_end_date"]
    assert out["a"] == date(2024, 11, 14)  # superseded by the early renewal of the same product
    assert out["b"] == out["c"] == date(2025, 1, 14)  # the add-on of another product stacks
    arr = ref.arr_monthly(ref.supersede(lines), date(2025, 2, 28)).set_index("month")
    assert arr.loc["2024-01-01", "movement"] == "new" and arr.loc["2024-01-01", "arr"] == 1320.0
    assert arr.loc["2024-06-01", "movement"] == "expansion"
    assert arr.loc["2024-11-01", "arr"] == 12 * 135.0  # the renewal counts in its start month, the old line not
    assert arr.loc["2025-01-01", "movement"] == "contraction"
    assert arr.index.max() == "2025-02-01"


def test_records_still_reproduce_the_truth_after_advancing() -> None:
    """advance() writes records and the model together: 45 days later (across a month boundary, with
    renewals, churn, upsells and mirrors) the raw records still derive the ground truth."""
    from connectors.simulator.dataset.advance import advance

    ds = generate("small", seed=5, as_of=date(2025, 5, 20))
    advance(ds, days=45)
    as_of = ds.clock.date()
    derived = ref.derive(ds, as_of)
    truth = ds.ground_truth["account_arr_monthly"]
    diff = ref.compare(derived, truth)
    assert not diff, "\n" + diff
    assert len(derived.arr) == len(truth)
