"""Render the model as HubSpot objects and associations, one object type at a time."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from connectors.simulator.dataset import schema_hubspot as hss
from connectors.simulator.dataset.context import Ctx
from connectors.simulator.dataset.firmographics import messy_website
from connectors.simulator.dataset.ids import hs_ids
from connectors.simulator.dataset.model import HS_FREQ_MONTHS, PRODUCTS, SHARED
from connectors.simulator.dataset.people import wire_email
from connectors.simulator.dataset.store import sf_format_datetime
from connectors.simulator.dataset.wire import (
    MS_PER_DAY,
    associations,
    audit_stamps,
    before,
    bools,
    day_to_ms,
    hs_date,
    hs_datetime,
    integers,
    money,
    nullable,
    pick,
    recent_stamps,
)

_MIRROR_FREQ = {1: "monthly", 12: "annually", 24: "per_two_years", 36: "per_three_years"}
_LABELS = tuple(hss.DEAL_CONTACT_LABELS)


def _base(
    ids: np.ndarray,
    created: np.ndarray,
    updated: np.ndarray,
    archived: np.ndarray | None = None,
    archived_at: np.ndarray | None = None,
) -> dict[str, object]:
    n = len(ids)
    if archived is None:
        archived = np.zeros(n, dtype=bool)
    at = pa.nulls(n, pa.timestamp("ms")) if archived_at is None else nullable(archived_at, archived)
    return {"id": ids, "createdAt": created, "updatedAt": updated, "archived": archived, "archivedAt": at}


def _archive(
    ctx: Ctx, rng: np.random.Generator, mask: np.ndarray, created: np.ndarray, updated: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mask = mask & (created < ctx.clock - np.timedelta64(16 * MS_PER_DAY, "ms"))
    at = np.array(updated)
    at[mask] = recent_stamps(rng, int(mask.sum()), ctx.clock)
    return mask, at, np.where(mask, at, updated)


def _put(ctx: Ctx, object_type: str, cols: dict[str, object]) -> None:
    n = len(cols["id"])
    table = pa.table(
        {
            k: v if isinstance(v, pa.Array) else pa.array(v if not isinstance(v, str) else [v] * n)
            for k, v in cols.items()
        }
    )
    ctx.ds.put_hs(object_type, table, [p["name"] for p in ctx.ds.hs_properties[object_type]])


def owners(ctx: Ctx) -> None:
    u = ctx.facts["users"]
    n = len(u["email"])
    owner_ids = np.array([str(41_000_000 + 7 * i + 3) for i in range(n)])
    created = [sf_format_datetime(t.astype("datetime64[ms]").item()).replace("+0000", "Z") for t in u["created"]]
    ctx.ds.hs_owners = [
        hss.owner(
            owner_ids[i],
            9_000_000 + i,
            str(u["email"][i]),
            str(u["first"][i]),
            str(u["last"][i]),
            created[i],
            created[i],
            "Sales" if i else "Operations",
            archived=not bool(u["active"][i]),
        )
        for i in range(n)
    ]
    ctx.ids["owner"] = owner_ids


def products(ctx: Ctx) -> None:
    rng = ctx.rng(20)
    n = len(PRODUCTS)
    ids = hs_ids("products", np.arange(1, n + 1))
    created = day_to_ms(np.full(n, np.datetime64(ctx.model.hist_start, "D") - 90), rng)
    cs = hs_datetime(created)
    _put(
        ctx,
        "products",
        {
            **_base(ids, created, created),
            "hs_object_id": ids,
            "createdate": cs,
            "hs_lastmodifieddate": cs,
            "name": [p[0] for p in PRODUCTS],
            "hs_sku": [p[1] for p in PRODUCTS],
            "price": money(np.array([p[4] for p in PRODUCTS])),
            "recurringbillingfrequency": pa.array([("monthly" if p[3] else None) for p in PRODUCTS]),
            "hs_product_type": ["service"] * n,
            "product_family": [p[2] for p in PRODUCTS],
        },
    )
    ctx.ids["hs_product"] = ids


def companies(ctx: Ctx) -> None:
    rng = ctx.rng(21)
    acc = ctx.accounts
    rows = np.flatnonzero(acc["system"] != 0)  # shared + hubspot-only
    dup_src = rows[rng.random(len(rows)) < 0.02]
    all_rows = np.concatenate([rows, dup_src])
    n, nd = len(all_rows), len(dup_src)
    n_acc = len(acc["system"])
    ids = np.concatenate([ctx.ids["company"][rows], hs_ids("companies", n_acc + 1 + np.arange(nd))])
    shared = acc["system"][all_rows] == SHARED
    lag = np.where(shared, rng.integers(0, 30 * MS_PER_DAY, n), 0).astype("timedelta64[ms]")
    created = before(acc["created_ms"][all_rows] + lag, ctx.clock)
    created[len(rows) :] = before(created[len(rows) :] + np.timedelta64(40 * MS_PER_DAY, "ms"), ctx.clock)
    updated, _ = audit_stamps(rng, created, ctx.clock)
    is_dup = np.arange(n) >= len(rows)
    archived, archived_at, updated = _archive(ctx, rng, pick(rng, is_dup, 0.1), created, updated)
    link_prop = shared & ~is_dup & (rng.random(n) < 0.8)
    sf_id = ctx.ids["account_sf"][all_rows]
    domain = acc["domain"][all_rows].astype(str)
    domain = np.where(rng.random(n) < 0.1, np.char.add("www.", domain), domain)
    health = acc["health"][all_rows]
    owner = ctx.ids["owner"][acc["owner"][all_rows]]
    names = acc["name"][all_rows].copy()
    names[len(rows) :] = np.char.upper(names[len(rows) :].astype(str))
    _put(
        ctx,
        "companies",
        {
            **_base(ids, created, updated, archived, archived_at),
            "hs_object_id": ids,
            "createdate": hs_datetime(created),
            "hs_lastmodifieddate": hs_datetime(updated),
            "hubspot_owner_id": owner,
            "name": names,
            "domain": domain,
            "website": messy_website(rng, acc["domain"][all_rows]),
            "industry": np.array(hss.INDUSTRY_CODES)[acc["industry"][all_rows]],
            "annualrevenue": money(acc["revenue"][all_rows], 0),
            "numberofemployees": integers(acc["employees"][all_rows]),
            "lifecyclestage": np.where(health == 0, "salesqualifiedlead", "customer"),
            "type": np.where(health == 0, "PROSPECT", "OTHER"),
            "country": acc["country"][all_rows],
            "salesforceaccountid": nullable(sf_id, link_prop),
        },
    )
    ctx.facts["hs_dup_companies"] = (ids[len(rows) :], dup_src, archived[len(rows) :])
    ctx.facts["hs_link_prop"] = dict(zip(rows.tolist(), link_prop[: len(rows)].tolist(), strict=True))
    # parent/child companies (both ends in HubSpot)
    parent = acc["parent"][rows]
    has = (parent >= 0) & (acc["system"][np.maximum(parent, 0)] != 0)
    child_ids, parent_ids = ctx.ids["company"][rows[has]], ctx.ids["company"][parent[has]]
    ctx.ds.put_associations(associations("companies", "companies", parent_ids, child_ids, 13))
    ctx.ds.put_associations(associations("companies", "companies", child_ids, parent_ids, 14))


def contacts(ctx: Ctx) -> None:
    rng = ctx.rng(22)
    per = ctx.persons
    acc = ctx.accounts
    rows = np.flatnonzero(per["has_hs"])
    n = len(rows)
    acct = per["acct"][rows]
    base = np.where(acct >= 0, acc["created_ms"][np.maximum(acct, 0)], np.datetime64(ctx.model.hist_start, "ms"))
    span = (ctx.clock - base).astype(np.int64)
    created = before(base + (span * rng.random(n) ** 3 * 0.9).astype("timedelta64[ms]"), ctx.clock)
    updated, _ = audit_stamps(rng, created, ctx.clock)
    archived, archived_at, updated = _archive(ctx, rng, pick(rng, acct < 0, 0.2), created, updated)
    ids = ctx.ids["person_hs"][rows]
    company = nullable(ctx.ids["company"][np.maximum(acct, 0)], acct >= 0)
    shared = (acct >= 0) & (acc["system"][np.maximum(acct, 0)] == SHARED)
    owner = ctx.ids["owner"][np.where(acct >= 0, acc["owner"][np.maximum(acct, 0)], 0)]
    _put(
        ctx,
        "contacts",
        {
            **_base(ids, created, updated, archived, archived_at),
            "hs_object_id": ids,
            "createdate": hs_datetime(created),
            "lastmodifieddate": hs_datetime(updated),
            "hubspot_owner_id": owner,
            "email": wire_email(rng, per["email"][rows]),
            "firstname": per["first"][rows],
            "lastname": per["last"][rows],
            "jobtitle": per["title"][rows],
            "associatedcompanyid": company,
            "lifecyclestage": np.where(acct >= 0, "customer", "lead"),
            "hs_buying_role": nullable(per["buying_role"][rows].astype(str), per["buying_role"][rows] != ""),
            "salesforcecontactid": nullable(ctx.ids["person_sf"][rows], shared & per["has_sf"][rows]),
        },
    )
    linked = acct >= 0
    cids, coids = ids[linked], ctx.ids["company"][acct[linked]]
    for from_t, to_t, f, t, type_id in (
        ("contacts", "companies", cids, coids, 279),
        ("contacts", "companies", cids, coids, 1),
        ("companies", "contacts", coids, cids, 280),
        ("companies", "contacts", coids, cids, 2),
    ):
        ctx.ds.put_associations(
            associations(from_t, to_t, f, t, type_id, label="Primary" if type_id in (1, 2) else None)
        )
    # a duplicate company holds one of its account's contacts
    dup_ids, dup_src, _ = ctx.facts["hs_dup_companies"]
    if len(dup_ids):
        first_person = per["offsets"][dup_src]
        ok = per["has_hs"][first_person]
        f, t = ctx.ids["person_hs"][first_person[ok]], dup_ids[ok]
        ctx.ds.put_associations(associations("contacts", "companies", f, t, 279))
        ctx.ds.put_associations(associations("companies", "contacts", t, f, 280))
    ctx.facts["hs_contact_roles"] = {"acct": acct, "role": per["buying_role"][rows], "archived": archived}


def deals(ctx: Ctx) -> None:
    rng = ctx.rng(23)
    m = ctx.model
    opp = m.opps
    acc = ctx.accounts
    sys_of = acc["system"][opp["acct"]]
    mirror = (sys_of == SHARED) & ~ctx.facts["opp_deleted"] & (rng.random(len(sys_of)) < 0.9)
    rows = np.flatnonzero(opp["hs"] | mirror)
    n = len(rows)
    is_mirror = mirror[rows]
    acct = opp["acct"][rows]
    created = before(day_to_ms(opp["created"][rows], rng), ctx.clock)
    sf_pos = np.searchsorted(ctx.facts["opp_sf_rows"], rows)
    sf_pos = np.minimum(sf_pos, len(ctx.facts["opp_sf_rows"]) - 1)
    sync_lag = rng.integers(60_000, 3_600_000, n).astype("timedelta64[ms]")
    created = np.where(is_mirror, before(ctx.facts["opp_sf_created"][sf_pos] + sync_lag, ctx.clock), created)
    close_ms = day_to_ms(opp["close"][rows], rng)
    close_ms = np.where(is_mirror, ctx.facts["opp_sf_close_ms"][sf_pos], close_ms)
    won, closed = opp["won"][rows], opp["closed"][rows]
    updated, _ = audit_stamps(rng, created, ctx.clock)
    updated = np.where(closed, np.maximum(updated, before(close_ms, ctx.clock)), updated)
    archived, archived_at, updated = _archive(
        ctx, rng, pick(rng, ~is_mirror & (opp["kind"][rows] == "lost"), 0.03), created, updated
    )
    open_ids = np.array([s[0] for s in hss.DEAL_STAGES[:5]])
    stage = np.where(won, "closedwon", np.where(closed, "closedlost", open_ids[rng.integers(0, 5, n)]))
    prob = {s[0]: s[2] for s in hss.DEAL_STAGES}
    amount = opp["amount"][rows]
    fx = opp["fx"][rows]
    kind = opp["kind"][rows]
    # "renewal" is the portal's own dealtype option: existingbusiness alone cannot tell a renewal (which
    # supersedes the running lines of its products) from a mid-term add-on (which stacks)
    dealtype = np.where(
        ((kind == "new") | (kind == "pilot")) | (acc["health"][acct] == 0),
        "newbusiness",
        np.where(kind == "renewal", "renewal", "existingbusiness"),
    )
    # HubSpot's deal-level recurring totals ignore line start dates: the documented trap
    lines = m.lines
    mrr_by_opp = np.bincount(lines["opp"], weights=lines["mrr"], minlength=len(opp["acct"]))
    ids = ctx.ids["deal"][rows]
    has_mrr = mrr_by_opp[rows] > 0
    _put(
        ctx,
        "deals",
        {
            **_base(ids, created, updated, archived, archived_at),
            "hs_object_id": ids,
            "createdate": hs_datetime(created),
            "hs_lastmodifieddate": hs_datetime(updated),
            "hubspot_owner_id": ctx.ids["owner"][acc["owner"][acct]],
            "dealname": np.char.add(acc["name"][acct].astype(str), np.where(won, " - Closed deal", " - Deal")),
            "amount": money(amount),
            "dealstage": stage,
            "pipeline": "default",
            "closedate": hs_datetime(close_ms),
            "dealtype": dealtype,
            "deal_currency_code": opp["currency"][rows],
            "amount_in_home_currency": money(amount / fx, 6),
            "hs_is_closed": bools(closed),
            "hs_is_closed_won": bools(won),
            "hs_deal_stage_probability": np.array([prob[s] for s in stage]),
            "hs_closed_amount": money(np.where(won, amount, np.nan)),
            "hs_mrr": nullable(np.array(money(mrr_by_opp[rows]), dtype=object), has_mrr),
            "hs_arr": nullable(np.array(money(mrr_by_opp[rows] * 12), dtype=object), has_mrr),
            "hs_salesforceopportunityid": nullable(ctx.ids["opp_sf"][rows], is_mirror),
        },
    )
    co = ctx.ids["company"][acct]
    for f, t, ft, tt, tid, label in (
        (ids, co, "deals", "companies", 341, None),
        (ids, co, "deals", "companies", 5, "Primary"),
        (co, ids, "companies", "deals", 342, None),
        (co, ids, "companies", "deals", 6, "Primary"),
    ):
        ctx.ds.put_associations(associations(ft, tt, f, t, tid, label=label))
    # deal <-> contact, some with stakeholder labels
    per = ctx.persons
    cnt = per["counts"][acct]
    k = np.minimum(rng.integers(0, 4, n), cnt)
    deal_of = np.repeat(np.arange(n), k)
    pos = np.arange(len(deal_of)) - np.repeat(np.cumsum(k) - k, k)
    person = per["offsets"][acct][deal_of] + (rng.integers(0, 1 << 30, n)[deal_of] + pos) % cnt[deal_of]
    ok = per["has_hs"][person]
    deal_of, person = deal_of[ok], person[ok]
    d_ids, c_ids = ids[deal_of], ctx.ids["person_hs"][person]
    ctx.ds.put_associations(associations("deals", "contacts", d_ids, c_ids, 3))
    ctx.ds.put_associations(associations("contacts", "deals", c_ids, d_ids, 4))
    labelled = rng.random(len(deal_of)) < 0.4
    lab = rng.integers(0, len(_LABELS), len(deal_of))
    for li, name in enumerate(_LABELS):
        sel = labelled & (lab == li)
        fwd, back = hss.DEAL_CONTACT_LABELS[name]
        ctx.ds.put_associations(associations("deals", "contacts", d_ids[sel], c_ids[sel], fwd, "USER_DEFINED", name))
        ctx.ds.put_associations(associations("contacts", "deals", c_ids[sel], d_ids[sel], back, "USER_DEFINED", name))
    ctx.facts["hs_labels"] = {
        "acct": acct[deal_of][labelled],
        "label": np.array(_LABELS)[lab[labelled]],
        "archived": archived[deal_of][labelled],
    }
    ctx.facts["deal_rows"], ctx.facts["deal_archived"] = rows, archived
    ctx.facts["deal_created"] = created


def line_items(ctx: Ctx) -> None:
    rng = ctx.rng(24)
    m = ctx.model
    lines = m.lines
    deal_rows = ctx.facts["deal_rows"]
    in_deal = np.zeros(len(m.opps["acct"]), dtype=bool)
    in_deal[deal_rows] = True
    rows = np.flatnonzero(in_deal[lines["opp"]])
    n = len(rows)
    opp = lines["opp"][rows]
    mirrored = ~m.opps["hs"][opp]
    prod = lines["product"][rows]
    recurring = np.array([PRODUCTS[p][3] for p in prod])
    term = lines["term"][rows]
    freq = np.where(mirrored, np.array([_MIRROR_FREQ.get(int(t), "annually") for t in term]), lines["freq"][rows])
    freq = np.where(recurring, freq, "")
    dpos = np.searchsorted(deal_rows, opp)
    created = before(
        ctx.facts["deal_created"][dpos] + rng.integers(60_000, MS_PER_DAY, n).astype("timedelta64[ms]"), ctx.clock
    )
    updated, _ = audit_stamps(rng, created, ctx.clock, p_modified=0.15)
    archived = ctx.facts["deal_archived"][dpos]
    _, archived_at, _ = _archive(ctx, rng, np.zeros(n, dtype=bool), created, updated)
    ids = ctx.ids["line_hs"][rows]
    amount = lines["total"][rows]
    mpp = np.array([HS_FREQ_MONTHS.get(f, {"per_two_years": 24, "per_three_years": 36}.get(f, 1)) for f in freq])
    mrr = np.where(recurring, amount / mpp, np.nan)
    start = lines["start"][rows]
    end = lines["start"][rows].astype("datetime64[M]")
    end_d = (
        np.array([np.datetime64(e + t, "D") for e, t in zip(end, term, strict=True)])
        + (start - start.astype("datetime64[M]").astype("datetime64[D]"))
        - 1
    )
    _put(
        ctx,
        "line_items",
        {
            **_base(ids, created, updated, archived, np.where(archived, updated, updated)),
            "hs_object_id": ids,
            "createdate": hs_datetime(created),
            "hs_lastmodifieddate": hs_datetime(updated),
            "name": np.array([p[0] for p in PRODUCTS])[prod],
            "hs_product_id": ctx.ids["hs_product"][prod],
            "hs_sku": np.array([p[1] for p in PRODUCTS])[prod],
            "quantity": integers(lines["qty"][rows]),
            "price": money(lines["unit_price"][rows]),
            "amount": money(amount),
            "hs_line_item_currency_code": m.opps["currency"][opp],
            "recurringbillingfrequency": nullable(freq, recurring),
            "hs_recurring_billing_start_date": nullable(
                np.asarray(hs_date(start).to_numpy(zero_copy_only=False)), recurring
            ),
            "hs_recurring_billing_end_date": nullable(
                np.asarray(hs_date(end_d).to_numpy(zero_copy_only=False)), recurring
            ),
            "hs_term_in_months": nullable(np.array(integers(term)), recurring),
            "hs_recurring_billing_period": nullable(np.char.add(np.char.add("P", term.astype(str)), "M"), recurring),
            "hs_mrr": pa.array(money(mrr)),
            "hs_arr": pa.array(money(mrr * 12)),
            "hs_tcv": pa.array(money(np.where(recurring, mrr * term, amount))),
        },
    )
    del archived_at
    d_ids = ctx.ids["deal"][opp]
    ctx.ds.put_associations(associations("deals", "line_items", d_ids, ids, 19))
    ctx.ds.put_associations(associations("line_items", "deals", ids, d_ids, 20))
