"""Generate a synthetic two-CRM dataset (Salesforce + HubSpot) with its ground truth.

``generate(scale, seed, as_of)`` is deterministic in its arguments. Each phase builds one object
columnar (numpy -> pyarrow), puts it into the DuckDB-backed store and drops its intermediates, so the
``large`` preset (50k accounts, ~2M activities) stays within time and memory budgets.
"""

from __future__ import annotations

import ctypes
import gc
from collections.abc import Callable
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pyarrow as pa

from connectors.simulator.dataset import activities, ground_truth, render_hs, render_sf
from connectors.simulator.dataset import schema_hubspot as hss
from connectors.simulator.dataset.context import Ctx
from connectors.simulator.dataset.firmographics import make_accounts
from connectors.simulator.dataset.ids import hs_ids, sf_ids
from connectors.simulator.dataset.model import HS_ONLY, PRODUCTS, SF_ONLY, SHARED, build_model
from connectors.simulator.dataset.people import make_persons
from connectors.simulator.dataset.presets import get_preset
from connectors.simulator.dataset.store import Dataset

GENERATOR = "account-warehouse-simulator/1"


def generate(scale: str = "demo", seed: int = 42, as_of: date | None = None, progress: bool = False) -> Dataset:
    """Build a dataset whose clock is ``as_of`` 00:00 UTC (default: today, UTC)."""
    preset = get_preset(scale)
    as_of = as_of or datetime.now(UTC).date()
    clock = datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC)
    ds = Dataset.empty(clock=clock)
    ds.hs_properties = hss.property_definitions()
    ds.hs_pipelines = hss.deal_pipelines()
    phases: list[tuple[str, Callable[[Ctx], None]]] = [
        ("users", render_sf.users),
        ("products", render_sf.products),
        ("currencies", render_sf.currencies),
        ("accounts", render_sf.accounts),
        ("contacts", render_sf.contacts),
        ("opportunities", render_sf.opportunities),
        ("line items", render_sf.line_items),
        ("hs owners", render_hs.owners),
        ("hs products", render_hs.products),
        ("hs companies", render_hs.companies),
        ("hs contacts", render_hs.contacts),
        ("hs deals", render_hs.deals),
        ("hs line items", render_hs.line_items),
        ("tidy", _tidy_before_activities),
        ("activities", _activities),
        ("ground truth", _ground_truth),
    ]
    bar = _bar(progress, len(phases) + 1)
    rng = np.random.default_rng([seed, 0])
    accounts = make_accounts(rng, preset.accounts)
    accounts["owner"] = rng.integers(1, max(2, preset.users), preset.accounts)
    model = build_model(preset, seed, as_of, accounts)
    accounts["created_ms"] = accounts["created"].astype("datetime64[ms]") + rng.integers(
        8 * 3_600_000, 18 * 3_600_000, preset.accounts
    ).astype("timedelta64[ms]")
    persons = make_persons(np.random.default_rng([seed, 3]), accounts, preset.persons_per_account)
    ctx = Ctx(
        ds=ds,
        preset=preset,
        seed=seed,
        as_of=as_of,
        clock=np.datetime64(clock.replace(tzinfo=None), "ms"),
        model=model,
        persons=persons,
    )
    _assign_ids(ctx)
    bar.update(1)
    for name, phase in phases:
        bar.set_description(name)
        phase(ctx)
        _release_memory()
        bar.update(1)
    bar.close()
    ds.meta = {"seed": seed, "scale": scale, "as_of": as_of.isoformat(), "generator": GENERATOR}
    return ds


def _release_memory() -> None:
    """Hand freed buffers back to the OS between phases, so the peak is one phase's working set."""
    gc.collect()
    pa.default_memory_pool().release_unused()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _load_libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim  # noqa: B018 - glibc only
        return libc
    except (OSError, AttributeError):
        return None


_LIBC = _load_libc()


class _NoBar:
    def update(self, n: int) -> None: ...
    def set_description(self, text: str) -> None: ...
    def close(self) -> None: ...


def _bar(progress: bool, total: int):
    if not progress:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc="model", unit="phase")


def _assign_ids(ctx: Ctx) -> None:
    """Ids aligned with model rows; the same row always gets the same id in every phase."""
    m = ctx.model
    n_acc = len(m.accounts["system"])
    ctx.ids["account_sf"] = sf_ids("Account", np.arange(1, n_acc + 1))
    ctx.ids["company"] = hs_ids("companies", np.arange(1, n_acc + 1))
    n_opp = len(m.opps["acct"])
    ctx.ids["opp_sf"] = sf_ids("Opportunity", np.arange(1, n_opp + 1))
    ctx.ids["deal"] = hs_ids("deals", np.arange(1, n_opp + 1))
    n_line = len(m.lines["acct"])
    ctx.ids["line_sf"] = sf_ids("OpportunityLineItem", np.arange(1, n_line + 1))
    ctx.ids["line_hs"] = hs_ids("line_items", np.arange(1, n_line + 1))
    n_per = len(ctx.persons["acct"])
    ctx.ids["person_sf"] = sf_ids("Contact", np.arange(1, n_per + 1))
    ctx.ids["person_hs"] = hs_ids("contacts", np.arange(1, n_per + 1))
    ctx.ids["global"] = np.array([f"GA{i + 1:06d}" for i in range(n_acc)])
    # opportunities are appended account by account, so each account's are contiguous
    acct = m.opps["acct"]
    ctx.facts["opp_offsets"] = np.searchsorted(acct, np.arange(n_acc))
    ctx.facts["opp_counts"] = np.searchsorted(acct, np.arange(n_acc), side="right") - ctx.facts["opp_offsets"]


