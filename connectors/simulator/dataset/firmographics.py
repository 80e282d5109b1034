"""Accounts, people and sales reps: names, domains, firmographics, system membership (vectorised)."""

from __future__ import annotations

import numpy as np

from connectors.simulator.dataset.model import HS_ONLY, SF_ONLY, SHARED

_SYL_A = (
    "Acme",
    "Nor",
    "Vel",
    "Quan",
    "Zen",
    "Blue",
    "Octa",
    "Ter",
    "Lumi",
    "Astra",
    "Cor",
    "Hexa",
    "Nova",
    "Pola",
    "Sky",
    "Tri",
    "Veri",
    "Omni",
    "Kin",
    "Aero",
    "Brio",
    "Cyra",
    "Del",
    "Evo",
    "Fjor",
    "Gala",
    "Helio",
    "Iso",
    "Jun",
    "Kyo",
    "Lyn",
    "Meri",
    "Nexa",
    "Orb",
    "Pyra",
    "Rho",
    "Sola",
    "Tala",
    "Uni",
    "Voxa",
)
_SYL_B = (
    "tek",
    "ware",
    "logic",
    "link",
    "grid",
    "sys",
    "data",
    "flow",
    "core",
    "labs",
    "net",
    "works",
    "bit",
    "ion",
    "ora",
    "ify",
    "mark",
    "path",
    "stack",
    "wave",
    "point",
    "forge",
    "leaf",
    "stone",
    "field",
)
_SUFFIX = ("Inc", "GmbH", "Ltd", "KK", "Group", "Systems", "Holdings", "AG", "LLC", "Corp")
_TLD = ("com", "com", "com", "io", "de", "co.uk", "jp", "net")
COUNTRIES = ("United States", "Germany", "United Kingdom", "Japan", "France", "Canada", "Netherlands", "Australia")
_COUNTRY_CURRENCY = {
    "United States": "USD",
    "Canada": "USD",
    "Australia": "USD",
    "Germany": "EUR",
    "France": "EUR",
    "Netherlands": "EUR",
    "United Kingdom": "GBP",
    "Japan": "JPY",
}
_COUNTRY_P = (0.46, 0.12, 0.12, 0.08, 0.07, 0.06, 0.05, 0.04)
FIRST = (
    "James",
    "Mary",
    "John",
    "Linda",
    "Robert",
    "Emma",
    "Michael",
    "Sofia",
    "David",
    "Anna",
    "Daniel",
    "Yuki",
    "Hiro",
    "Lukas",
    "Lea",
    "Oliver",
    "Amelia",
    "Noah",
    "Mia",
    "Ethan",
    "Chloe",
    "Liam",
    "Sara",
    "Ken",
    "Aiko",
    "Felix",
    "Clara",
    "Max",
    "Nina",
    "Tom",
    "Grace",
    "Leo",
    "Ivy",
    "Sam",
    "Ruth",
    "Omar",
    "Priya",
    "Ravi",
    "Elena",
    "Marco",
)
LAST = (
    "Smith",
    "Johnson",
    "Brown",
    "Taylor",
    "Miller",
    "Wilson",
    "Moore",
    "Clark",
    "Lewis",
    "Walker",
    "Young",
    "King",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Adams",
    "Nelson",
    "Hill",
    "Campbell",
    "Mueller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Tanaka",
    "Suzuki",
    "Sato",
    "Watanabe",
    "Ito",
    "Dubois",
    "Martin",
    "Bernard",
    "Rossi",
    "Garcia",
    "Patel",
    "Khan",
    "Novak",
    "Larsen",
    "Evans",
)
TITLES = (
    "CEO",
    "CFO",
    "CTO",
    "VP Sales",
    "VP Engineering",
    "Head of Data",
    "Director of Operations",
    "Procurement Manager",
    "Data Analyst",
    "IT Manager",
    "Marketing Manager",
    "Software Engineer",
    "Product Manager",
    "Controller",
    "Sales Operations Manager",
)


