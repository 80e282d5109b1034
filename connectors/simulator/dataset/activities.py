"""Activities (SF Task/Event, HubSpot calls/emails/meetings/notes/tasks), generated fully vectorised.

Intensity follows account health: growing accounts get more touches, later in their life;
churning accounts get fewer, fading towards the churn date; prospects get few.
Some HubSpot emails/calls of shared accounts are mirrored into SF Tasks (same time, subject, person).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from connectors.simulator.dataset import schema_salesforce as sfs
from connectors.simulator.dataset.context import Ctx
from connectors.simulator.dataset.model import SF_ONLY, SHARED
from connectors.simulator.dataset.render_hs import _base
from connectors.simulator.dataset.render_hs import _put as put_hs
from connectors.simulator.dataset.render_sf import _table
from connectors.simulator.dataset.wire import (
    MS_PER_DAY,
    append_sf,
    associations,
    hs_datetime,
    nullable,
    recent_stamps,
    take,
)

TASK_CHUNK = 250_000
_HEALTH_WEIGHT = np.array([0.35, 1.0, 1.6, 0.7])
_SUBJECTS = np.array(
    [
        "Intro call",
        "Discovery call",
        "Follow-up",
        "Pricing discussion",
        "Demo",
        "QBR",
        "Renewal check-in",
        "Onboarding session",
        "Security questionnaire",
        "Proposal sent",
        "Executive briefing",
        "Usage review",
        "Support escalation",
        "Contract redlines",
    ]
)
# object types: 0 Task, 1 Event, 2 calls, 3 emails, 4 meetings, 5 notes, 6 tasks
SF_TYPES, HS_TYPES = (0, 1), (2, 3, 4, 5, 6)
_HS_NAMES = {2: "calls", 3: "emails", 4: "meetings", 5: "notes", 6: "tasks"}
_ENG_TYPE_IDS = {
    "calls": (181, 182, 193, 194, 205, 206),
    "emails": (185, 186, 197, 198, 209, 210),
    "meetings": (187, 188, 199, 200, 211, 212),
    "notes": (189, 190, 201, 202, 213, 214),
    "tasks": (191, 192, 203, 204, 215, 216),
}


def plan(ctx: Ctx) -> dict[str, np.ndarray]:
    """Who/when/what of every activity, as compact numpy columns."""
    rng = ctx.rng(30)
    acc = ctx.accounts
    per = ctx.persons
    n_acc = len(acc["system"])
    w = _HEALTH_WEIGHT[acc["health"]] * acc["size"] ** 0.3
    counts = rng.poisson(ctx.preset.activities_per_account * w / w.mean())
    acct = np.repeat(np.arange(n_acc, dtype=np.int32), counts)
    n = len(acct)
    start = acc["created_ms"][acct].astype(np.int64)
    end = np.minimum(
        acc["activity_end"][acct].astype("datetime64[ms]").astype(np.int64),
        (ctx.clock - np.timedelta64(3_600_000, "ms")).astype(np.int64),
    )
    end = np.maximum(end, start + 3_600_000)
    u = rng.random(n)
    health = acc["health"][acct]
    x = np.where(health == 2, np.sqrt(u), np.where(health == 3, 1 - np.sqrt(1 - u), u))
    ts = (start + (end - start) * x).astype("datetime64[ms]")
    ts = np.minimum(ts, ctx.clock - np.timedelta64(60_000, "ms"))
    system = acc["system"][acct]
    to_sf = (system == SF_ONLY) | ((system == SHARED) & (rng.random(n) < 0.6))
    sf_kind = np.where(rng.random(n) < 0.78, 0, 1)
    hs_kind = rng.choice(np.array(HS_TYPES), n, p=(0.2, 0.35, 0.15, 0.15, 0.15))
    kind = np.where(to_sf, sf_kind, hs_kind).astype(np.int8)
    person = per["offsets"][acct] + (rng.random(n) * per["counts"][acct]).astype(np.int64)
    # account-level activities without a person
    no_person = rng.random(n) < 0.08
    has_contact = np.where(kind <= 1, per["has_sf"][person], per["has_hs"][person]) & ~no_person
    person = np.where(has_contact, person, -1)
    opp_off, opp_cnt = ctx.facts["opp_offsets"], ctx.facts["opp_counts"]
    opp = np.where(
        (rng.random(n) < 0.3) & (opp_cnt[acct] > 0),
        opp_off[acct] + (rng.random(n) * opp_cnt[acct]).astype(np.int64),
        -1,
    )
    deleted = (rng.random(n) < 0.004) & (ts < ctx.clock - np.timedelta64(16 * MS_PER_DAY, "ms"))
    subject = rng.integers(0, len(_SUBJECTS), n).astype(np.int16)
    # the HubSpot-Salesforce integration copies some emails/calls of shared accounts into SF Tasks
    mirror = (system == SHARED) & ((kind == 2) | (kind == 3)) & (person >= 0) & (rng.random(n) < 0.3)
    mirror &= per["has_sf"][np.maximum(person, 0)]
    del u, x, start, end
    return {
        "acct": acct,
        "ts": ts,
        "kind": kind,
        "person": person.astype(np.int32),
        "opp": opp.astype(np.int32),
        "deleted": deleted,
        "subject": subject,
        "mirror": mirror,
        "owner": acc["owner"][acct].astype(np.int16),
    }


def render(ctx: Ctx, p: dict[str, np.ndarray]) -> None:
    _sf_tasks(ctx, p)
    _sf_events(ctx, p)
    for k in HS_TYPES:
        _hs(ctx, p, k)


def _sf_common(
    ctx: Ctx, p: dict[str, np.ndarray], sel: np.ndarray, rng: np.random.Generator, who: np.ndarray | None = None
) -> dict[str, object]:
    n = len(sel)
    acct = p["acct"][sel]
    ts = p["ts"][sel]
    person = p["person"][sel] if who is None else who
    opp = p["opp"][sel]
    opp_sf = (opp >= 0) & ~ctx.model.opps["hs"][np.maximum(opp, 0)]
    owner = take(ctx.ids["user"], p["owner"][sel])
    created = ts - rng.integers(0, 2 * 86_400_000, n).clip(0).astype("timedelta64[ms]")
    created = np.maximum(created, ctx.accounts["created_ms"][acct])
    created = np.minimum(created, ts)
    mod = ts + rng.integers(0, 3_600_000, n).astype("timedelta64[ms]")
    mod = np.minimum(mod, ctx.clock - np.timedelta64(1000, "ms"))
    deleted = p["deleted"][sel]
    stamps = recent_stamps(rng, int(deleted.sum()), ctx.clock)
    mod[deleted] = stamps
    what_acct = ~opp_sf & (rng.random(n) < 0.5)
    who_ok = person >= 0
    account_null = (who_ok | opp_sf) & (rng.random(n) < 0.1)  # linked only through WhoId/WhatId
    what = pa.concat_arrays([_pa(ctx, "opp_sf"), _pa(ctx, "account_sf")]).take(
        pa.array(np.where(opp_sf, np.maximum(opp, 0), len(ctx.ids["opp_sf"]) + acct), mask=~(opp_sf | what_acct))
    )
    return {
        "Id": None,
        "IsDeleted": deleted,
        "CreatedDate": created,
        "CreatedById": owner,
        "LastModifiedDate": mod,
        "LastModifiedById": owner,
        "SystemModstamp": mod,
        "WhoId": take(_pa(ctx, "person_sf"), np.maximum(person, 0), who_ok),
        "WhatId": what,
        "AccountId": take(_pa(ctx, "account_sf"), acct, ~account_null),
        "OwnerId": owner,
        "Subject": _cat(_SUBJECTS, p["subject"][sel]),
        "ActivityDate": ts.astype("datetime64[D]"),
        "IsArchived": ts < ctx.clock - np.timedelta64(365 * MS_PER_DAY, "ms"),
    }


def _sf_tasks(ctx: Ctx, p: dict[str, np.ndarray]) -> None:
    """Tasks in chunks, so the Arrow working set stays a fraction of the table."""
    rng = ctx.rng(31)
    own = np.flatnonzero(p["kind"] == 0)
    mir = np.flatnonzero(p["mirror"])
    sel_all = np.concatenate([own, mir])
    mirror_all = np.arange(len(sel_all)) >= len(own)
    deleted_all = []
    for i, part in enumerate(np.array_split(np.arange(len(sel_all)), max(1, len(sel_all) // TASK_CHUNK))):
        cols = _task_chunk(ctx, p, sel_all[part], mirror_all[part], part + 1, rng)
        deleted_all.append(cols["IsDeleted"])
        table = _table(cols)
        del cols
        if i == 0:
            ctx.ds.put_sf("Task", sfs.describe("Task"), table)
        else:
            append_sf(ctx.ds, "Task", table)
        del table
    ctx.facts["sf_task_deleted"] = (sel_all, np.concatenate(deleted_all) if deleted_all else np.zeros(0, bool))


def _task_chunk(
    ctx: Ctx,
    p: dict[str, np.ndarray],
    sel: np.ndarray,
    is_mirror: np.ndarray,
    counters: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, object]:
    from connectors.simulator.dataset.ids import sf_ids

    n = len(sel)
    cols = _sf_common(ctx, p, sel, rng)
    # mirrors: same time, subject and person as the HubSpot engagement, created by the integration user
    cols["CreatedDate"] = np.where(is_mirror, p["ts"][sel], cols["CreatedDate"])
    integ = pa.scalar(str(ctx.ids["user"][0]))
    cols["CreatedById"] = pc.if_else(pa.array(is_mirror), integ, cols["CreatedById"])
    cols["LastModifiedById"] = cols["CreatedById"]
    deleted = np.where(is_mirror, False, cols["IsDeleted"])
    cols["IsDeleted"] = deleted
    mod = np.where(is_mirror, p["ts"][sel] + np.timedelta64(90_000, "ms"), cols["SystemModstamp"])
    mod = np.minimum(mod, ctx.clock - np.timedelta64(1000, "ms"))
    cols["LastModifiedDate"] = cols["SystemModstamp"] = mod
    hs_kind = p["kind"][sel]
    sub_code = rng.choice(3, n, p=(0.4, 0.35, 0.25))
    sub_code = np.where(is_mirror, np.where(hs_kind == 2, 2, 1), sub_code)
    is_call = sub_code == 2
    ns = len(_SUBJECTS)
    code = p["subject"][sel].astype(np.int32) + np.where(is_mirror, np.where(hs_kind == 3, ns, 2 * ns), 0)
    cols["Subject"] = _cat(
        np.concatenate([_SUBJECTS, np.char.add("Email: ", _SUBJECTS), np.char.add("Call: ", _SUBJECTS)]), code
    )
    completed = (rng.random(n) < 0.85) | is_mirror
    cols.update(
        {
            "Id": pa.array(sf_ids("Task", counters)),
            "Status": _cat(np.array(["Not Started", "Completed"]), completed.astype(np.int8)),
            "Priority": _cat(np.array(["Normal", "High"]), (rng.random(n) < 0.15).astype(np.int8)),
            "Type": _cat(np.array(["Other", "Email", "Call"]), sub_code),
            "TaskSubtype": _cat(np.array(["Task", "Email", "Call"]), sub_code),
            "CallDurationInSeconds": nullable(rng.integers(30, 3600, n), is_call),
            "CallType": _cat(np.array(["Outbound"]), np.zeros(n, dtype=np.int8), is_call),
            "IsClosed": completed,
            "CompletedDateTime": nullable(p["ts"][sel], completed),
        }
    )
    cols["IsArchived"] = np.asarray(cols["IsArchived"]) & completed
    return cols


def _sf_events(ctx: Ctx, p: dict[str, np.ndarray]) -> None:
    rng = ctx.rng(32)
    from connectors.simulator.dataset.ids import sf_ids

    sel = np.flatnonzero(p["kind"] == 1)
    n = len(sel)
    cols = _sf_common(ctx, p, sel, rng)
    dur = rng.choice(np.array([30, 45, 60, 90]), n)
    start = p["ts"][sel]
    cols.update(
        {
            "Id": pa.array(sf_ids("Event", np.arange(1, n + 1))),
            "ActivityDateTime": start,
            "StartDateTime": start,
            "EndDateTime": start + (dur * 60_000).astype("timedelta64[ms]"),
            "DurationInMinutes": dur,
            "IsAllDayEvent": np.zeros(n, dtype=bool),
            "Type": "Meeting",
            "EventSubtype": "Event",
        }
    )
    ctx.ds.put_sf("Event", sfs.describe("Event"), _table(cols))


def _hs(ctx: Ctx, p: dict[str, np.ndarray], k: int) -> None:
    from connectors.simulator.dataset.ids import hs_ids

    rng = ctx.rng(40 + k)
    name = _HS_NAMES[k]
    sel = np.flatnonzero(p["kind"] == k)
    n = len(sel)
    ts = p["ts"][sel]
    acct = p["acct"][sel]
    ids = pa.array(hs_ids(name, np.arange(1, n + 1)))
    created = (
        ts
        if k in (2, 3)
        else np.maximum(ts - rng.integers(0, 86_400_000, n).astype("timedelta64[ms]"), ctx.accounts["created_ms"][acct])
    )
    updated = np.minimum(
        ts + rng.integers(0, 7_200_000, n).astype("timedelta64[ms]"), ctx.clock - np.timedelta64(1000, "ms")
    )
    updated = np.maximum(updated, created)
    archived = p["deleted"][sel]
    at = np.array(updated)
    at[archived] = recent_stamps(rng, int(archived.sum()), ctx.clock)
    updated = np.where(archived, at, updated)
    subject = _cat(_SUBJECTS, p["subject"][sel])
    tss = hs_datetime(ts)
    cols: dict[str, object] = {
        **_base(ids, created, updated, archived, at),
        "hs_object_id": ids,
        "hs_createdate": hs_datetime(created),
        "hs_lastmodifieddate": hs_datetime(updated),
        "hs_timestamp": tss,
        "hubspot_owner_id": take(ctx.ids["owner"], p["owner"][sel]),
    }
    if k == 2:
        cols.update(
            {
                "hs_call_title": subject,
                "hs_call_direction": np.where(rng.random(n) < 0.8, "OUTBOUND", "INBOUND"),
                "hs_call_duration": (rng.integers(30, 3600, n) * 1000).astype(str),
                "hs_call_status": np.where(rng.random(n) < 0.85, "COMPLETED", "NO_ANSWER"),
                "hs_body_preview": subject,
            }
        )
    elif k == 3:
        cols.update(
            {
                "hs_email_subject": subject,
                "hs_email_direction": np.where(rng.random(n) < 0.7, "EMAIL", "INCOMING_EMAIL"),
                "hs_email_status": "SENT",
                "hs_body_preview": subject,
            }
        )
    elif k == 4:
        end = hs_datetime(ts + np.timedelta64(3_600_000, "ms"))
        cols.update(
            {
                "hs_meeting_title": subject,
                "hs_meeting_start_time": tss,
                "hs_meeting_end_time": end,
                "hs_meeting_outcome": np.where(
                    ts < ctx.clock - np.timedelta64(MS_PER_DAY, "ms"), "COMPLETED", "SCHEDULED"
                ),
            }
        )
    elif k == 5:
        cols.update(
            {
                "hs_note_body": _cat(np.char.add("<p>", np.char.add(_SUBJECTS, "</p>")), p["subject"][sel]),
                "hs_body_preview": subject,
            }
        )
    else:
        cols.update(
            {
                "hs_task_subject": subject,
                "hs_task_status": np.where(rng.random(n) < 0.8, "COMPLETED", "NOT_STARTED"),
                "hs_task_priority": "MEDIUM",
                "hs_task_type": "TODO",
            }
        )
    put_hs(ctx, name, cols)
    t_co, co_t, t_ct, ct_t, t_deal, deal_t = _ENG_TYPE_IDS[name]
    co = take(_pa(ctx, "company"), acct)
    ids = pa.array(ids)
    ds = ctx.ds
    ds.put_associations(associations("companies", name, co, ids, t_co))
    ds.put_associations(associations(name, "companies", ids, co, co_t))
    person = p["person"][sel]
    with_c = person >= 0
    cids = take(_pa(ctx, "person_hs"), person[with_c])
    wc = ids.filter(pa.array(with_c))
    ds.put_associations(associations("contacts", name, cids, wc, t_ct))
    ds.put_associations(associations(name, "contacts", wc, cids, ct_t))
    opp = p["opp"][sel]
    deal_ok = np.zeros(n, dtype=bool)
    if len(opp):
        in_deal = ctx.facts["deal_mask"][np.maximum(opp, 0)]
        deal_ok = (opp >= 0) & in_deal
    dids = take(_pa(ctx, "deal"), opp[deal_ok])
    wd = ids.filter(pa.array(deal_ok))
    ds.put_associations(associations("deals", name, dids, wd, t_deal))
    ds.put_associations(associations(name, "deals", wd, dids, deal_t))


def _cat(choices: np.ndarray, codes: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """A categorical string column as an Arrow dictionary array (no per-row Python strings)."""
    idx = pa.array(np.asarray(codes, dtype=np.int32), mask=None if mask is None else ~np.asarray(mask, dtype=bool))
    return pa.DictionaryArray.from_arrays(idx, pa.array(np.asarray(choices).astype(str)))


def _pa(ctx: Ctx, key: str) -> pa.Array:
    """Arrow copy of an id array, made once per run."""
    cache = ctx.facts.setdefault("pa_ids", {})
    if key not in cache:
        cache[key] = pa.array(ctx.ids[key])
    return cache[key]