def _tidy_before_activities(ctx: Ctx) -> None:
    """Drop what only the record renderers needed; the activity phase is the memory peak."""
    for key in ("first", "last", "title", "buying_role"):
        ctx.persons.pop(key, None)
    ctx.model.lines.pop("freq", None)
    for key in ("opp_sf_stage", "opp_sf_created", "opp_sf_close_ms", "deal_created", "pbe_price", "opp_sf_mod"):
        ctx.facts.pop(key, None)
    # from here on ids are only gathered, never computed on: Arrow strings are ~3x smaller than numpy's
    cache = ctx.facts.setdefault("pa_ids", {})
    for key in ("opp_sf", "deal", "line_sf", "line_hs", "person_sf", "person_hs", "account_sf", "company"):
        cache[key] = pa.array(ctx.ids[key])
        if key not in ("account_sf", "company"):
            ctx.ids[key] = cache[key]


def _activities(ctx: Ctx) -> None:
    mask = np.zeros(len(ctx.model.opps["acct"]), dtype=bool)
    mask[ctx.facts["deal_rows"]] = True
    ctx.facts["deal_mask"] = mask
    plan = activities.plan(ctx)
    activities.render(ctx, plan)
    ctx.facts["touches"] = touches_from_plan(ctx, plan)
    del plan
    ctx.persons = {}
    for key in ("person_sf", "person_hs"):
        ctx.ids.pop(key, None)
    for key in ("pa_ids", "sf_task_deleted"):
        ctx.facts.pop(key, None)


def touches_from_plan(ctx: Ctx, plan: dict[str, np.ndarray]) -> pd.DataFrame:
    """Latest activity per (account, person email); deleted activities do not count."""
    ok = (plan["person"] >= 0) & ~plan["deleted"]
    df = pd.DataFrame({"a": plan["acct"][ok], "p": plan["person"][ok], "ts": plan["ts"][ok]})
    last = df.groupby(["a", "p"], sort=True)["ts"].max().reset_index()
    return ground_truth.typed(
        pd.DataFrame(
            {
                "global_account_key": ctx.ids["global"][last["a"].to_numpy()],
                "email": ctx.persons["email"][last["p"].to_numpy()].astype(str),
                "last_touch": np.datetime_as_string(last["ts"].to_numpy().astype("datetime64[ms]"), unit="ms"),
            }
        )
    )


def contract_lines_from_model(ctx: Ctx) -> pd.DataFrame:
    m = ctx.model
    lines = m.lines
    opp = lines["opp"]
    recurring = np.array([p[3] for p in PRODUCTS])[lines["product"]]
    keep = m.opps["won"][opp] & recurring
    rows = np.flatnonzero(keep)
    acct = lines["acct"][rows]
    hs = m.opps["hs"][opp[rows]]
    fx = m.opps["fx"][opp[rows]]
    mrr = lines["mrr"][rows]
    n_line, n_opp = len(ctx.ids["line_sf"]), len(ctx.ids["opp_sf"])
    line_ids = _either(ctx.ids["line_sf"], ctx.ids["line_hs"], np.where(hs, n_line + rows, rows))
    system = np.where(hs, "hubspot", "salesforce")
    out = ground_truth.typed(
        pd.DataFrame(
            {
                "line_key": pd.Series(system) + ":" + line_ids,
                "global_account_key": ctx.ids["global"][acct],
                "source_system": system,
                "source_line_id": line_ids,
                "source_deal_id": _either(
                    ctx.ids["opp_sf"], ctx.ids["deal"], np.where(hs, n_opp + opp[rows], opp[rows])
                ),
                "product_code": np.array([p[1] for p in PRODUCTS])[lines["product"][rows]],
                "product_family": np.array([p[2] for p in PRODUCTS])[lines["product"][rows]],
                "is_renewal": lines["renewal"][rows].astype(bool),
                "close_date": np.datetime_as_string(m.opps["close"][opp[rows]], unit="D"),
                "service_start_date": np.datetime_as_string(lines["start"][rows], unit="D"),
                "service_end_date": np.datetime_as_string(lines["eff_end"][rows], unit="D"),
                "term_months": lines["term"][rows].astype(np.int64),
                "currency": m.opps["currency"][opp[rows]],
                "mrr_local": mrr.astype(float),
                "fx_rate": fx.astype(float),
                "mrr_usd": mrr / fx,
            }
        )
    )
    return out


