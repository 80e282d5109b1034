"""Case-insensitive name lookup over the dataset's describes (SOQL names are case-insensitive)."""

from __future__ import annotations

from typing import Any

from ...dataset.store import SF_COMPOUND_TYPES, Dataset

# describe types whose SOQL literals are quoted strings
NUMERIC_TYPES = frozenset({"int", "long", "double", "currency", "percent"})
BINARY_STRING_TYPES = frozenset({"id", "reference"})  # Ids compare and sort case-sensitively


class Schema:
    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def object_name(self, name: str) -> str | None:
        """The canonical API name of an object, or None when the dataset does not serve it."""
        if name in self.dataset.sf_describe:
            return name
        lowered = name.lower()
        return next((o for o in self.dataset.sf_describe if o.lower() == lowered), None)

    def describe(self, obj: str) -> dict[str, Any]:
        return self.dataset.sf_describe[obj]

    def field(self, obj: str, name: str) -> dict[str, Any] | None:
        lowered = name.lower()
        return next((f for f in self.describe(obj)["fields"] if f["name"].lower() == lowered), None)

    def relationship(self, obj: str, name: str) -> dict[str, Any] | None:
        """The reference field whose relationshipName is ``name`` (``Owner`` -> ``OwnerId``)."""
        lowered = name.lower()
        return next(
            (f for f in self.describe(obj)["fields"]
             if f.get("relationshipName") and f["relationshipName"].lower() == lowered and f.get("referenceTo")),
            None,
        )

    def has_field(self, obj: str, name: str) -> bool:
        return any(f["name"] == name for f in self.describe(obj)["fields"])

    def components(self, obj: str, compound: str) -> list[dict[str, Any]]:
        """The stored fields that make up a compound (address/location) field."""
        return [f for f in self.describe(obj)["fields"]
                if f.get("compoundFieldName") == compound and f["type"] not in SF_COMPOUND_TYPES]


def compound_key(compound: str, component: str) -> str:
    """The key of a component inside a compound value: BillingAddress/BillingPostalCode -> postalCode."""
    prefix = compound[: -len("Address")] if compound.endswith("Address") else compound.removesuffix("__c")
    rest = component[len(prefix):] if component.startswith(prefix) else component
    rest = rest.removeprefix("__").removesuffix("__s")
    return rest[:1].lower() + rest[1:]
