"""Render the model as Salesforce records, one object at a time, straight into the store."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from connectors.simulator.dataset import schema_salesforce as sfs
from connectors.simulator.dataset.context import Ctx
from connectors.simulator.dataset.firmographics import messy_website
from connectors.simulator.dataset.fx import CURRENCIES
from connectors.simulator.dataset.ids import sf_ids
from connectors.simulator.dataset.model import HS_ONLY, KIND_SF_TYPE, PRODUCTS, SHARED
from connectors.simulator.dataset.people import wire_email
from connectors.simulator.dataset.wire import (
    MS_PER_DAY,
    audit_stamps,
    before,
    day_to_ms,
    nullable,
    pick,
    recent_stamps,
)

_STAGE_PROB = {s[0]: s[1] for s in sfs.OPP_STAGES}
_STAGE_FC = {s[0]: s[2] for s in sfs.OPP_STAGES}
_FC_NAME = {"Pipeline": "Pipeline", "Forecast": "Commit", "Closed": "Closed", "Omitted": "Omitted"}
_OPEN_STAGES = [s[0] for s in sfs.OPP_STAGES[:8]]
# short values on purpose: the store keeps strings of <= 12 bytes inline (no heap), which matters at `large`
_MEDDIC_METRICS = ("-30% effort", "+5% win rate", "ARR +10%", "NRR 110%")
_MEDDIC_CRITERIA = ("SSO, SOC2", "Price", "Integrations", "Time to value")
_MEDDIC_PROCESS = ("CFO sign-off", "Procurement", "Board review")
_MEDDIC_PAIN = ("Spreadsheets", "No 360 view", "Churn blind", "Slow reports")
OCR_ROLE_P = (0.16, 0.17, 0.13, 0.03, 0.12, 0.09, 0.13, 0.1, 0.07)


def _put(ctx: Ctx, obj: str, columns: dict[str, object]) -> None:
    ctx.ds.put_sf(obj, sfs.describe(obj), _table(columns))


def _system(
    ctx: Ctx, created: np.ndarray, rng: np.random.Generator, user: np.ndarray, p_modified: float = 0.55
) -> dict[str, object]:
    last, mod = audit_stamps(rng, created, ctx.clock, p_modified)
    return {
        "IsDeleted": np.zeros(len(created), dtype=bool),
        "CreatedDate": created,
        "CreatedById": user,
        "LastModifiedDate": last,
        "LastModifiedById": user,
        "SystemModstamp": mod,
    }


def _soft_delete(ctx: Ctx, cols: dict[str, object], mask: np.ndarray, rng: np.random.Generator) -> None:
    """Mark rows deleted within the recycle-bin window (older deletes would already be purged)."""
    created = cols["CreatedDate"]
    mask = mask & (created < ctx.clock - np.timedelta64(16 * MS_PER_DAY, "ms"))
    stamps = recent_stamps(rng, int(mask.sum()), ctx.clock)
    cols["IsDeleted"] = np.asarray(cols["IsDeleted"]) | mask
    for key in ("LastModifiedDate", "SystemModstamp"):
        arr = np.array(cols[key])
        arr[mask] = stamps
        cols[key] = arr


# ---- reference data --------------------------------------------------------------------------


def users(ctx: Ctx) -> None:
    rng = ctx.rng(1)
    n = ctx.preset.users
    from connectors.simulator.dataset.firmographics import FIRST, LAST

    ids = sf_ids("User", np.arange(1, n + 1))
    first = np.array(FIRST)[rng.integers(0, len(FIRST), n)]
    last = np.array(LAST)[rng.integers(0, len(LAST), n)]
    first[0], last[0] = "Integration", "User"
    email = np.array(
        [
            f"{f.lower()}.{lname.lower()}{i}@accountwarehouse.example"
            for i, (f, lname) in enumerate(zip(first, last, strict=True))
        ]
    )
    created = day_to_ms(np.full(n, np.datetime64(ctx.model.hist_start, "D") - 200), rng)
    admin = np.full(n, ids[0])
    cols = _system(ctx, created, rng, admin)
    cols.pop("IsDeleted")
    titles = np.where(np.arange(n) % 5 == 0, "Sales Manager", "Account Executive")
    manager = np.where(np.arange(n) % 5 == 0, ids[0], ids[(np.arange(n) // 5) * 5])
    active = rng.random(n) < 0.92
    active[0] = True
    _put(
        ctx,
        "User",
        {
            "Id": ids,
            **cols,
            "Username": email,
            "Name": np.char.add(np.char.add(first, " "), last),
            "FirstName": first,
            "LastName": last,
            "Title": titles,
            "Department": "Sales",
            "Email": email,
            "IsActive": active,
            "ManagerId": manager,
            "UserType": "Standard",
        },
    )
    ctx.ids["user"] = ids
    ctx.facts["users"] = {"first": first, "last": last, "email": email, "created": created, "active": active}


def products(ctx: Ctx) -> None:
    rng = ctx.rng(2)
    n = len(PRODUCTS)
    created = day_to_ms(np.full(n, np.datetime64(ctx.model.hist_start, "D") - 100), rng)
    admin = np.full(n, ctx.ids["user"][0])
    pids = sf_ids("Product2", np.arange(1, n + 1))
    _put(
        ctx,
        "Product2",
        {
            "Id": pids,
            **_system(ctx, created, rng, admin),
            "Name": [p[0] for p in PRODUCTS],
            "ProductCode": [p[1] for p in PRODUCTS],
            "Family": [p[2] for p in PRODUCTS],
            "IsActive": np.ones(n, dtype=bool),
            "QuantityUnitOfMeasure": ["Seat" if p[1] == "SEAT-ADD" else "Each" for p in PRODUCTS],
            "CurrencyIsoCode": "USD",
        },
    )
    pb = sf_ids("Pricebook2", [1])
    _put(
        ctx,
        "Pricebook2",
        {
            "Id": pb,
            **_system(ctx, created[:1], rng, admin[:1]),
            "Name": ["Standard Price Book"],
            "IsActive": [True],
            "IsStandard": [True],
        },
    )
    # one entry per product and currency
    prod = np.repeat(np.arange(n), len(CURRENCIES))
    cur = np.tile(np.array(CURRENCIES), n)
    fx0 = {c: float(ctx.model.fx.rates[c][0]) for c in CURRENCIES}
    price = np.array([round(PRODUCTS[p][4] * fx0[c], 0 if c == "JPY" else 2) for p, c in zip(prod, cur, strict=True)])
    pbe = sf_ids("PricebookEntry", np.arange(1, len(prod) + 1))
    _put(
        ctx,
        "PricebookEntry",
        {
            "Id": pbe,
            **_system(ctx, np.repeat(created, len(CURRENCIES)), rng, np.repeat(admin, len(CURRENCIES))),
            "Pricebook2Id": np.full(len(prod), pb[0]),
            "Product2Id": pids[prod],
            "Name": np.array([p[0] for p in PRODUCTS])[prod],
            "ProductCode": np.array([p[1] for p in PRODUCTS])[prod],
            "UnitPrice": price,
            "IsActive": True,
            "UseStandardPrice": False,
            "CurrencyIsoCode": cur,
        },
    )
    ctx.ids["product"], ctx.ids["pricebook"] = pids, pb[0]
    ctx.ids["pbe"] = pbe.reshape(n, len(CURRENCIES))
    ctx.facts["pbe_price"] = price.reshape(n, len(CURRENCIES))


def currencies(ctx: Ctx) -> None:
    rng = ctx.rng(3)
    fx = ctx.model.fx
    months = np.array(fx.months, dtype="datetime64[D]")
    nm = len(months)
    admin = ctx.ids["user"][0]
    created = day_to_ms(months, rng)
    created = before(created, ctx.clock)
    rows_cur, rows_rate, rows_start, rows_next, rows_created = [], [], [], [], []
    for c in CURRENCIES:
        rows_cur.append(np.full(nm, c))
        rows_rate.append(fx.rates[c])
        rows_start.append(months)
        nxt = np.concatenate([months[1:], [np.datetime64("9999-12-31")]])
        rows_next.append(nxt)
        rows_created.append(created)
    n = nm * len(CURRENCIES)
    created_all = np.concatenate(rows_created)
    cols = _system(ctx, created_all, rng, np.full(n, admin), p_modified=0.0)
    cols.pop("IsDeleted")
    _put(
        ctx,
        "DatedConversionRate",
        {
            "Id": sf_ids("DatedConversionRate", np.arange(1, n + 1)),
            **cols,
            "IsoCode": np.concatenate(rows_cur),
            "ConversionRate": np.concatenate(rows_rate),
            "StartDate": np.concatenate(rows_start),
            "NextStartDate": np.concatenate(rows_next),
        },
    )
    k = len(CURRENCIES)
    created_ct = np.full(k, created[0])
    cols = _system(ctx, created_ct, rng, np.full(k, admin), p_modified=0.0)
    cols.pop("IsDeleted")
    _put(
        ctx,
        "CurrencyType",
        {
            "Id": sf_ids("CurrencyType", np.arange(1, k + 1)),
            **cols,
            "IsoCode": list(CURRENCIES),
            "ConversionRate": [float(fx.rates[c][-1]) for c in CURRENCIES],
            "DecimalPlaces": [0 if c == "JPY" else 2 for c in CURRENCIES],
            "IsActive": True,
            "IsCorporate": [c == "USD" for c in CURRENCIES],
        },
    )


# ---- accounts and contacts ---------------------------------------------------------------------


def accounts(ctx: Ctx) -> None:
    rng = ctx.rng(4)
    acc = ctx.accounts
    n_all = len(acc["system"])
    rows = np.flatnonzero(acc["system"] != HS_ONLY)
    ids_all = ctx.ids["account_sf"]
    n = len(rows)
    created = acc["created_ms"][rows]
    owner = ctx.ids["user"][acc["owner"][rows]]
    cols = _system(ctx, created, rng, owner)
    parent = acc["parent"][rows]
    parent_id = nullable(ids_all[np.maximum(parent, 0)], parent >= 0)
    health = acc["health"][rows]
    acct_type = np.where(
        health == 0, "Prospect", np.where(rng.random(n) < 0.85, "Customer - Direct", "Customer - Channel")
    )
    cols.update(
        {
            "Id": ids_all[rows],
            "Name": acc["name"][rows],
            "Type": acct_type,
            "ParentId": parent_id,
            "Industry": np.array(sfs.INDUSTRIES)[acc["industry"][rows]],
            # dirt: a few accounts without a Website, but only Salesforce-only ones - a shared account
            # may be linked to its HubSpot company by domain alone (truth link = "domain")
            "Website": nullable(
                messy_website(rng, acc["domain"][rows]), (rng.random(n) > 0.03) | (acc["system"][rows] == SHARED)
            ),
            "AnnualRevenue": acc["revenue"][rows].astype(float),
            "NumberOfEmployees": acc["employees"][rows],
            "OwnerId": owner,
            "BillingStreet": [f"{i % 900 + 1} Main Street" for i in range(n)],
            "BillingCity": "Springfield",
            "BillingCountry": acc["country"][rows],
            "AccountSource": np.array(["Web", "Partner Referral", "Other"])[rng.integers(0, 3, n)],
            "CurrencyIsoCode": acc["currency"][rows],
            "Health_Score__c": np.round(
                acc["employees"][rows] / 100 + np.where(acct_type == "Customer - Direct", 50, 0), 1
            ),
            "Customer_Tier__c": np.array(["A", "B", "C"])[rng.integers(0, 3, n)],
        }
    )
    # merge losers: duplicates merged into a survivor within the recycle-bin window
    losers = rows[rng.random(n) < 0.012]
    m = len(losers)
    lcreated = acc["created_ms"][losers] + np.timedelta64(MS_PER_DAY, "ms") * rng.integers(1, 200, m)
    lcreated = np.minimum(lcreated, ctx.clock - np.timedelta64(20 * MS_PER_DAY, "ms"))
    lids = sf_ids("Account", n_all + 1 + np.arange(m))
    stamps = recent_stamps(rng, m, ctx.clock)
    lcols: dict[str, object] = {
        "Id": lids,
        "IsDeleted": np.ones(m, dtype=bool),
        "CreatedDate": lcreated,
        "CreatedById": ctx.ids["user"][acc["owner"][losers]],
        "LastModifiedDate": stamps,
        "LastModifiedById": ctx.ids["user"][acc["owner"][losers]],
        "SystemModstamp": stamps,
        "Name": np.char.add(acc["name"][losers].astype(str), " (dup)"),
        "Type": "Prospect",
        "ParentId": pa.nulls(m, pa.string()),
        "MasterRecordId": ids_all[losers],
        "Industry": np.array(sfs.INDUSTRIES)[acc["industry"][losers]],
        "Website": messy_website(rng, acc["domain"][losers]),
        "AnnualRevenue": acc["revenue"][losers].astype(float),
        "NumberOfEmployees": acc["employees"][losers],
        "OwnerId": ctx.ids["user"][acc["owner"][losers]],
        "BillingStreet": pa.nulls(m, pa.string()),
        "BillingCity": "Springfield",
        "BillingCountry": acc["country"][losers],
        "AccountSource": "Other",
        "CurrencyIsoCode": acc["currency"][losers],
        "Health_Score__c": np.round(acc["employees"][losers] / 100, 1),
        "Customer_Tier__c": pa.nulls(m, pa.string()),
    }
    cols["MasterRecordId"] = pa.nulls(n, pa.string())
    table = pa.concat_tables([_table(cols), _table(lcols).select(list(cols))], promote_options="permissive")
    ctx.ds.put_sf("Account", sfs.describe("Account"), table)
    ctx.facts["merged"] = (lids, losers)


def _table(cols: dict[str, object]) -> pa.Table:
    n = max(len(v) for v in cols.values() if not isinstance(v, str | int | float | bool))
    out = {}
    for k, v in cols.items():
        if isinstance(v, pa.Array):
            out[k] = v
        elif isinstance(v, str | int | float | bool):
            out[k] = pa.array([v] * n)
        else:
            out[k] = pa.array(np.asarray(v))
    return pa.table(out)


def contacts(ctx: Ctx) -> None:
    """SF contacts: one per person with has_sf, plus duplicate-email contacts (some soft-deleted)."""
    rng = ctx.rng(5)
    per = ctx.persons
    rows = np.flatnonzero(per["has_sf"])
    acct = per["acct"][rows]
    acc = ctx.accounts
    base_created = np.where(
        acct >= 0, acc["created_ms"][np.maximum(acct, 0)], np.datetime64(ctx.model.hist_start, "ms")
    )
    span = (ctx.clock - base_created).astype(np.int64)
    created = before(base_created + (span * rng.random(len(rows)) ** 3 * 0.9).astype("timedelta64[ms]"), ctx.clock)
    dup_src = rows[rng.random(len(rows)) < 0.015]
    all_rows = np.concatenate([rows, dup_src])
    n, nd = len(all_rows), len(dup_src)
    created = np.concatenate(
        [created, before(created[np.searchsorted(rows, dup_src)] + np.timedelta64(30 * MS_PER_DAY, "ms"), ctx.clock)]
    )
    acct = per["acct"][all_rows]
    owner = ctx.ids["user"][np.where(acct >= 0, acc["owner"][np.maximum(acct, 0)], 0)]
    cols = _system(ctx, created, rng, owner)
    email = wire_email(rng, per["email"][all_rows])
    email[len(rows) :] = np.array(
        [e.upper() if i % 2 else e for i, e in enumerate(per["email"][dup_src])], dtype=object
    )
    ids = np.concatenate([ctx.ids["person_sf"][rows], sf_ids("Contact", len(per["acct"]) + 1 + np.arange(nd))])
    is_dup = np.arange(n) >= len(rows)
    _soft_delete(ctx, cols, pick(rng, is_dup, 0.5), rng)
    # a mass update: thousands of contacts share one SystemModstamp millisecond
    mass_ts = ctx.clock - np.timedelta64(3 * MS_PER_DAY + 4_212_345, "ms")
    mass = (~cols["IsDeleted"]) & (created < mass_ts) & (rng.random(n) < min(0.3, 3000 / max(n, 1) * 1.5))
    for key in ("LastModifiedDate", "SystemModstamp"):
        arr = np.array(cols[key])
        arr[mass] = mass_ts
        cols[key] = arr
    first, last = per["first"][all_rows], per["last"][all_rows]
    cols.update(
        {
            "Id": ids,
            "AccountId": nullable(ctx.ids["account_sf"][np.maximum(acct, 0)], acct >= 0),
            "FirstName": first,
            "LastName": last,
            "Name": np.char.add(np.char.add(first, " "), last),
            "Title": per["title"][all_rows],
            "Email": email,
            "Phone": [f"+1 555 {i % 10_000:04d}" for i in range(n)],
            "LeadSource": np.array(["Web", "Partner Referral", "Other"])[rng.integers(0, 3, n)],
            "OwnerId": owner,
            "MailingCountry": np.where(acct >= 0, acc["country"][np.maximum(acct, 0)], ""),
            "HasOptedOutOfEmail": rng.random(n) < 0.05,
        }
    )
    _put(ctx, "Contact", cols)


# ---- opportunities ----------------------------------------------------------------------------


def opportunities(ctx: Ctx) -> None:
    rng = ctx.rng(6)
    m = ctx.model
    opp = m.opps
    rows = np.flatnonzero(~opp["hs"])
    n = len(rows)
    acct = opp["acct"][rows]
    acc = ctx.accounts
    kind = opp["kind"][rows]
    won, closed = opp["won"][rows], opp["closed"][rows]
    created = before(day_to_ms(opp["created"][rows], rng), ctx.clock)
    close_ms = day_to_ms(opp["close"][rows], rng)
    owner = ctx.ids["user"][acc["owner"][acct]]
    cols = _system(ctx, created, rng, owner)
    # closing an opportunity modifies it
    last = np.where(closed, np.maximum(cols["LastModifiedDate"], before(close_ms, ctx.clock)), cols["LastModifiedDate"])
    cols["LastModifiedDate"] = last
    cols["SystemModstamp"] = np.maximum(cols["SystemModstamp"], last)
    open_stage = np.array(_OPEN_STAGES)[rng.integers(0, len(_OPEN_STAGES), n)]
    stage = np.where(won, "Closed Won", np.where(closed, "Closed Lost", open_stage))
    prob = np.array([_STAGE_PROB[s] for s in stage], dtype=float)
    fc = np.array([_STAGE_FC[s] for s in stage])
    amount = opp["amount"][rows]
    types = np.array([KIND_SF_TYPE.get(k, "") for k in kind], dtype=object)
    prospect = acc["health"][acct] == 0
    other = np.array(["New Business", "Renewal", "Upsell", "Existing Customer - Upgrade"])[rng.integers(0, 4, n)]
    types = np.where(types == "", np.where(prospect, "New Business", other), types)
    # dirt: a few opportunities without a Type, but never a Renewal - the Type is the only record that
    # tells a renewal (which supersedes the running lines of its products) from an add-on (which stacks)
    type_null = (rng.random(n) < 0.03) & (kind != "renewal")
    lost = kind == "lost"
    deleted = pick(rng, lost, 0.03)
    _soft_delete(ctx, cols, deleted, rng)
    # MEDDIC: filled more often as deals progress; the people fields point at contacts of the account
    per_off, per_cnt = ctx.persons["offsets"][acct], ctx.persons["counts"][acct]
    champion = ctx.ids["person_sf"][per_off + (rng.random(n) * per_cnt).astype(np.int64)]
    econ = ctx.ids["person_sf"][per_off + (rng.random(n) * per_cnt).astype(np.int64)]
    fill = np.where(won, 0.7, np.where(closed, 0.3, 0.5))
    meddic = {name: rng.random(n) < fill for name in ("m", "e", "dc", "dp", "ip", "c")}
    names = np.array(
        [
            f"{a} - {t or 'Deal'} {str(d)[:4]}"
            for a, t, d in zip(acc["name"][acct], types, opp["close"][rows], strict=True)
        ]
    )
    has_line = np.zeros(len(opp["acct"]), dtype=bool)
    has_line[m.lines["opp"]] = True
    cols.update(
        {
            "Id": ctx.ids["opp_sf"][rows],
            "AccountId": ctx.ids["account_sf"][acct],
            "Name": names,
            "StageName": stage,
            "Amount": pa.array(amount, from_pandas=True),
            "Probability": prob,
            "ExpectedRevenue": pa.array(amount * prob / 100, from_pandas=True),
            "CloseDate": opp["close"][rows],
            "IsClosed": closed,
            "IsWon": won,
            "Type": nullable(types.astype(str), ~type_null),
            "ForecastCategory": fc,
            "ForecastCategoryName": np.array([_FC_NAME[f] for f in fc]),
            "OwnerId": owner,
            "Pricebook2Id": np.full(n, ctx.ids["pricebook"]),
            "HasOpportunityLineItem": has_line[rows],
            "CurrencyIsoCode": opp["currency"][rows],
            "FiscalYear": opp["close"][rows].astype("datetime64[Y]").astype(int) + 1970,
            "FiscalQuarter": (opp["close"][rows].astype("datetime64[M]").astype(int) % 12) // 3 + 1,
            "LastStageChangeDate": np.where(closed, last, created),
            "MEDDIC_Metrics__c": nullable(np.array(_MEDDIC_METRICS)[rng.integers(0, 4, n)], meddic["m"]),
            "MEDDIC_Economic_Buyer__c": nullable(econ, meddic["e"]),
            "MEDDIC_Decision_Criteria__c": nullable(np.array(_MEDDIC_CRITERIA)[rng.integers(0, 4, n)], meddic["dc"]),
            "MEDDIC_Decision_Process__c": nullable(np.array(_MEDDIC_PROCESS)[rng.integers(0, 3, n)], meddic["dp"]),
            "MEDDIC_Identify_Pain__c": nullable(np.array(_MEDDIC_PAIN)[rng.integers(0, 4, n)], meddic["ip"]),
            "MEDDIC_Champion__c": nullable(champion, meddic["c"]),
        }
    )
    _put(ctx, "Opportunity", cols)
    deleted_all = np.zeros(len(opp["acct"]), dtype=bool)
    deleted_all[rows] = np.asarray(cols["IsDeleted"])
    ctx.facts["opp_deleted"] = deleted_all
    ctx.facts["opp_sf_rows"] = rows
    ctx.facts["opp_sf_created"] = created
    ctx.facts["opp_sf_close_ms"] = close_ms
    ctx.facts["opp_sf_stage"] = stage
    opp_mod = np.asarray(cols["SystemModstamp"])
    ctx.facts["opp_sf_mod"] = opp_mod
    _history(ctx, rows, created, close_ms, stage, amount, deleted_all[rows], opp_mod)
    _contact_roles(ctx, rows, created, deleted_all[rows], opp_mod)
    _contracts(ctx, rows, created)


def _history(
    ctx: Ctx,
    rows: np.ndarray,
    created: np.ndarray,
    close_ms: np.ndarray,
    stage: np.ndarray,
    amount: np.ndarray,
    deleted: np.ndarray,
    opp_mod: np.ndarray,
) -> None:
    """OpportunityHistory: one row per stage the opportunity entered (insert-only)."""
    rng = ctx.rng(7)
    m = ctx.model
    n = len(rows)
    final_idx = np.array([_OPEN_STAGES.index(s) if s in _OPEN_STAGES else 8 for s in stage])
    closed = m.opps["closed"][rows]
    n_open = np.where(closed, rng.integers(1, 4, n), np.minimum(final_idx + 1, rng.integers(1, 4, n)))
    k = n_open + closed.astype(np.int64)
    opp_of = np.repeat(np.arange(n), k)
    pos = np.arange(len(opp_of)) - np.repeat(np.cumsum(k) - k, k)
    last_pos = (k - 1)[opp_of]
    is_final = pos == last_pos
    # open stages climb towards the final stage
    top = np.where(closed, 7, final_idx)[opp_of]
    denom = np.maximum(n_open[opp_of] - 1, 1)
    open_stage_idx = np.where(n_open[opp_of] == 1, np.minimum(top, 0 + (top > 0) * 0), (pos * top) // denom)
    hist_stage = np.where(
        is_final & closed[opp_of], stage[opp_of], np.array(_OPEN_STAGES)[np.minimum(open_stage_idx, 7)]
    )
    hist_stage = np.where(is_final & ~closed[opp_of], stage[opp_of], hist_stage)
    end = np.where(
        closed,
        np.minimum(close_ms, ctx.clock - np.timedelta64(2, "s")),
        ctx.clock - np.timedelta64(2 * MS_PER_DAY, "ms"),
    )
    end = np.maximum(end, created)
    span = (end - created).astype(np.int64)
    frac = np.where(is_final, 1.0, pos / np.maximum(k[opp_of], 1))
    stamp = created[opp_of] + (span[opp_of] * frac).astype("timedelta64[ms]")
    stamp = before(stamp, ctx.clock)
    prob = np.array([_STAGE_PROB[s] for s in hist_stage], dtype=float)
    amt = amount[opp_of]
    tot = len(opp_of)
    opp_ids = ctx.ids["opp_sf"][rows][opp_of]
    # rows deleted with their opportunity carry its deletion stamp
    mod = np.where(deleted[opp_of], opp_mod[opp_of], stamp)
    cols = {
        "Id": sf_ids("OpportunityHistory", np.arange(1, tot + 1)),
        "IsDeleted": deleted[opp_of],
        "CreatedDate": stamp,
        "CreatedById": np.full(tot, ctx.ids["user"][0]),
        "SystemModstamp": mod,
        "OpportunityId": opp_ids,
        "StageName": hist_stage,
        "Amount": pa.array(amt, from_pandas=True),
        "ExpectedRevenue": pa.array(amt * prob / 100, from_pandas=True),
        "CloseDate": m.opps["close"][rows][opp_of],
        "Probability": prob,
        "ForecastCategory": np.array([_STAGE_FC[s] for s in hist_stage]),
        "CurrencyIsoCode": m.opps["currency"][rows][opp_of],
    }
    _put(ctx, "OpportunityHistory", cols)


def _contact_roles(ctx: Ctx, rows: np.ndarray, created: np.ndarray, deleted: np.ndarray, opp_mod: np.ndarray) -> None:
    rng = ctx.rng(8)
    m = ctx.model
    per = ctx.persons
    n = len(rows)
    acct = m.opps["acct"][rows]
    cnt = per["counts"][acct]
    k = np.minimum(rng.choice(np.array([0, 1, 2, 3]), n, p=(0.25, 0.3, 0.25, 0.2)), cnt)
    k = np.where(m.opps["kind"][rows] == "lineless", 0, k)
    opp_of = np.repeat(np.arange(n), k)
    pos = np.arange(len(opp_of)) - np.repeat(np.cumsum(k) - k, k)
    start = rng.integers(0, 1 << 30, n)
    person = per["offsets"][acct][opp_of] + (start[opp_of] + pos) % cnt[opp_of]
    tot = len(opp_of)
    role_idx = rng.choice(len(sfs.OCR_ROLES), tot, p=OCR_ROLE_P)
    owner = ctx.ids["user"][ctx.accounts["owner"][acct[opp_of]]]
    c = before(created[opp_of] + np.timedelta64(3_600_000, "ms"), ctx.clock)
    cols = _system(ctx, c, rng, owner, p_modified=0.2)
    cols["IsDeleted"] = deleted[opp_of]  # OCRs are "deleted" only with their opportunity
    gone = cols["IsDeleted"]
    for key in ("LastModifiedDate", "SystemModstamp"):
        cols[key] = np.where(gone, np.maximum(opp_mod[opp_of], cols["CreatedDate"]), cols[key])
    cols.update(
        {
            "Id": sf_ids("OpportunityContactRole", np.arange(1, tot + 1)),
            "OpportunityId": ctx.ids["opp_sf"][rows][opp_of],
            "ContactId": ctx.ids["person_sf"][person],
            "Role": nullable(np.array(sfs.OCR_ROLES)[role_idx], rng.random(tot) > 0.04),
            "IsPrimary": pos == 0,
            "CurrencyIsoCode": m.opps["currency"][rows][opp_of],
        }
    )
    _put(ctx, "OpportunityContactRole", cols)
    ctx.facts["ocr"] = {
        "acct": acct[opp_of],
        "role": np.asarray(cols["Role"].fill_null("").to_numpy(zero_copy_only=False)),
        "deleted": cols["IsDeleted"],
    }


def _contracts(ctx: Ctx, rows: np.ndarray, created: np.ndarray) -> None:
    rng = ctx.rng(9)
    m = ctx.model
    lines = m.lines
    kind = m.opps["kind"][rows]
    keep = ((kind == "new") | (kind == "renewal")) & m.opps["won"][rows]
    sel = rows[keep]
    first_line = {}
    for i, o in enumerate(lines["opp"].tolist()):
        first_line.setdefault(o, i)
    li = np.array([first_line[o] for o in sel.tolist()], dtype=np.int64)
    n = len(sel)
    start = lines["start"][li]
    term = lines["term"][li]
    c = before(np.maximum(created[keep], day_to_ms(m.opps["close"][sel], rng)), ctx.clock)
    owner = ctx.ids["user"][ctx.accounts["owner"][m.opps["acct"][sel]]]
    cols = _system(ctx, c, rng, owner, p_modified=0.3)
    end = np.array([np.datetime64(s, "M") + t for s, t in zip(start, term, strict=True)], dtype="datetime64[D]")
    end = end + (start - start.astype("datetime64[M]").astype("datetime64[D]")) - 1
    expired = end < np.datetime64(ctx.as_of, "D")
    cols.update(
        {
            "Id": sf_ids("Contract", np.arange(1, n + 1)),
            "AccountId": ctx.ids["account_sf"][m.opps["acct"][sel]],
            "ContractNumber": [f"{i:08d}" for i in range(1, n + 1)],
            "StartDate": start,
            "ContractTerm": term,
            "EndDate": end,
            "Status": "Activated",
            "StatusCode": np.where(expired, "Expired", "Activated"),
            "OwnerId": owner,
            "ActivatedDate": c,
            "CustomerSignedDate": m.opps["close"][sel],
            "CurrencyIsoCode": m.opps["currency"][sel],
        }
    )
    _put(ctx, "Contract", cols)


def line_items(ctx: Ctx) -> None:
    rng = ctx.rng(10)
    m = ctx.model
    lines = m.lines
    rows = np.flatnonzero(~m.opps["hs"][lines["opp"]])
    n = len(rows)
    opp = lines["opp"][rows]
    prod = lines["product"][rows]
    cur_idx = np.searchsorted(np.array(CURRENCIES), m.opps["currency"][opp], sorter=np.argsort(CURRENCIES))
    cur_idx = np.argsort(CURRENCIES)[cur_idx]
    opp_pos = np.searchsorted(ctx.facts["opp_sf_rows"], opp)
    created = before(
        ctx.facts["opp_sf_created"][opp_pos] + rng.integers(60_000, 3 * MS_PER_DAY, n).astype("timedelta64[ms]"),
        ctx.clock,
    )
    owner = ctx.ids["user"][ctx.accounts["owner"][lines["acct"][rows]]]
    cols = _system(ctx, created, rng, owner, p_modified=0.2)
    gone = ctx.facts["opp_deleted"][opp]
    cols["IsDeleted"] = gone
    for key in ("LastModifiedDate", "SystemModstamp"):
        cols[key] = np.where(gone, np.maximum(ctx.facts["opp_sf_mod"][opp_pos], created), cols[key])
    recurring = np.array([PRODUCTS[p][3] for p in prod])
    cols.update(
        {
            "Id": ctx.ids["line_sf"][rows],
            "OpportunityId": ctx.ids["opp_sf"][opp],
            "PricebookEntryId": ctx.ids["pbe"][prod, cur_idx],
            "Product2Id": ctx.ids["product"][prod],
            "ProductCode": np.array([p[1] for p in PRODUCTS])[prod],
            "Name": np.array([p[0] for p in PRODUCTS])[prod],
            "Quantity": lines["qty"][rows].astype(float),
            "UnitPrice": lines["unit_price"][rows],
            "ListPrice": ctx.facts["pbe_price"][prod, cur_idx],
            "TotalPrice": lines["total"][rows],
            "ServiceDate": lines["start"][rows],
            "SortOrder": np.zeros(n, dtype=np.int64),
            "CurrencyIsoCode": m.opps["currency"][opp],
            "Term_Months__c": nullable(lines["term"][rows].astype(float), recurring),
        }
    )
    _put(ctx, "OpportunityLineItem", cols)