def make_accounts(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    system = rng.choice(np.array([SF_ONLY, SHARED, HS_ONLY], dtype=np.int8), n, p=(0.55, 0.25, 0.20))
    a = rng.integers(0, len(_SYL_A), n)
    b = rng.integers(0, len(_SYL_B), n)
    stem = np.array(_SYL_A)[a].astype(object) + np.array(_SYL_B)[b].astype(object)
    suffix = np.array(_SUFFIX)[rng.integers(0, len(_SUFFIX), n)]
    names = np.array([f"{s} {x}" for s, x in zip(stem, suffix, strict=True)], dtype=object)
    tld = np.array(_TLD)[rng.integers(0, len(_TLD), n)]
    slug = np.char.lower(stem.astype(str))
    domains = np.array([f"{s}.{t}" for s, t in zip(slug, tld, strict=True)], dtype=object)
    # domains must identify one account: number repeats (acmetek.com, acmetek2.com, ...)
    seen: dict[str, int] = {}
    for i, d in enumerate(domains):
        k = seen.get(d, 0)
        seen[d] = k + 1
        if k:
            s, t = d.split(".", 1)
            domains[i] = f"{s}{k + 1}.{t}"
            names[i] = f"{stem[i]} {k + 1} {suffix[i]}"
    country = rng.choice(np.array(COUNTRIES), n, p=_COUNTRY_P)
    currency = np.array([_COUNTRY_CURRENCY[c] for c in country])
    # a few accounts bill in USD whatever their country
    currency = np.where(rng.random(n) < 0.15, "USD", currency)
    size = np.round(np.exp(rng.normal(0.0, 0.6, n)), 2).clip(0.3, 6.0)
    employees = np.maximum(5, (size * rng.lognormal(5.0, 0.8, n)).astype(np.int64))
    revenue = np.round(employees * rng.uniform(80_000, 300_000, n), -3)
    industry = rng.integers(0, 12, n)
    # hierarchies: ~6% children, parent drawn from earlier accounts of a compatible system
    parent = np.full(n, -1, dtype=np.int64)
    for i in np.flatnonzero(rng.random(n) < 0.06):
        if i < 2:
            continue
        cands = rng.integers(0, i, 6)
        ok = [
            c
            for c in cands
            if ((system[c] == HS_ONLY) == (system[i] == HS_ONLY) and parent[c] < 0)
            or ((system[c] == HS_ONLY) == (system[i] == HS_ONLY) and rng.random() < 0.3)
        ]
        if ok:
            parent[i] = ok[0]
    return {
        "system": system,
        "name": names,
        "domain": domains,
        "country": country,
        "currency": currency,
        "size": size,
        "employees": employees,
        "revenue": revenue,
        "industry": industry,
        "parent": parent,
    }


def messy_website(rng: np.random.Generator, domains: np.ndarray) -> np.ndarray:
    """Websites as people type them; all normalise to the domain."""
    n = len(domains)
    kind = rng.integers(0, 8, n)
    out = np.empty(n, dtype=object)
    for i, (d, k) in enumerate(zip(domains, kind, strict=True)):
        stem, tld = d.split(".", 1)
        cap = stem[:1].upper() + stem[1:] + "." + tld
        out[i] = (
            f"https://www.{cap}/",
            f"{d} ",
            f"http://{d}/en",
            f"WWW.{d.upper()}",
            f"www.{d}",
            f"https://{d}",
            f"https://{d}:443/about",
            d,
        )[k]
    return out


def normalise_domain(website: str | None) -> str:
    """lower-case, strip scheme, ``www.``, path and port (metrics_definitions §2.7 rule 3)."""
    if not website:
        return ""
    w = website.strip().lower()
    for scheme in ("https://", "http://"):
        w = w.removeprefix(scheme)
    w = w.split("/", 1)[0].split(":", 1)[0]
    return w.removeprefix("www.")
