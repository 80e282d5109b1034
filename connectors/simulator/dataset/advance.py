"""Move a generated dataset forward in time: about 1% of records change per simulated day.

Per day: field edits (bumping LastModifiedDate/SystemModstamp or hs_lastmodifieddate/updatedAt), new
activities, opportunity stage moves (with OpportunityHistory rows), new closed-won upsells with line
items, renewals and churn of contracts ending soon, soft deletes and undeletes of tasks, the purge of
recycle-bin rows older than 15 days, formula drift (no SystemModstamp bump) and, on one day, a new
custom field in both CRMs. Revenue changes go into ``ground_truth['contract_lines']`` first and the
records are rendered from them, so the truth is never read back from the records.

The internal model is recovered from ``ground_truth`` (contract lines, accounts, person_last_touch) plus
the tables; a dataset without it (a replayed CRM export) raises ValueError.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from connectors.simulator.dataset import ground_truth as gt
from connectors.simulator.dataset.fx import add_months
from connectors.simulator.dataset.ids import ADVANCE_COUNTER_BASE, sf_ids
from connectors.simulator.dataset.model import PRODUCTS
from connectors.simulator.dataset.schema_hubspot import custom_property
from connectors.simulator.dataset.schema_salesforce import OPP_STAGES, custom_text_field
from connectors.simulator.dataset.store import Dataset
from connectors.simulator.dataset.wire import append_sf

REQUIRED = ("accounts", "contract_lines", "account_arr_monthly", "account_stakeholders", "person_last_touch")
NEW_SF_FIELD, NEW_HS_PROPERTY = "Region__c", "account_region"
_OPEN = [s[0] for s in OPP_STAGES[:8]]
_PROB = {s[0]: s[1] for s in OPP_STAGES}
_FAMILY = {p[1]: (i, p[2]) for i, p in enumerate(PRODUCTS)}
EDIT_SHARE = 0.006  # edited records per object per day; inserts/deletes/closes add the rest of ~1%


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


class _Day:
    def __init__(self, ds: Dataset, rng: np.random.Generator, summary: dict[str, dict[str, int]]):
        self.ds, self.rng, self.summary = ds, rng, summary
        self.start = np.datetime64(ds.clock.replace(tzinfo=None), "ms")
        self.day = ds.clock.date()
        self.cur = ds.con.cursor()
        self.counter = ADVANCE_COUNTER_BASE + _epoch_day(ds.clock) * 100_000
        self.user = self.cur.execute('SELECT "Id" FROM sf."User" ORDER BY "Id" LIMIT 1').fetchone()[0]

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

    def run(self) -> None:
        self.purge()
        for obj, col in (
            ("Account", "NumberOfEmployees"),
            ("Contact", "Title"),
            ("Opportunity", "NextStep"),
            ("Task", "Priority"),
            ("Event", "Subject"),
        ):
            self.edit_sf(obj, col)
        for t in ("companies", "contacts", "deals", "notes"):
            self.edit_hs(t)
        self.stage_moves()
        self.close_upsells()
        self.renewals()
        self.new_tasks()
        self.delete_and_undelete()
        self.formula_drift()
        self.custom_field()
        self.cur.close()

    # -- generic edits ---------------------------------------------------------------------
    def sample(self, sql: str, share: float) -> list[Any]:
        ids = [r[0] for r in self.cur.execute(sql).fetchall()]
        n = round(len(ids) * share + self.rng.random())
        if not ids or n == 0:
            return []
        return list(self.rng.choice(np.array(ids, dtype=object), min(n, len(ids)), replace=False))

    def touch_sf(self, obj: str, ids: list[str], set_sql: str = "", ts: np.ndarray | None = None) -> np.ndarray:
        """Bump LastModifiedDate and SystemModstamp (plus ``set_sql``) on ``ids``."""
        ts = self.stamps(len(ids)) if ts is None else ts
        self.cur.register("chg", pa.table({"cid": pa.array(ids, pa.string()), "ts": pa.array(ts)}))
        extra = f", {set_sql}" if set_sql else ""
        self.cur.execute(
            f'UPDATE {self.ds.sf_table(obj)} AS t SET "LastModifiedDate" = chg.ts, "SystemModstamp" = chg.ts, '
            f'"LastModifiedById" = \'{self.user}\'{extra} FROM chg WHERE t."Id" = chg.cid'
        )
        self.cur.unregister("chg")
        return ts

    def edit_sf(self, obj: str, col: str) -> None:
        ids = self.sample(f'SELECT "Id" FROM {self.ds.sf_table(obj)} WHERE NOT "IsDeleted" ORDER BY "Id"', EDIT_SHARE)
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

    def edit_hs(self, t: str) -> None:
        ids = self.sample(f"SELECT id FROM {self.ds.hs_table(t)} WHERE NOT archived ORDER BY id", EDIT_SHARE)
        if not ids:
            return
        ts = self.stamps(len(ids))
        last = "lastmodifieddate" if t == "contacts" else "hs_lastmodifieddate"
        self.cur.register("chg", pa.table({"cid": pa.array(ids, pa.string()), "ts": pa.array(ts)}))
        self.cur.execute(
            f'UPDATE {self.ds.hs_table(t)} AS t SET "updatedAt" = chg.ts, {last} = '
            "strftime(chg.ts, '%Y-%m-%dT%H:%M:%S.%gZ') FROM chg WHERE t.id = chg.cid"
        )
        self.cur.unregister("chg")
        self.count(t, "update", len(ids))

    # -- pipeline ----------------------------------------------------------------------------
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
        self.cur.register("stg", pa.table({"cid": ids, "stage": nxt, "prob": [float(_PROB[s]) for s in nxt]}))
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
        )
        self.count("OpportunityHistory", "insert", n)

    def _rate(self, currency: str, d: date) -> float:
        return float(
            self.cur.execute(
                'SELECT "ConversionRate" FROM sf."DatedConversionRate" WHERE "IsoCode" = ? AND "StartDate" <= ? '
                'AND ? < "NextStartDate"',
                [currency, d, d],
            ).fetchone()[0]
        )

    def _won(
        self,
        opp_id: str,
        acct_key: str,
        currency: str,
        items: list[tuple[str, date, int, float, bool]],
        amount: float,
        ts: np.datetime64,
        opp_type: str,
    ) -> None:
        """Close an opportunity as won with line items; append its recurring lines to the truth."""
        rate = self._rate(currency, self.day)
        self.cur.execute(
            'UPDATE sf."Opportunity" SET "StageName" = \'Closed Won\', "IsClosed" = true, "IsWon" = true, '
            '"Probability" = 100, "ForecastCategory" = \'Closed\', "ForecastCategoryName" = \'Closed\', '
            '"CloseDate" = ?, "Amount" = ?, "ExpectedRevenue" = ?, "HasOpportunityLineItem" = true, "Type" = ? '
            'WHERE "Id" = ?',
            [self.day, amount, amount, opp_type, opp_id],
        )
        self.touch_sf("Opportunity", [opp_id], "", np.array([ts]))
        self._history([opp_id], ["Closed Won"], [amount], [self.day], [currency], np.array([ts]))
        codes = [c for c, *_ in items]
        n = len(items)
        line_ids = sf_ids("OpportunityLineItem", self.next_ids(n))
        products = dict(self.cur.execute('SELECT "ProductCode", "Id" FROM sf."Product2"').fetchall())
        totals = [round(mrr * term, 2) for _, _, term, mrr, _ in items]
        append_sf(
            self.ds,
            "OpportunityLineItem",
            pa.table(
                {
                    "Id": pa.array(line_ids),
                    "IsDeleted": [False] * n,
                    "CreatedDate": pa.array(np.full(n, ts)),
                    "CreatedById": [self.user] * n,
                    "LastModifiedDate": pa.array(np.full(n, ts)),
                    "LastModifiedById": [self.user] * n,
                    "SystemModstamp": pa.array(np.full(n, ts)),
                    "OpportunityId": [opp_id] * n,
                    "Product2Id": [products[c] for c in codes],
                    "ProductCode": codes,
                    "Name": [PRODUCTS[_FAMILY[c][0]][0] for c in codes],
                    "Quantity": [1.0] * n,
                    "UnitPrice": totals,
                    "TotalPrice": totals,
                    "ServiceDate": pa.array([s for _, s, *_ in items], pa.date32()),
                    "CurrencyIsoCode": [currency] * n,
                    "Term_Months__c": [float(t) for _, _, t, _, _ in items],
                }
            ),
        )
        self.count("OpportunityLineItem", "insert", n)
        lines = self.ds.ground_truth["contract_lines"]
        new_rows = []
        for (code, start, term, _, renewal), lid, total in zip(items, line_ids, totals, strict=True):
            mrr = total / term
            if renewal:  # supersede running lines of the same product
                mask = (
                    (lines["global_account_key"] == acct_key)
                    & (lines["product_code"] == code)
                    & (lines["service_start_date"] < start.isoformat())
                    & (lines["service_end_date"] >= start.isoformat())
                )
                lines.loc[mask, "service_end_date"] = (start - timedelta(days=1)).isoformat()
            new_rows.append(
                {
                    "line_key": f"salesforce:{lid}",
                    "global_account_key": acct_key,
                    "source_system": "salesforce",
                    "source_line_id": str(lid),
                    "source_deal_id": opp_id,
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
            )
        self.ds.ground_truth["contract_lines"] = gt.typed(pd.concat([lines, pd.DataFrame(new_rows)], ignore_index=True))

    def _account_keys(self) -> dict[str, str]:
        acc = self.ds.ground_truth["accounts"]
        return dict(zip(acc["salesforce_account_id"], acc["global_account_key"], strict=True))

    def close_upsells(self) -> None:
        """A few open opportunities of paying SF accounts close as co-terminated seat upsells."""
        keys = self._account_keys()
        lines = self.ds.ground_truth["contract_lines"]
        today = self.day.isoformat()
        running = lines[
            (lines["source_system"] == "salesforce")
            & (lines["service_start_date"] <= today)
            & (lines["service_end_date"] > (self.day + timedelta(days=60)).isoformat())
        ]
        ends = running.groupby("global_account_key")["service_end_date"].max()
        rows = self.cur.execute(
            'SELECT "Id", "AccountId", "CurrencyIsoCode" FROM sf."Opportunity" WHERE NOT "IsDeleted" AND NOT '
            '"IsClosed" AND "CloseDate" <= ? ORDER BY "Id"',
            [self.day + timedelta(days=60)],
        ).fetchall()
        for opp_id, acct, cur in rows:
            key = keys.get(acct)
            if key not in ends.index or self.rng.random() > 0.05:
                continue
            end = date.fromisoformat(ends[key])
            start = self.day + timedelta(days=1)
            start = start if start.day <= 28 else start.replace(day=28)
            months = (end.year - start.year) * 12 + end.month - start.month
            if months < 1 or add_months(start, months) - timedelta(days=1) > end:
                months -= 1
            if months < 1:
                continue
            mrr = float(self.rng.integers(5, 40) * 45)
            self._won(
                opp_id,
                key,
                cur,
                [("SEAT-ADD", start, int(months), mrr, False)],
                round(mrr * months, 2),
                self.stamps(1)[0],
                "Upsell",
            )
            self.count("Opportunity", "closed_won", 1)

    def renewals(self) -> None:
        """Salesforce contracts ending in 20 days renew (Renewal opp, superseding lines) or churn."""
        keys = self._account_keys()
        inv = {v: k for k, v in keys.items() if k}
        lines = self.ds.ground_truth["contract_lines"]
        due = lines[
            (lines["source_system"] == "salesforce")
            & (lines["service_end_date"] == (self.day + timedelta(days=20)).isoformat())
        ]
        for key, grp in due.groupby("global_account_key", sort=True):
            acct = inv.get(key)
            if acct is None:
                continue
            won = self.rng.random() < 0.85
            cur = grp["currency"].iloc[0]
            opp_id = str(sf_ids("Opportunity", self.next_ids(1))[0])
            ts = self.stamps(1)[0]
            append_sf(
                self.ds,
                "Opportunity",
                pa.table(
                    {
                        "Id": [opp_id],
                        "IsDeleted": [False],
                        "CreatedDate": pa.array([ts]),
                        "CreatedById": [self.user],
                        "LastModifiedDate": pa.array([ts]),
                        "LastModifiedById": [self.user],
                        "SystemModstamp": pa.array([ts]),
                        "AccountId": [acct],
                        "Name": ["Renewal"],
                        "StageName": ["Negotiation/Review"],
                        "CloseDate": pa.array([self.day], pa.date32()),
                        "IsClosed": [False],
                        "IsWon": [False],
                        "Type": ["Renewal"],
                        "CurrencyIsoCode": [cur],
                        "OwnerId": [self.user],
                    }
                ),
            )
            self.count("Opportunity", "insert", 1)
            if won:
                start = date.fromisoformat(grp["service_end_date"].iloc[0]) + timedelta(days=1)
                items = [
                    (code, start, 12, float(mrr), True)
                    for code, mrr in grp.groupby("product_code")["mrr_local"].sum().items()
                ]
                self._won(opp_id, key, cur, items, round(sum(i[3] * 12 for i in items), 2), ts, "Renewal")
                self.count("Opportunity", "renewal", 1)
            else:
                self.cur.execute(
                    'UPDATE sf."Opportunity" SET "StageName" = \'Closed Lost\', "IsClosed" = true, '
                    '"Probability" = 0 WHERE "Id" = ?',
                    [opp_id],
                )
                self.count("Opportunity", "churn", 1)

    # -- activities and dirt ---------------------------------------------------------------------
    def new_tasks(self) -> None:
        rows = self.cur.execute(
            'SELECT c."Id", c."AccountId", lower(c."Email"), c."OwnerId" FROM sf."Contact" c WHERE NOT c."IsDeleted" '
            'AND c."AccountId" IS NOT NULL AND c."Email" IS NOT NULL ORDER BY c."Id"'
        ).fetchall()
        total = self.ds.count(self.ds.sf_table("Task"))
        n = min(len(rows), int(total * 0.003) + 1)
        if not rows:
            return
        pick = [rows[i] for i in self.rng.choice(len(rows), n, replace=False)]
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
        )
        self.count("Task", "insert", n)
        keys = self._account_keys()
        touch = pd.DataFrame(
            {
                "global_account_key": [keys[p[1]] for p in pick],
                "email": [p[2] for p in pick],
                "last_touch": np.datetime_as_string(ts, unit="ms"),
            }
        )
        plt = pd.concat([self.ds.ground_truth["person_last_touch"], touch], ignore_index=True)
        plt = plt.sort_values("last_touch").drop_duplicates(["global_account_key", "email"], keep="last")
        self.ds.ground_truth["person_last_touch"] = gt.typed(
            plt.sort_values(["global_account_key", "email"]).reset_index(drop=True)
        )

    def delete_and_undelete(self) -> None:
        # old tasks only: recent touches feed engaged_contacts_90d
        cutoff = self.start - np.timedelta64(120, "D")
        ids = self.sample(
            f'SELECT "Id" FROM sf."Task" WHERE NOT "IsDeleted" AND "CreatedDate" < \'{cutoff}\' ORDER BY "Id"', 0.0005
        )
        if ids:
            self.touch_sf("Task", ids, '"IsDeleted" = true')
            self.count("Task", "delete", len(ids))
        back = self.sample(
            f'SELECT "Id" FROM sf."Task" WHERE "IsDeleted" AND "CreatedDate" < \'{cutoff}\' ORDER BY "Id"', 0.15
        )
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

    def formula_drift(self) -> None:
        """Formula values change when their inputs elsewhere change; SystemModstamp does not move."""
        ids = self.sample('SELECT "Id" FROM sf."Account" WHERE NOT "IsDeleted" ORDER BY "Id"', 0.02)
        if ids:
            self.cur.register("chg", pa.table({"cid": pa.array(ids, pa.string())}))
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
        ids = self.sample('SELECT "Id" FROM sf."Account" WHERE NOT "IsDeleted" ORDER BY "Id"', 0.002)
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


__all__ = ["advance"]
