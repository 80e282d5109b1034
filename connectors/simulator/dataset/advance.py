"""Move a generated dataset forward in time: about 1% of records change per simulated day.

Per day, Salesforce: field edits (bumping LastModifiedDate/SystemModstamp), new tasks, opportunity stage
moves (with OpportunityHistory rows), closed-won upsells with line items, renewals and churn of contracts
ending soon, soft deletes and undeletes of tasks, the purge of recycle-bin rows older than 15 days, formula
drift (no SystemModstamp bump), a new DatedConversionRate row when the clock enters a new month and, on
one day, a new custom field in both CRMs.

Per day, HubSpot: property edits on every object type (hs_lastmodifieddate/lastmodifieddate == updatedAt);
new calls/emails/meetings/notes/tasks with their company/contact/deal associations in both directions; new
contacts (279/280 + primary 1/2, sometimes with hs_buying_role) and, rarely, new companies; archives and
restores (archived=true, archivedAt) and the purge of rows archived more than 90 days ago with their
associations; for HubSpot-only accounts renewals (~85%) or churn of contracts ending within 20 days and
occasional co-terminated seat upsells, each a closed-won deal with recurring line items; stage moves,
lost closes and quantity edits (open deals only) in the pipeline; and a mirror deal (with
hs_salesforceopportunityid and line items) for Salesforce opportunities of shared accounts closed today.

Revenue changes of the revenue system of record go into ``ground_truth['contract_lines']`` first and the
records are rendered from them, so the truth is never read back from the records (mirrored deals are not
lines: Salesforce is the system of record for shared accounts).

The internal model is recovered from ``ground_truth`` (contract lines, accounts, person_last_touch) plus
the tables; a dataset without it (a replayed CRM export) raises ValueError.
"""

from __future__ import annotations

import warnings
import zlib
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from connectors.simulator.dataset import ground_truth as gt
from connectors.simulator.dataset import schema_hubspot as hss
from connectors.simulator.dataset.activities import _ENG_TYPE_IDS, _SUBJECTS
from connectors.simulator.dataset.firmographics import _SUFFIX, _SYL_A, _SYL_B, _TLD, COUNTRIES, FIRST, LAST, TITLES
from connectors.simulator.dataset.fx import _BASE, _VOL, CURRENCIES, DECIMALS, add_months
from connectors.simulator.dataset.ids import ADVANCE_COUNTER_BASE, HS_ADVANCE_OFFSET, hs_ids, sf_ids
from connectors.simulator.dataset.model import HS_FREQ_MONTHS, PRODUCTS
from connectors.simulator.dataset.schema_hubspot import custom_property
from connectors.simulator.dataset.schema_salesforce import OPP_STAGES, custom_text_field
from connectors.simulator.dataset.store import ASSOCIATION_COLUMNS, Dataset
from connectors.simulator.dataset.wire import append_hs, append_sf, associations, hs_date, hs_datetime, money

REQUIRED = ("accounts", "contract_lines", "account_arr_monthly", "account_stakeholders", "person_last_touch")
NEW_SF_FIELD, NEW_HS_PROPERTY = "Region__c", "account_region"
_OPEN = [s[0] for s in OPP_STAGES[:8]]
_PROB = {s[0]: s[1] for s in OPP_STAGES}
_FAMILY = {p[1]: (i, p[2]) for i, p in enumerate(PRODUCTS)}
EDIT_SHARE = 0.008  # edited records per object per day; inserts/deletes/closes add the rest of ~1%
HS_EDIT_SHARE = 0.014
ENGAGEMENT_INSERT_SHARE = 0.006
CONTACT_INSERT_SHARE = 0.002
COMPANY_INSERT_SHARE = 0.0004
HS_ARCHIVE_SHARE = 0.001
HS_RESTORE_SHARE = 0.04
HS_ARCHIVE_DAYS = 90  # HubSpot keeps archived records this long, then purges them
RENEW_WINDOW_DAYS = 20
RENEW_SHARE = 0.85
HS_UPSELL_SHARE = 0.004  # per paying HubSpot-only account and day
ENGAGEMENTS = ("calls", "emails", "meetings", "notes", "tasks")
WIRE = "%Y-%m-%dT%H:%M:%S.%gZ"
_HS_OPEN = [s[0] for s in hss.DEAL_STAGES[:5]]
_HS_PROB = {s[0]: s[2] for s in hss.DEAL_STAGES}
_MIRROR_FREQ = {1: "monthly", 12: "annually", 24: "per_two_years", 36: "per_three_years"}
_MONTHS = {**HS_FREQ_MONTHS, "per_two_years": 24, "per_three_years": 36}
_ASSOC_SCHEMA = pa.schema([(c, pa.int32() if c == "type_id" else pa.string()) for c in ASSOCIATION_COLUMNS])
_OPTIONAL_CODES = ("ANL-PRO", "PLAT-SUP", "PLAT-API", "ANL-CON")


