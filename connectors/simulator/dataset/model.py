"""The generator's internal business model: accounts, their deals and the contract lines behind ARR.

Everything the rendered CRM records say about revenue is derived from this model, and the ground
truth is computed from it alone. Lifecycles are simulated per account in plain Python (tens of
thousands of accounts, a handful of deals each); the bulky per-record work lives in the renderers.

Contract-line semantics (what the dbt layer will re-derive from the records):
* a line runs from ``start`` for ``term`` months; its natural inclusive end is start + term months - 1 day;
* a line on a *Renewal* deal supersedes every earlier line of the same (account, product) that is still
  running at its start: the older one ends the day before (``eff_end``);
* all other lines stack (add-ons are co-terminated with the contract they extend);
* SF lines: TotalPrice covers the whole term, mrr = TotalPrice / term; HubSpot lines: amount is the
  per-billing-period total, mrr = amount / months per period;
* USD = local / rate, with the DatedConversionRate of the deal's close date, held for the line's life.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from connectors.simulator.dataset.fx import DECIMALS, FxTable, add_months, make_fx
from connectors.simulator.dataset.presets import Preset

SYSTEMS = ("salesforce_only", "shared", "hubspot_only")
SF_ONLY, SHARED, HS_ONLY = 0, 1, 2

# Products: (name, code, family, recurring, usd monthly unit price)
PRODUCTS = (
    ("Platform", "PLAT-STD", "Platform", True, 1500.0),
    ("Analytics Pro", "ANL-PRO", "Analytics", True, 600.0),
    ("Additional Seats", "SEAT-ADD", "Seats Add-on", True, 45.0),
    ("Implementation Services", "PS-IMPL", "Professional Services", False, 9000.0),
    ("Onboarding Package", "ONB-PKG", "Onboarding", False, 3500.0),
    ("Premium Support", "PLAT-SUP", "Platform", True, 400.0),
    ("API Access", "PLAT-API", "Platform", True, 250.0),
    ("Data Connectors", "ANL-CON", "Analytics", True, 300.0),
)
PLATFORM, ANALYTICS, SEATS, SERVICES, ONBOARDING, SUPPORT, API, CONNECTORS = range(8)
_OPTIONAL = ((ANALYTICS, 0.35), (SUPPORT, 0.55), (API, 0.45), (CONNECTORS, 0.3))
HS_FREQ_MONTHS = {"monthly": 1, "quarterly": 3, "annually": 12}

# Opportunity kinds and their Salesforce Type / HubSpot dealtype.
OPP_KINDS = ("new", "renewal", "upsell", "cross_sell", "pilot", "lost", "open", "lineless")
KIND_SF_TYPE = {
    "new": "New Business",
    "renewal": "Renewal",
    "upsell": "Upsell",
    "cross_sell": "Cross-sell",
    "pilot": "New Business",
    "lineless": "Existing Customer - Upgrade",
}
HEALTH = ("prospect", "stable", "growing", "churned")


@dataclass
class Columns:
    """A dict of growable lists; turned into numpy arrays once a phase is done."""

    names: tuple[str, ...]
    data: dict[str, list] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.data = {n: [] for n in self.names}

    def add(self, **row: object) -> int:
        for n in self.names:
            self.data[n].append(row[n])
        return len(self.data[self.names[0]]) - 1

    def __len__(self) -> int:
        return len(self.data[self.names[0]])

    def arrays(self) -> dict[str, np.ndarray]:
        return {n: np.asarray(v) for n, v in self.data.items()}


OPP_COLUMNS = ("acct", "kind", "created", "close", "won", "closed", "amount", "currency", "fx", "hs")
LINE_COLUMNS = (
    "opp",
    "acct",
    "product",
    "start",
    "term",
    "qty",
    "unit_price",
    "total",
    "mrr",
    "freq",
    "eff_end",
    "renewal",
)


@dataclass
class Model:
    as_of: date
    hist_start: date
    fx: FxTable
    accounts: dict[str, np.ndarray]
    opps: dict[str, np.ndarray]
    lines: dict[str, np.ndarray]


def natural_end(start: date, term: int) -> date:
    return add_months(start, term) - timedelta(days=1)


def _clamp_day(d: date) -> date:
    # start days stay <= 28 so that "start + N months - 1 day" has one meaning everywhere
    return d if d.day <= 28 else d.replace(day=28)


class _Simulator:
    def __init__(
        self,
        preset: Preset,
        seed: int,
        as_of: date,
        fx: FxTable,
        currency: np.ndarray,
        system: np.ndarray,
        size: np.ndarray,
    ):
        self.r = random.Random(seed * 7919 + 17)
        self.as_of = as_of
        self.as_of_ord = as_of.toordinal()
        self.hist_start = as_of - timedelta(days=preset.history_days)
        self.fx = fx
        # plain Python scalars: numpy scalars make round() and comparisons several times slower
        self.currency = currency.tolist()
        self.system = system.tolist()
        self.size = size.tolist()
        self.n_extra = np.random.default_rng([seed, 2]).poisson(preset.extra_opps_per_account, len(system))
        self.opps = Columns(OPP_COLUMNS)
        self.lines = Columns(LINE_COLUMNS)

    # -- records --------------------------------------------------------------------------
    def opp(
        self,
        a: int,
        kind: str,
        close: date,
        won: bool,
        closed: bool = True,
        cycle: int | None = None,
        amount: float | None = None,
    ) -> int:
        r = self.r
        cycle = cycle if cycle is not None else r.randint(14, 120)
        created = min(close - timedelta(days=cycle), self.as_of - timedelta(days=1))
        created = max(created, self.hist_start)
        cur = self.currency[a]
        return self.opps.add(
            acct=a,
            kind=kind,
            created=created,
            close=close,
            won=won,
            closed=closed,
            amount=np.nan if amount is None else amount,
            currency=cur,
            fx=self.fx.rate(cur, close),
            hs=self.system[a] == HS_ONLY,
        )

    def line(
        self,
        o: int,
        a: int,
        product: int,
        start: date,
        term: int,
        qty: int,
        usd_price: float,
        renewal: bool = False,
        won: bool = True,
    ) -> int:
        cur = self.currency[a]
        rate = self.opps.data["fx"][o]
        unit = round(usd_price * self.size[a] * rate, DECIMALS[cur])
        if unit <= 0:
            unit = 1.0
        if PRODUCTS[product][3]:
            if self.system[a] == HS_ONLY:
                freq = (
                    "monthly" if term == 1 else self.r.choices(("annually", "quarterly", "monthly"), (0.5, 0.2, 0.3))[0]
                )
                mpp = HS_FREQ_MONTHS[freq]
                unit_price = round(unit * mpp, DECIMALS[cur])
                total = round(qty * unit_price, 2)
                mrr = total / mpp
            else:
                freq = ""
                unit_price = round(unit * term, DECIMALS[cur])
                total = round(qty * unit_price, 2)
                mrr = total / term
            eff_end = natural_end(start, term)
            if renewal and won:
                self._supersede(a, product, start)
        else:  # one-time: no term, no ARR
            freq, unit_price, total, mrr, eff_end = "", unit, round(qty * unit, 2), 0.0, start
        prev = self.opps.data["amount"][o]
        self.opps.data["amount"][o] = round((0.0 if math.isnan(prev) else prev) + total, 2)
        idx = self.lines.add(
            opp=o,
            acct=a,
            product=product,
            start=start,
            term=term,
            qty=qty,
            unit_price=unit_price,
            total=total,
            mrr=mrr,
            freq=freq,
            eff_end=eff_end,
            renewal=renewal,
        )
        if won:
            self._by_product.setdefault(product, []).append(idx)
        return idx

    def _supersede(self, a: int, product: int, start: date) -> None:
        ends, starts = self.lines.data["eff_end"], self.lines.data["start"]
        for i in self._by_product.get(product, []):
            if starts[i] < start <= ends[i]:
                ends[i] = start - timedelta(days=1)

    # -- lifecycle ------------------------------------------------------------------------
    def account(self, a: int) -> tuple[int, date, date]:
        """Simulate one account; returns (health, created date, activity end date)."""
        r = self.r
        self._by_product: dict[int, list[int]] = {}
        span = (self.as_of - self.hist_start).days
        customer = r.random() < 0.74
        hs_only = self.system[a] == HS_ONLY
        if not customer:
            created = self.hist_start + timedelta(days=r.randint(0, span - 30))
            for _ in range(1 + int(r.random() < 0.5)):
                self._extra(a, created, prospect=True)
            return 0, created, self.as_of

        first_close = self.hist_start + timedelta(days=int(span * r.random() ** 1.3 * 0.97) + 120)
        first_close = min(first_close, self.as_of - timedelta(days=3))
        created = max(self.hist_start, first_close - timedelta(days=r.randint(30, 150)))
        close = first_close
        health, activity_end, grew = 1, self.as_of, False
        qty_seats = r.randint(5, 60)
        products = {PLATFORM: 1}
        for p, prob in _OPTIONAL:
            if r.random() < prob:
                products[p] = 1
        if r.random() < 0.45:
            products[SEATS] = qty_seats
        start = _clamp_day(close + timedelta(days=r.randint(0, 14)))
        if r.random() < 0.04:  # a one-month paid pilot before the real contract
            o = self.opp(a, "pilot", close, True)
            self.line(o, a, PLATFORM, start, 1, 1, PRODUCTS[PLATFORM][4] * 0.5)
            start = natural_end(start, 1) + timedelta(days=1)
            close = min(start - timedelta(days=r.randint(1, 10)), self.as_of - timedelta(days=1))
        kind, renewal = "new", False
        while True:
            if start > self.as_of + timedelta(days=120):
                break
            term = r.choices((12, 24, 36), (0.62, 0.25, 0.13))[0]
            early = 0 if hs_only or r.random() > 0.15 else r.randint(1, 3)
            o = self.opp(a, kind, close, True)
            for p, q in products.items():
                self.line(o, a, p, start, term, q, PRODUCTS[p][4], renewal=renewal)
            if kind == "new" and r.random() < 0.5:
                self.line(o, a, ONBOARDING, start, 1, 1, PRODUCTS[ONBOARDING][4])
            if kind == "new" and r.random() < 0.3:
                self.line(o, a, SERVICES, start, 1, r.randint(1, 4), PRODUCTS[SERVICES][4])
            end = natural_end(start, term)
            # mid-term add-ons, co-terminated with this contract
            k = 0
            while term - early - k > 3 and r.random() < 0.45:
                k = r.randint(k + 2, term - early - 2)
                add_start = add_months(start, k)
                if add_start >= self.as_of:
                    break
                add_close = add_start - timedelta(days=r.randint(0, 10))
                if SEATS in products and (ANALYTICS in products or r.random() < 0.7):
                    add_kind, p, q = "upsell", SEATS, r.randint(3, 25)
                elif ANALYTICS not in products:
                    add_kind, p, q = "cross_sell", ANALYTICS, 1
                else:
                    add_kind, p, q = "upsell", SEATS, r.randint(3, 25)
                o = self.opp(a, add_kind, add_close, True, cycle=r.randint(7, 60))
                self.line(o, a, p, add_start, term - k, q, PRODUCTS[p][4])
                products[p] = products.get(p, 0) + q
                grew = grew or add_start > self.as_of - timedelta(days=540)
            renew_start = add_months(start, term - early) if early else end + timedelta(days=1)
            renew_close = renew_start - timedelta(days=r.randint(3, 40))
            if renew_close >= self.as_of:
                if renew_close < self.as_of + timedelta(days=90):
                    self.opp(a, "open", renew_close, False, closed=False)
                break
            if r.random() < 0.13:  # churn: renewal lost
                self.opp(a, "lost", renew_close, False)
                health, activity_end = 3, min(end + timedelta(days=20), self.as_of)
                if r.random() < 0.4:  # reactivation after a gap
                    gap = r.randint(2, 10)
                    start = _clamp_day(add_months(end + timedelta(days=1), gap) + timedelta(days=r.randint(0, 20)))
                    close = start - timedelta(days=r.randint(1, 20))
                    if close >= self.as_of:
                        break
                    health, activity_end = 1, self.as_of
                    products = {PLATFORM: 1} if r.random() < 0.6 else {PLATFORM: 1, SEATS: r.randint(5, 40)}
                    kind, renewal = "new", False
                    continue
                break
            # renewal: mostly flat, some uplift, some downgrade
            x = r.random()
            if x < 0.2 and SEATS in products:
                products[SEATS] = max(1, products[SEATS] + r.randint(2, 20))
                grew = True
            elif x < 0.32:
                dropable = [p for p in (ANALYTICS, SUPPORT, API, CONNECTORS) if p in products]
                if dropable and r.random() < 0.5:
                    del products[r.choice(dropable)]
                elif SEATS in products and products[SEATS] > 3:
                    products[SEATS] = max(1, products[SEATS] // 2)
                else:
                    products[PLATFORM] = 1
            start, close, kind, renewal = renew_start, renew_close, "renewal", True
        for _ in range(int(self.n_extra[a])):
            self._extra(a, created, prospect=False)
        if grew and health == 1:
            health = 2
        return health, created, activity_end

    def _extra(self, a: int, created: date, prospect: bool) -> None:
        """Lost, open and line-less won opportunities that carry no recurring revenue."""
        r = self.r
        x = r.random()
        lo = max(created, self.hist_start + timedelta(days=30))
        span = max(1, (self.as_of - lo).days - 2)
        close = lo + timedelta(days=r.randint(1, span))
        amount = None if r.random() < 0.25 else float(r.randint(20, 400) * 100)
        if x < 0.55 or x < 0.85 or prospect:
            lost = x < 0.55
            if not lost:
                close = self.as_of + timedelta(days=r.randint(5, 150))
            with_lines = r.random() < 0.6
            o = self.opp(
                a,
                "lost" if lost else "open",
                close,
                False,
                closed=lost,
                amount=None if with_lines else amount,
                cycle=r.randint(10, 100),
            )
            if with_lines:  # quoted products on a deal that was never won: no ARR
                start = _clamp_day(close + timedelta(days=r.randint(0, 20)))
                for p in r.sample((PLATFORM, ANALYTICS, SEATS, SUPPORT, API), r.randint(1, 3)):
                    self.line(o, a, p, start, 12, r.randint(1, 30) if p == SEATS else 1, PRODUCTS[p][4], won=False)
        else:
            self.opp(a, "lineless", close, True, amount=float(r.randint(10, 200) * 100))


def build_model(preset: Preset, seed: int, as_of: date, accounts: dict[str, np.ndarray]) -> Model:
    """Simulate every account's lifecycle. ``accounts`` carries system/currency/size arrays and gains
    health, created and activity_end."""
    rng = np.random.default_rng([seed, 1])
    hist_start = as_of - timedelta(days=preset.history_days)
    first_month = hist_start.replace(day=1)
    n_months = (as_of.year - first_month.year) * 12 + as_of.month - first_month.month + 1
    fx = make_fx(rng, first_month, n_months)
    sim = _Simulator(preset, seed, as_of, fx, accounts["currency"], accounts["system"], accounts["size"])
    n = len(accounts["system"])
    health = np.zeros(n, dtype=np.int8)
    created = np.empty(n, dtype="datetime64[D]")
    activity_end = np.empty(n, dtype="datetime64[D]")
    for a in range(n):
        h, c, e = sim.account(a)
        health[a], created[a], activity_end[a] = h, c, e
    accounts.update(health=health, created=created, activity_end=activity_end)
    opps = sim.opps.arrays()
    lines = sim.lines.arrays()
    for key in ("created", "close"):
        opps[key] = opps[key].astype("datetime64[D]")
    for key in ("start", "eff_end"):
        lines[key] = lines[key].astype("datetime64[D]")
    opps["amount"] = opps["amount"].astype(float)
    return Model(as_of=as_of, hist_start=hist_start, fx=fx, accounts=accounts, opps=opps, lines=lines)
