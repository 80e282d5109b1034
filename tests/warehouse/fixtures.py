"""Describe documents, property definitions and batches shared by the warehouse tests."""

from __future__ import annotations

from typing import Any


def sf_field(name: str, ftype: str, **kw: Any) -> dict[str, Any]:
    out = {"name": name, "type": ftype, "precision": 0, "scale": 0, "calculated": False}
    out.update(kw)
    return out


def opportunity_describe(extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Every Salesforce describe type once (plus compound and non-queryable fields that must be left out)."""
    fields = [
        sf_field("Id", "id"),
        sf_field("IsDeleted", "boolean"),
        sf_field("Name", "string"),
        sf_field("StageName", "picklist"),
        sf_field("Products__c", "multipicklist"),
        sf_field("Amount", "currency", precision=18, scale=2),
        sf_field("Probability", "percent", precision=5, scale=2),
        sf_field("Quantity__c", "double", precision=12, scale=2),
        sf_field("Score__c", "double"),
        sf_field("Seats__c", "int", digits=9),
        sf_field("BigCount__c", "long"),
        sf_field("CloseDate", "date"),
        sf_field("SystemModstamp", "datetime"),
        sf_field("Meeting__c", "time"),
        sf_field("AccountId", "reference", referenceTo=["Account"]),
        sf_field("Description", "textarea"),
        sf_field("Email__c", "email"),
        sf_field("Phone__c", "phone"),
        sf_field("Site__c", "url"),
        sf_field("Kind__c", "combobox"),
        sf_field("Payload__c", "anyType"),
        sf_field("BillingAddress", "address"),
        sf_field("Geo__c", "location"),
        sf_field("Hidden__c", "string", queryable=False),
    ]
    return {"name": "Opportunity", "fields": fields + (extra or [])}


SF_EXPECTED_TYPES = {
    "Id": "VARCHAR",
    "IsDeleted": "BOOLEAN",
    "Name": "VARCHAR",
    "StageName": "VARCHAR",
    "Products__c": "VARCHAR[]",
    "Amount": "DECIMAL(18,2)",
    "Probability": "DECIMAL(5,2)",
    "Quantity__c": "DECIMAL(12,2)",
    "Score__c": "DOUBLE",
    "Seats__c": "BIGINT",
    "BigCount__c": "BIGINT",
    "CloseDate": "DATE",
    "SystemModstamp": "TIMESTAMPTZ",
    "Meeting__c": "TIME",
    "AccountId": "VARCHAR",
    "Description": "VARCHAR",
    "Email__c": "VARCHAR",
    "Phone__c": "VARCHAR",
    "Site__c": "VARCHAR",
    "Kind__c": "VARCHAR",
    "Payload__c": "VARCHAR",
}


def hs_prop(name: str, ptype: str, field_type: str = "text") -> dict[str, Any]:
    return {"name": name, "type": ptype, "fieldType": field_type, "options": []}


def deal_properties(extra: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    props = [
        hs_prop("dealname", "string"),
        hs_prop("amount", "number", "number"),
        hs_prop("closedate", "datetime", "date"),
        hs_prop("contract_start", "date", "date"),
        hs_prop("is_renewal", "bool", "booleancheckbox"),
        hs_prop("dealstage", "enumeration", "select"),
        hs_prop("products", "enumeration", "checkbox"),
        hs_prop("hs_lastmodifieddate", "datetime", "date"),
        hs_prop("notes", "string", "textarea"),
    ]
    return props + (extra or [])


HS_EXPECTED_TYPES = {
    "id": "VARCHAR",
    "created_at": "TIMESTAMPTZ",
    "updated_at": "TIMESTAMPTZ",
    "archived": "BOOLEAN",
    "archived_at": "TIMESTAMPTZ",
    "dealname": "VARCHAR",
    "amount": "DECIMAL(38,9)",
    "closedate": "TIMESTAMPTZ",
    "contract_start": "DATE",
    "is_renewal": "BOOLEAN",
    "dealstage": "VARCHAR",
    "products": "VARCHAR[]",
    "hs_lastmodifieddate": "TIMESTAMPTZ",
    "notes": "VARCHAR",
}
