"""Record ids: real 18-character case-safe Salesforce ids and numeric HubSpot ids.

A 15-character Salesforce id is case-sensitive; the 18-character form appends a 3-character
checksum so that tools which ignore case still tell ids apart. Each suffix character encodes,
as a 5-bit number, which of the 5 characters of one 5-character chunk are upper-case letters.
"""

from __future__ import annotations

import numpy as np

_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX_BYTES = np.frombuffer(_SUFFIX.encode(), dtype=np.uint8)
_BASE62_BYTES = np.frombuffer(_BASE62.encode(), dtype=np.uint8)

# Counters at or above this are handed out by advance(); generate() stays below it.
ADVANCE_COUNTER_BASE = 1_000_000_000
HS_ADVANCE_OFFSET = 5_000_000_000

# Salesforce key prefixes (A3) and a fixed "pod" segment so ids look like one org's.
SF_KEY_PREFIX = {
    "Account": "001",
    "Contact": "003",
    "User": "005",
    "Opportunity": "006",
    "OpportunityLineItem": "00k",
    "OpportunityContactRole": "00K",
    "OpportunityHistory": "008",
    "Product2": "01t",
    "Pricebook2": "01s",
    "PricebookEntry": "01u",
    "Contract": "800",
    "Task": "00T",
    "Event": "00U",
    "CurrencyType": "04X",
    "DatedConversionRate": "04w",
}
_POD = "Dn00"

# HubSpot ids are numeric strings; one base per object type keeps them apart.
HS_ID_BASE = {
    "companies": 18_000_000_000,
    "contacts": 51_000_000_000,
    "deals": 14_000_000_000,
    "line_items": 27_000_000_000,
    "products": 2_100_000_000,
    "calls": 60_000_000_000,
    "emails": 61_000_000_000,
    "meetings": 62_000_000_000,
    "notes": 63_000_000_000,
    "tasks": 64_000_000_000,
    "owners": 41_000_000,
}


def to_18(sf_id: str) -> str:
    """The case-safe 18-character form of a 15- (or 18-) character Salesforce id."""
    if len(sf_id) == 18:
        sf_id = sf_id[:15]
    if len(sf_id) != 15:
        raise ValueError(f"not a Salesforce id: {sf_id!r}")
    suffix = ""
    for chunk in range(3):
        bits = 0
        for i, ch in enumerate(sf_id[chunk * 5 : chunk * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << i
        suffix += _SUFFIX[bits]
    return sf_id + suffix


def to_15(sf_id: str) -> str:
    """The 15-character (case-sensitive) form of a Salesforce id."""
    if len(sf_id) not in (15, 18):
        raise ValueError(f"not a Salesforce id: {sf_id!r}")
    return sf_id[:15]


def is_valid_18(sf_id: str) -> bool:
    return len(sf_id) == 18 and to_18(sf_id[:15]) == sf_id


def sf_ids(obj: str, counters: np.ndarray | range) -> np.ndarray:
    """18-character ids for ``obj`` numbered by ``counters`` (vectorised; returns a numpy str array)."""
    nums = np.asarray(counters, dtype=np.int64)
    n = len(nums)
    body = np.empty((n, 15), dtype=np.uint8)
    head = (SF_KEY_PREFIX[obj] + _POD).encode()
    body[:, : len(head)] = np.frombuffer(head, dtype=np.uint8)
    rest = nums.copy()
    for pos in range(14, len(head) - 1, -1):  # base-62 counter, right-aligned
        body[:, pos] = _BASE62_BYTES[rest % 62]
        rest //= 62
    if n and rest.max() > 0:
        raise ValueError("id counter overflow")
    upper = (body >= ord("A")) & (body <= ord("Z"))
    weights = (1 << np.arange(5)).astype(np.int64)
    out = np.empty((n, 18), dtype=np.uint8)
    out[:, :15] = body
    for chunk in range(3):
        bits = (upper[:, chunk * 5 : chunk * 5 + 5] * weights).sum(axis=1)
        out[:, 15 + chunk] = _SUFFIX_BYTES[bits]
    return out.view("S18").ravel().astype("U18")


def hs_ids(object_type: str, counters: np.ndarray | range) -> np.ndarray:
    """Numeric-string HubSpot ids for ``object_type``."""
    nums = np.asarray(counters, dtype=np.int64) + HS_ID_BASE[object_type]
    return nums.astype("U20")