def _sql_list(values: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


# property edits per HubSpot object type (SET clauses; the stamps are added by _Day.hs_update)
_HS_EDITS = {
    "companies": "numberofemployees = CAST(TRY_CAST(numberofemployees AS BIGINT) + 1 AS VARCHAR)",
    "contacts": f"jobtitle = list_element({_sql_list(TITLES)}, CAST(hash(id, jobtitle) % {len(TITLES)} AS BIGINT) + 1)",
    "deals": "closed_won_reason = CASE WHEN hs_is_closed_won = 'true' THEN 'Strong ROI case' ELSE closed_won_reason "
    "END, closed_lost_reason = CASE WHEN hs_is_closed = 'true' AND hs_is_closed_won = 'false' THEN 'No budget' "
    "ELSE closed_lost_reason END",
    "notes": "hs_note_body = coalesce(hs_note_body, '') || '<p>Updated.</p>'",
    "calls": "hs_call_body = '<p>Call notes added.</p>'",
    "emails": "hs_email_text = coalesce(hs_email_text, hs_email_subject)",
    "meetings": "hs_meeting_outcome = CASE WHEN hs_meeting_outcome = 'SCHEDULED' THEN 'COMPLETED' "
    "ELSE hs_meeting_outcome END, hs_meeting_body = '<p>Agenda attached.</p>'",
    "tasks": "hs_task_status = 'COMPLETED', hs_task_priority = 'HIGH'",
}



def _hs_new_rows(ids: Any, ts: Any) -> dict[str, Any]:
    """Base columns of newly inserted, live HubSpot records (created and modified at ``ts``)."""
    n = len(ids)
    return {
        "id": ids,
        "createdAt": pa.array(ts),
        "updatedAt": pa.array(ts),
        "archived": [False] * n,
        "archivedAt": pa.nulls(n, pa.timestamp("ms")),
        "hs_object_id": ids,
    }

def advance(dataset: Dataset, days: int = 1, seed: int | None = None) -> dict[str, dict[str, int]]:
    """Apply ``days`` days of change, move the clock, recompute the ground truth; return counts."""
    missing = [t for t in REQUIRED if t not in dataset.ground_truth]
    if missing or not dataset.meta.get("generator"):
        raise ValueError(
            "advance() needs the generator's internal model (ground_truth tables "
            f"{', '.join(REQUIRED)}); this dataset has none (missing: {missing or 'meta.generator'}), "
            "e.g. a replayed CRM export cannot be advanced"
        )
    if days < 1:
        raise ValueError("days must be >= 1")
    summary: dict[str, dict[str, int]] = {}
    base_seed = int(dataset.meta.get("seed", 0)) if seed is None else seed
    with dataset.lock:
        for _ in range(days):
            day = _Day(dataset, np.random.default_rng([base_seed, _epoch_day(dataset.clock), 77]), summary)
            day.run()
            dataset.clock = dataset.clock + timedelta(days=1)
        as_of = dataset.clock.date()
        dataset.meta["as_of"] = as_of.isoformat()
        _recompute(dataset, as_of)
    return summary


def _epoch_day(clock: datetime) -> int:
    return int((clock - datetime(1970, 1, 1, tzinfo=UTC)).days)


def _unit(text: str) -> float:
    """A stable pseudo-random number in [0, 1) for ``text`` (decisions that must not flip between days)."""
    return zlib.crc32(text.encode()) / 2**32


def _clamp_day(d: date) -> date:
    return d if d.day <= 28 else d.replace(day=28)


def _co_term_months(start: date, end: date) -> int:
    """Whole months from ``start`` whose natural end does not pass ``end``."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if months >= 1 and add_months(start, months) - timedelta(days=1) > end:
        months -= 1
    return months


class _Day:
    def __init__(self, ds: Dataset, rng: np.random.Generator, summary: dict[str, dict[str, int]]):
        self.ds, self.rng, self.summary = ds, rng, summary
        self.start = np.datetime64(ds.clock.replace(tzinfo=None), "ms")
        self.end = self.start + np.timedelta64(1, "D")
        self.start_sql = ds.clock.strftime("%Y-%m-%d %H:%M:%S")
        self.day = ds.clock.date()
        self.cur = ds.con.cursor()
        self.counter = ADVANCE_COUNTER_BASE + _epoch_day(ds.clock) * 100_000
        self.hs_counter = HS_ADVANCE_OFFSET + _epoch_day(ds.clock) * 100_000
        self.user = self.cur.execute('SELECT "Id" FROM sf."User" ORDER BY "Id" LIMIT 1').fetchone()[0]
        self.sf_closed: list[dict[str, Any]] = []  # SF opportunities closed today (for HubSpot mirrors)
        self.touches: list[pd.DataFrame] = []
        self.assoc: list[pa.Table] = []
        self._co_keys: pa.Table | None = None
        self._products: dict[str, str] | None = None

    def count(self, obj: str, kind: str, n: int) -> None:
        if n:
            self.summary.setdefault(obj, {}).setdefault(kind, 0)
            self.summary[obj][kind] += int(n)

    def stamps(self, n: int) -> np.ndarray:
        """Times strictly inside (old clock, new clock)."""
        return self.start + np.sort(self.rng.integers(1_000, 86_399_000, n)).astype("timedelta64[ms]")

    def next_ids(self, n: int) -> np.ndarray:
        out = np.arange(self.counter, self.counter + n)
        self.counter += n
        return out

    def next_hs_ids(self, object_type: str, n: int) -> np.ndarray:
        out = hs_ids(object_type, np.arange(self.hs_counter, self.hs_counter + n))
        self.hs_counter += n
        return out

    def hs_types(self) -> list[str]:
        rows = self.cur.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'hs' AND table_name <> "
            "'associations' ORDER BY 1"
        ).fetchall()
        return [r[0] for r in rows]

    def reg(self, name: str, table: pa.Table) -> None:
        """Register an Arrow table on the day's cursor (after finishing any pending statement result)."""
        self.cur.execute("SELECT 1").fetchall()
        self.cur.register(name, table)

    def arrow(self, sql: str) -> pa.Table:
        """A (small) query result as Arrow, through the day's cursor and transaction."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the extra copy of a few rows is fine
            return self.cur.execute(sql).to_arrow_table()

    def n_rows(self, table: str) -> int:
        return self.cur.execute(f"SELECT count(*) FROM {table}").fetchone()[0]

    def salt(self) -> int:
        return int(self.rng.integers(1, 2**62))

    def pick_sql(self, col: str, share: float) -> str:
        """A set-based random choice of about ``share`` of the rows (deterministic per day)."""
        return f"(hash({col}, {self.salt()}::UBIGINT) % 1000000) < {round(share * 1_000_000)}"

    def stamp_sql(self, col: str) -> str:
        """A per-row time strictly inside (old clock, new clock), as SQL."""
        return (
            f"(TIMESTAMP '{self.start_sql}' + to_milliseconds(CAST(1000 + hash({col}, {self.salt()}::UBIGINT)"
            " % 86398000 AS BIGINT)))"
        )

    def run(self) -> None:
        """One day of change in one transaction (readers never see half a day)."""
        self.cur.execute("BEGIN TRANSACTION")
        try:
            self._run()
            self.cur.execute("COMMIT")
        except BaseException:
            self.cur.execute("ROLLBACK")
            raise
        finally:
            self.cur.close()

    def _run(self) -> None:
        self.fx_month()
        self.purge()
        self.hs_purge()
        for obj, col in (
            ("Account", "NumberOfEmployees"),
            ("Contact", "Title"),
            ("Opportunity", "NextStep"),
            ("Task", "Priority"),
            ("Event", "Subject"),
        ):
            self.edit_sf(obj, col)
        for t in _HS_EDITS:
            self.edit_hs(t)
        self.stage_moves()
        self.close_upsells()
        self.renewals()
        self.mirror_deals()
        self.hs_renewals()
        self.hs_upsells()
        self.hs_pipeline()
        self.hs_open_line_items()
        self.new_tasks()
        self.hs_new_companies()
        self.hs_new_contacts()
        self.hs_new_engagements()
        self.delete_and_undelete()
        self.hs_archive_and_restore()
        self.formula_drift()
        self.custom_field()
        self.flush_touches()
        self.flush_assoc()

    # -- generic edits ---------------------------------------------------------------------
    def sample(self, table: str, where: str, share: float, col: str = '"Id"') -> list[Any]:
        """About ``share`` of the rows matching ``where`` (at least one now and then), chosen in SQL."""
        total = self.cur.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()[0]
        n = min(total, round(total * share + self.rng.random()))
        if n == 0:
            return []
        rows = self.cur.execute(
            f"SELECT {col} FROM {table} WHERE {where} ORDER BY hash({col}, {self.salt()}::UBIGINT), {col} LIMIT {n}"
        ).fetchall()
        return [r[0] for r in rows]

    def touch_sf(self, obj: str, ids: list[str], set_sql: str = "", ts: np.ndarray | None = None) -> np.ndarray:
        """Bump LastModifiedDate and SystemModstamp (plus ``set_sql``) on ``ids``."""
        ts = self.stamps(len(ids)) if ts is None else ts
        self.reg("chg", pa.table({"cid": pa.array(ids, pa.string()), "ts": pa.array(ts)}))
        extra = f", {set_sql}" if set_sql else ""
        self.cur.execute(
            f'UPDATE {self.ds.sf_table(obj)} AS t SET "LastModifiedDate" = chg.ts, "SystemModstamp" = chg.ts, '
            f'"LastModifiedById" = \'{self.user}\'{extra} FROM chg WHERE t."Id" = chg.cid'
        )
        self.cur.unregister("chg")
        return ts

    def edit_sf(self, obj: str, col: str) -> None:
        ids = self.sample(self.ds.sf_table(obj), 'NOT "IsDeleted"', EDIT_SHARE)
        if not ids:
            return
        value = {
            "NumberOfEmployees": '"NumberOfEmployees" + 1',
            "Title": "'Senior ' || coalesce(\"Title\", '')",
            "NextStep": "'Follow up'",
            "Priority": "'High'",
            "Subject": "\"Subject\" || ' (moved)'",
        }[col]
        self.touch_sf(obj, ids, f'"{col}" = {value}')
        self.count(obj, "update", len(ids))

    def hs_update(self, t: str, where: str, set_sql: str = "") -> int:
        """Update rows of a HubSpot table; updatedAt/last-modified move to a time inside the day.

        ``set_sql`` may use ``{stamp}`` for the new updatedAt (e.g. ``archivedAt = {stamp}``).
        """
        last = "lastmodifieddate" if t == "contacts" else "hs_lastmodifieddate"
        new = f'greatest("updatedAt", {self.stamp_sql("id")})'
        extra = f", {set_sql.format(stamp=new)}" if set_sql else ""
        return self.cur.execute(
            f"UPDATE {self.ds.hs_table(t)} SET \"updatedAt\" = {new}, {last} = strftime({new}, '{WIRE}'){extra} "
            f"WHERE {where}"
        ).fetchone()[0]

    def edit_hs(self, t: str) -> None:
        n = self.hs_update(t, f"NOT archived AND {self.pick_sql('id', HS_EDIT_SHARE)}", _HS_EDITS[t])
        self.count(t, "update", n)

    # -- Salesforce pipeline ------------------------------------------------------------------
    def stage_moves(self) -> None:
        rows = self.cur.execute(
            'SELECT "Id", "StageName", "Amount", "CloseDate", "CurrencyIsoCode" FROM sf."Opportunity" '
            'WHERE NOT "IsDeleted" AND NOT "IsClosed" ORDER BY "Id"'
        ).fetchall()
        pick = [r for r in rows if self.rng.random() < 0.02 and r[1] in _OPEN[:-1]]
        if not pick:
            return
        ids = [r[0] for r in pick]
        nxt = [_OPEN[_OPEN.index(r[1]) + 1] for r in pick]
        ts = self.stamps(len(ids))
        self.reg("stg", pa.table({"cid": ids, "stage": nxt, "prob": [float(_PROB[s]) for s in nxt]}))
        self.cur.execute(
            'UPDATE sf."Opportunity" AS t SET "StageName" = stg.stage, "Probability" = stg.prob, '
            '"ExpectedRevenue" = t."Amount" * stg.prob / 100 FROM stg WHERE t."Id" = stg.cid'
        )
        self.cur.unregister("stg")
        self.touch_sf("Opportunity", ids, '"LastStageChangeDate" = chg.ts', ts)
        self._history(ids, nxt, [r[2] for r in pick], [r[3] for r in pick], [r[4] for r in pick], ts)
        self.count("Opportunity", "stage_move", len(ids))

    def _history(
        self,
        opp_ids: list[str],
        stages: list[str],
        amounts: list[Any],
        close: list[Any],
        currency: list[str],
        ts: np.ndarray,
    ) -> None:
        n = len(opp_ids)
        if not n:
            return
        append_sf(
            self.ds,
            "OpportunityHistory",
            pa.table(
                {
                    "Id": pa.array(sf_ids("OpportunityHistory", self.next_ids(n))),
                    "IsDeleted": [False] * n,
                    "CreatedDate": pa.array(ts),
                    "CreatedById": [self.user] * n,
                    "SystemModstamp": pa.array(ts),
                    "OpportunityId": opp_ids,
                    "StageName": stages,
                    "Amount": pa.array(amounts, pa.float64()),
                    "CloseDate": pa.array(close, pa.date32()),
                    "Probability": [float(_PROB[s]) for s in stages],
                    "CurrencyIsoCode": currency,
                }
            ),
            cur=self.cur,
        )
        self.count("OpportunityHistory", "insert", n)

    def rates(self, d: date) -> dict[str, float]:
        rows = self.cur.execute(
            'SELECT "IsoCode", "ConversionRate" FROM sf."DatedConversionRate" WHERE "StartDate" <= ? '
            'AND ? < "NextStartDate"',
            [d, d],
        ).fetchall()
        return {c: float(r) for c, r in rows}

    def _won(self, specs: list[dict[str, Any]]) -> None:
        """Close opportunities as won with line items (one batch); append their recurring lines to the truth.

        A spec has opp, key, acct, currency, items [(code, start, term, mrr, renewal)], amount, ts, type.
        """
        if not specs:
            return
        rates = self.rates(self.day)
        n = len(specs)
        ts = np.array([s["ts"] for s in specs], dtype="datetime64[ms]")
        ids = [s["opp"] for s in specs]
        self.reg(
            "won",
            pa.table(
                {
                    "cid": ids,
                    "amount": pa.array([s["amount"] for s in specs], pa.float64()),
                    "type": [s["type"] for s in specs],
                }
            ),
        )
        self.cur.execute(
            'UPDATE sf."Opportunity" AS t SET "StageName" = \'Closed Won\', "IsClosed" = true, "IsWon" = true, '
            '"Probability" = 100, "ForecastCategory" = \'Closed\', "ForecastCategoryName" = \'Closed\', '
            '"CloseDate" = ?, "Amount" = won.amount, "ExpectedRevenue" = won.amount, '
            '"HasOpportunityLineItem" = true, "Type" = won.type FROM won WHERE t."Id" = won.cid',
            [self.day],
        )
        self.cur.unregister("won")
        self.touch_sf("Opportunity", ids, "", ts)
        self._history(
            ids, ["Closed Won"] * n, [s["amount"] for s in specs], [self.day] * n, [s["currency"] for s in specs], ts
        )
        flat = [(s, i, item) for s, i in zip(specs, range(n), strict=True) for item in s["items"]]
        m = len(flat)
        line_ids = sf_ids("OpportunityLineItem", self.next_ids(m))
        products = dict(self.cur.execute('SELECT "ProductCode", "Id" FROM sf."Product2"').fetchall())
        totals = [round(mrr * term, 2) for _, _, (_, _, term, mrr, _) in flat]
        lts = pa.array(ts[[i for _, i, _ in flat]])
        codes = [item[0] for _, _, item in flat]
        append_sf(
            self.ds,
            "OpportunityLineItem",
            pa.table(
                {
                    "Id": pa.array(line_ids),
                    "IsDeleted": [False] * m,
                    "CreatedDate": lts,
                    "CreatedById": [self.user] * m,
                    "LastModifiedDate": lts,
                    "LastModifiedById": [self.user] * m,
                    "SystemModstamp": lts,
                    "OpportunityId": [s["opp"] for s, _, _ in flat],
                    "Product2Id": [products[c] for c in codes],
                    "ProductCode": codes,
                    "Name": [PRODUCTS[_FAMILY[c][0]][0] for c in codes],
                    "Quantity": [1.0] * m,
                    "UnitPrice": totals,
                    "TotalPrice": totals,
                    "ServiceDate": pa.array([item[1] for _, _, item in flat], pa.date32()),
                    "CurrencyIsoCode": [s["currency"] for s, _, _ in flat],
                    "Term_Months__c": [float(item[2]) for _, _, item in flat],
                }
            ),
            cur=self.cur,
        )
        self.count("OpportunityLineItem", "insert", m)
        rows = []
        for (s, _, (code, start, term, _, renewal)), lid, total in zip(flat, line_ids, totals, strict=True):
            rows.append(
                self._line_row(
                    "salesforce",
                    s["key"],
                    str(lid),
                    s["opp"],
                    code,
                    renewal,
                    start,
                    term,
                    s["currency"],
                    total / term,
                    rates[s["currency"]],
                )
            )
        self.add_lines(rows)
        by_opp: dict[str, list[tuple[str, str, date, int, float]]] = {}
        for (s, _, (code, start, term, _, _)), lid, total in zip(flat, line_ids, totals, strict=True):
            by_opp.setdefault(s["opp"], []).append((str(lid), code, start, term, total))
        for s, t in zip(specs, ts, strict=True):
            self.sf_closed.append(
                {**s, "won": True, "ts": t, "lines": by_opp.get(s["opp"], []), "rate": rates[s["currency"]]}
            )

    def _line_row(
        self,
        system: str,
        key: str,
        line_id: str,
        deal_id: str,
        code: str,
        renewal: bool,
        start: date,
        term: int,
        currency: str,
        mrr: float,
        rate: float,
    ) -> dict[str, Any]:
        return {
            "line_key": f"{system}:{line_id}",
            "global_account_key": key,
            "source_system": system,
            "source_line_id": line_id,
            "source_deal_id": deal_id,
            "product_code": code,
            "product_family": _FAMILY[code][1],
            "is_renewal": renewal,
            "close_date": self.day.isoformat(),
            "service_start_date": start.isoformat(),
            "service_end_date": (add_months(start, term) - timedelta(days=1)).isoformat(),
            "term_months": term,
            "currency": currency,
            "mrr_local": mrr,
            "fx_rate": rate,
            "mrr_usd": mrr / rate,
        }

    def add_lines(self, rows: list[dict[str, Any]]) -> None:
        """Append contract lines; renewal lines supersede running lines of the same (account, product)."""
        if not rows:
            return
        lines = self.ds.ground_truth["contract_lines"]
        new = pd.DataFrame(rows)
        ren = new.loc[new["is_renewal"], ["global_account_key", "product_code", "service_start_date"]]
        if len(ren):
            cand = lines[["global_account_key", "product_code", "service_start_date", "service_end_date"]]
            cand = cand.reset_index().merge(
                ren.rename(columns={"service_start_date": "new_start"}), on=["global_account_key", "product_code"]
            )
            hit = cand[
                (cand["service_start_date"] < cand["new_start"]) & (cand["service_end_date"] >= cand["new_start"])
            ]
            if len(hit):
                first = hit.groupby("index")["new_start"].min()
                ends = [(date.fromisoformat(s) - timedelta(days=1)).isoformat() for s in first.to_numpy()]
                lines = lines.copy()
                lines.loc[first.index.to_numpy(), "service_end_date"] = ends
        self.ds.ground_truth["contract_lines"] = gt.typed(pd.concat([lines, new], ignore_index=True))

    def _account_keys(self) -> dict[str, str]:
        acc = self.ds.ground_truth["accounts"]
        return dict(zip(acc["salesforce_account_id"], acc["global_account_key"], strict=True))

    def close_upsells(self) -> None:
        """A few open line-less opportunities of paying SF accounts close as co-terminated seat upsells."""
        keys = self._account_keys()
        lines = self.ds.ground_truth["contract_lines"]
        today = self.day.isoformat()
        running = lines[
            (lines["source_system"] == "salesforce")
            & (lines["service_start_date"] <= today)
            & (lines["service_end_date"] > (self.day + timedelta(days=60)).isoformat())
        ]
        ends = running.groupby("global_account_key")["service_end_date"].max()
        # quoted line items of an open opportunity were never won: close only line-less ones
        rows = self.cur.execute(
            'SELECT "Id", "AccountId", "CurrencyIsoCode" FROM sf."Opportunity" WHERE NOT "IsDeleted" AND NOT '
            '"IsClosed" AND NOT coalesce("HasOpportunityLineItem", false) AND "CloseDate" <= ? ORDER BY "Id"',
            [self.day + timedelta(days=60)],
        ).fetchall()
        specs = []
        for opp_id, acct, cur in rows:
            key = keys.get(acct)
            if key not in ends.index or self.rng.random() > 0.05:
                continue
            end = date.fromisoformat(ends[key])
            start = _clamp_day(self.day + timedelta(days=1))
            months = _co_term_months(start, end)
            if months < 1:
                continue
            mrr = float(self.rng.integers(5, 40) * 45)
            specs.append(
                {
                    "opp": opp_id,
                    "key": key,
                    "acct": acct,
                    "currency": cur,
                    "items": [("SEAT-ADD", start, int(months), mrr, False)],
                    "amount": round(mrr * months, 2),
                    "ts": self.stamps(1)[0],
                    "type": "Upsell",
                }
            )
        self._won(specs)
        self.count("Opportunity", "closed_won", len(specs))

    def renewals(self) -> None:
        """Salesforce contracts ending in 20 days renew (Renewal opp, superseding lines) or churn."""
        keys = self._account_keys()
        inv = {v: k for k, v in keys.items() if k}
        lines = self.ds.ground_truth["contract_lines"]
        due = lines[
            (lines["source_system"] == "salesforce")
            & (lines["service_end_date"] == (self.day + timedelta(days=RENEW_WINDOW_DAYS)).isoformat())
        ]
        new_opps, won_specs, lost = [], [], []
        for key, grp in due.groupby("global_account_key", sort=True):
            acct = inv.get(key)
            if acct is None:
                continue
            won = self.rng.random() < RENEW_SHARE
            cur = grp["currency"].iloc[0]
            opp_id = str(sf_ids("Opportunity", self.next_ids(1))[0])
            ts = self.stamps(1)[0]
            new_opps.append((opp_id, acct, cur, ts))
            if won:
                start = date.fromisoformat(grp["service_end_date"].iloc[0]) + timedelta(days=1)
                items = [
                    (code, start, 12, float(mrr), True)
                    for code, mrr in grp.groupby("product_code")["mrr_local"].sum().items()
                ]
                won_specs.append(
                    {
                        "opp": opp_id,
                        "key": key,
                        "acct": acct,
                        "currency": cur,
                        "items": items,
                        "amount": round(sum(i[3] * 12 for i in items), 2),
                        "ts": ts,
                        "type": "Renewal",
                    }
                )
            else:
                lost.append((opp_id, key, acct, cur, ts, round(float(grp["mrr_local"].sum()) * 12, 2)))
        if not new_opps:
            return
        n = len(new_opps)
        ts = pa.array(np.array([o[3] for o in new_opps], dtype="datetime64[ms]"))
        append_sf(
            self.ds,
            "Opportunity",
            pa.table(
                {
                    "Id": [o[0] for o in new_opps],
                    "IsDeleted": [False] * n,
                    "CreatedDate": ts,
                    "CreatedById": [self.user] * n,
                    "LastModifiedDate": ts,
                    "LastModifiedById": [self.user] * n,
                    "SystemModstamp": ts,
                    "AccountId": [o[1] for o in new_opps],
                    "Name": ["Renewal"] * n,
                    "StageName": ["Negotiation/Review"] * n,
                    "CloseDate": pa.array([self.day] * n, pa.date32()),
                    "IsClosed": [False] * n,
                    "IsWon": [False] * n,
                    "Type": ["Renewal"] * n,
                    "CurrencyIsoCode": [o[2] for o in new_opps],
                    "OwnerId": [self.user] * n,
                }
            ),
            cur=self.cur,
        )
        self.count("Opportunity", "insert", n)
        self._won(won_specs)
        self.count("Opportunity", "renewal", len(won_specs))
        if lost:
            self.reg("lost", pa.table({"cid": [x[0] for x in lost]}))
            self.cur.execute(
                'UPDATE sf."Opportunity" SET "StageName" = \'Closed Lost\', "IsClosed" = true, '
                '"Probability" = 0 WHERE "Id" IN (SELECT cid FROM lost)'
            )
            self.cur.unregister("lost")
            rates = self.rates(self.day)
            for opp_id, key, acct, cur, t, amount in lost:
                self.sf_closed.append(
                    {
                        "opp": opp_id,
                        "key": key,
                        "acct": acct,
                        "currency": cur,
                        "ts": t,
                        "won": False,
                        "amount": amount,
                        "type": "Renewal",
                        "lines": [],
                        "rate": rates[cur],
                    }
                )
        self.count("Opportunity", "churn", len(lost))

    # -- HubSpot helpers ---------------------------------------------------------------------------
    def co_keys(self) -> pa.Table:
        """company id -> global account key (registered as ``co_keys`` on the day's cursor)."""
        if self._co_keys is None:
            acc = self.ds.ground_truth["accounts"]
            ex = pd.DataFrame(
                {
                    "company": acc["hubspot_company_ids"].astype(object).str.split(";"),
                    "gkey": acc["global_account_key"].astype(object),
                    "domain": acc["domain"].astype(object),
                    "link": acc["link"].astype(object),
                }
            ).explode("company")
            ex = ex[ex["company"].notna() & (ex["company"] != "")]
            primary = ~ex.index.duplicated()
            self._co_keys = pa.table(
                {
                    "company": pa.array(ex["company"].to_numpy(), pa.string()),
                    "gkey": pa.array(ex["gkey"].to_numpy(), pa.string()),
                    "domain": pa.array(ex["domain"].to_numpy(), pa.string()),
                    "link": pa.array(ex["link"].to_numpy(), pa.string()),
                    "is_primary": pa.array(primary),
                }
            )
            self.reg("co_keys", self._co_keys)
        return self._co_keys

    def primary_company(self) -> dict[str, str]:
        ck = self.co_keys().filter(pa.compute.field("is_primary"))
        return dict(zip(ck["gkey"].to_pylist(), ck["company"].to_pylist(), strict=True))

    def products(self) -> dict[str, str]:
        if self._products is None:
            self._products = dict(self.cur.execute("SELECT hs_sku, id FROM hs.products").fetchall())
        return self._products

    def companies(self, ids: list[str]) -> dict[str, tuple[str, str]]:
        """company id -> (name, owner)."""
        self.reg("want", pa.table({"cid": pa.array(ids, pa.string())}))
        rows = self.cur.execute(
            "SELECT id, name, hubspot_owner_id FROM hs.companies WHERE id IN (SELECT cid FROM want)"
        ).fetchall()
        self.cur.unregister("want")
        return {r[0]: (r[1], r[2]) for r in rows}

    def hs_update_from(self, t: str, src: pa.Table, set_sql: str, ts_col: str | None = None) -> int:
        """Update the rows of ``t`` whose id is ``src.u_id`` (``src`` columns are prefixed ``u_``)."""
        last = "lastmodifieddate" if t == "contacts" else "hs_lastmodifieddate"
        stamp = f"u.{ts_col}" if ts_col else self.stamp_sql("t.id")
        new = f'greatest(t."updatedAt", {stamp})'
        self.reg("u", src)
        n = self.cur.execute(
            f"UPDATE {self.ds.hs_table(t)} AS t SET \"updatedAt\" = {new}, {last} = strftime({new}, '{WIRE}')"
            f"{', ' + set_sql.format(stamp=new) if set_sql else ''} FROM u WHERE t.id = u.u_id"
        ).fetchone()[0]
        self.cur.unregister("u")
        return n

    def put_assoc(self, from_type: str, to_type: str, f: Any, t: Any, fwd: int, back: int, label: str | None = None):
        """Queue an association in both directions (written by :meth:`flush_assoc`)."""
        if len(f):
            self.assoc.append(associations(from_type, to_type, f, t, fwd, label=label).cast(_ASSOC_SCHEMA))
            self.assoc.append(associations(to_type, from_type, t, f, back, label=label).cast(_ASSOC_SCHEMA))

    def flush_assoc(self) -> None:
        if self.assoc:
            self.reg("src", pa.concat_tables(self.assoc))
            self.cur.execute(f"INSERT INTO hs.associations ({', '.join(ASSOCIATION_COLUMNS)}) SELECT * FROM src")
            self.cur.unregister("src")
            self.assoc = []

    def hs_new_deals(self, specs: list[dict[str, Any]]) -> None:
        """Insert deals (id, company, name, owner, stage, amount, currency, rate, ts, dealtype, mrr, sfopp, reason)."""
        if not specs:
            return
        n = len(specs)
        ts = np.array([s["ts"] for s in specs], dtype="datetime64[ms]")
        stage = np.array([s["stage"] for s in specs])
        won, closed = stage == "closedwon", np.isin(stage, ["closedwon", "closedlost"])
        amount = np.array([s["amount"] for s in specs], dtype=float)
        rate = np.array([s["rate"] for s in specs], dtype=float)
        mrr = np.array([np.nan if s.get("mrr") is None else s["mrr"] for s in specs], dtype=float)
        ids = [s["id"] for s in specs]
        wire = hs_datetime(ts)
        append_hs(
            self.ds,
            "deals",
            pa.table(
                {
                    **_hs_new_rows(ids, ts),
                    "createdate": wire,
                    "hs_lastmodifieddate": wire,
                    "hubspot_owner_id": [s["owner"] for s in specs],
                    "dealname": [s["name"] for s in specs],
                    "amount": money(amount),
                    "dealstage": stage,
                    "pipeline": ["default"] * n,
                    "closedate": wire,
                    "dealtype": [s["dealtype"] for s in specs],
                    "deal_currency_code": [s["currency"] for s in specs],
                    "amount_in_home_currency": money(amount / rate, 6),
                    "hs_is_closed": np.where(closed, "true", "false"),
                    "hs_is_closed_won": np.where(won, "true", "false"),
                    "hs_deal_stage_probability": [_HS_PROB[s] for s in stage],
                    "hs_closed_amount": money(np.where(won, amount, np.nan)),
                    "hs_mrr": money(mrr),
                    "hs_arr": money(mrr * 12),
                    "hs_salesforceopportunityid": pa.array([s.get("sfopp") for s in specs], pa.string()),
                    "closed_lost_reason": pa.array([s.get("reason") for s in specs], pa.string()),
                }
            ),
            cur=self.cur,
        )
        co = [s["company"] for s in specs]
        self.put_assoc("deals", "companies", ids, co, 341, 342)
        self.put_assoc("deals", "companies", ids, co, 5, 6, label="Primary")
        self.count("deals", "insert", n)

    def hs_new_line_items(self, specs: list[dict[str, Any]]) -> None:
        """Insert recurring line items (deal, ts, code, qty, price, amount, currency, freq, start, term, mrr)."""
        if not specs:
            return
        n = len(specs)
        ids = list(self.next_hs_ids("line_items", n))
        ts = np.array([s["ts"] for s in specs], dtype="datetime64[ms]")
        wire = hs_datetime(ts)
        mrr = np.array([s["mrr"] for s in specs], dtype=float)
        term = np.array([s["term"] for s in specs], dtype=np.int64)
        start = np.array([s["start"] for s in specs], dtype="datetime64[D]")
        end = np.array([add_months(s["start"], s["term"]) - timedelta(days=1) for s in specs], dtype="datetime64[D]")
        codes = [s["code"] for s in specs]
        append_hs(
            self.ds,
            "line_items",
            pa.table(
                {
                    **_hs_new_rows(ids, ts),
                    "createdate": wire,
                    "hs_lastmodifieddate": wire,
                    "name": [PRODUCTS[_FAMILY[c][0]][0] for c in codes],
                    "hs_product_id": [self.products()[c] for c in codes],
                    "hs_sku": codes,
                    "quantity": [str(int(s["qty"])) for s in specs],
                    "price": money(np.array([s["price"] for s in specs])),
                    "amount": money(np.array([s["amount"] for s in specs])),
                    "hs_line_item_currency_code": [s["currency"] for s in specs],
                    "recurringbillingfrequency": [s["freq"] for s in specs],
                    "hs_recurring_billing_start_date": hs_date(start),
                    "hs_recurring_billing_end_date": hs_date(end),
                    "hs_term_in_months": [str(t) for t in term.tolist()],
                    "hs_recurring_billing_period": [f"P{t}M" for t in term.tolist()],
                    "hs_mrr": money(mrr),
                    "hs_arr": money(mrr * 12),
                    "hs_tcv": money(mrr * term),
                }
            ),
            cur=self.cur,
        )
        self.put_assoc("deals", "line_items", [s["deal"] for s in specs], ids, 19, 20)
        self.count("line_items", "insert", n)
        for s, i in zip(specs, ids, strict=True):
            s["line_id"] = str(i)

    # -- HubSpot revenue -----------------------------------------------------------------------------
    def mirror_deals(self) -> None:
        """Salesforce opportunities of shared accounts closed today appear as HubSpot deals (not as lines)."""
        acc = self.ds.ground_truth["accounts"]
        shared = acc[acc["link"].isin(["domain", "salesforceaccountid"]) & (acc["hubspot_company_ids"] != "")]
        sf_to_co = dict(
            zip(shared["salesforce_account_id"], shared["hubspot_company_ids"].str.split(";").str[0], strict=True)
        )
        closed = [c for c in self.sf_closed if c["acct"] in sf_to_co]
        if not closed:
            return
        self.reg("want", pa.table({"oid": [c["opp"] for c in closed]}))
        existing = dict(
            self.cur.execute(
                "SELECT hs_salesforceopportunityid, max(id) FROM hs.deals WHERE NOT archived AND "
                "hs_salesforceopportunityid IN (SELECT oid FROM want) GROUP BY 1"
            ).fetchall()
        )
        self.cur.unregister("want")
        info = self.companies([sf_to_co[c["acct"]] for c in closed])
        lag = self.rng.integers(60_000, 3_600_000, len(closed)).astype("timedelta64[ms]")
        latest = self.end - np.timedelta64(1000, "ms")
        new, upd, line_specs = [], [], []
        for c, lg in zip(closed, lag, strict=True):
            t = min(np.datetime64(c["ts"], "ms") + lg, latest)
            mrr = sum(total / term for _, _, _, term, total in c["lines"]) or None
            stage = "closedwon" if c["won"] else "closedlost"
            deal = existing.get(c["opp"])
            if deal is None:
                if self.rng.random() >= 0.9:  # the sync misses a few, as in the generated data
                    continue
                deal = str(self.next_hs_ids("deals", 1)[0])
                name, owner = info.get(sf_to_co[c["acct"]], ("Account", None))
                new.append(
                    {
                        "id": deal,
                        "company": sf_to_co[c["acct"]],
                        "name": f"{name} - {c['type']}",
                        "owner": owner,
                        "stage": stage,
                        "amount": c["amount"],
                        "currency": c["currency"],
                        "rate": c["rate"],
                        "ts": t,
                        # the portal's "renewal" option, as the generator renders renewals (render_hs)
                        "dealtype": "renewal" if c["type"] == "Renewal" else "existingbusiness",
                        "mrr": mrr,
                        "sfopp": c["opp"],
                        "reason": None if c["won"] else "Renewal lost",
                    }
                )
            else:
                upd.append((deal, stage, c["amount"], c["amount"] / c["rate"], c["won"], mrr, t))
            for _, code, start, term, total in c["lines"]:
                freq = _MIRROR_FREQ.get(int(term), "annually")
                line_specs.append(
                    {
                        "deal": deal,
                        "ts": t,
                        "code": code,
                        "qty": 1,
                        "price": total,
                        "amount": total,
                        "currency": c["currency"],
                        "freq": freq,
                        "start": start,
                        "term": int(term),
                        "mrr": total / _MONTHS[freq],
                    }
                )
        self.hs_new_deals(new)
        self.count("deals", "mirror_insert", len(new))
        if upd:
            src = pa.table(
                {
                    "u_id": [u[0] for u in upd],
                    "u_stage": [u[1] for u in upd],
                    "u_amount": money(np.array([u[2] for u in upd])),
                    "u_home": money(np.array([u[3] for u in upd]), 6),
                    "u_won": ["true" if u[4] else "false" for u in upd],
                    "u_mrr": money(np.array([np.nan if u[5] is None else u[5] for u in upd], dtype=float)),
                    "u_arr": money(np.array([np.nan if u[5] is None else u[5] * 12 for u in upd], dtype=float)),
                    "u_prob": [_HS_PROB[u[1]] for u in upd],
                    "u_ts": pa.array(np.array([u[6] for u in upd], dtype="datetime64[ms]")),
                }
            )
            n = self.hs_update_from(
                "deals",
                src,
                "dealstage = u.u_stage, amount = u.u_amount, amount_in_home_currency = u.u_home, "
                "hs_is_closed = 'true', hs_is_closed_won = u.u_won, hs_deal_stage_probability = u.u_prob, "
                "hs_closed_amount = CASE WHEN u.u_won = 'true' THEN u.u_amount END, "
                "hs_mrr = coalesce(u.u_mrr, t.hs_mrr), hs_arr = coalesce(u.u_arr, t.hs_arr), "
                f"closedate = strftime(u.u_ts, '{WIRE}')",
                "u_ts",
            )
            self.count("deals", "mirror_close", n)
        self.hs_new_line_items(line_specs)

    def _hs_line_specs(
        self,
        deal: str,
        ts: np.datetime64,
        currency: str,
        start: date,
        term: int,
        items: list[tuple[str, int, float, str]],
    ) -> list[dict[str, Any]]:
        """Line specs for (code, qty, mrr_local, freq) with the HubSpot-only conventions:
        price per billing period, amount = qty * price, mrr = amount / months per period."""
        out = []
        for code, qty, mrr, freq in items:
            mpp = HS_FREQ_MONTHS[freq]
            amount = round(mrr * mpp, 2)
            price = round(amount / qty, DECIMALS[currency])
            if round(price * qty, 2) != amount:
                qty, price = 1, amount
            out.append(
                {
                    "deal": deal,
                    "ts": ts,
                    "code": code,
                    "qty": int(qty),
                    "price": price,
                    "amount": amount,
                    "currency": currency,
                    "freq": freq,
                    "start": start,
                    "term": term,
                    "mrr": amount / mpp,
                }
            )
        return out

    def _hs_running(self) -> pd.DataFrame:
        lines = self.ds.ground_truth["contract_lines"]
        return lines[lines["source_system"] == "hubspot"]

    def _line_facts(self, ids: list[str]) -> dict[str, tuple[int, str]]:
        """line item id -> (quantity, billing frequency)."""
        self.reg("want", pa.table({"lid": pa.array(ids, pa.string())}))
        rows = self.cur.execute(
            "SELECT id, TRY_CAST(quantity AS BIGINT), recurringbillingfrequency FROM hs.line_items "
            "WHERE id IN (SELECT lid FROM want)"
        ).fetchall()
        self.cur.unregister("want")
        return {r[0]: (int(r[1] or 1), r[2] or "annually") for r in rows}

    def hs_renewals(self) -> None:
        """HubSpot-only contracts ending within 20 days renew (~85%, a closed-won dealtype=renewal deal whose
        recurring lines start the day after the old end) or churn (a closed-lost deal)."""
        hs = self._hs_running()
        lo = (self.day + timedelta(days=1)).isoformat()
        hi = (self.day + timedelta(days=RENEW_WINDOW_DAYS)).isoformat()
        due = hs[(hs["service_end_date"] >= lo) & (hs["service_end_date"] <= hi)]
        if due.empty:
            return
        latest = hs.groupby("global_account_key")["service_start_date"].max()
        company = self.primary_company()
        groups = []
        for (key, end), grp in due.groupby(["global_account_key", "service_end_date"], sort=True):
            if latest[key] > end or key not in company:  # already renewed (or a later contract runs)
                continue
            renew = _unit(f"{key}|{end}") < RENEW_SHARE  # stable: a catch-up on a later day decides the same
            if renew or end == hi:
                groups.append((key, end, grp, renew))
        if not groups:
            return
        facts = self._line_facts([lid for *_, grp, _ in groups for lid in grp["source_line_id"]])
        info = self.companies([company[k] for k, *_ in groups])
        rates = self.rates(self.day)
        deals, line_specs, truth = [], [], []
        ts_all = self.stamps(len(groups))
        for (key, end, grp, renew), ts in zip(groups, ts_all, strict=True):
            cur = grp["currency"].iloc[0]
            name, owner = info.get(company[key], ("Account", None))
            deal = str(self.next_hs_ids("deals", 1)[0])
            items = []
            for code, sub in grp.groupby("product_code", sort=True):
                qty = sum(facts.get(i, (1, "annually"))[0] for i in sub["source_line_id"])
                freqs = [facts.get(i, (1, "annually"))[1] for i in sub["source_line_id"]]
                freq = max(set(freqs), key=lambda f, fs=freqs: (fs.count(f), f))
                items.append([code, max(1, qty), float(sub["mrr_local"].sum()), freq])
            x = self.rng.random()
            seats = [it for it in items if it[0] == "SEAT-ADD"]
            optional = [it for it in items if it[0] in _OPTIONAL_CODES]
            if x < 0.2 and seats:  # more seats
                add = int(self.rng.integers(2, 21))
                seats[0][2] += seats[0][2] / seats[0][1] * add
                seats[0][1] += add
            elif x < 0.3 and optional and len(items) > 1:  # drop an add-on
                items.remove(optional[int(self.rng.integers(0, len(optional)))])
            term = 12 if self.rng.random() < 0.8 else 24
            start = date.fromisoformat(end) + timedelta(days=1)
            specs = self._hs_line_specs(deal, ts, cur, start, term, [tuple(i) for i in items]) if renew else []
            mrr = sum(s["mrr"] for s in specs)
            amount = (
                round(sum(s["amount"] for s in specs), 2) if renew else round(float(grp["mrr_local"].sum()) * 12, 2)
            )
            deals.append(
                {
                    "id": deal,
                    "company": company[key],
                    "name": f"{name} - Renewal {start.year}",
                    "owner": owner,
                    "stage": "closedwon" if renew else "closedlost",
                    "amount": amount,
                    "currency": cur,
                    "rate": rates[cur],
                    "ts": ts,
                    "dealtype": "renewal",
                    "mrr": mrr or None,
                    "reason": None if renew else "Chose competitor",
                }
            )
            line_specs.extend(specs)
            truth.extend((key, s, True) for s in specs)
            self.count("deals", "renewal" if renew else "churn", 1)
        self.hs_new_deals(deals)
        self.hs_new_line_items(line_specs)
        self.add_lines(
            [
                self._line_row(
                    "hubspot",
                    key,
                    s["line_id"],
                    s["deal"],
                    s["code"],
                    ren,
                    s["start"],
                    s["term"],
                    s["currency"],
                    s["mrr"],
                    rates[s["currency"]],
                )
                for key, s, ren in truth
            ]
        )

    def hs_upsells(self) -> None:
        """A few paying HubSpot-only accounts buy seats: a closed-won deal, co-terminated with the contract."""
        hs = self._hs_running()
        today = self.day.isoformat()
        running = hs[
            (hs["service_start_date"] <= today) & (hs["service_end_date"] > (self.day + timedelta(days=60)).isoformat())
        ]
        if running.empty:
            return
        ends = running.groupby("global_account_key")["service_end_date"].max()
        chosen = ends.index.to_numpy()[self.rng.random(len(ends)) < HS_UPSELL_SHARE]
        company = self.primary_company()
        chosen = [k for k in chosen if k in company]
        if not chosen:
            return
        info = self.companies([company[k] for k in chosen])
        rates = self.rates(self.day)
        plat = running[running["product_code"] == "PLAT-STD"].groupby("global_account_key")["mrr_usd"].sum()
        cur_of = running.groupby("global_account_key")["currency"].first()
        deals, line_specs = [], []
        for key, ts in zip(chosen, self.stamps(len(chosen)), strict=True):
            end = date.fromisoformat(ends[key])
            start = _clamp_day(self.day + timedelta(days=1))
            months = _co_term_months(start, end)
            if months < 1:
                continue
            cur = cur_of[key]
            size = float(np.clip(plat.get(key, 1500.0) / 1500.0, 0.3, 6.0))
            unit = round(PRODUCTS[_FAMILY["SEAT-ADD"][0]][4] * size * rates[cur], DECIMALS[cur]) or 1.0
            qty = int(self.rng.integers(3, 26))
            freq = (
                "monthly"
                if months < 3
                else str(self.rng.choice(["annually", "quarterly", "monthly"], p=[0.5, 0.2, 0.3]))
            )
            deal = str(self.next_hs_ids("deals", 1)[0])
            specs = self._hs_line_specs(deal, ts, cur, start, months, [("SEAT-ADD", qty, unit * qty, freq)])
            name, owner = info.get(company[key], ("Account", None))
            deals.append(
                {
                    "id": deal,
                    "company": company[key],
                    "name": f"{name} - Seats",
                    "owner": owner,
                    "stage": "closedwon",
                    "amount": specs[0]["amount"],
                    "currency": cur,
                    "rate": rates[cur],
                    "ts": ts,
                    "dealtype": "existingbusiness",
                    "mrr": specs[0]["mrr"],
                }
            )
            line_specs.extend((key, s) for s in specs)
        self.hs_new_deals(deals)
        self.hs_new_line_items([s for _, s in line_specs])
        self.count("deals", "upsell", len(deals))
        self.add_lines(
            [
                self._line_row(
                    "hubspot",
                    key,
                    s["line_id"],
                    s["deal"],
                    s["code"],
                    False,
                    s["start"],
                    s["term"],
                    s["currency"],
                    s["mrr"],
                    rates[s["currency"]],
                )
                for key, s in line_specs
            ]
        )

    def hs_pipeline(self) -> None:
        """Open HubSpot deals (not Salesforce mirrors) move a stage or, when overdue, close lost."""
        own = "NOT archived AND hs_is_closed = 'false' AND hs_salesforceopportunityid IS NULL"
        stage = " ".join(f"WHEN '{a}' THEN '{b}'" for a, b in pairwise(_HS_OPEN))
        prob = " ".join(f"WHEN '{a}' THEN '{_HS_PROB[b]}'" for a, b in pairwise(_HS_OPEN))
        n = self.hs_update(
            "deals",
            f"{own} AND dealstage IN {tuple(_HS_OPEN[:-1])} AND {self.pick_sql('id', 0.02)}",
            f"dealstage = CASE dealstage {stage} END, hs_deal_stage_probability = CASE dealstage {prob} END",
        )
        self.count("deals", "stage_move", n)
        n = self.hs_update(
            "deals",
            f"{own} AND closedate < '{self.day.isoformat()}' AND {self.pick_sql('id', 0.03)}",
            "dealstage = 'closedlost', hs_is_closed = 'true', hs_is_closed_won = 'false', "
            f"hs_deal_stage_probability = '{_HS_PROB['closedlost']}', closed_lost_reason = 'No decision', "
            f"closedate = strftime({{stamp}}, '{WIRE}')",
        )
        self.count("deals", "closed_lost", n)

    def hs_open_line_items(self) -> None:
        """Quantity edits on line items of open deals (never of won deals); the deal totals follow."""
        self.cur.execute(
            "CREATE OR REPLACE TEMP TABLE adv_li AS SELECT l.id AS u_id, d.id AS deal, "
            f"{self.stamp_sql('l.id')} AS u_ts FROM hs.line_items l JOIN hs.associations a ON a.from_type = "
            "'line_items' AND a.to_type = 'deals' AND a.type_id = 20 AND a.from_id = l.id JOIN hs.deals d ON "
            "d.id = a.to_id WHERE NOT l.archived AND NOT d.archived AND d.hs_is_closed = 'false' AND "
            f"d.hs_salesforceopportunityid IS NULL AND TRY_CAST(l.price AS DOUBLE) IS NOT NULL AND "
            f"{self.pick_sql('l.id', 0.01)}"
        )
        src = self.arrow("SELECT u_id, u_ts FROM adv_li")
        if src.num_rows == 0:
            return
        mpp = (
            "CASE t.recurringbillingfrequency WHEN 'monthly' THEN 1 WHEN 'quarterly' THEN 3 WHEN 'annually' THEN 12 "
            "WHEN 'per_two_years' THEN 24 WHEN 'per_three_years' THEN 36 END"
        )
        amt = "((TRY_CAST(t.quantity AS BIGINT) + 1) * CAST(t.price AS DOUBLE))"
        n = self.hs_update_from(
            "line_items",
            src,
            f"quantity = CAST(TRY_CAST(t.quantity AS BIGINT) + 1 AS VARCHAR), amount = printf('%.2f', {amt}), "
            f"hs_mrr = CASE WHEN {mpp} IS NOT NULL THEN printf('%.2f', {amt} / {mpp}) END, "
            f"hs_arr = CASE WHEN {mpp} IS NOT NULL THEN printf('%.2f', 12 * {amt} / {mpp}) END, "
            f"hs_tcv = CASE WHEN {mpp} IS NOT NULL THEN printf('%.2f', {amt} / {mpp} * "
            f"coalesce(TRY_CAST(t.hs_term_in_months AS BIGINT), 12)) ELSE printf('%.2f', {amt}) END",
            "u_ts",
        )
        self.count("line_items", "update", n)
        totals = self.arrow(
            "SELECT p.deal AS u_id, max(p.u_ts) AS u_ts, printf('%.2f', sum(TRY_CAST(l.amount AS DOUBLE))) AS "
            "u_amount, CASE WHEN sum(TRY_CAST(l.hs_mrr AS DOUBLE)) > 0 THEN printf('%.2f', sum(TRY_CAST(l.hs_mrr AS "
            "DOUBLE))) END AS u_mrr, CASE WHEN sum(TRY_CAST(l.hs_mrr AS DOUBLE)) > 0 THEN printf('%.2f', 12 * "
            "sum(TRY_CAST(l.hs_mrr AS DOUBLE))) END AS u_arr FROM (SELECT deal, max(u_ts) AS u_ts FROM adv_li GROUP "
            "BY deal) p JOIN hs.associations a ON a.from_type = 'deals' AND a.to_type = 'line_items' AND a.type_id "
            "= 19 AND a.from_id = p.deal JOIN hs.line_items l ON l.id = a.to_id AND NOT l.archived GROUP BY p.deal"
        )
        n = self.hs_update_from(
            "deals",
            totals,
            "amount = u.u_amount, hs_mrr = u.u_mrr, hs_arr = u.u_arr, amount_in_home_currency = CASE WHEN "
            "TRY_CAST(t.amount AS DOUBLE) > 0 THEN printf('%.6f', CAST(u.u_amount AS DOUBLE) * "
            "CAST(t.amount_in_home_currency AS DOUBLE) / CAST(t.amount AS DOUBLE)) ELSE t.amount_in_home_currency END",
            "u_ts",
        )
        self.count("deals", "update", n)
        self.cur.execute("DROP TABLE adv_li")

    # -- HubSpot inserts ----------------------------------------------------------------------------
    def hs_new_companies(self) -> None:
        """Rarely a new company (a HubSpot-only prospect, so a new global account)."""
        total = self.n_rows(self.ds.hs_table("companies"))
        n = int(self.rng.poisson(total * COMPANY_INSERT_SHARE))
        self.new_companies: list[str] = []
        if n == 0:
            return
        rng = self.rng
        acc = self.ds.ground_truth["accounts"]
        taken = set(acc["domain"])
        nums = acc["global_account_key"].str.slice(2).astype(int)
        next_key = int(nums.max()) + 1 if len(nums) else 1
        names, domains = [], []
        for _ in range(n):
            stem = str(rng.choice(_SYL_A)) + str(rng.choice(_SYL_B))
            tld = str(rng.choice(_TLD))
            domain, k = f"{stem.lower()}.{tld}", 1
            while domain in taken:
                k += 1
                domain = f"{stem.lower()}{k}.{tld}"
            taken.add(domain)
            domains.append(domain)
            names.append(f"{stem}{' ' + str(k) if k > 1 else ''} {rng.choice(_SUFFIX)}")
        ids = [str(i) for i in self.next_hs_ids("companies", n)]
        ts = self.stamps(n)
        wire = hs_datetime(ts)
        owners = [o["id"] for o in self.ds.hs_owners if not o.get("archived")] or [None]
        employees = np.maximum(5, rng.lognormal(5.0, 0.8, n).astype(np.int64))
        append_hs(
            self.ds,
            "companies",
            pa.table(
                {
                    **_hs_new_rows(ids, ts),
                    "createdate": wire,
                    "hs_lastmodifieddate": wire,
                    "hubspot_owner_id": pa.array(
                        [owners[int(i)] for i in rng.integers(0, len(owners), n)], pa.string()
                    ),
                    "name": names,
                    "domain": domains,
                    "website": [f"https://www.{d}/" for d in domains],
                    "industry": [hss.INDUSTRY_CODES[int(i)] for i in rng.integers(0, 12, n)],
                    "annualrevenue": money(np.round(employees * rng.uniform(80_000, 300_000, n), -3), 0),
                    "numberofemployees": [str(e) for e in employees.tolist()],
                    "lifecyclestage": ["lead"] * n,
                    "type": ["PROSPECT"] * n,
                    "country": [str(c) for c in rng.choice(np.array(COUNTRIES), n)],
                }
            ),
            cur=self.cur,
        )
        keys = [f"GA{next_key + i:06d}" for i in range(n)]
        new = pd.DataFrame(
            {
                "global_account_key": keys,
                "account_name": names,
                "domain": domains,
                "salesforce_account_id": [""] * n,
                "hubspot_company_ids": ids,
                "revenue_system": [""] * n,
                "link": ["hubspot_only"] * n,
                "parent_account_key": [""] * n,
                "ultimate_parent_account_key": keys,
            }
        )
        self.ds.ground_truth["accounts"] = gt.typed(pd.concat([acc, new], ignore_index=True))
        st = self.ds.ground_truth["account_stakeholders"]
        self.ds.ground_truth["account_stakeholders"] = gt.typed(
            pd.concat(
                [st, pd.DataFrame({"global_account_key": keys, "roles_present": [""] * n, "engaged_contacts_90d": 0})],
                ignore_index=True,
            )
        )
        self._co_keys = None
        self.new_companies = ids
        self.count("companies", "insert", n)

    def hs_new_contacts(self) -> None:
        """New contacts at known companies (primary company association), some with a buying role."""
        total = self.n_rows(self.ds.hs_table("contacts"))
        n = round(total * CONTACT_INSERT_SHARE + self.rng.random())
        self.co_keys()
        forced = getattr(self, "new_companies", [])
        rows = self.cur.execute(
            "SELECT k.company, k.gkey, k.domain, c.hubspot_owner_id, c.lifecyclestage FROM co_keys k JOIN "
            "hs.companies c ON c.id = k.company WHERE NOT c.archived AND k.is_primary "
            f"ORDER BY (k.company IN (SELECT unnest(?::VARCHAR[]))) DESC, hash(k.company, {self.salt()}::UBIGINT), "
            f"k.company LIMIT {n + len(forced)}",
            [forced],
        ).fetchall()
        if not rows:
            return
        n = len(rows)
        rng = self.rng
        first = np.array(FIRST)[rng.integers(0, len(FIRST), n)]
        last = np.array(LAST)[rng.integers(0, len(LAST), n)]
        local = [f"{f}.{sn}".lower() for f, sn in zip(first, last, strict=True)]
        wanted = [f"{loc}@{r[2]}" for loc, r in zip(local, rows, strict=True)]
        self.reg("want", pa.table({"e": wanted}))
        taken = {
            r[0]
            for r in self.cur.execute(
                "SELECT lower(trim(email)) FROM hs.contacts WHERE lower(trim(email)) IN (SELECT e FROM want) UNION "
                'SELECT lower(trim("Email")) FROM sf."Contact" WHERE lower(trim("Email")) IN (SELECT e FROM want)'
            ).fetchall()
        }
        self.cur.unregister("want")
        emails = []
        for loc, r in zip(local, rows, strict=True):
            e, k = f"{loc}@{r[2]}", 1
            while e in taken:
                k += 1
                e = f"{loc}{k}@{r[2]}"
            taken.add(e)
            emails.append(e)
        roles = np.full(n, None, dtype=object)
        has_role = rng.random(n) < 0.15
        roles[has_role] = np.array(hss.BUYING_ROLES)[rng.integers(0, len(hss.BUYING_ROLES), int(has_role.sum()))]
        ids = [str(i) for i in self.next_hs_ids("contacts", n)]
        ts = self.stamps(n)
        wire = hs_datetime(ts)
        companies = [r[0] for r in rows]
        append_hs(
            self.ds,
            "contacts",
            pa.table(
                {
                    **_hs_new_rows(ids, ts),
                    "createdate": wire,
                    "lastmodifieddate": wire,
                    "hubspot_owner_id": pa.array([r[3] for r in rows], pa.string()),
                    "email": emails,
                    "firstname": first,
                    "lastname": last,
                    "jobtitle": np.array(TITLES)[rng.integers(0, len(TITLES), n)],
                    "associatedcompanyid": companies,
                    "lifecyclestage": [("customer" if r[4] == "customer" else "lead") for r in rows],
                    "hs_buying_role": pa.array(roles, pa.string()),
                }
            ),
            cur=self.cur,
        )
        self.put_assoc("contacts", "companies", ids, companies, 279, 280)
        self.put_assoc("contacts", "companies", ids, companies, 1, 2, label="Primary")
        self.count("contacts", "insert", n)
        if has_role.any():  # roles_present follows the new buying roles
            st = self.ds.ground_truth["account_stakeholders"].copy()
            pos = {k: i for i, k in enumerate(st["global_account_key"])}
            present = st["roles_present"].astype(object).to_numpy().copy()
            for r, role in zip(rows, roles, strict=True):
                if role is None or r[1] not in pos:
                    continue
                i = pos[r[1]]
                have = set(filter(None, str(present[i]).split(";")))
                present[i] = ";".join(sorted(have | {gt.ROLE_MAP[role]}))
            st["roles_present"] = present
            self.ds.ground_truth["account_stakeholders"] = gt.typed(st)

    def hs_new_engagements(self) -> None:
        """New calls/emails/meetings/notes/tasks with company, contact and (sometimes) deal associations."""
        counts = {t: self.n_rows(self.ds.hs_table(t)) for t in ENGAGEMENTS}
        want = {t: round(c * ENGAGEMENT_INSERT_SHARE + self.rng.random()) for t, c in counts.items()}
        total = sum(want.values())
        if total == 0:
            return
        self.co_keys()
        base = self.arrow(
            "SELECT c.id AS contact, c.associatedcompanyid AS company, c.hubspot_owner_id AS owner, "
            "lower(trim(c.email)) AS email, k.gkey FROM hs.contacts c JOIN co_keys k ON k.company = "
            "c.associatedcompanyid JOIN hs.companies co ON co.id = k.company AND NOT co.archived WHERE NOT "
            f"c.archived ORDER BY hash(c.id, {self.salt()}::UBIGINT), c.id LIMIT {total}"
        )
        n = base.num_rows
        if n == 0:
            return
        rng = self.rng
        kind = np.repeat(np.arange(len(ENGAGEMENTS)), [want[t] for t in ENGAGEMENTS])[:n]
        with_contact = rng.random(n) >= 0.08
        wants_deal = rng.random(n) < 0.3
        ts = self.stamps(n)[rng.permutation(n)]
        subject_code = rng.integers(0, len(_SUBJECTS), n)
        # one deal of the company, where wanted
        self.reg(
            "eng",
            pa.table({"i": np.arange(n), "company": base["company"], "wd": wants_deal}),
        )
        deal_rows = self.cur.execute(
            "SELECT e.i, min_by(a.to_id, hash(a.to_id, e.i)) FROM eng e JOIN hs.associations a ON a.from_type = "
            "'companies' AND a.to_type = 'deals' AND a.type_id = 342 AND a.from_id = e.company JOIN hs.deals d ON "
            "d.id = a.to_id AND NOT d.archived WHERE e.wd GROUP BY e.i"
        ).fetchall()
        self.cur.unregister("eng")
        deal = np.full(n, None, dtype=object)
        for i, d in deal_rows:
            deal[i] = d
        company = np.asarray(base["company"].to_pylist(), dtype=object)
        contact = np.asarray(base["contact"].to_pylist(), dtype=object)
        owner = base["owner"]
        subjects = np.asarray(_SUBJECTS)
        clock = self.end
        for k, t in enumerate(ENGAGEMENTS):
            sel = np.flatnonzero(kind == k)
            m = len(sel)
            if m == 0:
                continue
            ids = [str(i) for i in self.next_hs_ids(t, m)]
            t_ts = ts[sel]
            created = t_ts
            updated = np.minimum(
                t_ts + rng.integers(0, 3_600_000, m).astype("timedelta64[ms]"), clock - np.timedelta64(1000, "ms")
            )
            subject = subjects[subject_code[sel]]
            cols: dict[str, Any] = {
                "id": ids,
                "createdAt": pa.array(created),
                "updatedAt": pa.array(updated),
                "archived": [False] * m,
                "archivedAt": pa.nulls(m, pa.timestamp("ms")),
                "hs_object_id": ids,
                "hs_createdate": hs_datetime(created),
                "hs_lastmodifieddate": hs_datetime(updated),
                "hs_timestamp": hs_datetime(t_ts),
                "hubspot_owner_id": owner.take(pa.array(sel)),
            }
            if t == "calls":
                cols |= {
                    "hs_call_title": subject,
                    "hs_call_direction": np.where(rng.random(m) < 0.8, "OUTBOUND", "INBOUND"),
                    "hs_call_duration": (rng.integers(30, 3600, m) * 1000).astype(str),
                    "hs_call_status": np.where(rng.random(m) < 0.85, "COMPLETED", "NO_ANSWER"),
                    "hs_body_preview": subject,
                }
            elif t == "emails":
                cols |= {
                    "hs_email_subject": subject,
                    "hs_email_direction": np.where(rng.random(m) < 0.7, "EMAIL", "INCOMING_EMAIL"),
                    "hs_email_status": ["SENT"] * m,
                    "hs_body_preview": subject,
                }
            elif t == "meetings":
                end = t_ts + np.timedelta64(3_600_000, "ms")
                cols |= {
                    "hs_meeting_title": subject,
                    "hs_meeting_start_time": hs_datetime(t_ts),
                    "hs_meeting_end_time": hs_datetime(end),
                    "hs_meeting_outcome": np.where(end <= clock, "COMPLETED", "SCHEDULED"),
                }
            elif t == "notes":
                cols |= {"hs_note_body": np.char.add(np.char.add("<p>", subject), "</p>"), "hs_body_preview": subject}
            else:
                cols |= {
                    "hs_task_subject": subject,
                    "hs_task_status": np.where(rng.random(m) < 0.8, "COMPLETED", "NOT_STARTED"),
                    "hs_task_priority": ["MEDIUM"] * m,
                    "hs_task_type": ["TODO"] * m,
                }
            append_hs(self.ds, t, pa.table(cols), cur=self.cur)
            t_co, co_t, t_ct, ct_t, t_deal, deal_t = _ENG_TYPE_IDS[t]
            idarr = np.asarray(ids, dtype=object)
            self.put_assoc("companies", t, list(company[sel]), ids, t_co, co_t)
            wc = with_contact[sel]
            self.put_assoc("contacts", t, list(contact[sel][wc]), list(idarr[wc]), t_ct, ct_t)
            wd = np.array([d is not None for d in deal[sel]], dtype=bool)
            self.put_assoc("deals", t, list(deal[sel][wd]), list(idarr[wd]), t_deal, deal_t)
            self.count(t, "insert", m)
        emails = np.asarray(base["email"].to_pylist(), dtype=object)
        keys = np.asarray(base["gkey"].to_pylist(), dtype=object)
        ok = with_contact & np.array([e is not None for e in emails], dtype=bool)
        self.touches.append(
            pd.DataFrame(
                {
                    "global_account_key": keys[ok],
                    "email": emails[ok],
                    "last_touch": np.datetime_as_string(ts[ok], unit="ms"),
                }
            )
        )

    def flush_touches(self) -> None:
        if not self.touches:
            return
        plt = pd.concat([self.ds.ground_truth["person_last_touch"], *self.touches], ignore_index=True)
        plt = plt.sort_values("last_touch").drop_duplicates(["global_account_key", "email"], keep="last")
        self.ds.ground_truth["person_last_touch"] = gt.typed(
            plt.sort_values(["global_account_key", "email"]).reset_index(drop=True)
        )

    # -- HubSpot archives, restores and purge --------------------------------------------------------
    def hs_archive_and_restore(self) -> None:
        """Archive and restore records whose state does not feed the ground truth: engagements older
        than 120 days (recent ones are touches), contacts without a buying role at a company, lost deals
        without stakeholder labels (with their line items)."""
        old = hs_datetime(np.array([self.start - np.timedelta64(120, "D")])).to_pylist()[0]
        young = f"TIMESTAMP '{self.start_sql}' - INTERVAL 16 DAY"
        rules = {t: f"hs_timestamp < '{old}'" for t in ENGAGEMENTS}
        rules["contacts"] = f'(hs_buying_role IS NULL OR associatedcompanyid IS NULL) AND "createdAt" < {young}'
        rules["deals"] = (
            "dealstage = 'closedlost' AND hs_salesforceopportunityid IS NULL AND id NOT IN (SELECT from_id FROM "
            "hs.associations WHERE from_type = 'deals' AND category = 'USER_DEFINED')"
        )
        for t, rule in rules.items():
            share = HS_ARCHIVE_SHARE * (3 if t == "deals" else 1)
            if t == "deals":
                self.cur.execute(
                    f"CREATE OR REPLACE TEMP TABLE adv_arch AS SELECT id AS u_id, {self.stamp_sql('id')} AS u_ts "
                    f"FROM hs.deals WHERE NOT archived AND {rule} AND {self.pick_sql('id', share)}"
                )
                self._archive_deals(True)
                self.cur.execute(
                    f"CREATE OR REPLACE TEMP TABLE adv_arch AS SELECT id AS u_id, {self.stamp_sql('id')} AS u_ts "
                    f"FROM hs.deals WHERE archived AND {rule} AND {self.pick_sql('id', HS_RESTORE_SHARE)}"
                )
                self._archive_deals(False)
                self.cur.execute("DROP TABLE adv_arch")
                continue
            n = self.hs_update(
                t,
                f"NOT archived AND {rule} AND {self.pick_sql('id', share)}",
                'archived = true, "archivedAt" = {stamp}',
            )
            self.count(t, "archive", n)
            n = self.hs_update(
                t,
                f"archived AND {rule} AND {self.pick_sql('id', HS_RESTORE_SHARE)}",
                'archived = false, "archivedAt" = NULL',
            )
            self.count(t, "restore", n)

    def _archive_deals(self, archive: bool) -> None:
        src = self.arrow("SELECT u_id, u_ts FROM adv_arch")
        if src.num_rows == 0:
            return
        state = 'archived = true, "archivedAt" = {stamp}' if archive else 'archived = false, "archivedAt" = NULL'
        n = self.hs_update_from("deals", src, state, "u_ts")
        self.count("deals", "archive" if archive else "restore", n)
        items = self.arrow(
            "SELECT a.to_id AS u_id, d.u_ts FROM adv_arch d JOIN hs.associations a ON a.from_type = 'deals' AND "
            "a.to_type = 'line_items' AND a.type_id = 19 AND a.from_id = d.u_id"
        )
        if items.num_rows:
            n = self.hs_update_from("line_items", items, state, "u_ts")
            self.count("line_items", "archive" if archive else "restore", n)

    def hs_purge(self) -> None:
        """HubSpot drops archived records 90 days after archiving, with their associations."""
        horizon = str(self.end - np.timedelta64(HS_ARCHIVE_DAYS, "D"))
        parts = []
        for t in self.hs_types():
            n = self.cur.execute(
                f'SELECT count(*) FROM {self.ds.hs_table(t)} WHERE archived AND "archivedAt" < ?', [horizon]
            ).fetchone()[0]
            if n:
                parts.append(
                    f"SELECT '{t}' AS t, id FROM {self.ds.hs_table(t)} WHERE archived AND \"archivedAt\" < '{horizon}'"
                )
                self.count(t, "purge", n)
        if not parts:
            return
        self.cur.execute(f"CREATE OR REPLACE TEMP TABLE adv_gone AS {' UNION ALL '.join(parts)}")
        self.cur.execute("DELETE FROM hs.associations a USING adv_gone g WHERE a.from_type = g.t AND a.from_id = g.id")
        self.cur.execute("DELETE FROM hs.associations a USING adv_gone g WHERE a.to_type = g.t AND a.to_id = g.id")
        for t in self.hs_types():
            self.cur.execute(f'DELETE FROM {self.ds.hs_table(t)} WHERE archived AND "archivedAt" < ?', [horizon])
        self.cur.execute("DROP TABLE adv_gone")

    # -- Salesforce activities, dirt and reference data ----------------------------------------------------
    def new_tasks(self) -> None:
        total = self.n_rows(self.ds.sf_table("Task"))
        n = int(total * 0.003) + 1
        rows = self.cur.execute(
            'SELECT c."Id", c."AccountId", lower(c."Email"), c."OwnerId" FROM sf."Contact" c WHERE NOT c."IsDeleted" '
            f'AND c."AccountId" IS NOT NULL AND c."Email" IS NOT NULL ORDER BY hash(c."Id", {self.salt()}::UBIGINT), '
            f'c."Id" LIMIT {n}'
        ).fetchall()
        if not rows:
            return
        n = len(rows)
        pick = rows
        ts = self.stamps(n)
        append_sf(
            self.ds,
            "Task",
            pa.table(
                {
                    "Id": pa.array(sf_ids("Task", self.next_ids(n))),
                    "IsDeleted": [False] * n,
                    "CreatedDate": pa.array(ts),
                    "CreatedById": [p[3] for p in pick],
                    "LastModifiedDate": pa.array(ts),
                    "LastModifiedById": [p[3] for p in pick],
                    "SystemModstamp": pa.array(ts),
                    "WhoId": [p[0] for p in pick],
                    "AccountId": [p[1] for p in pick],
                    "OwnerId": [p[3] for p in pick],
                    "Subject": ["Check-in call"] * n,
                    "ActivityDate": pa.array([self.day] * n, pa.date32()),
                    "Status": ["Completed"] * n,
                    "TaskSubtype": ["Call"] * n,
                    "Type": ["Call"] * n,
                    "IsClosed": [True] * n,
                    "CompletedDateTime": pa.array(ts),
                    "IsArchived": [False] * n,
                }
            ),
            cur=self.cur,
        )
        self.count("Task", "insert", n)
        keys = self._account_keys()
        ok = [i for i, p in enumerate(pick) if p[1] in keys]
        self.touches.append(
            pd.DataFrame(
                {
                    "global_account_key": [keys[pick[i][1]] for i in ok],
                    "email": [pick[i][2] for i in ok],
                    "last_touch": np.datetime_as_string(ts[ok], unit="ms"),
                }
            )
        )

    def delete_and_undelete(self) -> None:
        # old tasks only: recent touches feed engaged_contacts_90d
        cutoff = self.start - np.timedelta64(120, "D")
        old = f"\"CreatedDate\" < '{cutoff}'"
        ids = self.sample('sf."Task"', f'NOT "IsDeleted" AND {old}', 0.0005)
        if ids:
            self.touch_sf("Task", ids, '"IsDeleted" = true')
            self.count("Task", "delete", len(ids))
        back = self.sample('sf."Task"', f'"IsDeleted" AND {old}', 0.15)
        if back:
            self.touch_sf("Task", back, '"IsDeleted" = false')
            self.count("Task", "undelete", len(back))

    def purge(self) -> None:
        horizon = self.start + np.timedelta64(1, "D") - np.timedelta64(15, "D")
        for obj, d in self.ds.sf_describe.items():
            if "IsDeleted" not in {f["name"] for f in d["fields"]}:
                continue
            n = self.cur.execute(
                f'SELECT count(*) FROM {self.ds.sf_table(obj)} WHERE "IsDeleted" AND "SystemModstamp" < \'{horizon}\''
            ).fetchone()[0]
            if n:
                self.cur.execute(
                    f'DELETE FROM {self.ds.sf_table(obj)} WHERE "IsDeleted" AND "SystemModstamp" < \'{horizon}\''
                )
                self.count(obj, "purge", n)

    def fx_month(self) -> None:
        """A new DatedConversionRate row per currency when the clock enters a month without one; the
        previous open-ended row now ends where the new one starts, and CurrencyType follows."""
        first = self.day.replace(day=1)
        have = self.cur.execute(
            'SELECT count(*) FROM sf."DatedConversionRate" WHERE "StartDate" = ?', [first]
        ).fetchone()[0]
        if have:
            return
        rows = self.cur.execute(
            'SELECT "IsoCode", "ConversionRate" FROM sf."DatedConversionRate" WHERE "StartDate" < ? '
            'ORDER BY "IsoCode", "StartDate"',
            [first],
        ).fetchall()
        prev = {c: float(r) for c, r in rows}  # the latest row per currency wins
        if not prev:
            return
        cur_list = [c for c in CURRENCIES if c in prev]
        new_rate = []
        for c in cur_list:
            log_prev = float(np.log(prev[c] / _BASE[c]))
            new_rate.append(round(float(_BASE[c] * np.exp(0.9 * log_prev + self.rng.normal(0.0, _VOL[c]))), 6))
        n = len(cur_list)
        ts = self.stamps(n)
        ids = [
            r[0]
            for r in self.cur.execute(
                'SELECT "Id" FROM sf."DatedConversionRate" WHERE "StartDate" < ? AND "NextStartDate" > ?',
                [first, first],
            ).fetchall()
        ]
        self.touch_sf(
            "DatedConversionRate", ids, f"\"NextStartDate\" = DATE '{first.isoformat()}'", np.full(len(ids), ts[0])
        )
        append_sf(
            self.ds,
            "DatedConversionRate",
            pa.table(
                {
                    "Id": pa.array(sf_ids("DatedConversionRate", self.next_ids(n))),
                    "CreatedDate": pa.array(ts),
                    "CreatedById": [self.user] * n,
                    "LastModifiedDate": pa.array(ts),
                    "LastModifiedById": [self.user] * n,
                    "SystemModstamp": pa.array(ts),
                    "IsoCode": cur_list,
                    "ConversionRate": new_rate,
                    "StartDate": pa.array([first] * n, pa.date32()),
                    "NextStartDate": pa.array([date(9999, 12, 31)] * n, pa.date32()),
                }
            ),
            cur=self.cur,
        )
        self.count("DatedConversionRate", "insert", n)
        self.reg("fx", pa.table({"iso": cur_list, "rate": new_rate}))
        ct = [
            r[0]
            for r in self.cur.execute(
                'SELECT "Id" FROM sf."CurrencyType" WHERE "IsoCode" IN (SELECT iso FROM fx)'
            ).fetchall()
        ]
        self.touch_sf(
            "CurrencyType",
            ct,
            '"ConversionRate" = (SELECT rate FROM fx WHERE fx.iso = t."IsoCode")',
            np.full(len(ct), ts[-1]),
        )
        self.cur.unregister("fx")
        self.count("CurrencyType", "update", len(ct))

    def formula_drift(self) -> None:
        """Formula values change when their inputs elsewhere change; SystemModstamp does not move."""
        ids = self.sample('sf."Account"', 'NOT "IsDeleted"', 0.02)
        if ids:
            self.reg("chg", pa.table({"cid": pa.array(ids, pa.string())}))
            self.cur.execute(
                'UPDATE sf."Account" AS t SET "Health_Score__c" = round(coalesce("Health_Score__c", 0)'
                ' + 0.5, 1) FROM chg WHERE t."Id" = chg.cid'
            )
            self.cur.unregister("chg")
            self.count("Account", "formula_drift", len(ids))

    def custom_field(self) -> None:
        describe = self.ds.sf_describe["Account"]
        if any(f["name"] == NEW_SF_FIELD for f in describe["fields"]) or self.rng.random() > 0.25:
            return
        describe["fields"].append(custom_text_field(NEW_SF_FIELD))
        self.cur.execute(f'ALTER TABLE sf."Account" ADD COLUMN "{NEW_SF_FIELD}" VARCHAR')
        ids = self.sample('sf."Account"', 'NOT "IsDeleted"', 0.002)
        if ids:
            self.touch_sf("Account", ids, f"\"{NEW_SF_FIELD}\" = 'EMEA'")
        self.ds.hs_properties["companies"].append(custom_property(NEW_HS_PROPERTY))
        self.cur.execute(f'ALTER TABLE hs."companies" ADD COLUMN "{NEW_HS_PROPERTY}" VARCHAR')
        self.count("Account", "new_field", 1)
        self.count("companies", "new_property", 1)


def _recompute(ds: Dataset, as_of: date) -> None:
    lines = ds.ground_truth["contract_lines"]
    arr = gt.arr_monthly(lines, as_of)
    ds.ground_truth["account_arr_monthly"] = arr
    ds.ground_truth["retention_monthly"] = gt.retention(arr, as_of)
    st = ds.ground_truth["account_stakeholders"].copy()
    st["engaged_contacts_90d"] = gt.engaged_counts(
        ds.ground_truth["person_last_touch"], st["global_account_key"].to_numpy(), as_of
    )
    ds.ground_truth["account_stakeholders"] = gt.typed(st)
    ds.ground_truth["accounts"]["revenue_system"] = _revenue_system(ds)


def _revenue_system(ds: Dataset) -> pd.Series:
    acc = ds.ground_truth["accounts"]
    has = acc["global_account_key"].isin(set(ds.ground_truth["contract_lines"]["global_account_key"]))
    return pd.Series(np.where(~has, "", np.where(acc["link"] == "hubspot_only", "hubspot", "salesforce")), dtype="str")


# -- targeted HubSpot mutations (tests and scenarios): merges and GDPR deletes ----------------------------------
MERGED_IDS = "hs_merged_object_ids"
_DROP_LINKS = ("DELETE FROM hs.associations WHERE (from_type = $1 AND from_id IN (SELECT unnest($2::VARCHAR[]))) OR "
               "(to_type = $1 AND to_id IN (SELECT unnest($2::VARCHAR[])))")


def _hs_write(ds: Dataset) -> Any:
    """A cursor in its own transaction under the dataset lock (the caller commits)."""
    cur = ds.con.cursor()
    cur.execute("BEGIN TRANSACTION")
    return cur


def merge_hubspot_records(ds: Dataset, object_type: str, winner: str, losers: list[str],
                          at: datetime | None = None) -> str:
    """Merge ``losers`` into ``winner`` as HubSpot does: the winner keeps its id, lists every merged-away id (the
    losers and whatever they had absorbed) in ``hs_merged_object_ids`` and is modified at ``at`` (default: the
    dataset clock); the losers' associations move to the winner; the losers disappear from the live and the
    archived listings, and reading a loser id returns the winner. Deterministic; returns the new merged-ids
    value."""
    losers = [str(x) for x in dict.fromkeys(losers) if str(x) != str(winner)]
    if not losers:
        raise ValueError(f"merge of {object_type} {winner}: no loser ids")
    table = ds.hs_table(object_type)
    stamp = (at or ds.clock).astimezone(UTC).replace(tzinfo=None)
    last = "lastmodifieddate" if object_type == "contacts" else "hs_lastmodifieddate"
    with ds.lock:
        cur = _hs_write(ds)
        try:
            cols = {r[0] for r in cur.execute(f"SELECT * FROM {table} LIMIT 0").description}
            if MERGED_IDS not in cols:
                cur.execute(f'ALTER TABLE {table} ADD COLUMN "{MERGED_IDS}" VARCHAR')
            rows = dict(cur.execute(f'SELECT id, "{MERGED_IDS}" FROM {table} WHERE NOT archived AND id IN '
                                    "(SELECT unnest(?::VARCHAR[]))", [[winner, *losers]]).fetchall())
            missing = [i for i in [winner, *losers] if i not in rows]
            if missing:
                raise ValueError(f"merge of {object_type} {winner}: no live record(s) {missing}")
            merged: list[str] = []
            for rid in [winner, *losers]:
                merged.extend(m for m in (rows[rid] or "").split(";") if m)
                if rid != winner:
                    merged.append(rid)
            value = ";".join(dict.fromkeys(merged))
            cur.execute(f'UPDATE {table} SET "{MERGED_IDS}" = ?, "updatedAt" = ?, {last} = ? WHERE id = ?',
                        [value, stamp, stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z",
                         winner])
            # move the losers' links to the winner: delete + insert (the simulator's association index is keyed on
            # rowids and notices inserts and deletes)
            cur.execute("CREATE OR REPLACE TEMP TABLE adv_moved AS SELECT from_type, to_type, "
                        "CASE WHEN from_type = $1 AND from_id IN (SELECT unnest($2::VARCHAR[])) THEN $3 ELSE from_id "
                        "END AS from_id, CASE WHEN to_type = $1 AND to_id IN (SELECT unnest($2::VARCHAR[])) THEN $3 "
                        "ELSE to_id END AS to_id, category, type_id, label FROM hs.associations WHERE "
                        "(from_type = $1 AND from_id IN (SELECT unnest($2::VARCHAR[]))) OR "
                        "(to_type = $1 AND to_id IN (SELECT unnest($2::VARCHAR[])))", [object_type, losers, winner])
            cur.execute(_DROP_LINKS, [object_type, losers])
            cur.execute("INSERT INTO hs.associations SELECT DISTINCT m.* FROM adv_moved m WHERE NOT (m.from_type = "
                        "m.to_type AND m.from_id = m.to_id) AND NOT EXISTS (SELECT 1 FROM hs.associations a WHERE "
                        "a.from_type = m.from_type AND a.to_type = m.to_type AND a.from_id = m.from_id AND "
                        "a.to_id = m.to_id AND a.type_id = m.type_id)")
            cur.execute("DROP TABLE adv_moved")
            cur.execute(f"DELETE FROM {table} WHERE id IN (SELECT unnest(?::VARCHAR[]))", [losers])
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        finally:
            cur.close()
    if not any(d.get("name") == MERGED_IDS for d in ds.hs_properties.get(object_type, [])):
        ds.hs_properties.setdefault(object_type, []).append(
            hss.prop(MERGED_IDS, "enumeration", label="Merged record IDs", field_type="checkbox"))
    return value


def purge_hubspot_records(ds: Dataset, object_type: str, ids: list[str]) -> int:
    """A GDPR delete (or the 90-day purge of an archived record) right now: the records and their associations
    are gone from every listing and read. Returns the number of records removed."""
    table = ds.hs_table(object_type)
    with ds.lock:
        cur = _hs_write(ds)
        try:
            cur.execute(_DROP_LINKS, [object_type, list(ids)])
            n = cur.execute(f"DELETE FROM {table} WHERE id IN (SELECT unnest(?::VARCHAR[]))", [list(ids)]).fetchone()
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        finally:
            cur.close()
    return int(n[0]) if n else 0


__all__ = ["advance", "merge_hubspot_records", "purge_hubspot_records"]
