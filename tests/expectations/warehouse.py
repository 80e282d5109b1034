"""A tiny hand-written working warehouse that satisfies every suite, generated from per-account ARR series.

Everything derived (movements, dim_accounts, retention totals, churn events, contract lines) follows from ACCOUNTS,
so a test can change the series (a subset for the volume rule, a negative value) and stay consistent elsewhere.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd

AS_OF = date(2026, 6, 30)
MONTHS = [date(2026, 4, 1), date(2026, 5, 1), date(2026, 6, 1)]
NEWEST_SOURCE_RECORD = datetime(2026, 6, 29, 23, 0, tzinfo=UTC)
REFERENCE_TIME = datetime(2026, 6, 30, tzinfo=UTC)  # the dataset clock

# ARR per month (April, May, June 2026); zeros before the first active month produce no row
ACCOUNTS: dict[str, list[float]] = {
    "a1": [1200, 2400, 2400],  # new, expansion, flat
    "a2": [600, 600, 300],  # new, flat, contraction
    "a3": [1000, 0, 500],  # new, churn, reactivation
    "a4": [0, 1200, 1200],  # -, new, flat
    "a5": [0, 0, 2400],  # -, -, new
}
PROSPECTS = ["p1"]  # accounts without revenue
TIERS = {"a1": "A", "a2": "B", "a3": "C", "a4": "B", "a5": "A", "p1": "C"}


def build_warehouse(path: Path, accounts: dict[str, list[float]] | None = None) -> Path:
    accounts = ACCOUNTS if accounts is None else accounts
    arr = _arr_monthly(accounts)
    tables = {
        "marts.fct_account_arr_monthly": arr,
        "marts.dim_accounts": _dim_accounts(arr, [*accounts, *PROSPECTS]),
        "marts.fct_revenue_retention_monthly": _retention(arr),
        "marts.fct_account_churn": _churn(arr),
        "marts.fct_account_engagement_monthly": _engagement(list(accounts)),
        "marts.fct_account_stakeholder_coverage": _coverage([*accounts, *PROSPECTS]),
        "marts.fct_opportunities": _opportunities(),
        "marts.fct_pipeline_monthly": _pipeline(),
        "intermediate.int_contract_lines": _contract_lines(arr),
        "intermediate.int_opportunities": pd.DataFrame({"source": ["hubspot", "hubspot"], "is_mirror": [True, False]}),
        "staging.stg_salesforce__opportunities": pd.DataFrame(
            {"opportunity_id": ["o1", "o2", "o3", "o4"], "is_deleted": [False, False, False, True]}
        ),
        "staging.stg_hubspot__deals": pd.DataFrame(
            {
                "deal_id": ["d1", "d2", "d3", "d4"],
                "is_deleted": [False, False, False, False],
                "is_archived": [False, False, False, True],  # d3 is mirrored from o1 (int_opportunities)
            }
        ),
        "raw_salesforce.account": pd.DataFrame(
            {
                "Id": ["001A", "001B"],
                "SystemModstamp": [NEWEST_SOURCE_RECORD - timedelta(hours=1), NEWEST_SOURCE_RECORD - timedelta(days=3)],
                # the loader's wall clock: always recent, deliberately not what freshness reads
                "_loaded_at": [datetime.now(UTC)] * 2,
            }
        ),
        "raw_hubspot.companies": pd.DataFrame(
            {"id": ["1"], "hs_lastmodifieddate": [NEWEST_SOURCE_RECORD], "_loaded_at": [datetime.now(UTC)]}
        ),
    }
    tables["marts.mart_account_360"] = _account_360(tables["marts.dim_accounts"])
    with duckdb.connect(str(path)) as con:
        for schema in {name.split(".")[0] for name in tables}:
            con.execute(f"create schema if not exists {schema}")
        for name, frame in tables.items():
            con.register("frame", frame)
            con.execute(f"create or replace table {name} as select * from frame")
            con.unregister("frame")
        # types as in the dbt contracts: DATE months, DECIMAL money, TIMESTAMPTZ stamps
        for name, columns in _CASTS.items():
            for column, data_type in columns.items():
                con.execute(f'alter table {name} alter "{column}" type {data_type}')
    return path


def publish_copy(working: Path, published: Path, marts: tuple[str, ...] = ("dim_accounts", "fct_account_arr_monthly")):
    """A serving-file stand-in: each mart a table of the same name in the default schema."""
    with duckdb.connect(str(published)) as con:
        con.execute(f"attach '{working}' as working (read_only)")
        for mart in marts:
            con.execute(f"create table main.{mart} as select * from working.marts.{mart}")
        con.execute("detach working")
    return published


_MONEY = "decimal(18, 2)"
_CASTS = {
    "marts.fct_account_arr_monthly": {
        "month": "date",
        "arr": _MONEY,
        "previous_arr": _MONEY,
        "new_arr": _MONEY,
        "expansion_arr": _MONEY,
        "contraction_arr": _MONEY,
        "churned_arr": _MONEY,
        "reactivation_arr": _MONEY,
    },
    "marts.dim_accounts": {"current_arr": _MONEY},
    "marts.fct_revenue_retention_monthly": {"month": "date", "arr": _MONEY, "starting_arr": _MONEY},
    "marts.fct_account_churn": {
        "account_id": "varchar",
        "churn_month": "date",
        "reactivated_month": "date",
        "churned_arr": _MONEY,
    },
    "marts.fct_account_engagement_monthly": {"month": "date", "last_touch_date": "date"},
    "marts.fct_account_stakeholder_coverage": {"as_of_date": "date"},
    "marts.fct_opportunities": {"created_date": "date"},
    "marts.fct_pipeline_monthly": {"month": "date"},
    "marts.mart_account_360": {"current_arr": _MONEY},
    "intermediate.int_contract_lines": {"service_start_date": "date", "service_end_date": "date"},
    "raw_salesforce.account": {"SystemModstamp": "timestamptz", "_loaded_at": "timestamptz"},
    "raw_hubspot.companies": {"hs_lastmodifieddate": "timestamptz", "_loaded_at": "timestamptz"},
}


def _classify(arr: float, previous: float, was_active: bool) -> str:
    if arr > 0 and previous == 0:
        return "reactivation" if was_active else "new"
    if previous > 0 and arr == 0:
        return "churn"
    if previous > 0 and arr > previous:
        return "expansion"
    if previous > 0 and arr < previous:
        return "contraction"
    return "flat"


def _arr_monthly(accounts: dict[str, list[float]]) -> pd.DataFrame:
    rows = []
    for account_id, series in accounts.items():
        previous, was_active = 0.0, False
        for month, value in zip(MONTHS, series, strict=True):
            if not was_active and value == 0:
                continue
            movement = _classify(value, previous, was_active)
            delta = value - previous
            rows.append(
                {
                    "account_id": account_id,
                    "month": month,
                    "arr": value,
                    "previous_arr": previous,
                    "movement": movement,
                    "new_arr": value if movement == "new" else 0,
                    "expansion_arr": delta if movement == "expansion" else 0,
                    "contraction_arr": delta if movement == "contraction" else 0,
                    "churned_arr": -previous if movement == "churn" else 0,
                    "reactivation_arr": value if movement == "reactivation" else 0,
                    "upsell_arr": 0.0,
                    "cross_sell_arr": 0.0,
                    "is_as_of_month": month == MONTHS[-1],
                }
            )
            previous, was_active = value, was_active or value != 0
    return pd.DataFrame(rows)


def _as_of_arr(arr: pd.DataFrame) -> dict[str, float]:
    last = arr[arr["is_as_of_month"]]
    return dict(zip(last["account_id"], last["arr"], strict=True))


def _dim_accounts(arr: pd.DataFrame, account_ids: list[str]) -> pd.DataFrame:
    current = _as_of_arr(arr)
    return pd.DataFrame(
        {
            "account_id": account_ids,
            "salesforce_account_id": [f"001{a}" for a in account_ids],
            "hubspot_company_id": [None] * len(account_ids),
            "match_rule": ["salesforce_only"] * len(account_ids),
            "revenue_system": ["salesforce"] * len(account_ids),
            "is_customer": [current.get(a, 0) > 0 for a in account_ids],
            "current_arr": [current.get(a, 0.0) for a in account_ids],
            "tier": [TIERS.get(a, "C") for a in account_ids],
        }
    )


def _retention(arr: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for month in MONTHS:
        this = arr[arr["month"] == month]
        rows.append(
            {
                "month": month,
                "segment_type": "all",
                "segment": "all",
                "starting_arr": 1000.0,
                "nrr": 1.1 if month != MONTHS[0] else None,  # no cohort yet in the first month
                "grr": 0.9 if month != MONTHS[0] else None,
                "logo_churn_rate": 0.1,
                "cohort_accounts": 3,
                "retained_accounts": 2,
                "churned_accounts": 1,
                "arr": float(this["arr"].sum()),
                "active_accounts": int((this["arr"] > 0).sum()),
            }
        )
        rows.append({**rows[-1], "segment_type": "tier", "segment": "A", "arr": 100.0, "active_accounts": 1})
    return pd.DataFrame(rows)


def _churn(arr: pd.DataFrame) -> pd.DataFrame:
    churns = arr[arr["movement"] == "churn"]
    reactivated = dict(zip(*(arr[arr["movement"] == "reactivation"][c] for c in ("account_id", "month")), strict=True))
    return pd.DataFrame(
        {
            "account_id": churns["account_id"].tolist(),
            "churn_month": churns["month"].tolist(),
            "churned_arr": (-churns["churned_arr"]).tolist(),
            "tenure_months": [1] * len(churns),
            "reactivated_month": [reactivated.get(a) for a in churns["account_id"]],
        },
        columns=["account_id", "churn_month", "churned_arr", "tenure_months", "reactivated_month"],
    )


def _engagement(account_ids: list[str]) -> pd.DataFrame:
    rows = []
    for account_id in account_ids:
        for month in MONTHS[1:]:
            rows.append(
                {
                    "account_id": account_id,
                    "month": month,
                    "email_touches": 2,
                    "call_touches": 1,
                    "meeting_touches": 0,
                    "task_touches": 1,
                    "note_touches": 0,
                    "salesforce_touches": 3,
                    "hubspot_touches": 1,
                    "total_touches": 4,
                    "active_stakeholders": 2,
                    "last_touch_date": month + timedelta(days=9),
                    "days_since_last_touch": 5,
                    "engagement_score": 3.5,
                }
            )
    return pd.DataFrame(rows)


def _coverage(account_ids: list[str]) -> pd.DataFrame:
    n = len(account_ids)
    return pd.DataFrame(
        {
            "account_id": account_ids,
            "as_of_date": [AS_OF] * n,
            "contacts_total": [3] * n,
            "contacts_engaged_90d": [2] * n,
            "roles_covered": [2] * n,
            "required_roles_covered": [1] * n,
            "required_roles_total": [3] * n,
            "role_coverage_ratio": [1 / 3] * n,
            "meddic_completeness": [0.5] * n,
        }
    )


def _opportunities() -> pd.DataFrame:
    # live staged: 3 Salesforce opportunities; 3 HubSpot deals of which one is a mirror -> 2 HubSpot rows
    return pd.DataFrame(
        {
            "source": ["salesforce"] * 3 + ["hubspot"] * 2,
            "opportunity_id": ["o1", "o2", "o3", "d1", "d2"],
            "account_id": ["a1", "a2", "a3", "a4", "a5"],
            "stage": ["Closed Won", "Prospecting", "Closed Lost", "closedwon", "appointmentscheduled"],
            "is_closed": [True, False, True, True, False],
            "is_won": [True, False, False, True, False],
            "opportunity_type": ["new_business", "upsell", "renewal", "cross_sell", "other"],
            "created_date": [date(2026, 4, 2)] * 5,
        }
    )


def _pipeline() -> pd.DataFrame:
    rows = []
    for month in MONTHS:
        sf = {"created_count": 3, "won_count": 1, "lost_count": 1}
        hs = {"created_count": 2, "won_count": 1, "lost_count": 0}
        for source, counts in (("salesforce", sf), ("hubspot", hs)):
            rows.append({"month": month, "source": source, **counts, "win_rate_count": 0.5, "win_rate_amount": 0.4})
        total = {k: sf[k] + hs[k] for k in sf}
        rows.append({"month": month, "source": "all", **total, "win_rate_count": 0.6, "win_rate_amount": None})
    return pd.DataFrame(rows)


def _contract_lines(arr: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for account_id, value in _as_of_arr(arr).items():
        if value != 0:  # one running line carries the as-of ARR
            rows.append((account_id, True, date(2026, 6, 1), date(2027, 5, 31), value / 12))
    rows += [
        ("a1", False, date(2026, 6, 1), date(2027, 5, 31), 999.0),  # one-time service: not ARR
        ("a2", True, date(2025, 6, 1), date(2026, 5, 31), 50.0),  # ended before the as-of month-end
        ("a4", True, date(2026, 7, 15), date(2027, 7, 14), 80.0),  # future-dated: contracted, not yet ARR
        (None, True, date(2026, 1, 1), date(2026, 12, 31), 10.0),  # no account: named by a dbt test, not ARR
    ]
    return pd.DataFrame(
        rows, columns=["account_id", "is_recurring", "service_start_date", "service_end_date", "mrr_usd"]
    )


def _account_360(dim: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": dim["account_id"],
            "tier": dim["tier"],
            "current_arr": dim["current_arr"],
            "health_status": ["healthy" if c else "prospect" for c in dim["is_customer"]],
            "role_coverage_ratio": [1 / 3] * len(dim),
        }
    )