def _either(first: np.ndarray | pa.Array, second: np.ndarray | pa.Array, index: np.ndarray) -> pd.Series:
    """Pick from the concatenation of two id arrays (numpy or Arrow) as a pandas ``str`` column."""
    both = pa.concat_arrays(
        [
            pa.array(first) if not isinstance(first, pa.Array) else first,
            pa.array(second) if not isinstance(second, pa.Array) else second,
        ]
    )
    return pd.Series(pd.array(both.take(pa.array(index)), dtype="str"))


def _accounts_truth(ctx: Ctx, has_lines: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    acc = ctx.accounts
    n = len(acc["system"])
    system = acc["system"]
    keys = ctx.ids["global"]
    sf_present = system != HS_ONLY
    hs_present = system != SF_ONLY
    dup_ids, dup_src, dup_archived = ctx.facts["hs_dup_companies"]
    hs_list = [[c] if h else [] for c, h in zip(ctx.ids["company"].tolist(), hs_present.tolist(), strict=True)]
    for cid, src, arch in zip(dup_ids.tolist(), dup_src.tolist(), dup_archived.tolist(), strict=True):
        if not arch:
            hs_list[src].append(cid)
    link_prop = ctx.facts["hs_link_prop"]
    link = np.where(system == SF_ONLY, "salesforce_only", np.where(system == HS_ONLY, "hubspot_only", "domain")).astype(
        object
    )
    for i in np.flatnonzero(system == SHARED).tolist():
        if link_prop.get(i):
            link[i] = "salesforceaccountid"
    revenue = np.where(~has_lines, "", np.where(system == HS_ONLY, "hubspot", "salesforce"))
    parent = acc["parent"]
    ultimate = np.arange(n)
    for _ in range(10):  # walk up; hierarchies are shallow
        up = parent[ultimate]
        ultimate = np.where(up >= 0, up, ultimate)
    accounts = ground_truth.typed(
        pd.DataFrame(
            {
                "global_account_key": keys,
                "account_name": acc["name"].astype(str),
                "domain": acc["domain"].astype(str),
                "salesforce_account_id": np.where(sf_present, ctx.ids["account_sf"], ""),
                "hubspot_company_ids": [";".join(x) for x in hs_list],
                "revenue_system": revenue,
                "link": link,
                "parent_account_key": np.where(parent >= 0, keys[np.maximum(parent, 0)], ""),
                "ultimate_parent_account_key": keys[ultimate],
            }
        )
    )
    lids, losers = ctx.facts["merged"]
    aliases = pd.DataFrame(
        {
            "source_system": ["salesforce"] * len(lids) + ["hubspot"] * len(dup_ids),
            "source_id": list(lids) + list(dup_ids),
            "global_account_key": list(keys[losers]) + list(keys[dup_src]),
            "reason": ["merged"] * len(lids) + ["duplicate_company"] * len(dup_ids),
        }
    )
    return accounts, ground_truth.typed(aliases)


def _ground_truth(ctx: Ctx) -> None:
    lines = contract_lines_from_model(ctx)
    has_lines = pd.Series(ctx.ids["global"]).isin(set(lines["global_account_key"])).to_numpy()
    accounts, aliases = _accounts_truth(ctx, has_lines)
    # the rendered-record inputs are done with; free them before the account-month grid
    ctx.model.lines.clear()
    ctx.model.opps.clear()
    for key in ("opp_sf", "deal", "line_sf", "line_hs"):
        ctx.ids.pop(key, None)
    _release_memory()
    arr = ground_truth.arr_monthly(lines, ctx.as_of)
    ocr = ctx.facts["ocr"]
    labels = ctx.facts["hs_labels"]
    hsr = ctx.facts["hs_contact_roles"]
    role_acct, role_vals = [ocr["acct"][~ocr["deleted"]]], [ocr["role"][~ocr["deleted"]]]
    ok = ~labels["archived"]
    role_acct.append(labels["acct"][ok])
    role_vals.append(labels["label"][ok])
    ok = ~hsr["archived"] & (hsr["acct"] >= 0) & (hsr["role"] != "")
    for a, roles in zip(hsr["acct"][ok].tolist(), hsr["role"][ok].tolist(), strict=True):
        for r in roles.split(";"):
            role_acct.append(np.array([a]))
            role_vals.append(np.array([r]))
    touches = ctx.facts["touches"]
    ctx.ds.ground_truth = {
        "accounts": accounts,
        "account_aliases": aliases,
        "contract_lines": lines,
        "account_arr_monthly": arr,
        "retention_monthly": ground_truth.retention(arr, ctx.as_of),
        "account_stakeholders": ground_truth.stakeholders(
            ctx.ids["global"],
            np.concatenate(role_acct).astype(np.int64),
            np.concatenate([np.asarray(v, dtype=object) for v in role_vals]),
            touches,
            ctx.as_of,
        ),
        "person_last_touch": touches,
    }


__all__ = ["GENERATOR", "generate"]
