"""The marts built from `small` (landed through the real connectors) equal the simulator's ground truth.

The truth comes from the generator's own subscription model (connectors/simulator/dataset/ground_truth.py),
never from the API records; the marts see only what the connectors landed.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

MONEY = ("arr", "previous_arr", "new_arr", "expansion_arr", "contraction_arr", "churned_arr", "reactivation_arr")


def truth_account_ids(built) -> dict[str, str]:
    """ground-truth global_account_key -> our account_id, through the source ids the truth names."""
    ident = built.frame("select source_system, source_account_id, account_id from intermediate.int_account_identity")
    ours = {(s, i): a for s, i, a in ident.itertuples(index=False)}
    accounts = built.dataset.ground_truth["accounts"]
    mapping = {}
    for key, sf_id, hs_ids in accounts[
        ["global_account_key", "salesforce_account_id", "hubspot_company_ids"]
    ].itertuples(index=False):
        first = ("salesforce", sf_id) if sf_id else ("hubspot", hs_ids.split(";")[0])
        mapping[key] = ours[first]
    return mapping


def test_every_source_account_resolves_as_the_truth_says(built_small):
    """salesforceaccountid links, domain links, duplicate HubSpot companies and merged SF accounts."""
    truth = built_small.dataset.ground_truth
    key_of: dict[tuple[str, str], str] = {}
    for key, sf_id, hs_ids in truth["accounts"][
        ["global_account_key", "salesforce_account_id", "hubspot_company_ids"]
    ].itertuples(index=False):
        if sf_id:
            key_of[("salesforce", sf_id)] = key
        for company in filter(None, hs_ids.split(";")):
            key_of[("hubspot", company)] = key
    for system, source_id, key in truth["account_aliases"][
        ["source_system", "source_id", "global_account_key"]
    ].itertuples(index=False):
        key_of.setdefault((system, source_id), key)
    ident = built_small.frame(
        "select source_system, source_account_id, account_id, record_rule from intermediate.int_account_identity"
    )
    ident["truth"] = [key_of.get((s, i)) for s, i in zip(ident.source_system, ident.source_account_id, strict=True)]
    assert ident["truth"].notna().all(), ident[ident["truth"].isna()].head()
    # a bijection between our accounts and the truth's
    assert (ident.groupby("account_id")["truth"].nunique() == 1).all()
    assert (ident.groupby("truth")["account_id"].nunique() == 1).all()
    # every kind of link occurs, so the rules above are all exercised
    assert {"salesforceaccountid", "domain", "merged", "duplicate_domain", "hubspot", "salesforce"} <= set(
        ident["record_rule"]
    )


def test_dim_accounts_match_rule_and_hierarchy_equal_truth(built_small):
    ids = truth_account_ids(built_small)
    truth = built_small.dataset.ground_truth["accounts"].copy()
    truth["account_id"] = truth["global_account_key"].map(ids)
    dim = built_small.frame("select * from marts.dim_accounts").set_index("account_id")
    assert len(dim) == len(truth)
    assert set(dim.index) == set(truth["account_id"])
    truth = truth.set_index("account_id")
    assert (dim.loc[truth.index, "match_rule"] == truth["link"]).all()
    # Salesforce parents (HubSpot-only hierarchies are not landed: the companies-companies association is not synced)
    sf_side = truth[truth["salesforce_account_id"] != ""]
    parent_ids = sf_side["parent_account_key"].map(lambda k: ids.get(k) if k else None)
    assert (dim.loc[sf_side.index, "parent_account_id"].fillna("") == parent_ids.fillna("")).all()
    ultimate = sf_side["ultimate_parent_account_key"].map(ids)
    assert (dim.loc[sf_side.index, "ultimate_parent_account_id"] == ultimate).all()


def test_arr_fact_equals_truth_to_the_cent(built_small):
    ids = truth_account_ids(built_small)
    truth = built_small.dataset.ground_truth["account_arr_monthly"].copy()
    truth["account_id"] = truth["global_account_key"].map(ids)
    assert truth["account_id"].notna().all()
    fact = built_small.frame("select * from marts.fct_account_arr_monthly")
    fact["month"] = pd.to_datetime(fact["month"]).dt.strftime("%Y-%m-%d")
    merged = truth.merge(fact, on=["account_id", "month"], how="outer", indicator=True, suffixes=("_truth", ""))
    missing = merged[merged["_merge"] != "both"]
    assert missing.empty, f"{len(missing)} account-months only on one side:\n{missing.head(10)}"
    assert len(merged) > 5_000
    for column in MONEY:
        cents_truth = (merged[f"{column}_truth"] * 100).round().astype("int64")
        cents_ours = (merged[column].astype(float) * 100).round().astype("int64")
        wrong = merged[cents_truth != cents_ours]
        assert wrong.empty, f"{column}: {len(wrong)} account-months differ:\n{wrong.head(10)}"
    wrong = merged[merged["movement_truth"] != merged["movement"]]
    assert wrong.empty, wrong.head(10)
    assert set(merged["movement"]) == {"new", "expansion", "contraction", "churn", "reactivation", "flat"}


def test_dim_current_arr_equals_truth_as_of_month(built_small):
    ids = truth_account_ids(built_small)
    truth = built_small.dataset.ground_truth["account_arr_monthly"]
    as_of_month = built_small.as_of.replace(day=1).isoformat()
    current = truth[truth["month"] == as_of_month].set_index("global_account_key")["arr"]
    dim = built_small.frame("select account_id, current_arr from marts.dim_accounts").set_index("account_id")
    expected = {ids[k]: v for k, v in current.items()}
    ours = dim["current_arr"].astype(float)
    for account_id, arr in ours.items():
        assert round(arr * 100) == round(expected.get(account_id, 0.0) * 100), account_id


def test_nrr_grr_and_logo_churn_equal_truth(built_small):
    truth = built_small.dataset.ground_truth["retention_monthly"].set_index("month")
    ours = built_small.frame("select * from marts.fct_revenue_retention_monthly where segment_type = 'all'")
    ours["month"] = pd.to_datetime(ours["month"]).dt.strftime("%Y-%m-%d")
    ours = ours.set_index("month")
    assert set(ours.index) == set(truth.index)
    checked = 0
    for month, row in truth.iterrows():
        got = ours.loc[month]
        assert got["cohort_accounts"] == row["cohort_accounts"], month
        assert round(float(got["starting_arr"]) * 100) == round(row["cohort_start_arr"] * 100), month
        assert round(float(got["cohort_current_arr"]) * 100) == round(row["cohort_current_arr"] * 100), month
        assert round(float(got["retained_arr"]) * 100) == round(row["cohort_retained_arr"] * 100), month
        for ours_col, truth_col in (("nrr", "nrr"), ("grr", "grr"), ("logo_churn_rate", "logo_churn_rate")):
            expected, value = row[truth_col], got[ours_col]
            if isinstance(expected, float) and math.isnan(expected):
                assert value is None or pd.isna(value), (month, ours_col)
            else:
                assert value == pytest.approx(expected, rel=1e-9, abs=1e-12), (month, ours_col)
                checked += 1
        assert got["churned_accounts"] == row["churned_logos"], month
    assert checked > 50
