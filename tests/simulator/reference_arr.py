"""A reference implementation of the ARR rules over the RAW CRM records (what the dbt layer will do).

Reads only the Salesforce and HubSpot records of a :class:`Dataset` (plus, for the global account key
only, the ``accounts`` / ``account_aliases`` ground-truth tables) and never ``contract_lines``. The
rules are spelled out in ``test_records_derive_truth.py``; the seeds a dbt project would ship are the
module constants below.
"""

from __future__ import annotations

import calendar
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from connectors.simulator.dataset.store import Dataset

# seed product_recurrence.csv: Product2.Family -> is_recurring
FAMILY_RECURRING = {
    "Platform": True,
    "Analytics": True,
    "Seats Add-on": True,
    "Professional Services": False,
    "Onboarding": False,
}
DEFAULT_TERM_MONTHS = 12
SF_RENEWAL_TYPES = frozenset({"Renewal"})
# HubSpot dealtype values that mark a renewal (the portal's "Renewal" option)
HS_RENEWAL_DEALTYPES = frozenset({"renewal"})
# HubSpot recurringbillingfrequency -> months per billing period
HS_FREQUENCY_MONTHS = {
    "weekly": 12 / 52,
    "biweekly": 12 / 26,
    "monthly": 1,
    "quarterly": 3,
    "per_six_months": 6,
    "annually": 12,
    "per_two_years": 24,
    "per_three_years": 36,
    "per_four_years": 48,
    "per_five_years": 60,
}
MOVEMENT_COLUMNS = ("new_arr", "expansion_arr", "contraction_arr", "churned_arr", "reactivation_arr")


# ---- calendar helpers (DuckDB interval semantics: clamp to the month's last day) ------------------


