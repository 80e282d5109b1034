"""HubSpot property definitions, the deal pipeline and owners, in the v3 API shapes (B7)."""

from __future__ import annotations

import zlib
from typing import Any

# A fixed "portal created" time for schema objects; records are stamped by the generator.
SCHEMA_CREATED = "2019-06-03T09:00:00.000Z"

DEAL_STAGES = (  # (id, label, probability, isClosed)
    ("appointmentscheduled", "Appointment Scheduled", "0.2", "false"),
    ("qualifiedtobuy", "Qualified To Buy", "0.4", "false"),
    ("presentationscheduled", "Presentation Scheduled", "0.6", "false"),
    ("decisionmakerboughtin", "Decision Maker Bought-In", "0.8", "false"),
    ("contractsent", "Contract Sent", "0.9", "false"),
    ("closedwon", "Closed Won", "1.0", "true"),
    ("closedlost", "Closed Lost", "0.0", "true"),
)
BUYING_ROLES = (
    "BLOCKER",
    "BUDGET_HOLDER",
    "CHAMPION",
    "DECISION_MAKER",
    "END_USER",
    "EXECUTIVE_SPONSOR",
    "INFLUENCER",
    "LEGAL_AND_COMPLIANCE",
    "OTHER",
)
# USER_DEFINED deal<->contact labels: portal-specific type ids, one per direction.
DEAL_CONTACT_LABELS = {
    "Champion": (28, 33),
    "Decision maker": (29, 34),
    "Economic buyer": (30, 35),
    "Influencer": (31, 36),
    "Blocker": (32, 37),
}
BILLING_FREQUENCIES = (
    "weekly",
    "biweekly",
    "monthly",
    "quarterly",
    "per_six_months",
    "annually",
    "per_two_years",
    "per_three_years",
)
INDUSTRY_CODES = (
    "COMPUTER_SOFTWARE",
    "FINANCIAL_SERVICES",
    "HOSPITAL_HEALTH_CARE",
    "MACHINERY",
    "RETAIL",
    "EDUCATION_MANAGEMENT",
    "MEDIA_PRODUCTION",
    "TELECOMMUNICATIONS",
    "OIL_ENERGY",
    "TRANSPORTATION_TRUCKING_RAILROAD",
    "MANAGEMENT_CONSULTING",
    "GOVERNMENT_ADMINISTRATION",
)

_FIELD_TYPE = {
    "string": "text",
    "number": "number",
    "date": "date",
    "datetime": "date",
    "enumeration": "select",
    "bool": "booleancheckbox",
}


LIFECYCLE_STAGES = (
    "subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer", "evangelist",
    "other",
)

