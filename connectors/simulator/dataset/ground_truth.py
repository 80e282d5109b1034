"""Ground truth from the generator's internal model (never from the rendered CRM records).

Tables (all columns str / int64 / float64 / bool; dates as 'YYYY-MM-DD'):

* ``accounts`` - one row per global account (survivors only).
* ``account_aliases`` - merged-away SF accounts and duplicate HubSpot companies -> their survivor.
* ``contract_lines`` - recurring lines of won deals in the account's revenue system of record, with the
  effective (supersede-resolved, inclusive) end date, mrr in local currency, the close-date FX rate
  (units per USD) and mrr in USD. HubSpot deals mirrored from Salesforce are *not* here.
* ``account_arr_monthly`` - §2.2/2.3: active iff start <= least(eom(m), as_of) and end >= eom(m);
  rows from the first active month to the month after the last (churn row), capped at the as-of month.
* ``retention_monthly`` - §2.4/2.5 cohort NRR/GRR and monthly logo churn.
* ``account_stakeholders`` - canonical buying roles present and persons engaged in the last 90 days.
* ``person_last_touch`` - helper for advance(): latest activity per (account, person email).

Canonical buying-role mapping (roles_present):

==========================  =================
source value                canonical role
==========================  =================
SF OCR Business User        User
SF OCR Decision Maker       Decision Maker
SF OCR Economic Buyer       Economic Buyer
SF OCR Economic Decision M. Economic Buyer
SF OCR Evaluator            Influencer
SF OCR Executive Sponsor    Champion
SF OCR Influencer           Influencer
SF OCR Technical Buyer      Technical Buyer
SF OCR Other                Other
HS label Champion           Champion
HS label Decision maker     Decision Maker
HS label Economic buyer     Economic Buyer
HS label Influencer         Influencer
HS label Blocker            Blocker
HS role BLOCKER             Blocker
HS role BUDGET_HOLDER       Economic Buyer
HS role CHAMPION            Champion
HS role DECISION_MAKER      Decision Maker
HS role END_USER            User
HS role EXECUTIVE_SPONSOR   Champion
HS role INFLUENCER          Influencer
HS role LEGAL_AND_COMPLIANCE Other
HS role OTHER               Other
==========================  =================

Sources: non-deleted OCRs (with a Role) of non-deleted opportunities; USER_DEFINED labels on
non-archived deals; hs_buying_role of non-archived contacts associated with one of the account's companies.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa

ROLE_MAP = {
    "Business User": "User",
    "Decision Maker": "Decision Maker",
    "Economic Buyer": "Economic Buyer",
    "Economic Decision Maker": "Economic Buyer",
    "Evaluator": "Influencer",
    "Executive Sponsor": "Champion",
    "Influencer": "Influencer",
    "Technical Buyer": "Technical Buyer",
    "Other": "Other",
    "Champion": "Champion",
    "Decision maker": "Decision Maker",
    "Economic buyer": "Economic Buyer",
    "Blocker": "Blocker",
    "BLOCKER": "Blocker",
    "BUDGET_HOLDER": "Economic Buyer",
    "CHAMPION": "Champion",
    "DECISION_MAKER": "Decision Maker",
    "END_USER": "User",
    "EXECUTIVE_SPONSOR": "Champion",
    "INFLUENCER": "Influencer",
    "LEGAL_AND_COMPLIANCE": "Other",
    "OTHER": "Other",
}
CANONICAL_ROLES = (
    "Champion",
    "Economic Buyer",
    "Decision Maker",
    "Influencer",
    "Blocker",
    "Technical Buyer",
    "User",
    "Other",
)
ENGAGED_DAYS = 90
MOVEMENTS = ("new", "expansion", "contraction", "churn", "reactivation", "flat")


def month_index(d: np.ndarray) -> np.ndarray:
    """datetime64[D] -> months since 1970-01."""
    return d.astype("datetime64[M]").astype(np.int64)


def month_str(idx: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(np.asarray(idx).astype("datetime64[M]").astype("datetime64[D]"), unit="D")


def active_month_range(start: np.ndarray, end: np.ndarray, as_of: date) -> tuple[np.ndarray, np.ndarray]:
    """First and last month index in which each line is active under the month-end rule (last < first: never)."""
    start = start.astype("datetime64[D]")
    end = end.astype("datetime64[D]")
    as_of_d = np.datetime64(as_of, "D")
    first = month_index(start)
    end_m = month_index(end)
    eom_end = (end.astype("datetime64[M]") + 1).astype("datetime64[D]") - 1
    last = np.where(end == eom_end, end_m, end_m - 1)
    as_of_m = month_index(np.array([as_of_d]))[0]
    last = np.minimum(last, as_of_m)
    first = np.where(start > as_of_d, last + 1, first)  # future-dated lines are not ARR yet
    return first, last


def arr_monthly(lines: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """account_arr_monthly from contract lines (vectorised over a dense account x month matrix)."""
    cols = [
        "global_account_key",
        "month",
        "arr",
        "previous_arr",
        "movement",
        "new_arr",
        "expansion_arr",
        "contraction_arr",
        "churned_arr",
        "reactivation_arr",
    ]
    empty = _typed(pd.DataFrame({c: [] for c in cols}))
    if lines.empty:
        return empty
    start = lines["service_start_date"].to_numpy(dtype="datetime64[D]")
    end = lines["service_end_date"].to_numpy(dtype="datetime64[D]")
    first, last = active_month_range(start, end, as_of)
    keep = last >= first
    if not keep.any():
        return empty
    keys, acct = np.unique(lines["global_account_key"].to_numpy(dtype=object)[keep], return_inverse=True)
    first, last = first[keep], last[keep]
    value = 12.0 * lines["mrr_usd"].to_numpy(dtype=float)[keep]
    as_of_m = month_index(np.array([np.datetime64(as_of, "D")]))[0]
    m0 = int(first.min())
    nm = int(as_of_m - m0 + 1)
    n_acc = len(keys)
    dense = np.zeros((n_acc, nm))
    for j in range(nm):  # one pass per month keeps memory at (accounts x months)
        act = (first <= m0 + j) & (last >= m0 + j)
        dense[:, j] = np.bincount(acct[act], weights=value[act], minlength=n_acc)
    dense = np.round(dense, 2)
    active = dense > 0
    a_first = active.argmax(axis=1)
    a_last = nm - 1 - active[:, ::-1].argmax(axis=1)
    g_end = np.minimum(a_last + 1, nm - 1)
    length = g_end - a_first + 1
    offset = np.concatenate([[0], np.cumsum(length)[:-1]])
    total = int(length.sum())
    row_acct = np.repeat(np.arange(n_acc), length)
    row_col = a_first[row_acct] + (np.arange(total) - offset[row_acct])
    arr = dense[row_acct, row_col]
    has_prev = row_col > a_first[row_acct]
    prev = np.where(has_prev, dense[row_acct, np.maximum(row_col - 1, 0)], 0.0)
    seen = np.cumsum(active, axis=1, dtype=np.int16)
    ever_before = has_prev & (seen[row_acct, np.maximum(row_col - 1, 0)] > 0)
    del dense, seen
    movement, amounts = classify(arr, prev, ever_before)
    return _typed(
        pd.DataFrame(
            {
                "global_account_key": _strings(keys.astype(str), row_acct),
                "month": _strings(month_str(m0 + np.arange(nm)), row_col),
                "arr": arr,
                "previous_arr": prev,
                "movement": movement,
                **amounts,
            }
        )
    )


def _strings(choices: np.ndarray, codes: np.ndarray) -> pd.Series:
    """``choices[codes]`` as a pandas ``str`` column without a per-row numpy/Python string copy."""
    return pd.Series(pd.array(pa.array(choices).take(pa.array(codes)), dtype="str"))


def classify(arr: np.ndarray, prev: np.ndarray, ever_before: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """§2.3 with the zero-boundary cases first; amounts signed."""
    new = (arr > 0) & (prev == 0) & ~ever_before
    react = (arr > 0) & (prev == 0) & ever_before
    churn = (prev > 0) & (arr == 0)
    exp = (prev > 0) & (arr > prev) & ~churn
    con = (prev > 0) & (arr > 0) & (arr < prev)
    code = np.select([new, react, churn, exp, con], [0, 1, 2, 3, 4], 5)
    movement = _strings(np.array(["new", "reactivation", "churn", "expansion", "contraction", "flat"]), code)
    delta = arr - prev
    z = np.zeros(len(arr))
    return movement, {
        "new_arr": np.where(new, arr, z),
        "expansion_arr": np.where(exp, delta, z),
        "contraction_arr": np.where(con, delta, z),
        "churned_arr": np.where(churn, -prev, z),
        "reactivation_arr": np.where(react, arr, z),
    }


def retention(arr_m: pd.DataFrame, as_of: date) -> pd.DataFrame:
    cols = [
        "month",
        "cohort_accounts",
        "cohort_start_arr",
        "cohort_current_arr",
        "cohort_retained_arr",
        "nrr",
        "grr",
        "active_logos_prev",
        "churned_logos",
        "logo_churn_rate",
    ]
    if arr_m.empty:
        return _typed(pd.DataFrame({c: [] for c in cols}))
    keys, acct = np.unique(arr_m["global_account_key"].to_numpy(dtype=object), return_inverse=True)
    months = month_index(arr_m["month"].to_numpy().astype("datetime64[D]"))
    m0 = months.min()
    as_of_m = month_index(np.array([np.datetime64(as_of, "D")]))[0]
    nm = as_of_m - m0 + 1
    dense = np.zeros((len(keys), nm))
    dense[acct, months - m0] = arr_m["arr"].to_numpy(dtype=float)
    churn = np.zeros(nm, dtype=np.int64)
    np.add.at(churn, (months - m0)[arr_m["movement"].to_numpy() == "churn"], 1)
    rows = []
    for j in range(nm):
        cur = dense[:, j]
        base = dense[:, j - 12] if j >= 12 else np.zeros(len(keys))
        cohort = base > 0
        start_arr = float(base[cohort].sum())
        current = float(cur[cohort].sum())
        retained = float(np.minimum(cur, base)[cohort].sum())
        prev_active = int((dense[:, j - 1] > 0).sum()) if j >= 1 else 0
        rows.append(
            {
                "month": month_str(np.array([m0 + j]))[0],
                "cohort_accounts": int(cohort.sum()),
                "cohort_start_arr": round(start_arr, 2),
                "cohort_current_arr": round(current, 2),
                "cohort_retained_arr": round(retained, 2),
                "nrr": current / start_arr if start_arr > 0 else np.nan,
                "grr": retained / start_arr if start_arr > 0 else np.nan,
                "active_logos_prev": prev_active,
                "churned_logos": int(churn[j]),
                "logo_churn_rate": churn[j] / prev_active if prev_active else np.nan,
            }
        )
    return _typed(pd.DataFrame(rows, columns=cols))


def stakeholders(
    account_keys: np.ndarray, role_acct: np.ndarray, role_values: np.ndarray, touches: pd.DataFrame, as_of: date
) -> pd.DataFrame:
    """roles_present and engaged_contacts_90d per account (``role_acct`` indexes ``account_keys``)."""
    canon = np.array([ROLE_MAP.get(str(v), "") for v in role_values], dtype=object)
    ok = canon != ""
    pairs = pd.DataFrame({"a": role_acct[ok], "r": canon[ok]}).drop_duplicates()
    roles = pairs.sort_values(["a", "r"]).groupby("a")["r"].agg(";".join)
    present = np.full(len(account_keys), "", dtype=object)
    present[roles.index.to_numpy(dtype=np.int64)] = roles.to_numpy()
    engaged = engaged_counts(touches, account_keys, as_of)
    return _typed(
        pd.DataFrame(
            {"global_account_key": account_keys.astype(str), "roles_present": present, "engaged_contacts_90d": engaged}
        )
    )


def engaged_counts(touches: pd.DataFrame, account_keys: np.ndarray, as_of: date) -> np.ndarray:
    """Distinct persons per account whose latest touch is within the 90 days before as_of."""
    cutoff = (as_of - timedelta(days=ENGAGED_DAYS)).isoformat()
    recent = touches[(touches["last_touch"] >= cutoff) & (touches["last_touch"] < as_of.isoformat() + "T")]
    counts = recent.groupby("global_account_key")["email"].nunique()
    return pd.Series(account_keys.astype(str)).map(counts).fillna(0).to_numpy(dtype=np.int64)


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    """Force the CSV-safe dtypes: object/str -> str, ints -> int64, floats -> float64."""
    out = {}
    for c in df.columns:
        s = df[c]
        if s.dtype in (np.dtype("int64"), np.dtype("float64"), np.dtype("bool")) or s.dtype == "str":
            out[c] = s
        elif pd.api.types.is_bool_dtype(s):
            out[c] = s.astype(bool)
        elif pd.api.types.is_integer_dtype(s):
            out[c] = s.astype("int64")
        elif pd.api.types.is_float_dtype(s):
            out[c] = s.astype("float64")
        else:
            out[c] = s.astype(str)
    return pd.DataFrame(out, index=pd.RangeIndex(len(df)))


typed = _typed
