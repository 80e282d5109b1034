"""A small hand-written Salesforce dataset for the simulator's Salesforce tests.

Describes follow the REST shapes (crm_api_wire §A5/§A8) for a few fields per object, including
relationship fields (OwnerId -> User as ``Owner``, AccountId -> Account), a polymorphic WhatId, a
compound BillingAddress and a custom field. Data is deterministic and includes soft-deleted rows,
one row past the recycle-bin window, archived tasks and many records sharing a SystemModstamp.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd

from connectors.simulator.dataset.store import Dataset

CLOCK = datetime(2024, 6, 15, 12, 0, 0, tzinfo=UTC)
N_ACCOUNTS = 450
_SOAP_TYPES = {"id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean", "int": "xsd:int",
               "double": "xsd:double", "currency": "xsd:double", "percent": "xsd:double", "date": "xsd:date",
               "datetime": "xsd:dateTime", "address": "urn:address"}


def sf_id(prefix: str, n: int) -> str:
    """An 18-character Salesforce id with the real case-safe checksum suffix."""
    base = f"{prefix}5g{n:07d}XaB"  # mixed case, so the suffix is not trivially "AAA"
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
    suffix = ""
    for chunk in range(3):
        bits = sum(1 << i for i, ch in enumerate(base[chunk * 5: chunk * 5 + 5]) if "A" <= ch <= "Z")
        suffix += alphabet[bits]
    return base + suffix


def field(name: str, sf_type: str, *, ref: list[str] | None = None, rel: str | None = None,
          custom: bool | None = None, compound: str | None = None, nillable: bool = True,
          picklist: list[str] | None = None) -> dict[str, Any]:
    return {
        "name": name, "label": name, "type": sf_type, "soapType": _SOAP_TYPES.get(sf_type, "xsd:string"),
        "length": 255 if sf_type in ("string", "textarea", "picklist", "url", "email") else 0,
        "precision": 18 if sf_type in ("currency", "double") else 0, "scale": 2 if sf_type == "currency" else 0,
        "digits": 9 if sf_type == "int" else 0, "custom": name.endswith("__c") if custom is None else custom,
        "nillable": nillable, "calculated": False, "createable": sf_type != "id", "updateable": sf_type != "id",
        "filterable": sf_type != "address", "sortable": sf_type != "address", "groupable": sf_type != "address",
        "unique": False, "externalId": False, "idLookup": sf_type == "id", "defaultedOnCreate": False,
        "autoNumber": False, "referenceTo": ref or [], "relationshipName": rel,
        "polymorphicForeignKey": bool(ref and len(ref) > 1),
        "picklistValues": [{"active": True, "defaultValue": False, "label": v, "validFor": None, "value": v}
                           for v in picklist or []],
        "restrictedPicklist": False, "dependentPicklist": False, "controllerName": None,
        "compoundFieldName": compound, "deprecatedAndHidden": False,
    }


def _audit(deletable: bool = True) -> list[dict[str, Any]]:
    fields = [field("Id", "id", nillable=False)]
    if deletable:
        fields.append(field("IsDeleted", "boolean", nillable=False))
    return [
        *fields,
        field("CreatedDate", "datetime", nillable=False),
        field("LastModifiedDate", "datetime", nillable=False),
        field("SystemModstamp", "datetime", nillable=False),
    ]


def describe(name: str, prefix: str, fields: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": name, "label": name, "labelPlural": name + "s", "keyPrefix": prefix, "custom": False,
        "queryable": True, "replicateable": True, "retrieveable": True, "searchable": True,
        "createable": True, "updateable": True, "deletable": True, "fields": fields,
        "childRelationships": [], "recordTypeInfos": [],
    }


USER = describe("User", "005", [*_audit(deletable=False), field("Name", "string"), field("Email", "email"),
                                field("IsActive", "boolean")])
ACCOUNT = describe("Account", "001", [
    *_audit(), field("Name", "string"),
    field("Type", "picklist", picklist=["Prospect", "Customer - Direct", "Other"]),
    field("AnnualRevenue", "currency"), field("NumberOfEmployees", "int"),
    field("OwnerId", "reference", ref=["User"], rel="Owner"),
    field("ParentId", "reference", ref=["Account"], rel="Parent"),
    field("BillingCity", "string", compound="BillingAddress"),
    field("BillingCountry", "string", compound="BillingAddress"),
    field("BillingAddress", "address"),
    field("CustomerSince__c", "date"),
])
CONTACT = describe("Contact", "003", [
    *_audit(), field("FirstName", "string"), field("LastName", "string"), field("Email", "email"),
    field("AccountId", "reference", ref=["Account"], rel="Account"),
    field("OwnerId", "reference", ref=["User"], rel="Owner"),
])
OPPORTUNITY = describe("Opportunity", "006", [
    *_audit(), field("Name", "string"), field("StageName", "picklist"), field("Amount", "currency"),
    field("CloseDate", "date"), field("IsWon", "boolean"),
    field("AccountId", "reference", ref=["Account"], rel="Account"),
    field("OwnerId", "reference", ref=["User"], rel="Owner"),
])
TASK = describe("Task", "00T", [
    *_audit(), field("Subject", "string"), field("ActivityDate", "date"), field("IsArchived", "boolean"),
    field("WhatId", "reference", ref=["Account", "Opportunity"], rel="What"),
    field("WhoId", "reference", ref=["Contact", "Lead"], rel="Who"),
    field("OwnerId", "reference", ref=["User"], rel="Owner"),
])


def _stamp(i: int) -> datetime:
    """Modstamps shared by groups of 7 records (ties at millisecond precision)."""
    base = CLOCK.replace(tzinfo=None) - timedelta(days=10)
    return base + timedelta(minutes=i // 7, milliseconds=123)


def build_dataset() -> Dataset:
    ds = Dataset.empty(CLOCK)
    now = CLOCK.replace(tzinfo=None)
    users = [sf_id("005", i) for i in range(3)]
    ds.put_sf("User", USER, pd.DataFrame({
        "Id": users, "Name": ["Ann Admin", "Bob Seller", "Cy Closer"], "Email": [f"u{i}@ex.com" for i in range(3)],
        "IsActive": [True, True, False], "CreatedDate": [now - timedelta(days=400)] * 3,
        "LastModifiedDate": [now - timedelta(days=30)] * 3, "SystemModstamp": [now - timedelta(days=30)] * 3,
    }))
    accounts = [sf_id("001", i) for i in range(N_ACCOUNTS)]
    stamps = [_stamp(i) for i in range(N_ACCOUNTS)]
    deleted = [i % 30 == 7 for i in range(N_ACCOUNTS)]
    stamps[449] = now - timedelta(days=40)  # deleted long ago: past the recycle bin, gone even from queryAll
    deleted[449] = True
    ds.put_sf("Account", ACCOUNT, pd.DataFrame({
        "Id": accounts, "IsDeleted": deleted,
        "Name": [f"Acme {i:03d}" if i % 5 else f"Globex 'O\\Brien' {i:03d}" for i in range(N_ACCOUNTS)],
        "Type": [["Prospect", "Customer - Direct", None][i % 3] for i in range(N_ACCOUNTS)],
        "AnnualRevenue": [None if i % 11 == 0 else 1000.5 * i for i in range(N_ACCOUNTS)],
        "NumberOfEmployees": [i * 3 for i in range(N_ACCOUNTS)],
        "OwnerId": [None if i % 13 == 0 else users[i % 3] for i in range(N_ACCOUNTS)],
        "ParentId": [accounts[0] if i % 50 == 1 else None for i in range(N_ACCOUNTS)],
        "BillingCity": [None if i % 4 == 0 else f"City {i % 9}" for i in range(N_ACCOUNTS)],
        "BillingCountry": [None if i % 4 == 0 else "US" for i in range(N_ACCOUNTS)],
        "CustomerSince__c": [date(2020, 1, 1) + timedelta(days=i) for i in range(N_ACCOUNTS)],
        "CreatedDate": [s - timedelta(days=100) for s in stamps],
        "LastModifiedDate": stamps, "SystemModstamp": stamps,
    }))
    contacts = [sf_id("003", i) for i in range(60)]
    ds.put_sf("Contact", CONTACT, pd.DataFrame({
        "Id": contacts, "IsDeleted": [i == 5 for i in range(60)],
        "FirstName": [f"First{i}" for i in range(60)], "LastName": [f"Last{i}" for i in range(60)],
        "Email": [f"c{i}@example.com" for i in range(60)],
        "AccountId": [None if i % 10 == 0 else accounts[i] for i in range(60)],
        "OwnerId": [users[i % 3] for i in range(60)],
        "CreatedDate": [now - timedelta(days=20)] * 60, "LastModifiedDate": [now - timedelta(days=2)] * 60,
        "SystemModstamp": [now - timedelta(days=2, seconds=i) for i in range(60)],
    }))
    opps = [sf_id("006", i) for i in range(40)]
    ds.put_sf("Opportunity", OPPORTUNITY, pd.DataFrame({
        "Id": opps, "IsDeleted": [False] * 40, "Name": [f"Deal {i}" for i in range(40)],
        "StageName": [["Prospecting", "Closed Won", "Closed Lost"][i % 3] for i in range(40)],
        "Amount": [1000.0 * i for i in range(40)],
        "CloseDate": [date(2024, 6, 1) + timedelta(days=i) for i in range(40)],
        "IsWon": [i % 3 == 1 for i in range(40)], "AccountId": [accounts[i] for i in range(40)],
        "OwnerId": [users[i % 3] for i in range(40)],
        "CreatedDate": [now - timedelta(days=60)] * 40, "LastModifiedDate": [now - timedelta(days=1)] * 40,
        "SystemModstamp": [now - timedelta(days=1)] * 40,
    }))
    tasks = [sf_id("00T", i) for i in range(30)]
    ds.put_sf("Task", TASK, pd.DataFrame({
        "Id": tasks, "IsDeleted": [i == 3 for i in range(30)], "IsArchived": [i in (4, 5) for i in range(30)],
        "Subject": [f"Call {i}" for i in range(30)],
        "ActivityDate": [CLOCK.date() - timedelta(days=i) for i in range(30)],
        "WhatId": [accounts[i] if i % 3 == 0 else opps[i] if i % 3 == 1 else None for i in range(30)],
        "WhoId": [contacts[i] for i in range(30)], "OwnerId": [users[i % 3] for i in range(30)],
        "CreatedDate": [now - timedelta(days=i, hours=1) for i in range(30)],
        "LastModifiedDate": [now - timedelta(days=i) for i in range(30)],
        "SystemModstamp": [now - timedelta(days=i) for i in range(30)],
    }))
    return ds
