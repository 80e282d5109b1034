"""Salesforce describe documents (REST ``/sobjects/{Obj}/describe`` shape) for the simulated org.

The catalog lists each object's fields as compact specs; :func:`field` expands a spec into the full
per-field describe dict, so every field carries every key a client may read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from connectors.simulator.dataset.ids import SF_KEY_PREFIX

API_VERSION = "59.0"
CURRENCIES = ("USD", "EUR", "GBP", "JPY")

_SOAP = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "int": "xsd:int",
    "long": "xsd:long",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "time": "xsd:time",
    "address": "urn:address",
    "location": "urn:location",
    "anyType": "xsd:anyType",
}
_TEXT_LENGTH = {
    "string": 255,
    "textarea": 32000,
    "picklist": 255,
    "multipicklist": 4099,
    "combobox": 255,
    "email": 80,
    "phone": 40,
    "url": 255,
    "id": 18,
    "reference": 18,
}
_NUMERIC = {"double": (18, 2), "currency": (18, 2), "percent": (3, 0)}


def _picklist(values: Iterable[str], default: str | None = None) -> list[dict[str, Any]]:
    return [{"active": True, "defaultValue": v == default, "label": v, "validFor": None, "value": v} for v in values]


def field(name: str, ftype: str, label: str | None = None, **kw: Any) -> dict[str, Any]:
    """A describe field dict with defaults for everything the caller does not set."""
    custom = name.endswith("__c")
    calculated = kw.pop("calculated", False)
    system = name in (
        "Id",
        "CreatedDate",
        "CreatedById",
        "LastModifiedDate",
        "LastModifiedById",
        "SystemModstamp",
        "IsDeleted",
    )
    precision, scale = _NUMERIC.get(ftype, (0, 0))
    picklist = kw.pop("picklist", None)
    reference_to = kw.pop("referenceTo", [])
    out: dict[str, Any] = {
        "name": name,
        "label": label or name.removesuffix("__c").replace("_", " "),
        "type": ftype,
        "soapType": _SOAP.get(ftype, "xsd:string"),
        "length": _TEXT_LENGTH.get(ftype, 0),
        "byteLength": _TEXT_LENGTH.get(ftype, 0) * 3,
        "precision": kw.pop("precision", precision),
        "scale": kw.pop("scale", scale),
        "digits": 9 if ftype == "int" else 0,
        "custom": custom,
        "nillable": ftype != "boolean" and name != "Id" and not system,
        "calculated": calculated,
        "calculatedFormula": kw.pop("formula", None),
        "createable": not (calculated or system),
        "updateable": not (calculated or system),
        "filterable": ftype not in ("textarea", "address", "location"),
        "sortable": ftype not in ("textarea", "multipicklist", "address", "location"),
        "groupable": ftype not in ("textarea", "double", "currency", "percent", "datetime", "address", "location"),
        "unique": False,
        "externalId": False,
        "idLookup": name == "Id",
        "defaultedOnCreate": system or ftype == "boolean",
        "autoNumber": False,
        "referenceTo": reference_to,
        "relationshipName": kw.pop("relationshipName", None),
        "polymorphicForeignKey": len(reference_to) > 1,
        "picklistValues": _picklist(picklist) if picklist else [],
        "restrictedPicklist": kw.pop("restricted", False),
        "dependentPicklist": False,
        "controllerName": None,
        "compoundFieldName": kw.pop("compoundFieldName", None),
        "deprecatedAndHidden": False,
        "htmlFormatted": False,
        "inlineHelpText": None,
    }
    out.update(kw)
    return out


def ref(name: str, *targets: str, relationship: str | None = None) -> dict[str, Any]:
    rel = relationship or (name[:-2] if name.endswith("Id") else name.replace("__c", "__r"))
    return field(name, "reference", referenceTo=list(targets), relationshipName=rel)


def _system_fields(with_is_deleted: bool = True, modifiable: bool = True) -> list[dict[str, Any]]:
    out = [field("Id", "id", "Record ID")]
    if with_is_deleted:
        out.append(field("IsDeleted", "boolean", "Deleted"))
    out += [field("CreatedDate", "datetime", "Created Date"), ref("CreatedById", "User", relationship="CreatedBy")]
    if modifiable:
        out += [
            field("LastModifiedDate", "datetime", "Last Modified Date"),
            ref("LastModifiedById", "User", relationship="LastModifiedBy"),
        ]
    out.append(field("SystemModstamp", "datetime", "System Modstamp"))
    return out


def _currency() -> dict[str, Any]:
    return field("CurrencyIsoCode", "picklist", "Currency ISO Code", picklist=CURRENCIES, restricted=True)


INDUSTRIES = (
    "Technology",
    "Finance",
    "Healthcare",
    "Manufacturing",
    "Retail",
    "Education",
    "Media",
    "Telecommunications",
    "Energy",
    "Transportation",
    "Consulting",
    "Government",
)
OPP_STAGES = (
    ("Prospecting", 10, "Pipeline"),
    ("Qualification", 10, "Pipeline"),
    ("Needs Analysis", 20, "Pipeline"),
    ("Value Proposition", 50, "Pipeline"),
    ("Id. Decision Makers", 60, "Pipeline"),
    ("Perception Analysis", 70, "Pipeline"),
    ("Proposal/Price Quote", 75, "Pipeline"),
    ("Negotiation/Review", 90, "Forecast"),
    ("Closed Won", 100, "Closed"),
    ("Closed Lost", 0, "Omitted"),
)
OPP_TYPES = (
    "New Customer",
    "Existing Customer - Upgrade",
    "Existing Customer - Replacement",
    "Existing Customer - Downgrade",
    "New Business",
    "Renewal",
    "Upsell",
    "Cross-sell",
)
OCR_ROLES = (
    "Business User",
    "Decision Maker",
    "Economic Buyer",
    "Economic Decision Maker",
    "Evaluator",
    "Executive Sponsor",
    "Influencer",
    "Technical Buyer",
    "Other",
)
PRODUCT_FAMILIES = ("Platform", "Analytics", "Seats Add-on", "Professional Services", "Onboarding")


def _address(prefix: str) -> list[dict[str, Any]]:
    compound = f"{prefix}Address"
    parts = [field(f"{prefix}Street", "textarea", compoundFieldName=compound)]
    parts += [
        field(f"{prefix}{p}", "string", compoundFieldName=compound) for p in ("City", "State", "PostalCode", "Country")
    ]
    return [*parts, field(compound, "address")]


def _catalog() -> dict[str, tuple[str, list[dict[str, Any]], dict[str, Any]]]:
    """Object name -> (label, fields, top-level overrides)."""
    std = _system_fields
    owner = ref("OwnerId", "User", relationship="Owner")
    # Task and Event link to people and records the same way (polymorphic Who/What, derived AccountId)
    activity_links = [
        ref("WhoId", "Contact", "Lead", relationship="Who"),
        ref("WhatId", "Account", "Opportunity", "Contract", relationship="What"),
        field("AccountId", "reference", referenceTo=["Account"], relationshipName="Account", createable=False,
              updateable=False),
        owner,
    ]
    return {
        "Account": (
            "Account",
            [
                *std(),
                field("Name", "string", "Account Name", nillable=False, nameField=True),
                field(
                    "Type",
                    "picklist",
                    "Account Type",
                    picklist=(
                        "Prospect",
                        "Customer - Direct",
                        "Customer - Channel",
                        "Channel Partner / Reseller",
                        "Installation Partner",
                        "Technology Partner",
                        "Other",
                    ),
                ),
                ref("ParentId", "Account", relationship="Parent"),
                ref("MasterRecordId", "Account", relationship="MasterRecord"),
                field("Industry", "picklist", picklist=INDUSTRIES),
                field("Website", "url"),
                field("AnnualRevenue", "currency", "Annual Revenue", precision=18, scale=0),
                field("NumberOfEmployees", "int", "Employees", precision=8),
                owner,
                *_address("Billing"),
                field(
                    "AccountSource",
                    "picklist",
                    picklist=("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"),
                ),
                _currency(),
                field("Description", "textarea"),
                field("LastActivityDate", "date", calculated=False),
                field(
                    "Health_Score__c",
                    "double",
                    "Health Score",
                    calculated=True,
                    precision=5,
                    scale=1,
                    formula="ROUND(NumberOfEmployees / 100 + IF(ISPICKVAL(Type,'Customer - Direct'),50,0),1)",
                ),
                field("Customer_Tier__c", "picklist", "Customer Tier", picklist=("A", "B", "C")),
            ],
            {},
        ),
        "Contact": (
            "Contact",
            [
                *std(),
                ref("AccountId", "Account"),
                field("FirstName", "string", length=40),
                field("LastName", "string", length=80, nillable=False),
                field("Name", "string", "Full Name", nameField=True, createable=False, updateable=False),
                field("Title", "string", length=128),
                field("Department", "string", length=80),
                field("Email", "email"),
                field("Phone", "phone"),
                field(
                    "LeadSource",
                    "picklist",
                    picklist=("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"),
                ),
                ref("ReportsToId", "Contact", relationship="ReportsTo"),
                owner,
                field("MailingCountry", "string"),
                field("HasOptedOutOfEmail", "boolean", "Email Opt Out"),
                field("LastActivityDate", "date"),
            ],
            {},
        ),
        "User": (
            "User",
            [
                *std(with_is_deleted=False),
                field("Username", "string", unique=True),
                field("Name", "string", nameField=True),
                field("FirstName", "string"),
                field("LastName", "string"),
                field("Title", "string"),
                field("Department", "string"),
                field("Email", "email"),
                field("IsActive", "boolean", "Active"),
                ref("UserRoleId", "UserRole"),
                ref("ProfileId", "Profile"),
                ref("ManagerId", "User", relationship="Manager"),
                field(
                    "UserType", "picklist", picklist=("Standard", "PowerPartner", "CsnOnly", "Guest"), restricted=True
                ),
            ],
            {"deletable": False, "undeletable": False},
        ),
        "Opportunity": (
            "Opportunity",
            [
                *std(),
                ref("AccountId", "Account"),
                field("Name", "string", length=120, nillable=False, nameField=True),
                field("StageName", "picklist", "Stage", picklist=[s[0] for s in OPP_STAGES], nillable=False),
                field("Amount", "currency"),
                field("Probability", "percent"),
                field(
                    "ExpectedRevenue",
                    "currency",
                    "Expected Amount",
                    calculated=True,
                    formula="Amount * Probability / 100",
                ),
                field("CloseDate", "date", nillable=False),
                field("IsClosed", "boolean", "Closed", calculated=True),
                field("IsWon", "boolean", "Won", calculated=True),
                field("Type", "picklist", "Opportunity Type", picklist=OPP_TYPES),
                field(
                    "ForecastCategory",
                    "picklist",
                    picklist=("Omitted", "Pipeline", "BestCase", "MostLikely", "Forecast", "Closed"),
                    restricted=True,
                ),
                field(
                    "ForecastCategoryName",
                    "picklist",
                    picklist=("Pipeline", "Best Case", "Commit", "Omitted", "Closed"),
                ),
                field(
                    "LeadSource",
                    "picklist",
                    picklist=("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"),
                ),
                field("NextStep", "string"),
                owner,
                ref("Pricebook2Id", "Pricebook2"),
                field("HasOpportunityLineItem", "boolean", "Has Line Item", calculated=True),
                _currency(),
                field("FiscalYear", "int", calculated=True),
                field("FiscalQuarter", "int", calculated=True),
                field("LastStageChangeDate", "datetime", calculated=True),
                field("MEDDIC_Metrics__c", "textarea", "MEDDIC Metrics"),
                ref("MEDDIC_Economic_Buyer__c", "Contact", relationship="MEDDIC_Economic_Buyer__r"),
                field("MEDDIC_Decision_Criteria__c", "textarea", "MEDDIC Decision Criteria"),
                field("MEDDIC_Decision_Process__c", "textarea", "MEDDIC Decision Process"),
                field("MEDDIC_Identify_Pain__c", "textarea", "MEDDIC Identify Pain"),
                ref("MEDDIC_Champion__c", "Contact", relationship="MEDDIC_Champion__r"),
            ],
            {},
        ),
        "OpportunityLineItem": (
            "Opportunity Product",
            [
                *std(),
                ref("OpportunityId", "Opportunity"),
                ref("PricebookEntryId", "PricebookEntry"),
                ref("Product2Id", "Product2"),
                field("ProductCode", "string"),
                field("Name", "string", calculated=True),
                field("Quantity", "double", precision=12, scale=2),
                field("UnitPrice", "currency", "Sales Price"),
                field("ListPrice", "currency", calculated=True),
                field("TotalPrice", "currency"),
                field("Discount", "percent"),
                field("ServiceDate", "date", "Date"),
                field("Description", "string"),
                field("SortOrder", "int"),
                _currency(),
                field("Term_Months__c", "double", "Term (Months)", precision=4, scale=0),
            ],
            {},
        ),
        "OpportunityContactRole": (
            "Opportunity Contact Role",
            [
                *std(),
                ref("OpportunityId", "Opportunity"),
                ref("ContactId", "Contact"),
                field("Role", "picklist", picklist=OCR_ROLES, length=40),
                field("IsPrimary", "boolean", "Primary"),
                _currency(),
            ],
            {},
        ),
        "OpportunityHistory": (
            "Opportunity History",
            [
                *std(modifiable=False),
                ref("OpportunityId", "Opportunity"),
                field("StageName", "picklist", picklist=[s[0] for s in OPP_STAGES]),
                field("Amount", "currency"),
                field("ExpectedRevenue", "currency"),
                field("CloseDate", "date"),
                field("Probability", "percent"),
                field(
                    "ForecastCategory",
                    "picklist",
                    picklist=("Omitted", "Pipeline", "BestCase", "MostLikely", "Forecast", "Closed"),
                ),
                field("PrevAmount", "currency"),
                field("PrevCloseDate", "date"),
                _currency(),
            ],
            {"createable": False, "updateable": False},
        ),
        "Product2": (
            "Product",
            [
                *std(),
                field("Name", "string", nameField=True),
                field("ProductCode", "string"),
                field("Family", "picklist", "Product Family", picklist=PRODUCT_FAMILIES),
                field("IsActive", "boolean", "Active"),
                field("Description", "textarea"),
                field("QuantityUnitOfMeasure", "picklist", picklist=("Each", "Seat", "Hour")),
                _currency(),
            ],
            {},
        ),
        "Pricebook2": (
            "Price Book",
            [
                *std(),
                field("Name", "string", nameField=True),
                field("IsActive", "boolean", "Active"),
                field("IsStandard", "boolean", "Is Standard Price Book", calculated=True),
                field("Description", "string"),
            ],
            {},
        ),
        "PricebookEntry": (
            "Price Book Entry",
            [
                *std(),
                ref("Pricebook2Id", "Pricebook2"),
                ref("Product2Id", "Product2"),
                field("Name", "string", calculated=True),
                field("ProductCode", "string", calculated=True),
                field("UnitPrice", "currency", "List Price"),
                field("IsActive", "boolean", "Active"),
                field("UseStandardPrice", "boolean"),
                _currency(),
            ],
            {},
        ),
        "Contract": (
            "Contract",
            [
                *std(),
                ref("AccountId", "Account"),
                field("ContractNumber", "string", autoNumber=True, calculated=False),
                field("StartDate", "date", "Contract Start Date"),
                field("ContractTerm", "int", "Contract Term"),
                field("EndDate", "date", "Contract End Date", calculated=True),
                field("Status", "picklist", picklist=("Draft", "In Approval Process", "Activated")),
                field("StatusCode", "picklist", picklist=("Draft", "InApproval", "Activated", "Terminated", "Expired")),
                owner,
                field("ActivatedDate", "datetime"),
                field("CustomerSignedDate", "date"),
                _currency(),
            ],
            {},
        ),
        "Task": (
            "Task",
            [
                *std(),
                *activity_links,
                field("Subject", "combobox"),
                field("ActivityDate", "date", "Due Date Only"),
                field(
                    "Status",
                    "picklist",
                    picklist=("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred"),
                ),
                field("Priority", "picklist", picklist=("High", "Normal", "Low")),
                field("Type", "picklist", picklist=("Call", "Email", "Meeting", "Other")),
                field(
                    "TaskSubtype", "picklist", picklist=("Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn")
                ),
                field("CallDurationInSeconds", "int"),
                field("CallType", "picklist", picklist=("Internal", "Inbound", "Outbound")),
                field("CallDisposition", "string"),
                field("IsClosed", "boolean", "Closed", calculated=True),
                field("CompletedDateTime", "datetime"),
                field("IsArchived", "boolean", "Archived"),
                field("Description", "textarea"),
            ],
            {},
        ),
        "Event": (
            "Event",
            [
                *std(),
                *activity_links,
                field("Subject", "combobox"),
                field("ActivityDate", "date"),
                field("ActivityDateTime", "datetime"),
                field("StartDateTime", "datetime"),
                field("EndDateTime", "datetime"),
                field("DurationInMinutes", "int"),
                field("IsAllDayEvent", "boolean", "All-Day Event"),
                field("Type", "picklist", picklist=("Call", "Email", "Meeting", "Other")),
                field("EventSubtype", "picklist", picklist=("Event",)),
                field("IsArchived", "boolean", "Archived"),
            ],
            {},
        ),
        "CurrencyType": (
            "Currency",
            [
                *std(with_is_deleted=False),
                field("IsoCode", "picklist", picklist=CURRENCIES, restricted=True),
                field("ConversionRate", "double", precision=18, scale=6),
                field("DecimalPlaces", "int"),
                field("IsActive", "boolean"),
                field("IsCorporate", "boolean"),
            ],
            {"deletable": False, "undeletable": False},
        ),
        "DatedConversionRate": (
            "Dated Exchange Rate",
            [
                *std(with_is_deleted=False),
                field("IsoCode", "picklist", picklist=CURRENCIES, restricted=True),
                field("ConversionRate", "double", precision=18, scale=6),
                field("StartDate", "date"),
                field("NextStartDate", "date", calculated=True),
            ],
            {"deletable": False, "undeletable": False},
        ),
    }


SF_OBJECTS = tuple(_catalog())


def describe(
    obj: str, fields: list[dict[str, Any]] | None = None, label: str | None = None, **overrides: Any
) -> dict[str, Any]:
    """A full sObject describe document for ``obj``."""
    catalog = _catalog()
    if fields is None:
        cat_label, fields, cat_over = catalog[obj]
        label = label or cat_label
        overrides = {**cat_over, **overrides}
    label = label or obj
    base = f"/services/data/v{API_VERSION}/sobjects/{obj}"
    doc: dict[str, Any] = {
        "name": obj,
        "label": label,
        "labelPlural": label + ("es" if label.endswith("s") else "s"),
        "keyPrefix": SF_KEY_PREFIX.get(obj),
        "custom": obj.endswith("__c"),
        "customSetting": False,
        "queryable": True,
        "replicateable": True,
        "retrieveable": True,
        "searchable": True,
        "createable": True,
        "updateable": True,
        "deletable": True,
        "undeletable": True,
        "mergeable": obj in ("Account", "Contact"),
        "triggerable": True,
        "layoutable": True,
        "activateable": False,
        "feedEnabled": False,
        "mruEnabled": True,
        "deprecatedAndHidden": False,
        "urls": {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"},
        "childRelationships": [],
        "recordTypeInfos": [],
        "fields": fields,
    }
    doc.update(overrides)
    return doc


def all_describes() -> dict[str, dict[str, Any]]:
    return {obj: describe(obj) for obj in SF_OBJECTS}


def custom_text_field(name: str) -> dict[str, Any]:
    """A custom text field as it appears after an admin adds it (type string)."""
    return field(name, "string")


def standard_describe(obj: str, extra_custom_fields: Iterable[str] = ()) -> dict[str, Any]:
    """Describe for ``obj`` from the standard catalog, plus ``__c`` fields inferred from data (typed string).

    Objects outside the catalog get the system fields and ``Name``; the folder loader uses this when
    a dataset has no ``_describe/<Object>.json``.
    """
    catalog = _catalog()
    if obj in catalog:
        doc = describe(obj)
    else:
        doc = describe(obj, fields=[*_system_fields(), field("Name", "string", nameField=True)], label=obj)
    known = {f["name"] for f in doc["fields"]}
    for name in extra_custom_fields:
        if name not in known:
            doc["fields"].append(custom_text_field(name))
            known.add(name)
    return doc