def add_months(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def eom(d: date) -> date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def iso_months(period: str | None) -> int | None:
    """ISO-8601 period -> whole months ('P12M' -> 12, 'P2Y' -> 24, 'P1Y6M' -> 18)."""
    if not period:
        return None
    match = re.fullmatch(r"P(?:(\d+)Y)?(?:(\d+)M)?", period.strip().upper())
    if not match or not any(match.groups()):
        return None
    return int(match.group(1) or 0) * 12 + int(match.group(2) or 0)


def normalise_domain(website: str | None) -> str:
    """§2.7 rule 3: lower-case, strip scheme, ``www.``, path and port."""
    if not website:
        return ""
    w = website.strip().lower()
    for scheme in ("https://", "http://"):
        w = w.removeprefix(scheme)
    w = w.split("/", 1)[0].split(":", 1)[0]
    return w.removeprefix("www.")


def _f(value: object) -> float | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    return float(value)  # type: ignore[arg-type]


# ---- identity ------------------------------------------------------------------------------


@dataclass
class Identity:
    sf_survivor: dict[str, str]  # every SF Account Id -> its survivor (MasterRecordId chain)
    sf_domains: dict[str, str]  # normalised Website -> surviving SF Account Id (live accounts)
    hs_link: dict[str, str]  # HubSpot company id -> linked SF Account Id, or "" (HubSpot is its system)
    hs_link_rule: dict[str, str]  # company id -> salesforceaccountid / domain / none
    key_of_sf: dict[str, str]  # survivor SF Account Id -> global_account_key (ground truth mapping)
    key_of_hs: dict[str, str]  # HubSpot company id -> global_account_key (ground truth mapping)


def identity(ds: Dataset) -> Identity:
    with ds.reading() as cur:
        sf_acc = cur.execute('SELECT "Id", "IsDeleted", "MasterRecordId", "Website" FROM sf."Account"').fetchall()
        companies = cur.execute(
            "SELECT id, archived, salesforceaccountid, domain, website FROM hs.companies"
        ).fetchall()
    master = {i: m for i, _, m, _ in sf_acc if m}
    survivor = {}
    for acc_id, *_ in sf_acc:
        cur_id, seen = acc_id, set()
        while cur_id in master and cur_id not in seen:  # the recursive CTE of map_merged_crm_account
            seen.add(cur_id)
            cur_id = master[cur_id]
        survivor[acc_id] = cur_id
    domains: dict[str, set[str]] = defaultdict(set)
    for acc_id, deleted, _, website in sf_acc:
        d = normalise_domain(website)
        if d and not deleted:
            domains[d].add(survivor[acc_id])
    sf_domains = {d: next(iter(ids)) for d, ids in domains.items() if len(ids) == 1}  # ambiguous: no match
    by_15 = {acc_id[:15]: acc_id for acc_id in survivor}  # the 15-character form is case-sensitive
    hs_link, rule = {}, {}
    for cid, _, sfid, domain, website in companies:
        sfid = by_15.get(sfid.strip()[:15]) if sfid else None
        if sfid:
            hs_link[cid], rule[cid] = survivor[sfid], "salesforceaccountid"
        elif normalise_domain(domain or website) in sf_domains:
            hs_link[cid], rule[cid] = sf_domains[normalise_domain(domain or website)], "domain"
        else:
            hs_link[cid], rule[cid] = "", "none"
    acc = ds.ground_truth["accounts"]
    key_of_sf = {s: k for s, k in zip(acc["salesforce_account_id"], acc["global_account_key"], strict=True) if s}
    key_of_hs = {
        c: k
        for ids, k in zip(acc["hubspot_company_ids"], acc["global_account_key"], strict=True)
        for c in ids.split(";")
        if c
    }
    aliases = ds.ground_truth["account_aliases"]
    for system, src, key in zip(
        aliases["source_system"], aliases["source_id"], aliases["global_account_key"], strict=True
    ):
        (key_of_sf if system == "salesforce" else key_of_hs).setdefault(src, key)
    return Identity(survivor, sf_domains, hs_link, rule, key_of_sf, key_of_hs)


# ---- contract lines ---------------------------------------------------------------------------

LINE_COLUMNS = (
    "line_key",
    "global_account_key",
    "source_system",
    "source_line_id",
    "source_deal_id",
    "product_code",
    "is_renewal",
    "close_date",
    "service_start_date",
    "natural_end_date",
    "term_months",
    "currency",
    "mrr_local",
    "fx_rate",
    "mrr_usd",
)


def salesforce_lines(ds: Dataset, ident: Identity) -> pd.DataFrame:
    """§2.1(a): OpportunityLineItems of won, live opportunities whose product family is recurring."""
    with ds.reading() as cur:
        rows = cur.execute(
            """
            SELECT l."Id", o."Id", o."AccountId", coalesce(l."ProductCode", p."ProductCode"), p."Family", o."Type",
                   o."CloseDate", coalesce(l."ServiceDate", o."CloseDate"), coalesce(l."Term_Months__c", ?),
                   l."TotalPrice", o."CurrencyIsoCode", r."ConversionRate"
            FROM sf."OpportunityLineItem" l
            JOIN sf."Opportunity" o ON o."Id" = l."OpportunityId"
            JOIN sf."Product2" p ON p."Id" = l."Product2Id"
            LEFT JOIN sf."DatedConversionRate" r ON r."IsoCode" = o."CurrencyIsoCode"
                 AND r."StartDate" <= o."CloseDate" AND o."CloseDate" < coalesce(r."NextStartDate", DATE '9999-12-31')
            WHERE o."IsWon" AND NOT o."IsDeleted" AND NOT l."IsDeleted"
            """,
            [DEFAULT_TERM_MONTHS],
        ).fetchall()
    out = []
    for line_id, opp_id, acct, code, family, opp_type, close, start, term, total, currency, rate in rows:
        if not FAMILY_RECURRING[family]:
            continue
        term = int(term)
        if currency == "USD":
            rate = 1.0
        if rate is None:
            raise AssertionError(f"no DatedConversionRate for {currency} at {close} (opportunity {opp_id})")
        mrr = float(total) / term
        out.append(
            {
                "line_key": f"salesforce:{line_id}",
                "global_account_key": ident.key_of_sf.get(ident.sf_survivor.get(acct, acct), f"?sf:{acct}"),
                "source_system": "salesforce",
                "source_line_id": line_id,
                "source_deal_id": opp_id,
                "product_code": code,
                "is_renewal": opp_type in SF_RENEWAL_TYPES,
                "close_date": close,
                "service_start_date": start,
                "natural_end_date": add_months(start, term) - timedelta(days=1),
                "term_months": term,
                "currency": currency,
                "mrr_local": mrr,
                "fx_rate": float(rate),
                "mrr_usd": mrr / float(rate),
            }
        )
    return pd.DataFrame(out, columns=list(LINE_COLUMNS))


def closed_won_stages(ds: Dataset) -> set[tuple[str, str]]:
    """(pipeline id, stage id) of every closed-won stage: isClosed and probability 1.0."""
    won = set()
    for pipeline in ds.hs_pipelines.get("deals", []):
        for stage in pipeline["stages"]:
            meta = stage["metadata"]
            if str(meta.get("isClosed")).lower() == "true" and float(meta.get("probability") or 0) == 1.0:
                won.add((pipeline["id"], stage["id"]))
    return won


def hubspot_lines(ds: Dataset, ident: Identity) -> tuple[pd.DataFrame, pd.DataFrame]:
    """§2.1(b) for deals whose company has HubSpot as its revenue system of record.

    Returns (lines, excluded): ``excluded`` lists the recurring closed-won line items left out because
    their company is linked to Salesforce (with the deal's ``hs_salesforceopportunityid``).
    """
    won_stages = closed_won_stages(ds)
    with ds.reading() as cur:
        rows = cur.execute(
            """
            WITH deal_line AS (
                SELECT DISTINCT from_id AS deal_id, to_id AS line_id FROM hs.associations
                WHERE from_type = 'deals' AND to_type = 'line_items'
            ), deal_company AS (
                SELECT from_id AS deal_id, min(to_id) AS company_id FROM hs.associations
                WHERE from_type = 'deals' AND to_type = 'companies' AND type_id = 5
                GROUP BY 1
            )
            SELECT li.id, d.id, dc.company_id, d.pipeline, d.dealstage, d.dealtype, d.closedate, d.amount,
                   d.amount_in_home_currency, d.deal_currency_code, d.hs_salesforceopportunityid,
                   coalesce(li.hs_sku, li.hs_product_id), li.amount, li.recurringbillingfrequency,
                   li.hs_recurring_billing_start_date, li.hs_term_in_months, li.hs_recurring_billing_period,
                   li.hs_line_item_currency_code
            FROM hs.deals d
            JOIN deal_line dl ON dl.deal_id = d.id
            JOIN hs.line_items li ON li.id = dl.line_id
            LEFT JOIN deal_company dc ON dc.deal_id = d.id
            WHERE NOT d.archived AND NOT li.archived
            """
        ).fetchall()
        sf_rates = cur.execute(
            'SELECT "IsoCode", "StartDate", coalesce("NextStartDate", DATE \'9999-12-31\'), "ConversionRate" '
            'FROM sf."DatedConversionRate"'
        ).fetchall()
    out, excluded = [], []
    for (
        line_id,
        deal_id,
        company,
        pipeline,
        stage,
        dealtype,
        closedate,
        deal_amount,
        deal_home,
        deal_cur,
        mirror_of,
        product,
        amount,
        freq,
        start,
        term,
        period,
        line_cur,
    ) in rows:
        if (pipeline, stage) not in won_stages or not freq or freq == "one_time":
            continue
        if company is None or ident.hs_link.get(company, ""):
            excluded.append({"line_id": line_id, "deal_id": deal_id, "company": company, "mirror_of": mirror_of})
            continue
        close = date.fromisoformat(closedate[:10])
        start_d = date.fromisoformat(start[:10]) if start else close
        months = int(term) if term else iso_months(period)
        if months is None:
            raise AssertionError(f"line item {line_id}: no term")
        currency = line_cur or deal_cur or "USD"
        amt, home = _f(deal_amount), _f(deal_home)
        if currency == "USD":
            rate = 1.0
        elif amt and home:
            rate = amt / home  # units per USD implied by the deal
        else:
            rate = next(r for c, s, n, r in sf_rates if c == currency and s <= close < n)
        mrr = float(amount) / HS_FREQUENCY_MONTHS[freq]
        out.append(
            {
                "line_key": f"hubspot:{line_id}",
                "global_account_key": ident.key_of_hs.get(company, f"?hs:{company}"),
                "source_system": "hubspot",
                "source_line_id": line_id,
                "source_deal_id": deal_id,
                "product_code": product,
                "is_renewal": dealtype in HS_RENEWAL_DEALTYPES,
                "close_date": close,
                "service_start_date": start_d,
                "natural_end_date": add_months(start_d, months) - timedelta(days=1),
                "term_months": months,
                "currency": currency,
                "mrr_local": mrr,
                "fx_rate": rate,
                "mrr_usd": mrr / rate,
                "_mirror_of": mirror_of,
            }
        )
    lines = pd.DataFrame(out, columns=[*LINE_COLUMNS, "_mirror_of"])
    return lines, pd.DataFrame(excluded, columns=["line_id", "deal_id", "company", "mirror_of"])


def supersede(lines: pd.DataFrame) -> pd.DataFrame:
    """§2.1 overlap: per (account, product) a renewal line ends every earlier line still running at its
    start at ``new_start - 1 day``; everything else stacks."""
    lines = lines.sort_values(["global_account_key", "product_code", "service_start_date", "line_key"])
    lines = lines.reset_index(drop=True)
    end = lines["natural_end_date"].tolist()
    for _, idx in lines.groupby(["global_account_key", "product_code"], sort=False).groups.items():
        idx = list(idx)
        for r in idx:
            if not lines.at[r, "is_renewal"]:
                continue
            new_start = lines.at[r, "service_start_date"]
            for i in idx:
                if lines.at[i, "service_start_date"] < new_start <= end[i]:
                    end[i] = new_start - timedelta(days=1)
    lines["service_end_date"] = end
    return lines


# ---- ARR fact and movements -------------------------------------------------------------------


def arr_monthly(lines: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """§2.2/2.3 with a plain loop: month-end rule, cent rounding, churn row, capped at the as-of month."""
    as_of_month = as_of.replace(day=1)
    rows = []
    by_account: dict[str, list[tuple[date, date, float]]] = defaultdict(list)
    for key, s, e, m in zip(
        lines["global_account_key"],
        lines["service_start_date"],
        lines["service_end_date"],
        lines["mrr_usd"],
        strict=True,
    ):
        by_account[key].append((s, e, m))
    for key in sorted(by_account):
        items = by_account[key]
        month = min(s for s, _, _ in items).replace(day=1)
        values = []
        while month <= as_of_month:
            e_m = eom(month)
            mrr = sum(m for s, e, m in items if s <= min(e_m, as_of) and e >= e_m)
            values.append((month, round(12 * mrr, 2)))
            month = add_months(month, 1)
        active = [i for i, (_, v) in enumerate(values) if v > 0]
        if not active:
            continue
        first, stop = active[0], min(active[-1] + 1, len(values) - 1)
        prev, ever = 0.0, False
        for i in range(first, stop + 1):
            month, arr = values[i]
            amounts = dict.fromkeys(MOVEMENT_COLUMNS, 0.0)
            if arr > 0 and prev == 0:
                movement = "reactivation" if ever else "new"
                amounts["reactivation_arr" if ever else "new_arr"] = arr
            elif prev > 0 and arr == 0:
                movement, amounts["churned_arr"] = "churn", -prev
            elif prev > 0 and arr > prev:
                movement, amounts["expansion_arr"] = "expansion", arr - prev
            elif prev > 0 and arr < prev:
                movement, amounts["contraction_arr"] = "contraction", arr - prev
            else:
                movement = "flat"
            rows.append(
                {
                    "global_account_key": key,
                    "month": month.isoformat(),
                    "arr": arr,
                    "previous_arr": prev,
                    "movement": movement,
                    **amounts,
                }
            )
            ever = ever or arr > 0
            prev = arr
    cols = ["global_account_key", "month", "arr", "previous_arr", "movement", *MOVEMENT_COLUMNS]
    return pd.DataFrame(rows, columns=cols)


@dataclass
class Derived:
    identity: Identity
    lines: pd.DataFrame  # supersede-resolved recurring lines from both systems
    hs_excluded: pd.DataFrame  # closed-won recurring HubSpot line items whose company is linked to SF
    arr: pd.DataFrame


def derive(ds: Dataset, as_of: date) -> Derived:
    ident = identity(ds)
    hs, excluded = hubspot_lines(ds, ident)
    lines = pd.concat([salesforce_lines(ds, ident), hs], ignore_index=True)
    lines = supersede(lines)
    return Derived(ident, lines, excluded, arr_monthly(lines, as_of))


# ---- comparison -------------------------------------------------------------------------------

MONEY = ("arr", "previous_arr", *MOVEMENT_COLUMNS)


def compare(derived: Derived, truth: pd.DataFrame, limit: int = 20, tol: float = 0.01) -> str:
    """'' when the derived fact equals the truth; otherwise a compact diff with the lines involved."""
    got = derived.arr.set_index(["global_account_key", "month"])
    exp = truth.set_index(["global_account_key", "month"])
    keys = got.index.union(exp.index)
    bad = []
    for k in keys:
        if k not in got.index or k not in exp.index:
            bad.append((k, "missing in derived" if k not in got.index else "extra in derived"))
            continue
        g, e = got.loc[k], exp.loc[k]
        why = [f"{c}: derived {g[c]:.2f} truth {e[c]:.2f}" for c in MONEY if abs(g[c] - e[c]) > tol + 1e-9]
        if g["movement"] != e["movement"]:
            why.append(f"movement: derived {g['movement']} truth {e['movement']}")
        if why:
            bad.append((k, "; ".join(why)))
    if not bad:
        return ""
    lines = derived.lines
    out = [f"{len(bad)} mismatching account-months (of {len(keys)}); first {min(limit, len(bad))}:"]
    for (key, month), why in bad[:limit]:
        out.append(f"  {key} {month}: {why}")
        m = date.fromisoformat(month)
        sel = lines[
            (lines["global_account_key"] == key)
            & (lines["service_start_date"] <= eom(m))
            & (lines["service_end_date"] >= m)
        ]
        for r in sel.itertuples():
            out.append(
                f"      {r.line_key} deal={r.source_deal_id} {r.product_code} renewal={r.is_renewal} "
                f"{r.service_start_date}..{r.service_end_date} (natural {r.natural_end_date}) "
                f"mrr={r.mrr_local:.2f} {r.currency} rate={r.fx_rate:.6f} usd={r.mrr_usd:.2f}"
            )
    return "\n".join(out)
