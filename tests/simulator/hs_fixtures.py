"""A hand-built HubSpot dataset for the simulator contract tests (independent of the generator).

Shapes that matter to the tests:
* companies 1..250, every 25th archived; calls 1..30, every 10th archived;
* contacts: 10,500 records, 10,200 of which share three ``lastmodifieddate`` values (so a
  last-modified search crosses the 10,000-result cap), the last 300 one second apart;
* associations with HUBSPOT_DEFINED defaults, "Primary" types and USER_DEFINED stakeholder labels.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from connectors.simulator.dataset.store import Dataset

CLOCK = datetime(2024, 6, 1, tzinfo=UTC)
BASE = pd.Timestamp("2024-01-01T00:00:00")
N_COMPANIES, N_CONTACTS, N_DEALS, N_CALLS = 250, 10_500, 40, 30
SHARED_CONTACT_STAMPS = 10_200  # contacts sharing the three old lastmodifieddate values
DECISION_MAKER_TYPE, CHAMPION_TYPE = 28, 31  # portal-specific USER_DEFINED typeIds


def wire_ts(ts: pd.Series) -> pd.Series:
    """HubSpot's datetime strings, ``2024-01-02T03:04:05.678Z``."""
    return ts.dt.strftime("%Y-%m-%dT%H:%M:%S.") + (ts.dt.microsecond // 1000).map("{:03d}".format) + "Z"


def _base(n: int, created: pd.Series, updated: pd.Series, archived: np.ndarray) -> pd.DataFrame:
    ids = np.arange(1, n + 1)
    return pd.DataFrame({
        "id": ids.astype(str),
        "createdAt": created,
        "updatedAt": updated,
        "archived": archived,
        "archivedAt": pd.Series(np.where(archived, updated + pd.Timedelta(hours=1), pd.NaT),
                                dtype="datetime64[ns]"),
    })


def _prop(name: str, type_: str, field_type: str, hubspot_defined: bool = True, **extra: Any) -> dict[str, Any]:
    return {"name": name, "label": name.replace("_", " ").title(), "type": type_, "fieldType": field_type,
            "groupName": "information", "description": "", "options": extra.pop("options", []),
            "displayOrder": -1, "calculated": False, "externalOptions": False, "hasUniqueValue": False,
            "hidden": False, "hubspotDefined": hubspot_defined, "formField": True,
            "modificationMetadata": {"archivable": True, "readOnlyDefinition": True, "readOnlyValue": False},
            "createdAt": "2020-01-01T00:00:00.000Z", "updatedAt": "2020-01-01T00:00:00.000Z",
            "archived": False, **extra}


def companies() -> pd.DataFrame:
    i = np.arange(N_COMPANIES)
    created = BASE + pd.to_timedelta(i, unit="h")
    updated = created + pd.to_timedelta(i * 7 + 500, unit="min") + pd.to_timedelta(i % 1000, unit="ms")
    df = _base(N_COMPANIES, pd.Series(created), pd.Series(updated), (i + 1) % 25 == 0)
    df["name"] = [f"Company {k}" for k in i + 1]
    df["domain"] = [f"company{k}.example.com" if k % 7 else None for k in i + 1]
    df["industry"] = np.where(i % 2 == 0, "COMPUTER_SOFTWARE", "FINANCIAL_SERVICES")
    df["annualrevenue"] = [str(1000 * k) if k % 5 else None for k in i + 1]
    df["numberofemployees"] = ((i % 50) * 10 + 1).astype(str)
    df["hubspot_owner_id"] = np.where(i % 3 == 0, "101", "102")
    df["createdate"] = wire_ts(df["createdAt"])
    df["hs_lastmodifieddate"] = wire_ts(df["updatedAt"])
    df["hs_object_id"] = df["id"]
    return df


def contact_updated() -> pd.Series:
    """10,200 contacts share three old stamps; the last 300 are one second apart after them."""
    i = np.arange(N_CONTACTS)
    shared = BASE + pd.to_timedelta(30, unit="D") + pd.to_timedelta(i % 3, unit="D")
    late = BASE + pd.to_timedelta(60, unit="D") + pd.to_timedelta(i - SHARED_CONTACT_STAMPS, unit="s") \
        + pd.Timedelta(milliseconds=123)
    return pd.Series(np.where(i < SHARED_CONTACT_STAMPS, shared, late), dtype="datetime64[ns]")


def contacts() -> pd.DataFrame:
    i = np.arange(N_CONTACTS)
    created = pd.Series(BASE + pd.to_timedelta(i, unit="min"))
    df = _base(N_CONTACTS, created, contact_updated(), np.zeros(N_CONTACTS, dtype=bool))
    k = pd.Series(i + 1).astype(str)
    df["email"] = "person" + k + "@example.com"
    df["firstname"] = "First" + k
    df["lastname"] = "Last" + k
    df["hs_buying_role"] = np.where(i % 4 == 0, "CHAMPION;DECISION_MAKER", np.where(i % 4 == 1, "END_USER", None))
    df["associatedcompanyid"] = ((i % N_COMPANIES) + 1).astype(str)
    df["createdate"] = wire_ts(df["createdAt"])
    df["lastmodifieddate"] = wire_ts(df["updatedAt"])
    return df


def deals() -> pd.DataFrame:
    i = np.arange(N_DEALS)
    created = pd.Series(BASE + pd.to_timedelta(i, unit="D"))
    df = _base(N_DEALS, created, created + pd.Timedelta(days=3), np.zeros(N_DEALS, dtype=bool))
    df["dealname"] = [f"Deal {k}" for k in i + 1]
    df["amount"] = [f"{1500 * (k % 9)}.00" for k in i + 1]  # "0.00".."12000.00": numeric, not lexical
    df["dealstage"] = np.where(i % 3 == 0, "closedwon", "appointmentscheduled")
    df["pipeline"] = "default"
    df["closedate"] = wire_ts(created + pd.Timedelta(days=30))
    df["dealtype"] = np.where(i % 2 == 0, "newbusiness", "existingbusiness")
    df["createdate"] = wire_ts(df["createdAt"])
    df["hs_lastmodifieddate"] = wire_ts(df["updatedAt"])
    return df


def calls() -> pd.DataFrame:
    i = np.arange(N_CALLS)
    created = pd.Series(BASE + pd.to_timedelta(i * 5, unit="h"))
    df = _base(N_CALLS, created, created + pd.Timedelta(minutes=30), (i + 1) % 10 == 0)
    df["hs_timestamp"] = wire_ts(created)
    df["hs_call_title"] = [f"Discovery call {k}" for k in i + 1]
    df["hs_call_direction"] = np.where(i % 2 == 0, "OUTBOUND", "INBOUND")
    df["hs_call_duration"] = (i * 60_000).astype(str)
    df["hs_lastmodifieddate"] = wire_ts(df["updatedAt"])
    return df


def associations() -> pd.DataFrame:
    rows: list[tuple[str, str, str, str, str, int, str | None]] = []

    def both(a: str, b: str, a_id: int, b_id: int, ab: int, ba: int, category: str = "HUBSPOT_DEFINED",
             label: str | None = None) -> None:
        rows.append((a, b, str(a_id), str(b_id), category, ab, label))
        rows.append((b, a, str(b_id), str(a_id), category, ba, label))

    for contact in range(1, 61):  # company 1..3 get contacts; each contact's company is primary
        company = (contact - 1) % 3 + 1
        both("contacts", "companies", contact, company, 279, 280)
        both("contacts", "companies", contact, company, 1, 2, label="Primary")
        if contact % 5 == 0:
            both("companies", "contacts", company, contact, DECISION_MAKER_TYPE, DECISION_MAKER_TYPE,
                 "USER_DEFINED", "Decision maker")
    for deal in range(1, N_DEALS + 1):
        company = (deal - 1) % 10 + 1
        both("deals", "companies", deal, company, 341, 342)
        both("deals", "companies", deal, company, 5, 6, label="Primary")
        both("deals", "contacts", deal, deal, 3, 4)
        if deal % 2 == 0:
            both("deals", "contacts", deal, deal, CHAMPION_TYPE, CHAMPION_TYPE, "USER_DEFINED", "Champion")
    for call in range(1, N_CALLS + 1):
        both("companies", "calls", (call - 1) % 5 + 1, call, 181, 182)
    for contact in range(1, 1201):  # company 7 has more than one page (500) of contacts
        both("companies", "contacts", 7, contact, 280, 279)
    return pd.DataFrame(rows, columns=["from_type", "to_type", "from_id", "to_id", "category", "type_id", "label"])


PROPERTIES: dict[str, list[dict[str, Any]]] = {
    "companies": [
        _prop("name", "string", "text"), _prop("domain", "string", "text"),
        _prop("industry", "enumeration", "select"), _prop("annualrevenue", "number", "number"),
        _prop("numberofemployees", "number", "number"), _prop("hubspot_owner_id", "enumeration", "select"),
        _prop("createdate", "datetime", "date"), _prop("hs_lastmodifieddate", "datetime", "date"),
        _prop("hs_object_id", "number", "number"),
        _prop("legacy_score", "number", "number", hubspot_defined=False, archived=True),
    ],
    "contacts": [
        _prop("email", "string", "text"), _prop("firstname", "string", "text"), _prop("lastname", "string", "text"),
        _prop("hs_buying_role", "enumeration", "checkbox"), _prop("associatedcompanyid", "number", "number"),
        _prop("createdate", "datetime", "date"), _prop("lastmodifieddate", "datetime", "date"),
    ],
    "deals": [
        _prop("dealname", "string", "text"), _prop("amount", "number", "number"),
        _prop("dealstage", "enumeration", "radio"), _prop("pipeline", "enumeration", "select"),
        _prop("closedate", "datetime", "date"),
        _prop("dealtype", "enumeration", "radio",
              options=[{"label": "New Business", "value": "newbusiness", "displayOrder": 0, "hidden": False},
                       {"label": "Existing Business", "value": "existingbusiness", "displayOrder": 1,
                        "hidden": False}]),
        _prop("createdate", "datetime", "date"), _prop("hs_lastmodifieddate", "datetime", "date"),
    ],
    "calls": [
        _prop("hs_timestamp", "datetime", "date"), _prop("hs_call_title", "string", "text"),
        _prop("hs_call_direction", "enumeration", "select"), _prop("hs_call_duration", "number", "number"),
        _prop("hs_lastmodifieddate", "datetime", "date"),
    ],
}

OWNERS = [
    {"id": str(100 + k), "email": f"owner{k}@example.com", "firstName": f"Owner{k}", "lastName": "Smith",
     "userId": 9000 + k, "userIdIncludingInactive": 9000 + k, "type": "PERSON",
     "createdAt": "2020-01-01T00:00:00.000Z", "updatedAt": "2023-01-01T00:00:00.000Z", "archived": k == 4,
     "teams": [{"id": "1", "name": "Sales", "primary": True}]}
    for k in range(1, 5)
]

_STAGES = [("appointmentscheduled", 0.2, False), ("qualifiedtobuy", 0.4, False),
           ("presentationscheduled", 0.6, False), ("decisionmakerboughtin", 0.8, False),
           ("contractsent", 0.9, False), ("closedwon", 1.0, True), ("closedlost", 0.0, True)]
PIPELINES = {"deals": [{
    "id": "default", "label": "Sales Pipeline", "displayOrder": 0, "archived": False,
    "createdAt": "2020-01-01T00:00:00.000Z", "updatedAt": "2020-01-01T00:00:00.000Z",
    "stages": [{"id": sid, "label": sid.title(), "displayOrder": n,
                # stored as Python values on purpose: the wire must still say "0.2" / "false"
                "metadata": {"isClosed": closed, "probability": prob},
                "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT", "archived": False,
                "createdAt": "2020-01-01T00:00:00.000Z", "updatedAt": "2020-01-01T00:00:00.000Z"}
               for n, (sid, prob, closed) in enumerate(_STAGES)],
}]}


def build_dataset(clock: datetime = CLOCK) -> Dataset:
    ds = Dataset.empty(clock)
    ds.put_hs("companies", companies(), ["legacy_score"])
    ds.put_hs("contacts", contacts())
    ds.put_hs("deals", deals())
    ds.put_hs("calls", calls())
    ds.put_associations(associations())
    ds.hs_properties = PROPERTIES
    ds.hs_owners = OWNERS
    ds.hs_pipelines = PIPELINES
    return ds