def prop(
    name: str,
    ptype: str = "string",
    label: str | None = None,
    options: tuple[str, ...] = (),
    field_type: str | None = None,
    group: str = "information",
    calculated: bool = False,
    hubspot_defined: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    """One property definition in the B7 shape."""
    if ptype == "bool" and not options:
        options = ("true", "false")
    out: dict[str, Any] = {
        "name": name,
        "label": label or name.replace("hs_", "").replace("_", " ").capitalize(),
        "type": ptype,
        "fieldType": field_type or _FIELD_TYPE[ptype],
        "groupName": group,
        "description": "",
        "options": [
            {"label": o.replace("_", " ").title(), "value": o, "displayOrder": i, "hidden": False, "description": ""}
            for i, o in enumerate(options)
        ],
        "displayOrder": -1,
        "calculated": calculated,
        "externalOptions": False,
        "hasUniqueValue": name == "hs_object_id",
        "hidden": False,
        "hubspotDefined": hubspot_defined,
        "formField": not calculated,
        "showCurrencySymbol": name
        in ("amount", "price", "hs_mrr", "hs_arr", "amount_in_home_currency", "annualrevenue"),
        "modificationMetadata": {
            "archivable": not hubspot_defined,
            "readOnlyDefinition": hubspot_defined,
            "readOnlyValue": calculated,
            "readOnlyOptions": hubspot_defined,
        },
        "createdAt": SCHEMA_CREATED,
        "updatedAt": SCHEMA_CREATED,
        "archived": False,
    }
    if not hubspot_defined:
        out.pop("hubspotDefined")
    out.update(extra)
    return out


def _common(last_modified: str = "hs_lastmodifieddate") -> list[dict[str, Any]]:
    return [
        prop("hs_object_id", "number", "Record ID", calculated=True),
        prop("createdate", "datetime", "Create Date"),
        prop(last_modified, "datetime", "Last Modified Date", calculated=True),
        prop("hubspot_owner_id", "enumeration", "Owner", field_type="select", referencedObjectType="OWNER"),
    ]


def _engagement(kind: str, specific: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        prop("hs_object_id", "number", "Record ID", calculated=True),
        prop("hs_createdate", "datetime", "Create Date"),
        prop("hs_lastmodifieddate", "datetime", "Last Modified Date", calculated=True),
        prop("hs_timestamp", "datetime", "Activity date"),
        prop("hubspot_owner_id", "enumeration", "Activity assigned to", referencedObjectType="OWNER"),
        prop("hs_body_preview", "string", "Body preview", calculated=True, field_type="textarea"),
        prop("hs_activity_type", "enumeration", "Activity type", options=("Discovery", "Demo", "QBR", "Check-in")),
        *specific,
    ]


def property_definitions() -> dict[str, list[dict[str, Any]]]:
    """Property definitions per object type."""
    return {
        "companies": [
            *_common(),
            prop("name", label="Company name"),
            prop("domain", label="Company Domain Name"),
            prop("website", label="Website URL"),
            prop("industry", "enumeration", options=INDUSTRY_CODES),
            prop("annualrevenue", "number", "Annual Revenue"),
            prop("numberofemployees", "number", "Number of Employees"),
            prop(
                "lifecyclestage",
                "enumeration",
                "Lifecycle Stage",
                options=LIFECYCLE_STAGES,
            ),
            prop("type", "enumeration", "Type", options=("PROSPECT", "PARTNER", "RESELLER", "VENDOR", "OTHER")),
            prop("country"),
            prop("city"),
            prop("salesforceaccountid", label="Salesforce Account ID", group="salesforceinformation"),
            prop("hs_num_child_companies", "number", calculated=True),
        ],
        "contacts": [
            *_common("lastmodifieddate"),
            prop("email", label="Email"),
            prop("firstname", label="First Name"),
            prop("lastname", label="Last Name"),
            prop("jobtitle", label="Job Title"),
            prop("associatedcompanyid", "number", "Primary Associated Company ID"),
            prop(
                "lifecyclestage",
                "enumeration",
                "Lifecycle Stage",
                options=LIFECYCLE_STAGES,
            ),
            prop("hs_buying_role", "enumeration", "Buying Role", options=BUYING_ROLES, field_type="checkbox"),
            prop("salesforcecontactid", label="Salesforce Contact ID", group="salesforceinformation"),
            prop("country"),
        ],
        "deals": [
            *_common(),
            prop("dealname", label="Deal Name"),
            prop("amount", "number", "Amount"),
            prop(
                "dealstage", "enumeration", "Deal Stage", options=tuple(s[0] for s in DEAL_STAGES), field_type="radio"
            ),
            prop("pipeline", "enumeration", "Pipeline", options=("default",)),
            prop("closedate", "datetime", "Close Date"),
            prop(
                "dealtype",
                "enumeration",
                "Deal Type",
                options=("newbusiness", "existingbusiness", "renewal"),
                field_type="radio",
            ),
            prop("deal_currency_code", "enumeration", "Currency", options=("USD", "EUR", "GBP", "JPY")),
            prop("amount_in_home_currency", "number", "Amount in company currency", calculated=True),
            prop("hs_is_closed", "bool", "Is Deal Closed?", calculated=True),
            prop("hs_is_closed_won", "bool", "Is Closed Won", calculated=True),
            prop("hs_deal_stage_probability", "number", "Deal probability", calculated=True),
            prop("hs_closed_amount", "number", "Closed Deal Amount", calculated=True),
            prop("hs_mrr", "number", "Monthly recurring revenue", calculated=True),
            prop("hs_arr", "number", "Annual recurring revenue", calculated=True),
            prop("hs_salesforceopportunityid", label="Salesforce Opportunity ID", group="salesforceinformation"),
            prop("closed_lost_reason", field_type="textarea"),
            prop("closed_won_reason", field_type="textarea"),
        ],
        "line_items": [
            *_common(),
            prop("name", label="Name"),
            prop("hs_product_id", "number", "Product ID"),
            prop("hs_sku", label="SKU"),
            prop("quantity", "number", "Quantity"),
            prop("price", "number", "Unit price"),
            prop("amount", "number", "Net price", calculated=True),
            prop("discount", "number", "Unit discount"),
            prop("hs_line_item_currency_code", "enumeration", "Currency", options=("USD", "EUR", "GBP", "JPY")),
            prop("recurringbillingfrequency", "enumeration", "Billing frequency", options=BILLING_FREQUENCIES),
            prop("hs_recurring_billing_start_date", "date", "Billing start date"),
            prop("hs_recurring_billing_end_date", "date", "Billing end date", calculated=True),
            prop("hs_term_in_months", "number", "Term in months", calculated=True),
            prop("hs_recurring_billing_period", label="Term"),
            prop("hs_recurring_billing_number_of_payments", "number", "Number of payments", calculated=True),
            prop("hs_mrr", "number", "Monthly recurring revenue", calculated=True),
            prop("hs_arr", "number", "Annual recurring revenue", calculated=True),
            prop("hs_tcv", "number", "Total contract value", calculated=True),
        ],
        "products": [
            *_common(),
            prop("name", label="Name"),
            prop("hs_sku", label="SKU"),
            prop("price", "number", "Unit price"),
            prop("description", field_type="textarea"),
            prop("recurringbillingfrequency", "enumeration", "Billing frequency", options=BILLING_FREQUENCIES),
            prop("hs_product_type", "enumeration", "Product type", options=("inventory", "non_inventory", "service")),
            prop(
                "product_family",
                "enumeration",
                "Product family",
                options=("Platform", "Analytics", "Seats Add-on", "Professional Services", "Onboarding"),
                hubspot_defined=False,
            ),
        ],
        "calls": _engagement(
            "calls",
            [
                prop("hs_call_title", label="Call Title"),
                prop("hs_call_body", label="Call notes", field_type="html"),
                prop("hs_call_direction", "enumeration", "Call direction", options=("INBOUND", "OUTBOUND")),
                prop("hs_call_duration", "number", "Call duration"),
                prop(
                    "hs_call_status",
                    "enumeration",
                    "Call status",
                    options=(
                        "COMPLETED",
                        "BUSY",
                        "NO_ANSWER",
                        "FAILED",
                        "CANCELED",
                        "CONNECTING",
                        "IN_PROGRESS",
                        "RINGING",
                    ),
                ),
            ],
        ),
        "emails": _engagement(
            "emails",
            [
                prop("hs_email_subject", label="Email subject"),
                prop("hs_email_text", label="Email body", field_type="textarea"),
                prop(
                    "hs_email_direction",
                    "enumeration",
                    "Email direction",
                    options=("EMAIL", "INCOMING_EMAIL", "FORWARDED_EMAIL"),
                ),
                prop(
                    "hs_email_status",
                    "enumeration",
                    "Email send status",
                    options=("BOUNCED", "FAILED", "SCHEDULED", "SENDING", "SENT"),
                ),
            ],
        ),
        "meetings": _engagement(
            "meetings",
            [
                prop("hs_meeting_title", label="Meeting name"),
                prop("hs_meeting_body", field_type="html"),
                prop("hs_meeting_start_time", "datetime", "Meeting start time"),
                prop("hs_meeting_end_time", "datetime", "Meeting end time"),
                prop(
                    "hs_meeting_outcome",
                    "enumeration",
                    "Meeting outcome",
                    options=("SCHEDULED", "COMPLETED", "RESCHEDULED", "NO_SHOW", "CANCELED"),
                ),
                prop("hs_meeting_location"),
            ],
        ),
        "notes": _engagement("notes", [prop("hs_note_body", label="Note body", field_type="html")]),
        "tasks": _engagement(
            "tasks",
            [
                prop("hs_task_subject", label="Task Title"),
                prop("hs_task_body", field_type="html"),
                prop(
                    "hs_task_status",
                    "enumeration",
                    "Task Status",
                    options=("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"),
                ),
                prop("hs_task_priority", "enumeration", "Priority", options=("NONE", "LOW", "MEDIUM", "HIGH")),
                prop("hs_task_type", "enumeration", "Task type", options=("CALL", "EMAIL", "TODO", "LINKED_IN")),
            ],
        ),
    }


def custom_property(name: str) -> dict[str, Any]:
    """A portal-defined text property, as added by an admin."""
    return prop(name, "string", hubspot_defined=False, group="custom")


def deal_pipelines() -> dict[str, list[dict[str, Any]]]:
    stages = [
        {
            "id": sid,
            "label": label,
            "displayOrder": i,
            "metadata": {"isClosed": closed, "probability": probability},
            "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
            "archived": False,
            "createdAt": SCHEMA_CREATED,
            "updatedAt": SCHEMA_CREATED,
        }
        for i, (sid, label, probability, closed) in enumerate(DEAL_STAGES)
    ]
    return {
        "deals": [
            {
                "id": "default",
                "label": "Sales Pipeline",
                "displayOrder": 0,
                "archived": False,
                "createdAt": SCHEMA_CREATED,
                "updatedAt": SCHEMA_CREATED,
                "stages": stages,
            }
        ]
    }


def owner(
    owner_id: str,
    user_id: int,
    email: str,
    first: str,
    last: str,
    created: str,
    updated: str,
    team: str,
    archived: bool = False,
) -> dict[str, Any]:
    return {
        "id": owner_id,
        "email": email,
        "firstName": first,
        "lastName": last,
        "userId": user_id,
        "userIdIncludingInactive": user_id,
        "type": "PERSON",
        "createdAt": created,
        "updatedAt": updated,
        "archived": archived,
        "teams": [{"id": str(zlib.crc32(team.encode()) % 10_000_000), "name": team, "primary": True}],
    }
