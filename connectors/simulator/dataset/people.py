"""People at accounts (one person = one lower-cased email) and which CRM holds a contact for them."""

from __future__ import annotations

import numpy as np

from connectors.simulator.dataset.firmographics import FIRST, LAST, TITLES
from connectors.simulator.dataset.model import HS_ONLY, SF_ONLY, SHARED
from connectors.simulator.dataset.schema_hubspot import BUYING_ROLES

_PERSONAL = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com")


def make_persons(
    rng: np.random.Generator, accounts: dict[str, np.ndarray], per_account: float
) -> dict[str, np.ndarray]:
    """Persons sorted by account; orphans (no account, personal email) come last with acct = -1."""
    system = accounts["system"]
    n_acc = len(system)
    counts = np.maximum(1, rng.poisson(per_account, n_acc))
    acct = np.repeat(np.arange(n_acc), counts)
    n_orphan = max(2, int(0.02 * len(acct)))
    acct = np.concatenate([acct, np.full(n_orphan, -1)])
    n = len(acct)
    first = np.array(FIRST)[rng.integers(0, len(FIRST), n)]
    last = np.array(LAST)[rng.integers(0, len(LAST), n)]
    domain = np.where(
        acct >= 0, accounts["domain"][np.maximum(acct, 0)], np.array(_PERSONAL)[rng.integers(0, len(_PERSONAL), n)]
    )
    local = np.char.lower(np.char.add(np.char.add(first, "."), last))
    email = np.char.add(np.char.add(local, "@"), domain.astype(str)).astype(object)
    # same name twice at one account (or among orphans) -> number the later ones, as mail admins do
    seen: dict[str, int] = {}
    for i, e in enumerate(email.tolist()):
        k = seen.get(e, 0)
        seen[e] = k + 1
        if k:
            loc, dom = e.split("@")
            email[i] = f"{loc}{k + 1}@{dom}"
    sys_of = np.where(acct >= 0, system[np.maximum(acct, 0)], -1)
    has_sf = (sys_of == SF_ONLY) | (sys_of == SHARED)
    has_hs = (sys_of == HS_ONLY) | ((sys_of == SHARED) & (rng.random(n) < 0.8))
    orphan = acct < 0
    orphan_sf = rng.random(n) < 0.5
    has_sf |= orphan & orphan_sf
    has_hs |= orphan & ~orphan_sf
    # buying roles on the HubSpot contact: a third of them, one or two values
    roles = np.full(n, "", dtype=object)
    chosen = np.flatnonzero(has_hs & (rng.random(n) < 0.33))
    r1 = rng.integers(0, len(BUYING_ROLES), len(chosen))
    r2 = rng.integers(0, len(BUYING_ROLES), len(chosen))
    two = rng.random(len(chosen)) < 0.3
    for i, a, b, t in zip(chosen.tolist(), r1.tolist(), r2.tolist(), two.tolist(), strict=True):
        vals = sorted({BUYING_ROLES[a], BUYING_ROLES[b]}) if t else [BUYING_ROLES[a]]
        roles[i] = ";".join(vals)
    return {
        "acct": acct,
        "first": first,
        "last": last,
        "email": email,
        "title": np.array(TITLES)[rng.integers(0, len(TITLES), n)],
        "has_sf": has_sf,
        "has_hs": has_hs,
        "buying_role": roles,
        "counts": counts,  # persons per account (accounts only)
        "offsets": np.concatenate([[0], np.cumsum(counts)[:-1]]),
    }


def wire_email(rng: np.random.Generator, email: np.ndarray, share: float = 0.06) -> np.ndarray:
    """Some systems keep the capitalisation people typed: ``John.Smith@Acme.com``."""
    out = email.copy()
    for i in np.flatnonzero(rng.random(len(email)) < share).tolist():
        loc, dom = out[i].split("@")
        out[i] = ".".join(p[:1].upper() + p[1:] for p in loc.split(".")) + "@" + dom[:1].upper() + dom[1:]
    return out
